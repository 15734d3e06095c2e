"""Can this process run CUDA kernels? Clear answers before any kernel is touched.

Two things can be missing:

* numba-cuda, the NVIDIA-maintained CUDA target for numba (`from numba import cuda`
  resolves to it once installed; plain numba still ships a deprecated built-in one
  that we do not support);
* a GPU. numba's simulator (`NUMBA_ENABLE_CUDASIM=1`, set before numba is imported)
  stands in for one: it runs every kernel as Python threads, slowly but faithfully
  enough to check indexing, bounds and barrier placement.
"""
from __future__ import annotations

import importlib.util

INSTALL_HINT = ('the "cuda" device needs numba-cuda, which is not installed: '
                'pip install "tinygrad-book[cuda]"')
NO_GPU_HINT = ("no CUDA GPU was found (numba.cuda.is_available() is False). Run on a machine "
               "with an NVIDIA GPU and driver, or set NUMBA_ENABLE_CUDASIM=1 before starting "
               "Python to run the kernels in numba's CUDA simulator (slow: tiny shapes only).")


class CudaUnavailableError(RuntimeError):
    """Raised when numba-cuda is installed but no GPU (and no simulator) is there."""


def has_numba_cuda() -> bool:
    try:
        return importlib.util.find_spec("numba_cuda") is not None
    except (ImportError, ValueError):
        return False


def simulator_enabled() -> bool:
    """True under NUMBA_ENABLE_CUDASIM=1 (numba reads it once, at import)."""
    import numba
    return bool(numba.config.ENABLE_CUDASIM)


def real_gpu_present() -> bool:
    """A real device: the simulator also answers is_available() with True."""
    if not has_numba_cuda() or simulator_enabled():
        return False
    from numba import cuda
    return bool(cuda.is_available())


def require_cuda() -> None:
    """Raise ImportError / CudaUnavailableError with the fix, or return quietly."""
    if not has_numba_cuda():
        raise ImportError(INSTALL_HINT)
    if simulator_enabled():
        return
    from numba import cuda
    if not cuda.is_available():
        raise CudaUnavailableError(NO_GPU_HINT)
