"""The words every backend's kernels share, defined once.

* Op codes. A compiled kernel cannot take an op *name* cheaply, so the cpu and cuda
  kernels take an op's index in base.UNARY_OPS / BINARY_OPS and test it against these
  named constants (module-level ints are compile-time constants for numba, so
  `if op == EXP` costs what `if op == 1` costs, and reads as what it means).
* The index arithmetic of a strided view: where element i lives in its storage. It is
  written here once, as plain Python; `kernels/cpu/jit.py` compiles it with numba's
  `njit` and `kernels/cuda/strided.py` with `cuda.jit(device=True)` (minitorch's pattern:
  one function, three ways to run it, the plain one readable in a debugger).

Nothing here imports numba: the numpy backend and the tests can use it as it is.
"""
from __future__ import annotations

import numpy as np

from .base import BINARY_OPS, FUSED_ACTIVATIONS, REDUCE_OPS, UNARY_OPS

# --- op codes ------------------------------------------------------------------------------
NEG, EXP, LOG, SQRT, TANH, SIGMOID, RELU, ABS, SIGN, RECIP = range(10)
ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE, LT, LE, GT, GE = range(13)
UNARY_CODES = {name: code for code, name in enumerate(UNARY_OPS)}
BINARY_CODES = {name: code for code, name in enumerate(BINARY_OPS)}
# the names above and the order of base's tuples must agree
assert [UNARY_CODES[n] for n in ("neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sign",
                                 "recip")] == [NEG, EXP, LOG, SQRT, TANH, SIGMOID, RELU, ABS, SIGN, RECIP]
assert [BINARY_CODES[n] for n in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt",
                                  "le", "gt", "ge")] == [ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE,
                                                         LT, LE, GT, GE]
FIRST_COMPARE = EQ   # codes from here on are comparisons (they write 1 / 0)
SUM, MAX, MIN = range(3)
REDUCE_CODES = {name: code for code, name in enumerate(REDUCE_OPS)}
assert [REDUCE_CODES[n] for n in ("sum", "max", "min")] == [SUM, MAX, MIN]

# the fused bias + activation (base.FUSED_ACTIVATIONS), for the cpu and cuda kernels
LINEAR, ACT_RELU, ACT_SIGMOID, ACT_TANH = range(4)
ACTIVATION_CODES = {name: code for code, name in enumerate(FUSED_ACTIVATIONS)}
assert [ACTIVATION_CODES[n] for n in ("linear", "relu", "sigmoid", "tanh")] == [LINEAR, ACT_RELU, ACT_SIGMOID,
                                                                               ACT_TANH]


# --- index arithmetic ------------------------------------------------------------------------
def flat_position(i, shape, strides, offset):
    """Storage index of element number i (row-major over all of `shape`).

    Its coordinates (i0, ..., ik) are the mixed-radix digits of i, last axis fastest; it
    lives at offset + sum(i_d * strides[d]). Stride 0 repeats an element (broadcast).
    shape, strides: int64 arrays. The int64 casts keep the arithmetic signed when i
    arrives unsigned (numba's prange index may)."""
    pos = np.int64(offset)
    rem = np.int64(i)
    for d in range(shape.shape[0] - 1, -1, -1):
        pos += (rem % shape[d]) * strides[d]
        rem //= shape[d]
    return pos


def row_position(r, shape, strides, offset):
    """Storage index of the first element of row r, where the rows are the multi-indices
    over shape[:-1] in row-major order (the last axis is the row itself)."""
    pos = np.int64(offset)
    rem = np.int64(r)
    for d in range(shape.shape[0] - 2, -1, -1):
        pos += (rem % shape[d]) * strides[d]
        rem //= shape[d]
    return pos
