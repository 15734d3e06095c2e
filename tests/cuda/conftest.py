"""The CUDA kernel tests: run them in their own process, under the simulator:

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda -q

(numba reads NUMBA_ENABLE_CUDASIM once, when it is imported, so the variable must be
set before Python starts.) On a machine with an NVIDIA GPU the same tests run on the
device without the variable. Anywhere else this directory is not collected at all.
"""
from __future__ import annotations

import os

# Small tiles and blocks, before any backend is built: tiny shapes (5 x 7) then cross
# tile edges, reductions need a second pass, and the simulator (about 1k threads/s)
# has few threads to run.
os.environ["TINYGRAD_BOOK_CUDA_TILE"] = "4"
os.environ["TINYGRAD_BOOK_CUDA_BLOCK"] = "16"


def _can_run_cuda() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from tinygrad_book.kernels.cuda.availability import real_gpu_present
        return real_gpu_present()
    except Exception:   # numba / numba-cuda missing or broken: nothing to run here
        return False


if not _can_run_cuda():
    collect_ignore_glob = ["test_*.py"]


import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def cuda_backend():
    """The backend as the library builds it (tile 4, block 16 from the variables above)."""
    from tinygrad_book.kernels import get_backend
    return get_backend("cuda")


@pytest.fixture(scope="session")
def ref():
    from tinygrad_book.kernels.reference import NumpyBackend
    return NumpyBackend()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
