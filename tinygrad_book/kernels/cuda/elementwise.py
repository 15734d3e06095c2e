"""Element-wise kernels: unary and binary ops, where, copy/cast, assign, fill.

Launch shape (all of them): a 1-D grid-stride loop, `Launch.grid_stride(n)`; each
thread handles elements i, i + gridsize, i + 2*gridsize, ... of the row-major output.

Every op comes in two kernels:

* a *contiguous* fast path: input element i is storage[offset + i] (no index math,
  neighbouring threads read neighbouring addresses: coalesced);
* a *strided* path: input element i is storage[position(i, shape, strides, offset)],
  which covers transposes, slices, offsets and broadcasting (stride 0).

Which op runs is an integer code (`vocabulary.UNARY_CODES`, `BINARY_CODES`, shared with
the cpu kernels), the same for every
thread of a launch: the branch never diverges, and one compiled kernel per dtype
serves all ops.

The math helpers are *total* (never raise): on the GPU log(0) is -inf anyway, but the
simulator runs this code as Python, where math.log(0) raises. The guard costs one
predicated branch on the GPU and keeps both worlds equal to the numpy reference.
Integer inputs go through the same code and are converted back to int64 on store.
"""
from __future__ import annotations

import math

from numba import cuda

# the op codes, shared with the cpu kernels (module-level ints: compile-time constants)
from ..vocabulary import (ABS, ADD, DIV, EQ, EXP, GT, LE, LOG, LT, MAXIMUM, MINIMUM, MUL, NE, NEG, POW,  # noqa: F401
                          RELU, SIGMOID, SIGN, SQRT, SUB, TANH)
from .strided import position

LOG_MAX_FLOAT64 = 709.782712893384   # exp above this overflows float64 (and Python's math.exp raises)


@cuda.jit(device=True)
def safe_exp(x):
    if x > LOG_MAX_FLOAT64:
        return math.inf
    return math.exp(x)


@cuda.jit(device=True)
def safe_log(x):
    if x > 0:
        return math.log(x)
    if x == 0:
        return -math.inf
    return math.nan          # negative or NaN


@cuda.jit(device=True)
def safe_sqrt(x):
    if x >= 0:
        return math.sqrt(x)
    return math.nan


@cuda.jit(device=True)
def sigmoid(x):
    """Stable in both tails: exp only ever sees -|x|, so it never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@cuda.jit(device=True)
def unary_op(op, x):
    if op == NEG:
        return -x
    if op == EXP:
        return safe_exp(x)
    if op == LOG:
        return safe_log(x)
    if op == SQRT:
        return safe_sqrt(x)
    if op == TANH:
        return math.tanh(x)
    if op == SIGMOID:
        return sigmoid(x)
    if op == RELU:
        return 0 if x < 0 else x          # NaN stays NaN, like np.maximum(x, 0)
    if op == ABS:
        return abs(x)
    if op == SIGN:
        if x > 0:
            return 1
        if x < 0:
            return -1
        return x                          # 0 stays 0, NaN stays NaN
    return 1.0 / x                        # RECIP


@cuda.jit(device=True)
def binary_op(op, a, b):
    if op == ADD:
        return a + b
    if op == SUB:
        return a - b
    if op == MUL:
        return a * b
    if op == DIV:
        return a / b
    if op == POW:
        return a ** b
    if op == MAXIMUM:
        return a if (a > b or a != a) else b   # a != a: NaN propagates, like numpy
    if op == MINIMUM:
        return a if (a < b or a != a) else b
    # comparisons: 1.0 / 0.0, converted to the output dtype on store
    if op == EQ:
        return 1.0 if a == b else 0.0
    if op == NE:
        return 1.0 if a != b else 0.0
    if op == LT:
        return 1.0 if a < b else 0.0
    if op == LE:
        return 1.0 if a <= b else 0.0
    if op == GT:
        return 1.0 if a > b else 0.0
    return 1.0 if a >= b else 0.0             # GE


# --- unary ---------------------------------------------------------------------------
@cuda.jit
def unary_contiguous(op, x, x_offset, out):
    """out[i] = op(x[x_offset + i]). Grid-stride over out."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = unary_op(op, x[x_offset + i])


@cuda.jit
def unary_strided(op, x, x_offset, shape, strides, out):
    """out[i] = op(x[position(i)]). Grid-stride over out (row-major over shape)."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = unary_op(op, x[position(i, shape, strides, x_offset)])


# --- binary --------------------------------------------------------------------------
@cuda.jit
def binary_contiguous(op, a, a_offset, b, b_offset, out):
    """out[i] = a[a_offset + i] op b[b_offset + i]. Grid-stride over out."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = binary_op(op, a[a_offset + i], b[b_offset + i])


@cuda.jit
def binary_strided(op, a, a_offset, a_strides, b, b_offset, b_strides, shape, out):
    """out[i] = a[pos_a(i)] op b[pos_b(i)]; a, b share `shape`, stride 0 broadcasts."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        x = a[position(i, shape, a_strides, a_offset)]
        y = b[position(i, shape, b_strides, b_offset)]
        out[i] = binary_op(op, x, y)


@cuda.jit
def where_strided(cond, c_offset, c_strides, a, a_offset, a_strides,
                  b, b_offset, b_strides, shape, out):
    """out[i] = a[i] if cond[i] != 0 else b[i] (all strided over one shape)."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        if cond[position(i, shape, c_strides, c_offset)] != 0:
            out[i] = a[position(i, shape, a_strides, a_offset)]
        else:
            out[i] = b[position(i, shape, b_strides, b_offset)]


# --- movement ------------------------------------------------------------------------
@cuda.jit
def copy_contiguous(x, x_offset, out):
    """out[i] = x[x_offset + i], converted to out's dtype (so this is also cast)."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = x[x_offset + i]


@cuda.jit
def copy_strided(x, x_offset, shape, strides, out):
    """out[i] = x[position(i)]: gather a strided view into row-major order (and cast)."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = x[position(i, shape, strides, x_offset)]


@cuda.jit
def assign_strided(dst, dst_offset, dst_strides, src, src_offset, src_strides, shape, size):
    """dst[pos_dst(i)] = src[pos_src(i)] for the `size` elements of `shape`. In place:
    the only kernel that writes into a storage it did not allocate."""
    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        dst[position(i, shape, dst_strides, dst_offset)] = src[position(i, shape, src_strides, src_offset)]


@cuda.jit
def fill(out, value):
    """out[i] = value for every i."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = value
