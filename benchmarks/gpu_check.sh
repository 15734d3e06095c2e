#!/usr/bin/env bash
# One check of the "cuda" backend on a machine with an NVIDIA GPU (< 8 minutes):
#   1. the CUDA kernel tests on the real device (no simulator) and the PTX test,
#   2. kernel benchmarks (benchmarks/gpu_check.py): matmul GFLOP/s vs torch/cupy,
#      element-wise / reduction / softmax_xent GB/s, one MLP epoch when nn exists.
# Every figure goes to one file: $OUT/gpu_check.txt when $OUT is set, else ./gpu_check.txt.
# Usage: bash benchmarks/gpu_check.sh            (PYTHON=... to pick an interpreter)
set -u
if [ -n "${OUT:-}" ]; then REPORT="$(cd "$OUT" && pwd)/gpu_check.txt"; else REPORT="$(pwd)/gpu_check.txt"; fi
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
unset NUMBA_ENABLE_CUDASIM          # the real device, not the simulator

{
  echo "== gpu_check $(date -u '+%Y-%m-%d %H:%M:%S UTC')  ($(git rev-parse --short HEAD 2>/dev/null || echo 'no commit'))"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  else
    echo "nvidia-smi not found"
  fi
  "$PY" -c 'import numba, numpy; from numba import cuda; print("numba", numba.__version__, "numpy", numpy.__version__, "cuda.is_available()", cuda.is_available())' 2>&1
} > "$REPORT"

echo "== CUDA kernel tests on the device (tests/cuda, tests/test_cuda_ptx.py)" >> "$REPORT"
start=$(date +%s)
timeout 240 "$PY" -m pytest tests/cuda tests/test_cuda_ptx.py tests/test_cuda_availability.py \
    -q -p no:cacheprovider -x 2>&1 | tail -n 25 >> "$REPORT"
echo "   (tests exit ${PIPESTATUS[0]}, $(( $(date +%s) - start )) s)" >> "$REPORT"

echo "== benchmarks" >> "$REPORT"
timeout 300 "$PY" benchmarks/gpu_check.py --out "$REPORT" "$@" > /dev/null 2>> "$REPORT" \
    || echo "   benchmarks exit $?" >> "$REPORT"

cat "$REPORT"
