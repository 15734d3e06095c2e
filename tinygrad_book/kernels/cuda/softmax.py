"""Stable softmax over the rows of (n, C) logits, alone and fused with the cross-entropy.

Launch shape: 1-D grid-stride loop, one thread per row (`Launch.grid_stride(n)`).
A row is read three times by its own thread (max, sum of exponentials, then loss
and probabilities), so nothing is shared and no barrier is needed. That suits the
book's class counts (C = 10 or a few hundred); for very wide rows a block per row
with a tree (as in reduce.py) would spread the work.

Stability: the log-sum-exp trick. With m = max(z), exp only sees z - m <= 0 (no
overflow), the sum is >= 1 (its log is finite), and
    log_softmax(z)_c = z_c - m - log(sum_c' exp(z_c' - m)).
Sums run in float64 even for float32 logits; results are stored in the logits' dtype.
"""
from __future__ import annotations

import math

from numba import cuda


@cuda.jit(device=True)
def row_max_and_sum(logits, z_row, z_step, num_classes):
    """(m, sum_c exp(z_c - m)) of one row of logits, m = max(z): the two passes that make
    a softmax stable, shared by both kernels below."""
    m = logits[z_row]
    for c in range(1, num_classes):
        m = max(m, logits[z_row + c * z_step])
    total = 0.0
    for c in range(num_classes):
        total += math.exp(logits[z_row + c * z_step] - m)
    return m, total


@cuda.jit
def softmax_xent_rows(logits, z_offset, z_strides, target, t_offset, t_strides,
                      num_classes, loss, probs):
    """loss (n,): -sum_c target[r, c] * log_softmax(logits[r])_c; probs (n, C) row-major."""
    for r in range(cuda.grid(1), loss.shape[0], cuda.gridsize(1)):
        z_row = z_offset + r * z_strides[0]
        t_row = t_offset + r * t_strides[0]
        m, total = row_max_and_sum(logits, z_row, z_strides[1], num_classes)
        log_total = math.log(total)
        row_loss = 0.0
        for c in range(num_classes):
            log_p = logits[z_row + c * z_strides[1]] - m - log_total
            row_loss -= target[t_row + c * t_strides[1]] * log_p
            probs[r * num_classes + c] = math.exp(log_p)
        loss[r] = row_loss


@cuda.jit
def softmax_rows(logits, z_offset, z_strides, num_rows, num_classes, probs):
    """probs (n, C) row-major: softmax(logits[r]) for every row r < num_rows."""
    for r in range(cuda.grid(1), num_rows, cuda.gridsize(1)):
        z_row = z_offset + r * z_strides[0]
        m, total = row_max_and_sum(logits, z_row, z_strides[1], num_classes)
        for c in range(num_classes):
            probs[r * num_classes + c] = math.exp(logits[z_row + c * z_strides[1]] - m) / total
