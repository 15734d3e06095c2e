"""Fused, numerically stable softmax cross-entropy over the last axis.

One pass per row computes what three separate ops (max, exp-sum, log) would, and each
element's exp is computed once and reused for both the probability and the sum:

    m = max_c z_c;  e_c = exp(z_c - m) (<= 1, never overflows);  s = sum_c e_c
    probs_c = e_c / s
    loss = -sum_c t_c (z_c - m - log s) = (sum_c t_c) * log s - sum_c t_c (z_c - m)
"""
from __future__ import annotations

import numpy as np

from .jit import kernel, prange


@kernel(parallel=True)
def softmax_xent(z, z_off, z_row, z_col, t, t_off, t_row, t_col, n, C, loss, probs):
    """Contract: z and t strided (n, C) views (offset, row stride, column stride);
    loss (n,) and probs (n, C) row-major outputs in z's dtype. Parallel over rows; one
    exp per element (stored in probs, then scaled in place); sums in float64."""
    for i in prange(n):
        zs = z_off + i * z_row
        ts = t_off + i * t_row
        p = i * C
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
        tsum = 0.0
        tz = 0.0
        for c in range(C):
            probs[p + c] *= inv
            tc = t[ts + c * t_col]
            tsum += tc
            tz += tc * (z[zs + c * z_col] - m)
        loss[i] = tsum * np.log(s) - tz
