"""Fused batch normalisation over the rows of a row-major (M, C) array (channels last).

The formulas are base.Backend.batchnorm_forward / batchnorm_backward. Launch shapes:

* Per-channel sums (`channel_moments`, `channel_grad_sums`): a 1-D grid-stride loop with
  one thread per channel; the thread walks down its column. Neighbouring threads read
  neighbouring channels of the same row, so every step of the walk is one coalesced
  read. Nothing is shared, so no barrier and no atomics. With few channels and many rows
  this leaves most of the GPU idle (a block per channel with a tree, as in reduce.py,
  would spread the rows); the book's layers have 32 to 2048 channels.
* Element-wise passes (`normalize`, `input_grad`): one thread per element.

Every array is a flat, row-major run (the host passes slices of the storages).
Sums run in float64 even for float32 data; results are stored in the arrays' dtype.
The variance is two-pass (mean first), as on the CPU.
"""
from __future__ import annotations

import math

from numba import cuda


@cuda.jit
def channel_moments(x, rows, channels, epsilon, mean, var, inv_std):
    """mean, biased var and 1/sqrt(var + epsilon) of each column of x (rows, channels)."""
    for c in range(cuda.grid(1), channels, cuda.gridsize(1)):
        total = 0.0
        for i in range(rows):
            total += x[i * channels + c]
        m = total / rows
        squares = 0.0
        for i in range(rows):
            d = x[i * channels + c] - m
            squares += d * d
        v = squares / rows
        mean[c] = m
        var[c] = v
        inv_std[c] = 1.0 / math.sqrt(v + epsilon)


@cuda.jit
def normalize(x, channels, mean, inv_std, gamma, beta, y):
    """y[i, c] = gamma[c] * (x[i, c] - mean[c]) * inv_std[c] + beta[c], one thread per element."""
    for k in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        c = k % channels
        y[k] = gamma[c] * (x[k] - mean[c]) * inv_std[c] + beta[c]


@cuda.jit
def channel_grad_sums(g, x, rows, channels, mean, inv_std, dgamma, dbeta):
    """dbeta[c] = sum_i g[i, c];  dgamma[c] = sum_i g[i, c] * xhat[i, c], one thread per channel."""
    for c in range(cuda.grid(1), channels, cuda.gridsize(1)):
        sum_g = 0.0
        sum_gx = 0.0
        for i in range(rows):
            k = i * channels + c
            gi = g[k]
            sum_g += gi
            sum_gx += gi * (x[k] - mean[c]) * inv_std[c]
        dbeta[c] = sum_g
        dgamma[c] = sum_gx


@cuda.jit
def input_grad(g, x, rows, channels, mean, inv_std, gamma, dgamma, dbeta, dx):
    """dx[i,c] = gamma[c]*inv_std[c] * (g[i,c] - dbeta[c]/M - xhat[i,c]*dgamma[c]/M)."""
    for k in range(cuda.grid(1), dx.shape[0], cuda.gridsize(1)):
        c = k % channels
        xhat = (x[k] - mean[c]) * inv_std[c]
        dx[k] = gamma[c] * inv_std[c] * (
            g[k] - dbeta[c] / rows - xhat * dgamma[c] / rows)
