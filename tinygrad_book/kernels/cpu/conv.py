"""im2col, col2im (its adjoint) and max pooling, all NHWC.

Channels last means one image pixel's C values are one unit-stride run; every kernel
here moves whole runs of C, so the innermost loop is a SIMD copy/add/compare. Inputs
that are not contiguous NHWC are first made so by one strided copy (`contiguous`).

im2col turns convolution into one big matmul: each output pixel's receptive field
(KH x KW x C values) becomes a row, so (N*OH*OW, KH*KW*C) @ (KH*KW*C, F) is the whole
forward pass, run by the tuned GEMM of matmul.py.

col2im is written as a *gather*: each image pixel sums the patch entries that came from
it. Every output element is written exactly once by exactly one task, so image rows run
in parallel with no atomics and no races (a scatter, patch by patch, would collide).
"""
from __future__ import annotations

from .jit import helper, kernel, prange


@kernel(parallel=True)
def im2col(x, N, H, W, C, KH, KW, SH, SW, top, left, OH, OW, out):
    """Contract: x contiguous (N, H, W, C); out (N, OH, OW, KH, KW, C) row-major with
    out[n,i,j,p,q,c] = x[n, i*SH+p-top, j*SW+q-left, c], 0 outside the image.
    Optimisation: parallel over output rows (n, i). A kernel row p whose KW taps all lie
    inside the image is KW*C consecutive values in x *and* in out: one copy of that run
    (with C = 1 or 3, per-tap copies of 1-3 values cost more in slicing than in moving
    data). Taps at the border go one C-run at a time, zero outside.
    One channel (MNIST's first layer): a kernel row is only KW values, and copying runs
    that short cost ~5 ns a run, mostly the two slices; an output row whose patches lie
    wholly inside the image goes tap by tap instead (`_im2col_row_one_channel`)."""
    patch = KH * KW * C
    inside_w = left == 0 and (OW - 1) * SW + KW <= W          # no patch column leaves the image
    for row in prange(N * OH):
        n = row // OH
        i = row % OH
        h0 = i * SH - top
        if C == 1 and inside_w and 0 <= h0 and h0 + KH <= H:
            _im2col_row_one_channel(x, (n * H + h0) * W, W, KH, KW, SW, OW, out, row * OW * patch)
            continue
        for j in range(OW):
            o = (row * OW + j) * patch
            w0 = j * SW - left
            for p in range(KH):
                h = i * SH + p - top
                if 0 <= h < H and 0 <= w0 and w0 + KW <= W:          # the whole kernel row
                    dst = out[o + p * KW * C:o + (p + 1) * KW * C]
                    src = x[((n * H + h) * W + w0) * C:((n * H + h) * W + w0 + KW) * C]
                    for c in range(KW * C):       # slices + loop counter: vectorised copy
                        dst[c] = src[c]
                    continue
                for q in range(KW):
                    w = w0 + q
                    dst = out[o + (p * KW + q) * C:o + (p * KW + q + 1) * C]
                    if 0 <= h < H and 0 <= w < W:
                        src = x[((n * H + h) * W + w) * C:((n * H + h) * W + w + 1) * C]
                        for c in range(C):
                            dst[c] = src[c]
                    else:
                        for c in range(C):
                            dst[c] = 0


@helper()
def _im2col_row_one_channel(x, start, W, KH, KW, SW, OW, out, o):
    """One output row of im2col for a one-channel image, every patch inside it:
    out[o + j*KH*KW + p*KW + q] = x[start + p*W + j*SW + q]. Tap by tap, each a loop along
    the row (a strided store): MNIST conv1, 64 x 28 x 28, one thread, 570-673 -> 309-353 us
    against a copy of KW values per patch and kernel row."""
    patch = KH * KW
    dst = out[o:o + OW * patch]
    for p in range(KH):
        src = x[start + p * W:start + (p + 1) * W]
        for q in range(KW):
            k = p * KW + q
            for j in range(OW):
                dst[j * patch + k] = src[j * SW + q]


