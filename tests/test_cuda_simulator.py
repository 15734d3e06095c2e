"""The CUDA suite, run by the default `pytest` in its own process under numba's
CUDA simulator (NUMBA_ENABLE_CUDASIM must be set before numba is imported, so it
cannot share this process). It runs the kernel tests in tests/cuda and the whole
op registry suite (tests/ops) on device "cuda", with 4x4 tiles so that small
shapes cross tile edges. Run it directly to see each test:

    NUMBA_ENABLE_CUDASIM=1 TINYGRAD_BOOK_TEST_DEVICES=cuda TINYGRAD_BOOK_NUMERIC_DEVICE=numpy \\
        HYPOTHESIS_PROFILE=cudasim python -m pytest tests/cuda tests/ops
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("numba_cuda") is None,
                    reason='numba-cuda is not installed (pip install -e ".[cuda]")')
def test_cuda_suite_passes_in_the_simulator():
    env = dict(os.environ,
               NUMBA_ENABLE_CUDASIM="1",
               TINYGRAD_BOOK_TEST_DEVICES="cuda",
               TINYGRAD_BOOK_DEVICE="cuda",
               TINYGRAD_BOOK_NUMERIC_DEVICE="numpy",
               TINYGRAD_BOOK_CUDA_TILE="4",
               TINYGRAD_BOOK_CUDA_BLOCK="16",
               HYPOTHESIS_PROFILE="cudasim")
    cmd = [sys.executable, "-m", "pytest", "tests/cuda", "tests/ops", "-rfE",
           "-p", "no:cacheprovider", "-x"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    tail = (r.stdout + r.stderr)[-6000:]
    print(tail)
    assert r.returncode == 0, f"CUDA simulator suite failed:\n{tail}"
    assert " passed" in tail and "error" not in tail.lower().split("passed")[-1]
