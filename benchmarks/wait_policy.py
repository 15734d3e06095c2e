"""The threading layer and the OpenMP wait policy, measured: the MLP training step (ours and
torch, 20-step slices of an epoch, alternating) and the 1024^3 product (ours and numpy, with and
without a pause before each window), in wall time, under whatever the environment gives. numba
picks its threading layer, and libgomp reads its settings, once per process, so each setting
needs its own process:

    for cfg in "NUMBA_THREADING_LAYER=tbb" "NUMBA_THREADING_LAYER=omp" \
               "NUMBA_THREADING_LAYER=omp GOMP_SPINCOUNT=10000"; do
        env $cfg OPENBLAS_NUM_THREADS=2 PYTHONPATH=. python benchmarks/wait_policy.py; done

(Our kernels run on TBB where the `tbb` package is installed; the libgomp settings then reach
only torch's threads. `tinygrad_book` sets OMP_WAIT_POLICY=passive unless it is exported;
GOMP_SPINCOUNT overrides the spin count of any policy.) docs/kernels-cpu.md has the tables,
idle and loaded.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_training import CASES, ours_epoch_slice, torch_epoch_slice  # noqa: E402  (benchmarks/ on sys.path)

from tinygrad_book import bench  # noqa: E402
from tinygrad_book.kernels import set_default_device  # noqa: E402
from tinygrad_book.kernels.cpu import jit  # noqa: E402,F401  (sets OMP_WAIT_POLICY=passive unless exported)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mlp_pairs(pairs=7):
    """(ours, torch) seconds of a 20-step slice of the MLP's epoch, alternating."""
    set_default_device("cpu")
    ours = ours_epoch_slice("mlp")
    theirs = torch_epoch_slice("mlp")
    return [(timed(ours), timed(theirs)) for _ in range(pairs)], CASES["mlp"][3]


def main():
    print(f"{bench.cpu_model()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; load {os.getloadavg()[0]:.1f}; {bench.thread_line()}")
    pairs, steps = mlp_pairs()
    best_ours, best_torch = min(p[0] for p in pairs), min(p[1] for p in pairs)
    paired = statistics.median(t / o for o, t in pairs)
    print(f"MLP ms/step: ours {best_ours * 1e3 / steps:.2f}, torch {best_torch * 1e3 / steps:.2f}; "
          f"ours/torch throughput {best_torch / best_ours:.2f} (median paired {paired:.2f})")
    workload = bench.WORKLOADS["matmul_1024"]
    fns = {"cpu": workload.build("cpu"), "numpy": workload.build("numpy")}
    for settle in (0.0, bench.SETTLE_S):
        _, t = bench.time_alternating(fns, repeat=7, window_s=0.2, settle_s=settle)
        print(f"matmul 1024^3, pause {settle} s: ours {t['cpu'] * 1e3:.1f} ms, numpy {t['numpy'] * 1e3:.1f} ms, "
              f"numpy/ours {t['numpy'] / t['cpu']:.2f}")


if __name__ == "__main__":
    main()
