"""Reductions (sum / max / min over any set of axes) and argmax.

Python first turns every reduction into a 2-D one, out[m] = reduce_r x[m, r]: the kept
axes become m, the reduced axes become r (a permutation of the view: no copy), and each
group is coalesced to one axis. If a group will not coalesce, one strided copy
(`copy_strided`) makes it contiguous. Then one of three loops runs:

* `reduce_rows`  -- r is unit-stride (e.g. sum over axis 1 of a row-major matrix):
  parallel over m, each row summed with many independent partial sums (below).
* `reduce_cols`  -- m is unit-stride and r is not (sum over axis 0): walking r for a
  single m would jump a whole row per element. Instead each task owns a run of columns
  and streams through the rows, adding a whole row slice into a column accumulator:
  unit-stride reads and a SIMD add across columns.
* `reduce_flat`  -- everything reduces to one number: blocks in parallel, each block's
  partial result stored, partials combined at the end.
* `reduce_general` -- anything else, one strided element at a time.

Why partial sums: `s += x[i]` is a chain; each add waits for the last (4 cycles), and
LLVM may not reorder float adds (it changes rounding). `fastmath={"reassoc"}` on the
sum helper allows exactly that reordering, so LLVM keeps 4 x 16 partial sums in SIMD
registers. float32 is accumulated in float64 (the `acc0` argument): memory, not adds,
is the limit, and the result is more accurate than numpy's pairwise sum. (Column sums
add groups of 64 rows in float32 first, then in float64: see `sum_rows_into`.)
"""
from __future__ import annotations

import numpy as np

from ..vocabulary import MAX, MIN, SUM  # noqa: F401  (MIN: the else of every op test)
from .jit import flat_position, helper, kernel, prange
BLOCK = 1 << 15


@helper(fastmath={"reassoc", "contract"})
def sum_run(x, acc0):
    """Sum of a unit-stride array, accumulated in acc0's type; reassociation lets LLVM
    keep several SIMD partial sums (the reason for fastmath here; softmax.py's
    `_target_dot` is the only other loop allowed to reorder its adds)."""
    s = acc0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@helper()
def _max_run(x, start, step, n):
    """First-found maximum of n elements at start, start+step, ...; NaN propagates."""
    m = x[start]
    for j in range(1, n):
        v = x[start + j * step]
        if v > m or v != v:
            m = v
            if v != v:
                break
    return m


@helper()
def _min_run(x, start, step, n):
    m = x[start]
    for j in range(1, n):
        v = x[start + j * step]
        if v < m or v != v:
            m = v
            if v != v:
                break
    return m


@helper()
def _reduce_run(op, x, start, step, n, acc0):
    """One output element: reduce n elements of x from start by step."""
    if op == SUM:
        if step == 1:
            return sum_run(x[start:start + n], acc0)
        s = acc0
        for j in range(n):
            s += x[start + j * step]
        return s
    elif op == MAX:
        return _max_run(x, start, step, n)
    return _min_run(x, start, step, n)


@kernel(parallel=True)
def reduce_rows(op, x, off, sm, sr, m_count, r_count, acc0, out):
    """Contract: out[m] = reduce_{r < r_count} x[off + m*sm + r*sr] for m < m_count.
    Optimisation: parallel over m; unit-stride rows use the reassociated SIMD sum."""
    for m in prange(m_count):
        out[m] = _reduce_run(op, x, off + m * sm, sr, r_count, acc0)


