"""Where element i of a strided View lives: the one piece of index arithmetic every
strided kernel shares.

A View is (storage, shape, strides, offset) with strides in elements. Element number
`i` in row-major order over `shape` has coordinates (i0, ..., ik) = the mixed-radix
digits of i, and lives at offset + sum(id * strides[d]). Stride 0 repeats an element
(broadcast); negative strides are fine too.
"""
from __future__ import annotations

from numba import cuda

from .launch import index_array


@cuda.jit(device=True)
def position(i, shape, strides, offset):
    """Storage index of the i-th row-major element; shape/strides: int64 device arrays."""
    pos = offset
    for d in range(shape.shape[0] - 1, -1, -1):   # last axis first: it moves fastest
        pos += (i % shape[d]) * strides[d]
        i //= shape[d]
    return pos


def device_index(values):
    """Shape or strides as a small int64 device array (kernels read them per element)."""
    return cuda.to_device(index_array(values))
