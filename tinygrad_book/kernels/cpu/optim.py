"""Fused optimizer updates: one pass over each weight instead of ~9 kernels.

Written with Tensor ops, RMSprop's update

    a = rho * a + (1 - rho) * g * g;   p = p - lr * g / (sqrt(a) + eps)

is 9 element-wise kernels per weight, each reading one or two whole arrays and writing a
new one (plus an allocation): about 25 passes over memory of the weight's size and 9
parallel launches. Every one of these kernels is memory-bound (one or two flops per
element loaded), so the cost is the traffic. The fused kernel reads g, a, p once and
writes a and p once, in place: 5 passes, 1 launch. `CpuBackend.optimizer_update` runs
them through `update` below (the contract is base.Backend.optimizer_update); the nn
optimizers ask for it through `Tensor.fused_update`, and the tests check that the fused
and the Tensor-op paths give the same weights.

Denormals: RMSprop's accumulator decays by rho at every step where g == 0 (dead ReLU
units, MNIST's blank border pixels) and sinks below float32's smallest normal number
(1.2e-38), where the CPU's arithmetic is many times slower. A fused kernel can flush
`a < flush_below` to zero at *every* step for free (a compare and a select in the same
pass); the Tensor-op path needs extra kernels for it, so it does so every 50 steps.

The element loops have no branch (`x if c else y` becomes a SIMD select) and the
scalars arrive in the weights' dtype, so float32 weights are updated with float32 SIMD.
"""
from __future__ import annotations

import numpy as np

from .jit import kernel, prange, run

CHUNK = 1 << 14          # elements per parallel task, as in elementwise.py


@kernel(parallel=True, fastmath={"contract"})
def rmsprop_update(p, g, a, lr, rho, one_minus_rho, eps, flush_below):
    """Contract: p, g, a unit-stride arrays of equal length, updated in place:
    a = rho*a + (1-rho)*g^2 (then 0 where a < flush_below); p -= lr*g / (sqrt(a) + eps).
    Optimisation: one fused pass (5 memory streams instead of ~25), parallel chunks."""
    n = p.shape[0]
    zero = a.dtype.type(0)
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        pc, gc, ac = p[lo:min(lo + CHUNK, n)], g[lo:min(lo + CHUNK, n)], a[lo:min(lo + CHUNK, n)]
        for i in range(pc.shape[0]):
            gi = gc[i]
            ai = rho * ac[i] + one_minus_rho * (gi * gi)
            ai = zero if ai < flush_below else ai
            ac[i] = ai
            pc[i] -= lr * gi / (np.sqrt(ai) + eps)


@kernel(parallel=True, fastmath={"contract"})
def adam_update(p, g, m, v, vmax, lr_t, beta_1, one_minus_b1, beta_2, one_minus_b2, eps, flush_below, amsgrad):
    """Contract: p, g, m, v (and vmax when amsgrad) unit-stride, equal length, in place:
    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2 (flushed below flush_below);
    amsgrad: vmax = max(vmax, v), used instead of v;  p -= lr_t * m / (sqrt(v) + eps).
    Optimisation: one fused pass, parallel chunks (vmax is ignored unless amsgrad)."""
    n = p.shape[0]
    zero = v.dtype.type(0)
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        pc, gc, mc, vc = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
        if amsgrad:
            wc = vmax[lo:hi]
            for i in range(pc.shape[0]):
                gi = gc[i]
                mi = beta_1 * mc[i] + one_minus_b1 * gi
                vi = beta_2 * vc[i] + one_minus_b2 * (gi * gi)
                vi = zero if vi < flush_below else vi
                wi = wc[i] if wc[i] > vi else vi
                mc[i] = mi
                vc[i] = vi
                wc[i] = wi
                pc[i] -= lr_t * mi / (np.sqrt(wi) + eps)
        else:
            for i in range(pc.shape[0]):
                gi = gc[i]
                mi = beta_1 * mc[i] + one_minus_b1 * gi
                vi = beta_2 * vc[i] + one_minus_b2 * (gi * gi)
                vi = zero if vi < flush_below else vi
                mc[i] = mi
                vc[i] = vi
                pc[i] -= lr_t * mi / (np.sqrt(vi) + eps)


@kernel(parallel=True, fastmath={"contract"})
def sgd_update(p, g, v, lr, momentum, nesterov):
    """Contract: p, g (and v when momentum != 0) unit-stride, equal length, in place:
    plain: p -= lr*g;  momentum: v = momentum*v - lr*g, p += v (nesterov: p += momentum*v - lr*g)."""
    n = p.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        pc, gc = p[lo:hi], g[lo:hi]
        if momentum == 0:
            for i in range(pc.shape[0]):
                pc[i] -= lr * gc[i]
        else:
            vc = v[lo:hi]
            if nesterov:
                for i in range(pc.shape[0]):
                    vi = momentum * vc[i] - lr * gc[i]
                    vc[i] = vi
                    pc[i] += momentum * vi - lr * gc[i]
            else:
                for i in range(pc.shape[0]):
                    vi = momentum * vc[i] - lr * gc[i]
                    vc[i] = vi
                    pc[i] += vi


@kernel(parallel=True, fastmath={"contract"})
def adagrad_update(p, g, a, lr, eps):
    """Contract: p, g, a unit-stride, equal length, in place: a += g^2; p -= lr*g/(sqrt(a)+eps)."""
    n = p.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        pc, gc, ac = p[lo:hi], g[lo:hi], a[lo:hi]
        for i in range(pc.shape[0]):
            gi = gc[i]
            ai = ac[i] + gi * gi
            ac[i] = ai
            pc[i] -= lr * gi / (np.sqrt(ai) + eps)


def scalars(dtype, *values):
    """Python floats as the weights' numpy scalar type (float32 SIMD for float32 weights)."""
    t = np.dtype(dtype).type
    return tuple(t(v) for v in values)


def update(rule, p, g, slots, hyper):
    """base.Backend.optimizer_update on unit-stride numpy runs p, g and slots. `run` picks
    the serial form of a kernel for small weights (a parallel launch costs more there)."""
    h = hyper
    if rule == "sgd":
        lr, mom = scalars(p.dtype, h["lr"], h["momentum"])
        run(sgd_update, p.size, p, g, slots[0] if slots else g, lr, mom, bool(h["nesterov"]))
    elif rule == "rmsprop":
        k = scalars(p.dtype, h["lr"], h["rho"], 1.0 - h["rho"], h["epsilon"], h["flush_below"])
        run(rmsprop_update, p.size, p, g, slots[0], *k)
    elif rule == "adagrad":
        run(adagrad_update, p.size, p, g, slots[0], *scalars(p.dtype, h["lr"], h["epsilon"]))
    elif rule == "adam":
        k = scalars(p.dtype, h["lr_t"], h["beta_1"], 1.0 - h["beta_1"], h["beta_2"], 1.0 - h["beta_2"],
                    h["epsilon"], h["flush_below"])
        vmax = slots[2] if h["amsgrad"] else slots[1]
        run(adam_update, p.size, p, g, slots[0], slots[1], vmax, *k, bool(h["amsgrad"]))
    else:
        raise ValueError(f"unknown optimizer rule {rule!r}")


RULES = frozenset({"sgd", "rmsprop", "adagrad", "adam"})
