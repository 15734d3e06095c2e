"""The fused bias + activation of a Dense / Conv2D layer, forward and backward.

Unfused, a layer's `relu(x @ W + b)` after the matmul is two kernels and two new
arrays (the bias add, then relu), and its backward four (the mask `y > 0`, `g * mask`,
the column sum for db, and the expand's own sum): ~6 passes over a (rows, C)
activation. Here forward is one pass (read z, write y) and backward one pass (read y
and g, write dz, add into db's partial sums).

Layout: z, y, g are (rows, C) row-major runs (the glue copies a strided operand first).
A task takes a block of rows of about CHUNK elements; inside it each row is sliced
once and the loops run from 0 over the slice (pitfall 2 in docs/kernels-cpu.md), with
the activation switch outside the element loops (pitfall 1), so every loop is SIMD.

The bias gradient is a column sum over rows. Each task adds its block's rows into its
own row of `partial` (tasks, C) in float64 (groups of 64 rows in x's dtype first, as the
column sum does), and the glue sums the few task rows: no two tasks write one place.
"""
from __future__ import annotations

import numpy as np

from ..vocabulary import ACT_RELU, ACT_SIGMOID, ACT_TANH
from .elementwise import CHUNK
from .jit import helper, kernel, prange
from .reduce import sum_rows_into
from .vecmath import vexp, vtanh


@helper()
def rows_per_task(C):
    """Rows in one parallel task: about CHUNK elements (at least one row)."""
    return max(1, CHUNK // max(C, 1))


@helper()
def _activate_in_place(act, x):
    """x[i] = act(x[i]) over a unit-stride run, for sigmoid and tanh (ReLU is taken in
    bias_act's add loop; linear has nothing left to do).
    One array, not (z, out) with out = z: LLVM vectorises a loop over two arrays only
    after a run-time check that they do not overlap, and in place they do, so that loop
    ran scalar (measured when ReLU was done here, over MNIST conv1's 1.4M outputs: 500 us
    with two arguments, 110 us with one)."""
    one = x.dtype.type(1)
    if act == ACT_SIGMOID:                            # exp only sees -|z| <= 0: stable
        for i in range(x.shape[0]):
            z = x[i]
            e = vexp(-np.abs(z))
            x[i] = one / (one + e) if z >= 0 else e / (one + e)
    elif act == ACT_TANH:
        for i in range(x.shape[0]):
            x[i] = vtanh(x[i])


@helper()
def _slope_times(act, y, g, dz):
    """dz[i] = g[i] * act'(z[i]), the derivative written in y[i] = act(z[i])."""
    one = dz.dtype.type(1)
    zero = dz.dtype.type(0)
    if act == ACT_RELU:
        for i in range(dz.shape[0]):
            dz[i] = g[i] if y[i] > 0 else zero
    elif act == ACT_SIGMOID:
        for i in range(dz.shape[0]):
            dz[i] = g[i] * y[i] * (one - y[i])
    elif act == ACT_TANH:
        for i in range(dz.shape[0]):
            dz[i] = g[i] * (one - y[i] * y[i])
    else:
        for i in range(dz.shape[0]):
            dz[i] = g[i]


@kernel(parallel=True)
def bias_act(act, z, bias, out):
    """Contract: z, out (rows * C,) row-major, bias (C,); out[r, c] = act(z[r, c] + bias[c]).
    Optimisation: one pass; a task adds the bias to its block of rows (seen as 2-D, so a
    short row of C = 32 costs no slicing). ReLU is taken in that loop, as a select before
    the store; sigmoid and tanh then run over the whole block in place while it is in cache.
    Why ReLU is not in place: `x[i] = 0 if x[i] <= 0 else x[i]` stores only where x <= 0
    (the other store writes back what it read), which LLVM compiles to masked stores,
    slow on AMD's Zen 4 (MNIST conv1, 43264 x 32, one thread: 230-250 -> 185 us)."""
    C = bias.shape[0]
    rows = out.shape[0] // C
    per_task = rows_per_task(C)
    zero = out.dtype.type(0)
    for t in prange((rows + per_task - 1) // per_task):
        lo = t * per_task * C
        hi = min((t + 1) * per_task, rows) * C
        zb = z[lo:hi].reshape((hi - lo) // C, C)
        ob = out[lo:hi]
        o2 = ob.reshape((hi - lo) // C, C)
        if act == ACT_RELU:                           # NaN stays NaN, as np.maximum
            for r in range(o2.shape[0]):
                for c in range(C):
                    v = zb[r, c] + bias[c]
                    o2[r, c] = zero if v <= 0 else v
        else:
            for r in range(o2.shape[0]):
                for c in range(C):
                    o2[r, c] = zb[r, c] + bias[c]
            _activate_in_place(act, ob)


@kernel(parallel=True)
def bias_act_backward(act, y, g, dz, partial):
    """Contract: y, g, dz (rows * C,) row-major, partial (tasks, C) float64 zeros with
    tasks = ceil(rows / rows_per_task(C)); dz = g * act'(z) from y, and partial[t, c] =
    the sum of dz[r, c] over task t's rows (db = partial summed over t).
    Optimisation: one pass over y and g per block (the slope as one flat SIMD loop), then
    the column sum over the block just written, still in cache, by the column sum's own
    row loop (reduce.sum_rows_into: four rows per pass into a local run; adding every
    row straight into partial[t] kept the sums in memory: 480 us for conv1's 1.4M, 195)."""
    C = partial.shape[1]
    rows = dz.shape[0] // C
    per_task = rows_per_task(C)
    for t in prange(partial.shape[0]):
        lo = t * per_task * C
        hi = min((t + 1) * per_task, rows) * C
        db = dz[lo:hi]
        _slope_times(act, y[lo:hi], g[lo:hi], db)
        sum_rows_into(db, 0, C, 0, (hi - lo) // C, C, partial[t])
