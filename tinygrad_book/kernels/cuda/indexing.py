"""Row indexing: gather_rows (embedding lookup), scatter_add_rows (its backward), one_hot.

Launch shape: 1-D grid-stride loops (`Launch.grid_stride`). gather and scatter run
one thread per element of the (n, D) rows, so neighbouring threads touch
neighbouring columns of one row (coalesced); one_hot runs one thread per label.
Negative indices count from the end, as in numpy.
"""
from __future__ import annotations

from numba import cuda


@cuda.jit
def gather_rows(table, t_offset, t_strides, num_rows, idx, i_offset, i_stride, width, out):
    """out (n, D) row-major: out[r, d] = table[idx[r], d]."""
    for e in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        r, d = e // width, e % width
        row = idx[i_offset + r * i_stride]
        if row < 0:
            row += num_rows
        out[e] = table[t_offset + row * t_strides[0] + d * t_strides[1]]


@cuda.jit
def scatter_add_rows(src, s_offset, s_strides, idx, i_offset, i_stride, width, size, out):
    """out (num_rows, D), zero on entry: out[idx[r], d] += src[r, d] for the `size`
    elements of src. Two rows with the same index add into the same address from
    different threads, so the add must be atomic (a plain += would lose updates).
    The order of the adds is not fixed: float sums may differ in the last bits."""
    num_rows = out.shape[0] // width
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        r, d = e // width, e % width
        row = idx[i_offset + r * i_stride]
        if row < 0:
            row += num_rows
        cuda.atomic.add(out, row * width + d, src[s_offset + r * s_strides[0] + d * s_strides[1]])


@cuda.jit
def one_hot_rows(labels, l_offset, l_stride, num_classes, out):
    """out (n, C), zero on entry: out[r, labels[r]] = 1. One thread per row."""
    n = out.shape[0] // num_classes
    for r in range(cuda.grid(1), n, cuda.gridsize(1)):
        label = labels[l_offset + r * l_stride]
        if label < 0:
            label += num_classes
        out[r * num_classes + label] = 1
