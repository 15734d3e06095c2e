"""Reductions: sum / max / min over any set of axes (shared-memory tree), and argmax.

How a reduction is laid out. Split the axes of x into *kept* and *reduced* ones. The
output has one element per kept coordinate (row-major over the kept axes = the
keepdims layout), and each output reduces `length` = prod(reduced dims) elements.
Both halves are strided walks (`position`), so any View works without a copy.

Launch shape of `reduce_rows`: grid (n_out, chunks), block `threads` (a power of two).
Block (row, chunk) reduces elements [chunk*span, (chunk+1)*span) of output `row`:

1. each thread folds every threads-th element of its span into a private value;
2. the block's values go to shared memory and are halved in a tree: after step s the
   first threads/2^s slots hold partial results; a barrier between steps makes every
   write of one step visible to the next (and no thread skips a barrier);
3. thread 0 writes the block's result to out[row * chunks + chunk].

One block per output is enough while a row is short. A long row (more than
threads * ITEMS_PER_THREAD elements) is split over `chunks` blocks so the whole GPU
works on it, and a *second pass* reduces the (n_out, chunks) partials with the same
kernel (recursively, should even that be long).

The kernel is built per (op, dtype, block) because a shared array's size and type
must be compile-time constants.
"""
from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import cuda

from .launch import MAX_GRID_Y
from .strided import device_index, position

ITEMS_PER_THREAD = 8   # elements one thread folds before a row is split over blocks


@cuda.jit(device=True)
def add(a, b):
    return a + b


@cuda.jit(device=True)
def larger(a, b):
    return a if (a > b or a != a) else b     # NaN wins, like numpy.max


@cuda.jit(device=True)
def smaller(a, b):
    return a if (a < b or a != a) else b


COMBINE = {"sum": add, "max": larger, "min": smaller}


def identity(op: str, dtype) -> float:
    """The value that changes nothing: 0 for sum, the dtype's lowest for max, ..."""
    dtype = np.dtype(dtype)
    if op == "sum":
        return 0
    if dtype.kind == "f":
        return -math.inf if op == "max" else math.inf
    info = np.iinfo(dtype)
    return int(info.min) if op == "max" else int(info.max)


@functools.lru_cache(maxsize=None)
def reduce_kernel(op: str, dtype, block: int):
    """The tree-reduction kernel for one (op, dtype, block): see the module docstring."""
    combine = COMBINE[op]
    element = numba.from_dtype(np.dtype(dtype))
    start_value = identity(op, dtype)

    @cuda.jit
    def reduce_rows(x, offset, kept_shape, kept_strides, red_shape, red_strides, length, span, out):
        """grid (n_out, chunks), block threads <= block (power of two);
        out[row * chunks + chunk] = op over x[row, chunk*span : (chunk+1)*span]."""
        partial = cuda.shared.array(block, element)
        row, chunk, t = cuda.blockIdx.x, cuda.blockIdx.y, cuda.threadIdx.x
        base = position(row, kept_shape, kept_strides, offset)
        start = chunk * span
        stop = min(start + span, length)
        acc = element(start_value)
        for r in range(start + t, stop, cuda.blockDim.x):     # 1. private fold
            acc = combine(acc, x[position(r, red_shape, red_strides, base)])
        partial[t] = acc
        cuda.syncthreads()
        half = cuda.blockDim.x // 2
        while half > 0:                                      # 2. the tree
            if t < half:
                partial[t] = combine(partial[t], partial[t + half])
            cuda.syncthreads()                               # outside the if: all threads reach it
            half //= 2
        if t == 0:                                           # 3. one write per block
            out[row * cuda.gridDim.y + chunk] = partial[0]

    return reduce_rows


def reduce(launch, op, x, axes):
    """Host side: lay x out as (kept, reduced), launch pass one, then pass two if needed."""
    kept = [d for d in range(len(x.shape)) if d not in axes]
    kept_shape = [x.shape[d] for d in kept]
    red_shape = [x.shape[d] for d in axes]
    n_out = int(np.prod(kept_shape, dtype=np.int64))
    length = int(np.prod(red_shape, dtype=np.int64))
    return reduce_rows(launch, op, x.storage, x.offset, n_out, length,
                       (kept_shape, [x.strides[d] for d in kept]),
                       (red_shape, [x.strides[d] for d in axes]))


def reduce_rows(launch, op, storage, offset, n_out, length, kept, red):
    dtype = np.dtype(storage.dtype)
    if n_out == 0:
        return cuda.device_array(0, dtype)
    threads = launch.reduction_threads(length)
    chunks = min(max(-(-length // (threads * ITEMS_PER_THREAD)), 1), MAX_GRID_Y)
    span = max(-(-length // chunks), 1)
    out = cuda.device_array(n_out * chunks, dtype)
    kernel = reduce_kernel(op, dtype, launch.block)
    kernel[(n_out, chunks), threads](storage, offset, device_index(kept[0]), device_index(kept[1]),
                                     device_index(red[0]), device_index(red[1]), length, span, out)
    if chunks == 1:
        return out
    # second pass: the partials are a contiguous (n_out, chunks) array; reduce its rows
    return reduce_rows(launch, op, out, 0, n_out, chunks, ([n_out], [chunks]), ([chunks], [1]))


@cuda.jit
def argmax_rows(x, offset, kept_shape, kept_strides, length, stride, out):
    """One thread per output (grid-stride): out[o] = index of the first maximum of the
    `length` elements x[base(o) + k*stride]. A NaN counts as the maximum, like numpy."""
    for o in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        base = position(o, kept_shape, kept_strides, offset)
        best, best_k = x[base], 0
        for k in range(1, length):
            v = x[base + k * stride]
            if v > best or (v != v and best == best):   # strict >: the first maximum wins
                best, best_k = v, k
        out[o] = best_k


def argmax(launch, x, axis):
    kept = [d for d in range(len(x.shape)) if d != axis]
    n_out = int(np.prod([x.shape[d] for d in kept], dtype=np.int64))
    out = cuda.device_array(n_out, np.int64)
    if n_out == 0:
        return out
    if x.shape[axis] == 0:
        raise ValueError("argmax of an empty axis")
    blocks, threads = launch.grid_stride(n_out)
    argmax_rows[blocks, threads](x.storage, x.offset, device_index([x.shape[d] for d in kept]),
                                 device_index([x.strides[d] for d in kept]),
                                 x.shape[axis], x.strides[axis], out)
    return out
