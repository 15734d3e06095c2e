"""Row gather / scatter-add (embedding forward / backward) and one-hot.

gather_rows is embarrassingly parallel: every output row is written once.
scatter_add_rows is not: two source rows with the same index add into the same output
row, and two threads doing `out[r] += ...` at once lose updates. Instead of atomics we
split the *columns* between tasks: each task walks all n source rows in order but
touches only its own columns, so a repeated index is always added by one thread, in
order, and the result is deterministic.
"""
from __future__ import annotations

import numpy as np

from .jit import kernel, prange


@kernel(parallel=True)
def gather_rows(table, t_off, s_row, s_col, V, D, idx, out):
    """Contract: table a strided (V, D) view; idx int64 (n,) contiguous, each in [-V, V);
    out (n, D) row-major, out[i] = table[idx[i]]. Parallel over output rows; a unit-stride
    table row is a straight (vectorised) copy."""
    for i in prange(idx.shape[0]):
        r = idx[i]
        if r < 0:
            r += V
        src = t_off + r * s_row
        dst = i * D
        if s_col == 1:
            # Slice once per row, then index with the loop counter: numba can prove
            # `c` >= 0 and drops its negative-index check, so the copy vectorises
            # (indexing with `dst + c` kept a per-element branch: 9x slower).
            o = out[dst:dst + D]
            t = table[src:src + D]
            for c in range(D):
                o[c] = t[c]
        else:
            for c in range(D):
                out[dst + c] = table[src + c * s_col]


@kernel(parallel=True)
def scatter_add_rows(src, s_off, s_row, s_col, idx, num_rows, D, out):
    """Contract: src a strided (n, D) view, idx int64 (n,) in [-num_rows, num_rows);
    out zeroed (num_rows, D) row-major gets src[i] added into row idx[i].
    Optimisation: parallel over column blocks, serial over rows: no two tasks touch the
    same element, so repeated indices need no atomics."""
    width = 16
    for t in prange((D + width - 1) // width):
        c0 = t * width
        c1 = min(c0 + width, D)
        for i in range(idx.shape[0]):
            r = idx[i]
            if r < 0:
                r += num_rows
            s = s_off + (i * s_row + c0 * s_col)
            o = out[r * D + c0:r * D + c1]        # slice per row: see gather_rows
            if s_col == 1:
                row = src[s:s + (c1 - c0)]
                for c in range(c1 - c0):
                    o[c] += row[c]
            else:
                for c in range(c1 - c0):
                    o[c] += src[s + c * s_col]


@kernel(parallel=True)
def one_hot(labels, num_classes, out):
    """Contract: labels int64 (n,) contiguous in [-num_classes, num_classes); out zeroed
    (n, num_classes) gets out[i, labels[i]] = 1."""
    for i in prange(labels.shape[0]):
        k = labels[i]
        if k < 0:
            k += num_classes
        out[i * num_classes + k] = 1


def check_indices(idx: np.ndarray, bound: int, what: str) -> None:
    """numpy raises IndexError for an index out of range; so do we (before the kernel,
    which would otherwise read or write outside its array)."""
    if idx.size and (idx.min() < -bound or idx.max() >= bound):
        bad = idx[(idx < -bound) | (idx >= bound)][0]
        raise IndexError(f"{what}: index {bad} is out of bounds for size {bound}")