@kernel(parallel=True)
def col2im(cols, N, H, W, C, KH, KW, SH, SW, top, left, OH, OW, out):
    """Contract: cols contiguous (N, OH, OW, KH, KW, C); out zeroed (N, H, W, C) gets
    out[n,h,w,c] = sum of cols[n,i,j,p,q,c] over all (i,j,p,q) with i*SH+p-top = h and
    j*SW+q-left = w. Optimisation: gather form, parallel over image rows (n, h), each
    output C-run written by one task only; stride 1 has its own row loop."""
    for row in prange(N * H):
        if SH == 1 and SW == 1:
            _col2im_row_stride1(cols, row, H, W, C, KH, KW, top, left, OH, OW, out)
        else:
            _col2im_row(cols, row, H, W, C, KH, KW, SH, SW, top, left, OH, OW, out)


@helper()
def _col2im_row(cols, row, H, W, C, KH, KW, SH, SW, top, left, OH, OW, out):
    """Image row `row` (= n * H + h) of col2im, any stride: each pixel's C-run gathers
    the taps that read it (a tap (p, q) of patch (i, j) read it if i*SH + p - top = h)."""
    patch = KH * KW * C
    n = row // H
    h = row % H
    for w in range(W):
        dst = out[(row * W + w) * C:(row * W + w + 1) * C]
        for p in range(KH):
            hp = h + top - p                   # = i*SH for the patch row i that used (h, p)
            if hp < 0 or hp % SH != 0 or hp // SH >= OH:
                continue
            i = hp // SH
            for q in range(KW):
                wq = w + left - q
                if wq < 0 or wq % SW != 0 or wq // SW >= OW:
                    continue
                j = wq // SW
                src = ((n * OH + i) * OW + j) * patch + (p * KW + q) * C
                tap = cols[src:src + C]
                for c in range(C):
                    dst[c] += tap[c]


@helper()
def _col2im_row_stride1(cols, row, H, W, C, KH, KW, top, left, OH, OW, out):
    """Image row `row` of col2im for stride 1, where image column w met tap q at patch
    column j = w + left - q: no division or remainder per tap. Per tap (p, q), the valid
    w form one range, walked with cols read every `patch` values. With C = 1 (the MNIST
    convnet's first layer) each tap is one value, added directly: slicing a run of one
    value per tap, and the % and // per tap of the general loop, made col2im of
    (64, 28, 28, 1) from a 3 x 3 kernel take 2.5 ms, 6 ns a value."""
    patch = KH * KW * C
    n = row // H
    h = row % H
    image_row = out[row * W * C:(row + 1) * W * C]
    for p in range(KH):
        i = h + top - p
        if i < 0 or i >= OH:
            continue
        for q in range(KW):
            w_lo, w_hi = max(0, q - left), min(W, OW + q - left)
            if w_hi <= w_lo:
                continue
            first = ((n * OH + i) * OW + w_lo + left - q) * patch + (p * KW + q) * C
            taps = cols[first:first + (w_hi - w_lo - 1) * patch + C]
            if C == 1:
                dst = image_row[w_lo:w_hi]
                for w in range(w_hi - w_lo):
                    dst[w] += taps[w * patch]
            else:
                for w in range(w_hi - w_lo):
                    dst = image_row[(w_lo + w) * C:(w_lo + w + 1) * C]
                    tap = taps[w * patch:w * patch + C]
                    for c in range(C):
                        dst[c] += tap[c]


