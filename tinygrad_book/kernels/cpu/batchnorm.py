"""Fused batch normalisation over the rows of a row-major (M, C) array (channels last).

The formulas are base.Backend.batchnorm_forward / batchnorm_backward. What the loops show:

* Column sums without races: the M rows are cut into `blocks` bands, one per thread;
  each band sums into its own row of a (blocks, C) float64 scratch array, and the bands
  are added up afterwards. Within a band the inner loop runs along a row (unit stride,
  from 0: numba vectorises it), so the memory is read in order.
* Two passes for the variance (mean first, then squared deviations): the one-pass
  sum-of-squares formula loses every digit when the mean is large next to the spread.
* The normalisation itself is one multiply-add per element: per channel,
  scale = gamma * inv_std and shift = beta - mean * scale are computed once.
"""
from __future__ import annotations

import numpy as np

from .jit import kernel, prange, run


@kernel(parallel=True)
def _band_sums(x, g, mean, inv_std, M, C, blocks, power, out):
    """Per-band column sums into out (parts, blocks, C), float64, one band of rows per b:
    power 1: out[0] sums x;  power 2: out[0] sums (x - mean)^2;
    power 0 (backward): out[0] sums g and out[1] sums g * (x - mean) * inv_std.
    (One loop for the three: the branch is the same for every element, so it costs little.)"""
    step = (M + blocks - 1) // blocks
    for b in prange(blocks):
        for i in range(b * step, min(M, (b + 1) * step)):
            row = i * C
            for c in range(C):
                if power == 1:
                    out[0, b, c] += x[row + c]
                elif power == 2:
                    d = x[row + c] - mean[c]
                    out[0, b, c] += d * d
                else:
                    gi = g[row + c]
                    out[0, b, c] += gi
                    out[1, b, c] += gi * (x[row + c] - mean[c]) * inv_std[c]


def _column_sums(x, g, mean, inv_std, M, C, blocks, power, parts):
    out = np.zeros((parts, blocks, C))
    run(_band_sums, M * C, x, g, mean, inv_std, M, C, blocks, power, out)
    return out.sum(axis=1)


def moments(x, M, C, blocks):
    """Contract: x a row-major (M, C) run. Returns float64 (mean, biased var) per channel."""
    unused = np.zeros(C)
    mean = _column_sums(x, x, unused, unused, M, C, blocks, 1, 1)[0] / M
    var = _column_sums(x, x, mean, unused, M, C, blocks, 2, 1)[0] / M
    return mean, var


def grad_sums(g, x, mean, inv_std, M, C, blocks):
    """Contract: g, x row-major (M, C) runs. Returns float64 (dbeta, dgamma) per channel."""
    sums = _column_sums(x, g, mean, inv_std, M, C, blocks, 0, 2)
    return sums[0], sums[1]


@kernel(parallel=True)
def scale_shift(x, M, C, scale, shift, y):
    """y[i, c] = x[i, c] * scale[c] + shift[c], parallel over rows; y in y's dtype."""
    for i in prange(M):
        row = i * C
        for c in range(C):
            y[row + c] = x[row + c] * scale[c] + shift[c]


@kernel(parallel=True)
def input_grad(g, x, M, C, mean, inv_std, gamma, dbeta, dgamma, dx):
    """dx[i,c] = gamma[c]*inv_std[c] * (g[i,c] - dbeta[c]/M - xhat[i,c]*dgamma[c]/M)."""
    for i in prange(M):
        row = i * C
        for c in range(C):
            xhat = (x[row + c] - mean[c]) * inv_std[c]
            dx[row + c] = gamma[c] * inv_std[c] * (g[row + c] - dbeta[c] / M - xhat * dgamma[c] / M)
