"""Fused optimizer updates on the GPU: one thread per element, in place.

The same formulas as kernels/cpu/optim.py (the contract is base.Backend.optimizer_update):
each thread reads its g, state and weight once and writes them once. The launch is a
1-D grid-stride loop (`Launch.grid_stride(n)`); p, g and the state slots are unit-stride
runs of their storages given as (array, offset), so no slice is created on the device.
Scalars arrive as the weights' numpy type, so float32 weights stay float32.
"""
from __future__ import annotations

import math

from numba import cuda


@cuda.jit
def sgd_update(n, p, p0, g, g0, v, v0, lr, momentum, nesterov):
    """momentum == 0: p -= lr*g (v unused); else v = momentum*v - lr*g, p += v
    (nesterov: p += momentum*v - lr*g)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        gi = g[g0 + i]
        if momentum == 0:
            p[p0 + i] -= lr * gi
        else:
            vi = momentum * v[v0 + i] - lr * gi
            v[v0 + i] = vi
            p[p0 + i] += momentum * vi - lr * gi if nesterov else vi


@cuda.jit
def rmsprop_update(n, p, p0, g, g0, a, a0, lr, rho, one_minus_rho, eps, flush_below):
    """a = rho*a + (1-rho)*g^2 (0 below flush_below); p -= lr*g / (sqrt(a) + eps)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        gi = g[g0 + i]
        ai = rho * a[a0 + i] + one_minus_rho * (gi * gi)
        if ai < flush_below:
            ai = 0
        a[a0 + i] = ai
        p[p0 + i] -= lr * gi / (math.sqrt(ai) + eps)


@cuda.jit
def adagrad_update(n, p, p0, g, g0, a, a0, lr, eps):
    """a += g^2;  p -= lr*g / (sqrt(a) + eps)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        gi = g[g0 + i]
        ai = a[a0 + i] + gi * gi
        a[a0 + i] = ai
        p[p0 + i] -= lr * gi / (math.sqrt(ai) + eps)


@cuda.jit
def adam_update(n, p, p0, g, g0, m, m0, v, v0, w, w0, lr_t, beta_1, one_minus_b1, beta_2, one_minus_b2,
                eps, flush_below, amsgrad):
    """m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2 (0 below flush_below);
    amsgrad: w = max(w, v), used for v;  p -= lr_t*m / (sqrt(v) + eps)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        gi = g[g0 + i]
        mi = beta_1 * m[m0 + i] + one_minus_b1 * gi
        vi = beta_2 * v[v0 + i] + one_minus_b2 * (gi * gi)
        if vi < flush_below:
            vi = 0
        m[m0 + i] = mi
        v[v0 + i] = vi
        if amsgrad:
            if w[w0 + i] > vi:
                vi = w[w0 + i]
            w[w0 + i] = vi
        p[p0 + i] -= lr_t * mi / (math.sqrt(vi) + eps)


RULES = frozenset({"sgd", "rmsprop", "adagrad", "adam"})
