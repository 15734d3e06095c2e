"""The "cuda" device: base.Backend's primitives as numba-cuda kernels.

    launch.py       grid / block sizes (tile and block size: TINYGRAD_BOOK_CUDA_TILE/_BLOCK)
    strided.py      position(): where element i of a strided View lives (vocabulary.flat_position)
    optim.py        fused optimizer updates (the optional optimizer_update primitive)
    elementwise.py  unary, binary, where, copy/cast, assign, fill (grid-stride loops)
    reduce.py       sum/max/min (shared-memory tree, second pass for long rows), argmax
    matmul.py       batched matmul tiled through shared memory
    conv.py         im2col, col2im (a gather, no atomics), maxpool2d with argmax, its backward (a gather)
    indexing.py     gather_rows, scatter_add_rows (atomic adds), one_hot
    softmax.py      fused, stable softmax cross-entropy (a thread per row)
    backend.py      CudaBackend: the host code that launches them
    ptx.py          every kernel with concrete signatures, for the PTX compile test

Without a GPU, NUMBA_ENABLE_CUDASIM=1 (set before Python starts) runs every kernel in
numba's simulator. `ptx.compile_all()` compiles them for a real GPU without one.
"""
from __future__ import annotations

from ..base import Backend
from .availability import INSTALL_HINT, CudaUnavailableError, require_cuda  # noqa: F401

try:
    from .backend import CudaBackend
except ImportError as _error:       # numba itself (or its CUDA target) cannot be imported
    _import_error = _error

    class CudaBackend(Backend):     # a stand-in so that get_backend("cuda") explains the fix
        """Unavailable: numba-cuda is not installed."""

        name = "cuda"

        def __new__(cls, *args, **kwargs):   # __new__: the abstract methods would stop __init__
            raise ImportError(INSTALL_HINT) from _import_error

__all__ = ["CudaBackend", "CudaUnavailableError", "require_cuda"]
