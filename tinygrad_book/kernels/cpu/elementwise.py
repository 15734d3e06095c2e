"""Element-wise kernels: unary, binary, where, and the copies (contiguous, cast, assign, fill).

Two shapes of loop, chosen in Python before any kernel runs:

* flat fast path -- every operand is one unit-stride run (after `jit.coalesce`). The loop
  is `for i in range(n): out[i] = a[i] + b[i]`, which LLVM turns into SIMD instructions
  (16 float32 per AVX-512 register). `prange` over chunks of CHUNK elements splits it
  between cores.
* strided path -- rows of the last (coalesced) axis. Each row's start is computed once
  from its multi-index (`row_position`); when the row itself is unit-stride it goes through
  the same SIMD loop, otherwise it is gathered into a small buffer first. A broadcast
  row, (1000, 1000) + (1000,), is therefore 1000 fast rows.

The op is an integer code (`vocabulary.UNARY_CODES` / `BINARY_CODES`, the same codes the
cuda kernels use; `if op == EXP` compiles to a compare with a constant). The `if op == ...`
chain sits *outside* each element loop (`_unary_run`, `_binary_run`): a branch inside
the loop would stop vectorisation (measured 2x slower than numpy); outside it costs one
comparison per chunk. One compiled kernel per dtype serves every op.
"""
from __future__ import annotations

import numpy as np

from ..vocabulary import (ABS, ADD, DIV, EQ, EXP, GT, LE, LOG, LT, MAXIMUM, MINIMUM, MUL, NE, NEG, POW, RELU,
                          SIGMOID, SIGN, SQRT, SUB, TANH)
from .jit import helper, kernel, prange, row_position
from .vecmath import vexp, vlog, vtanh

CHUNK = 1 << 14          # elements per parallel task: big enough to hide scheduling cost


@helper()
def _unary_run(op, x, out):
    """out[i] = op(x[i]) over two equal-length unit-stride arrays; one loop per op."""
    n = out.shape[0]
    one = out.dtype.type(1)
    zero = out.dtype.type(0)
    if op == NEG:
        for i in range(n):
            out[i] = -x[i]
    elif op == EXP:
        for i in range(n):
            out[i] = vexp(x[i])
    elif op == LOG:
        for i in range(n):
            out[i] = vlog(x[i])
    elif op == SQRT:
        for i in range(n):
            out[i] = np.sqrt(x[i])
    elif op == TANH:
        for i in range(n):
            out[i] = vtanh(x[i])
    elif op == SIGMOID:                           # stable in both tails:
        for i in range(n):                        # exp only ever sees -|x| <= 0
            e = vexp(-np.abs(x[i]))
            out[i] = one / (one + e) if x[i] >= 0 else e / (one + e)
    elif op == RELU:                              # NaN stays NaN, like np.maximum
        for i in range(n):
            out[i] = zero if x[i] <= 0 else x[i]
    elif op == ABS:
        for i in range(n):
            out[i] = np.abs(x[i])
    elif op == SIGN:
        for i in range(n):
            out[i] = np.sign(x[i])
    else:                                         # RECIP
        for i in range(n):
            out[i] = one / x[i]


@helper()
def _binary_run(op, a, b, out):
    """out[i] = a[i] op b[i] over unit-stride arrays; comparisons write 1 / 0."""
    n = out.shape[0]
    one = out.dtype.type(1)
    zero = out.dtype.type(0)
    if op == ADD:
        for i in range(n):
            out[i] = a[i] + b[i]
    elif op == SUB:
        for i in range(n):
            out[i] = a[i] - b[i]
    elif op == MUL:
        for i in range(n):
            out[i] = a[i] * b[i]
    elif op == DIV:
        for i in range(n):
            out[i] = a[i] / b[i]
    elif op == POW:
        for i in range(n):
            out[i] = a[i] ** b[i]
    elif op == MAXIMUM:                           # NaN wins, as in numpy
        for i in range(n):
            x, y = a[i], b[i]
            out[i] = x if (x >= y or x != x) else y
    elif op == MINIMUM:
        for i in range(n):
            x, y = a[i], b[i]
            out[i] = x if (x <= y or x != x) else y
    elif op == EQ:
        for i in range(n):
            out[i] = one if a[i] == b[i] else zero
    elif op == NE:
        for i in range(n):
            out[i] = one if a[i] != b[i] else zero
    elif op == LT:
        for i in range(n):
            out[i] = one if a[i] < b[i] else zero
    elif op == LE:
        for i in range(n):
            out[i] = one if a[i] <= b[i] else zero
    elif op == GT:
        for i in range(n):
            out[i] = one if a[i] > b[i] else zero
    else:                                         # GE
        for i in range(n):
            out[i] = one if a[i] >= b[i] else zero


@helper()
def _gather(src, start, step, buf):
    """buf[j] = src[start + j*step]: one strided row into a unit-stride buffer."""
    for j in range(buf.shape[0]):
        buf[j] = src[start + j * step]


# --- unary -------------------------------------------------------------------------

@kernel(parallel=True)
def unary_flat(op, x, out):
    """Contract: x and out are unit-stride arrays of equal length; out[i] = op(x[i]).
    Optimisation: SIMD inner loop, chunks split across cores with prange."""
    n = out.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        _unary_run(op, x[lo:hi], out[lo:hi])


