"""Stable softmax over the last axis, alone and fused with the cross-entropy.

One pass per row computes what three separate ops (max, exp-sum, log) would, and each
element's exp is computed once and reused for both the probability and the sum:

    m = max_c z_c;  e_c = exp(z_c - m) (<= 1, never overflows);  s = sum_c e_c
    probs_c = e_c / s
    loss = -sum_c t_c (z_c - m - log s) = (sum_c t_c) * log s - sum_c t_c (z_c - m)
"""
from __future__ import annotations

import numpy as np

from .jit import helper, kernel, prange


@helper()
def _softmax_row(z, zs, z_col, C, probs, p):
    """probs[p:p + C] = softmax of the row z[zs + c * z_col], c < C. Returns (m, s): the
    row's max and the sum of exp(z_c - m), from which the loss's log-sum-exp follows."""
    m = z[zs]
    for c in range(1, C):
        v = z[zs + c * z_col]
        m = v if v > m else m
    s = 0.0
    for c in range(C):
        e = np.exp(z[zs + c * z_col] - m)      # z's dtype: float32 exp for float32
        probs[p + c] = e
        s += e
    inv = 1.0 / s
    for c in range(C):
        probs[p + c] *= inv
    return m, s


@kernel(parallel=True)
def softmax_rows(z, z_off, z_row, z_col, n, C, probs):
    """Contract: z a strided (n, C) view (offset, row stride, column stride); probs (n, C)
    row-major output in z's dtype. Parallel over rows; one exp per element; sums in float64."""
    for i in prange(n):
        _softmax_row(z, z_off + i * z_row, z_col, C, probs, i * C)


@kernel(parallel=True)
def softmax_xent(z, z_off, z_row, z_col, t, t_off, t_row, t_col, n, C, loss, probs):
    """Contract: z and t strided (n, C) views (offset, row stride, column stride);
    loss (n,) and probs (n, C) row-major outputs in z's dtype. Parallel over rows; one
    exp per element (stored in probs, then scaled in place); sums in float64."""
    for i in prange(n):
        zs = z_off + i * z_row
        ts = t_off + i * t_row
        m, s = _softmax_row(z, zs, z_col, C, probs, i * C)
        tsum = 0.0
        tz = 0.0
        for c in range(C):
            tc = t[ts + c * t_col]
            tsum += tc
            tz += tc * (z[zs + c * z_col] - m)
        loss[i] = tsum * np.log(s) - tz