@kernel(parallel=True)
def maxpool2d(x, N, H, W, C, KH, KW, SH, SW, OH, OW, values, argmax):
    """Contract: x contiguous (N, H, W, C); values/argmax (N, OH, OW, C) get each
    window's first maximum (first NaN, if any) and its row-major flat index into x.
    Optimisation: parallel over output rows; the window scan updates a whole C-run per
    tap (unit-stride compare + select across channels). Each run is sliced once and
    indexed by the loop counter: `x[src + c]` kept a per-element index check (pitfall 2
    of docs/kernels-cpu.md) and the loop scalar."""
    for row in prange(N * OH):
        n = row // OH
        i = row % OH
        for j in range(OW):
            o = (row * OW + j) * C
            vals = values[o:o + C]
            args = argmax[o:o + C]
            first = ((n * H + i * SH) * W + j * SW) * C
            x0 = x[first:first + C]
            for c in range(C):
                vals[c] = x0[c]
                args[c] = first + c
            for p in range(KH):
                for q in range(KW):
                    if p == 0 and q == 0:
                        continue
                    src = ((n * H + i * SH + p) * W + j * SW + q) * C
                    tap = x[src:src + C]
                    for c in range(C):
                        v = tap[c]
                        best = vals[c]
                        if best == best and (v > best or v != v):
                            vals[c] = v
                            args[c] = src + c


@kernel(parallel=True)
def maxpool2d_backward(g, argmax, N, H, W, C, KH, KW, SH, SW, OH, OW, out):
    """Contract: g and argmax contiguous (N, OH, OW, C), argmax as maxpool2d returned it;
    out (N, H, W, C) row-major, every element written: out[e] = the sum of g[n, i, j, c]
    over the windows (i, j) that contain e and whose argmax[n, i, j, c] == e.
    Optimisation: a gather, as col2im: parallel over image rows (n, h), each element written
    by one task, so no zeroed output, no atomics and no check of the indices (argmax is only
    compared, never used as an address). Windows that do not overlap (the zoo's 2 x 2,
    stride 2) take `_maxpool2d_backward_row_disjoint`: one window per element at most."""
    zero = out.dtype.type(0)
    for row in prange(N * H):
        if KH <= SH and KW <= SW:
            _maxpool2d_backward_row_disjoint(g, argmax, row, H, W, C, KH, KW, SH, SW, OH, OW, out)
            continue
        n = row // H
        h = row % H
        i_lo = max(0, (h - KH + SH) // SH)       # ceil((h - KH + 1) / SH): the first window reaching h
        i_hi = min(OH - 1, h // SH)
        for w in range(W):
            e = (row * W + w) * C
            dst = out[e:e + C]
            for c in range(C):
                dst[c] = zero
            j_lo = max(0, (w - KW + SW) // SW)
            j_hi = min(OW - 1, w // SW)
            for i in range(i_lo, i_hi + 1):
                for j in range(j_lo, j_hi + 1):
                    src = ((n * OH + i) * OW + j) * C
                    grad = g[src:src + C]
                    won = argmax[src:src + C]
                    for c in range(C):
                        dst[c] += grad[c] if won[c] == e + c else zero


@helper()
def _maxpool2d_backward_row_disjoint(g, argmax, row, H, W, C, KH, KW, SH, SW, OH, OW, out):
    """Image row `row` of maxpool2d_backward when windows do not overlap (KH <= SH, KW <= SW):
    the row lies in window row i = h // SH or in none, and column w in window j = w // SW or
    in none, so each element is a select (its window's gradient, or 0) stored once, with no
    zeroing pass and no window ranges per element."""
    zero = out.dtype.type(0)
    n = row // H
    h = row % H
    i = h // SH
    first = row * W * C
    image_row = out[first:first + W * C]
    if i >= OH or h - i * SH >= KH:                 # a row no window reaches
        for k in range(W * C):
            image_row[k] = zero
        return
    for j in range(OW):
        src = ((n * OH + i) * OW + j) * C
        grad = g[src:src + C]
        won = argmax[src:src + C]
        for q in range(KW):
            w = j * SW + q
            dst = image_row[w * C:(w + 1) * C]
            e = first + w * C
            for c in range(C):
                dst[c] = grad[c] if won[c] == e + c else zero
        for k in range((j * SW + KW) * C, min((j + 1) * SW, W) * C):     # columns between windows
            image_row[k] = zero
    for k in range(min(OW * SW, W) * C, W * C):                          # columns after the last
        image_row[k] = zero