@kernel(parallel=True)
def unary_strided(op, x, x_off, x_str, shape, out):
    """Contract: x is a strided view (x_off, x_str over `shape`, int64 arrays); out is
    row-major over shape. Rows of the last axis run in parallel; a unit-stride row runs
    the SIMD loop in place, any other row is gathered into a buffer first."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    step = x_str[nd - 1]
    for r in prange(out.shape[0] // inner):
        start = row_position(r, shape, x_str, x_off)
        o = out[r * inner:(r + 1) * inner]
        if step == 1:
            _unary_run(op, x[start:start + inner], o)
        else:
            buf = np.empty(inner, x.dtype)
            _gather(x, start, step, buf)
            _unary_run(op, buf, o)


# --- binary ------------------------------------------------------------------------

@kernel(parallel=True)
def binary_flat(op, a, b, out):
    """Contract: a, b, out unit-stride and equal length; out[i] = a[i] op b[i].
    Optimisation: as unary_flat."""
    n = out.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        _binary_run(op, a[lo:hi], b[lo:hi], out[lo:hi])


@kernel(parallel=True)
def binary_strided(op, a, a_off, a_str, b, b_off, b_str, shape, out):
    """Contract: a, b strided views over `shape` (stride 0 = broadcast); out row-major.
    Optimisation: parallel rows; unit-stride rows use the SIMD loop without a copy."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    sa = a_str[nd - 1]
    sb = b_str[nd - 1]
    for r in prange(out.shape[0] // inner):
        ia = row_position(r, shape, a_str, a_off)
        ib = row_position(r, shape, b_str, b_off)
        o = out[r * inner:(r + 1) * inner]
        if sa == 1 and sb == 1:
            _binary_run(op, a[ia:ia + inner], b[ib:ib + inner], o)
        else:
            ra = np.empty(inner, a.dtype)
            rb = np.empty(inner, b.dtype)
            _gather(a, ia, sa, ra)
            _gather(b, ib, sb, rb)
            _binary_run(op, ra, rb, o)


@kernel(parallel=True)
def binary_row(op, a, row, row_first, out):
    """Contract: a and out unit-stride (rows, C) runs, row a unit-stride (C,) run;
    out[r, :] = a[r, :] op row (row op a[r, :] when row_first). The bias add of a layer.
    Optimisation: binary_strided would run one short row (C = 32..512) per task step and
    compute each row's start from its multi-index; here a task takes a block of rows
    (about CHUNK elements) and every row is the SIMD loop against the same row."""
    inner = row.shape[0]
    rows = out.shape[0] // inner
    per_task = max(1, CHUNK // inner)
    for t in prange((rows + per_task - 1) // per_task):
        for r in range(t * per_task, min((t + 1) * per_task, rows)):
            x = a[r * inner:(r + 1) * inner]
            o = out[r * inner:(r + 1) * inner]
            if row_first:
                _binary_run(op, row, x, o)
            else:
                _binary_run(op, x, row, o)


@kernel(parallel=True)
def binary_scalar(op, a, value, value_first, out):
    """Contract: a and out unit-stride, equal length; out[i] = a[i] op value (value op a[i]
    when value_first). `x > 0` (the ReLU mask of the backward pass), `x * 0.5`.
    Optimisation: binary_strided saw one row as long as the whole array, so one task, and
    gathered the broadcast operand element by element into a buffer that size; here each
    chunk fills a CHUNK-long buffer with the value (it stays in L1) and runs the SIMD loop."""
    n = out.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        v = np.full(hi - lo, value, a.dtype)
        if value_first:
            _binary_run(op, v, a[lo:hi], out[lo:hi])
        else:
            _binary_run(op, a[lo:hi], v, out[lo:hi])


# --- where -------------------------------------------------------------------------

@kernel(parallel=True)
def where_flat(cond, a, b, out):
    """Contract: all unit-stride, equal length; out[i] = a[i] if cond[i] != 0 else b[i]."""
    n = out.shape[0]
    for i in prange(n):
        out[i] = a[i] if cond[i] != 0 else b[i]


@kernel(parallel=True)
def where_strided(c, c_off, c_str, a, a_off, a_str, b, b_off, b_str, shape, out):
    """Contract: three strided views over `shape`; out row-major. Parallel rows,
    index arithmetic once per row, then a stride per operand."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    sc, sa, sb = c_str[nd - 1], a_str[nd - 1], b_str[nd - 1]
    for r in prange(out.shape[0] // inner):
        ic = row_position(r, shape, c_str, c_off)
        ia = row_position(r, shape, a_str, a_off)
        ib = row_position(r, shape, b_str, b_off)
        base = r * inner
        for j in range(inner):
            out[base + j] = a[ia + j * sa] if c[ic + j * sc] != 0 else b[ib + j * sb]


# --- copies ------------------------------------------------------------------------

@kernel(parallel=True)
def copy_flat(src, dst):
    """Contract: dst[i] = src[i] (converting dtype on store); both unit-stride.
    Used by contiguous, cast and assign when both sides are one run."""
    n = dst.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        for i in range(hi - lo):
            dst[lo + i] = src[lo + i]


@kernel(parallel=True)
def copy_strided(src, s_off, s_str, dst, d_off, d_str, shape):
    """Contract: dst view[...] = src view[...] elementwise over `shape`, both strided
    (converting dtype on store). contiguous/cast pass a row-major dst; assign passes
    the caller's strided dst. Parallel rows; unit-stride rows vectorise."""
    nd = shape.shape[0]
    inner = shape[nd - 1]
    ss = s_str[nd - 1]
    ds = d_str[nd - 1]
    rows = 1
    for d in range(nd - 1):
        rows *= shape[d]
    for r in prange(rows):
        i = row_position(r, shape, s_str, s_off)
        o = row_position(r, shape, d_str, d_off)
        if ss == 1 and ds == 1:
            for j in range(inner):
                dst[o + j] = src[i + j]
        else:
            for j in range(inner):
                dst[o + j * ds] = src[i + j * ss]


@kernel(parallel=True)
def fill(out, value):
    """Contract: out[i] = value for every i."""
    for i in prange(out.shape[0]):
        out[i] = value
