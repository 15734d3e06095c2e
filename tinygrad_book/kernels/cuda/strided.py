"""Where element i of a strided View lives: the one piece of index arithmetic every
strided kernel shares.

A View is (storage, shape, strides, offset) with strides in elements. Element number
`i` in row-major order over `shape` has coordinates (i0, ..., ik) = the mixed-radix
digits of i, and lives at offset + sum(id * strides[d]). Stride 0 repeats an element
(broadcast); negative strides are fine too.
"""
from __future__ import annotations

from numba import cuda

from ..vocabulary import flat_position
from .launch import index_array


# The one piece of index arithmetic, written once as plain Python in kernels/vocabulary.py
# and compiled here as a device function (kernels/cpu/jit.py compiles it for the cpu).
position = cuda.jit(device=True)(flat_position)


def device_index(values):
    """Shape or strides as a small int64 device array (kernels read them per element)."""
    return cuda.to_device(index_array(values))