@kernel(parallel=True)
def reduce_flat(op, x, off, n, acc0, out):
    """Contract: out[0] = reduce of the n unit-stride elements x[off:off+n].
    Optimisation: BLOCK-sized pieces reduced in parallel into `part`, then combined."""
    nblocks = (n + BLOCK - 1) // BLOCK
    sums = np.full(nblocks, acc0)            # partials in the accumulator type (sum)
    best = np.empty(nblocks, x.dtype)        # partials in x's type (max / min)
    for b in prange(nblocks):
        lo = off + b * BLOCK
        if op == SUM:
            sums[b] = sum_run(x[lo:lo + min(BLOCK, off + n - lo)], acc0)
        else:
            best[b] = _reduce_run(op, x, lo, 1, min(BLOCK, off + n - lo), acc0)
    if op == SUM:
        out[0] = sum_run(sums, acc0)
    elif op == MAX:
        out[0] = _max_run(best, 0, 1, nblocks)
    else:
        out[0] = _min_run(best, 0, 1, nblocks)


COMBINE_PARALLEL = 1 << 16   # partial values from which reduce_cols combines them in parallel


@kernel(parallel=True)
def reduce_cols(op, x, off, sr, m_count, r_count, threads, acc0, out):
    """Contract: out[m] = reduce_r x[off + m + r*sr] (m unit-stride, r strided).
    Optimisation: walking r for one m would jump a whole row per element, so tasks
    stream down the rows instead, adding each row's slice into a column accumulator
    (a unit-stride SIMD update). Tasks own up to 1024 columns *and* a block of rows: a
    bias gradient has few columns (32 filters) and many rows (N*H*W = 43264), so splitting
    only the columns left one core idle; and a task that owns whole rows reads one
    contiguous stretch of memory, which the prefetcher follows (256 columns of a 1000 x
    1000 array, a 1 KB run every 4 KB, ran at 0.91-0.99 of numpy on one thread of an
    AMD EPYC Zen 4; whole rows 1.1-1.5). Each row block writes its partial result to
    `part[block]`; a second loop combines the blocks column by column.
    Each row is sliced once (`row = x[base:base + w]`) and indexed with the loop
    counter: with `x[base + j]` numba keeps a negative-index check per element and the
    loop does not vectorise (measured 3.5x slower than numpy at 1000 x 1000). The sum's
    rows are added four at a time, in groups (`sum_rows_into`). The combining loop runs
    in parallel only for many partial values: a second parallel region costs a second
    hand-off (40-250 us on the Zen 4 VM of issue 12's ninth round, for ~8000 adds).
    On one thread (`threads`, what jit.run runs it with) there is one row block: nothing
    to combine (1000 x 1000 on one thread: 105 -> 69-75 us without the eight blocks'
    partial rows and their column-by-column combine)."""
    cols = 1024
    col_tasks = (m_count + cols - 1) // cols
    blocks = 1 if threads == 1 else max(1, min(8, r_count // 64, 16 // col_tasks))   # >= 64 rows each
    rows_per = (r_count + blocks - 1) // blocks
    sums = np.full((blocks if op == SUM else 1, m_count), acc0)      # partials: sum ...
    best = np.empty((1 if op == SUM else blocks, m_count), x.dtype)  # ... or max / min
    for t in prange(col_tasks * blocks):
        m0 = (t % col_tasks) * cols
        w = min(cols, m_count - m0)
        r0 = (t // col_tasks) * rows_per
        r1 = min(r0 + rows_per, r_count)
        if op == SUM:
            sum_rows_into(x, off + m0, sr, r0, r1, w, sums[t // col_tasks, m0:m0 + w])
        else:
            b = best[t // col_tasks, m0:m0 + w]
            first = x[off + r0 * sr + m0:off + r0 * sr + m0 + w]
            for j in range(w):
                b[j] = first[j]
            for r in range(r0 + 1, r1):
                _better_into(op, b, x[off + r * sr + m0:off + r * sr + m0 + w], w)
    if m_count * blocks >= COMBINE_PARALLEL:
        for c in prange(col_tasks):                # combine the row blocks, in block order
            _combine(op, sums, best, blocks, c * cols, min(m_count, (c + 1) * cols), out)
    else:                                          # a few thousand adds: not worth a hand-off
        _combine(op, sums, best, blocks, 0, m_count, out)


@helper()
def _combine(op, sums, best, blocks, lo, hi, out):
    """out[lo:hi] = the row blocks' partial results for those columns, combined in block
    order. Sums: block by block into row 0, a unit-stride (SIMD) loop over the columns."""
    if op == SUM:
        total = sums[0, lo:hi]
        for k in range(1, blocks):
            part = sums[k, lo:hi]
            for j in range(hi - lo):
                total[j] += part[j]
        o = out[lo:hi]
        for j in range(hi - lo):
            o[j] = total[j]
    else:
        for m in range(lo, hi):
            v = best[0, m]
            for k in range(1, blocks):
                u = best[k, m]
                if v == v and (u != u or (u > v if op == MAX else u < v)):
                    v = u
            out[m] = v


GROUP = 64   # rows a column sum adds in x's own dtype before they join the float64 total


@helper()
def sum_rows_into(x, start, sr, r0, r1, w, acc):
    """acc[j] += sum over rows r0 <= r < r1 of x[start + r*sr + j], for j < w.
    Four rows per pass into `part` (one load and one store of the running sum per four
    rows instead of per row), in x's dtype for a GROUP of rows, then added into the
    float64 `acc`: float32 SIMD adds do twice the work of float64 ones per instruction,
    and a group of 64 float32 additions loses far less than numpy's column sum, which
    adds all rows one after the other in float32. One row at a time into float64, this
    loop ran at 0.37x numpy (1000 x 1000, one core)."""
    part = np.empty(w, x.dtype)
    for g0 in range(r0, r1, GROUP):
        g1 = min(g0 + GROUP, r1)
        first = x[start + g0 * sr:start + g0 * sr + w]
        for j in range(w):
            part[j] = first[j]
        r = g0 + 1
        while r + 4 <= g1:
            a = x[start + r * sr:start + r * sr + w]
            b = x[start + (r + 1) * sr:start + (r + 1) * sr + w]
            c = x[start + (r + 2) * sr:start + (r + 2) * sr + w]
            d = x[start + (r + 3) * sr:start + (r + 3) * sr + w]
            for j in range(w):
                part[j] += (a[j] + b[j]) + (c[j] + d[j])
            r += 4
        while r < g1:
            row = x[start + r * sr:start + r * sr + w]
            for j in range(w):
                part[j] += row[j]
            r += 1
        for j in range(w):
            acc[j] += part[j]


@helper()
def _better_into(op, best, row, w):
    """best[j] = row[j] where row[j] is strictly better (max / min), or the first NaN."""
    for j in range(w):
        v = row[j]
        b = best[j]
        if b == b and (v != v or (v > b if op == MAX else v < b)):
            best[j] = v


@kernel(parallel=True)
def reduce_general(op, x, off, m_shape, m_str, r_shape, r_str, acc0, out):
    """Contract: out[m] = reduce over the multi-index r of x at
    off + m.m_str + r.r_str, for views whose groups would not coalesce. Slow path:
    one index computation per element, parallel over m."""
    m_count = out.shape[0]
    r_count = 1
    for d in range(r_shape.shape[0]):
        r_count *= r_shape[d]
    for m in prange(m_count):
        base = flat_position(m, m_shape, m_str, off)
        s = acc0
        best = x[base]
        for r in range(r_count):
            v = x[flat_position(r, r_shape, r_str, base)]
            if op == SUM:
                s += v
            elif best == best and (v != v or (op == MAX and v > best) or (op == MIN and v < best)):
                best = v
        out[m] = s if op == SUM else best


@kernel(parallel=True)
def argmax_rows(x, off, sm, sr, m_count, r_count, out):
    """Contract: out[m] = index r of the first maximum of x[off + m*sm + r*sr]
    (the first NaN, if any, like numpy). Parallel over m."""
    for m in prange(m_count):
        start = off + m * sm
        best = x[start]
        k = 0
        for r in range(1, r_count):
            v = x[start + r * sr]
            if best != best:
                break
            if v > best or v != v:
                best = v
                k = r
        out[m] = k
