"""The fused bias + activation of a Dense / Conv2D layer on the GPU, forward and backward.

Launch shapes: `bias_act` and `bias_act_slope` are 1-D grid-stride loops, one thread per
element of the (rows, C) row-major activation (neighbouring threads read neighbouring
addresses: coalesced); `column_sums` is one thread per column (grid-stride over C),
walking the rows: in each step the threads of a warp read one row's neighbouring
columns, so those reads are coalesced too, and no two threads write one place (no
atomics). The book's layers have C of 32 to 512 columns; a very tall, narrow gradient
would want the rows split across blocks and a second pass.
"""
from __future__ import annotations

import math

from numba import cuda

from ..vocabulary import ACT_RELU, ACT_SIGMOID, ACT_TANH
from .elementwise import sigmoid


@cuda.jit(device=True)
def activate(act, z):
    if act == ACT_RELU:
        return 0 if z < 0 else z          # NaN stays NaN, like np.maximum(z, 0)
    if act == ACT_SIGMOID:
        return sigmoid(z)
    if act == ACT_TANH:
        return math.tanh(z)
    return z


@cuda.jit(device=True)
def slope(act, y):
    """act'(z) written in y = act(z)."""
    if act == ACT_RELU:
        return 1 if y > 0 else 0
    if act == ACT_SIGMOID:
        return y * (1 - y)
    if act == ACT_TANH:
        return 1 - y * y
    return 1


@cuda.jit
def bias_act(act, z, z_offset, bias, bias_offset, has_bias, num_cols, out):
    """out[i] = act(z[z_offset + i] + bias[i % C]) over the row-major (rows, C) output."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        v = z[z_offset + i]
        if has_bias:
            v += bias[bias_offset + i % num_cols]
        out[i] = activate(act, v)


@cuda.jit
def bias_act_slope(act, y, y_offset, g, g_offset, dz):
    """dz[i] = g[i] * act'(z[i]), from y = act(z); y and g row-major from their offsets."""
    for i in range(cuda.grid(1), dz.shape[0], cuda.gridsize(1)):
        dz[i] = g[g_offset + i] * slope(act, y[y_offset + i])


@cuda.jit
def column_sums(x, num_rows, out):
    """out[c] = sum_r x[r * C + c] for a row-major (rows, C) x, C = out.shape[0]."""
    num_cols = out.shape[0]
    for c in range(cuda.grid(1), num_cols, cuda.gridsize(1)):
        total = 0.0
        for r in range(num_rows):
            total += x[r * num_cols + c]
        out[c] = total
