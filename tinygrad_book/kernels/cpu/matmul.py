"""Batched matmul, out[b] = a[b] @ b[b], written as a blocked, packed, register-blocked GEMM.

The naive triple loop reads a row of A and a column of B for every output element:
2 loads per multiply-add and cache misses on the column. Three ideas make it fast:

1. Packing. For each slab of KC values of k, copy the A rows and the B columns the
   slab needs into small contiguous buffers `ap` (M x kc) and `bp` (N x kc), each row
   of them a unit-stride run of k. The copy reads the operands through their strides,
   so a transposed operand (a.T, b.T) costs nothing extra: packing *is* the transpose.
   Packing is O(MK + KN); the product is O(MNK).
2. Cache blocking. Output tiles of MC x NC are independent tasks (`prange`); inside a
   tile the same 4 packed columns of B (4 x kc) stay in L1 while we sweep down the
   tile's rows, and the tile's A rows (MC x kc) stay in L2.
3. Register blocking. The micro-kernel computes a 4 x 4 block of `out` with 16 scalar
   accumulators: per k it loads 4 values of A and 4 of B and does 16 multiply-adds
   (0.5 loads per FMA instead of 2). `fastmath={"reassoc", "contract"}` lets LLVM split
   each accumulator's sum over k into SIMD lanes (16 float32 per register) and fuse
   multiply+add into FMA: 16 FMAs on 16-wide registers per step of 16 k's.
   (Reassociation changes the summation order; the tests allow float rounding.)

Small k (convolution layers with 1-3 input channels have k = 9..32) leaves nothing
for SIMD lanes along k, so `matmul_small_k` vectorises along the output row instead.
NOT a call into BLAS: that is what we measure against (benchmarks/).
"""
from __future__ import annotations

import numpy as np

from .jit import helper, kernel, prange

MR = 4          # micro-tile rows    (the 4 x 4 register block)
NR = 4          # micro-tile columns
KC = 512        # k-slab: a 4 x KC panel of A and of B is 8 KiB each in float32 (L1: 48 KiB)
MC = 32         # output tile rows handled by one task (A block MC x KC stays in L2)
NC = 128        # output tile columns handled by one task
SMALL_K = 48    # below this, vectorise along the output row instead of along k ...
SMALL_K_MIN_N = 16   # ... if the output row is long enough to vectorise (conv1's dx has N = 9)
BY_TILE_BYTES = 1 << 20   # packed B up to this (~L2) size: loop order "by tile", else "by slab"
FEW_TILES = 8             # ... and "by tile" too when the output has this few MC x NC tiles


@helper()
def _pack(src, off, s_row, s_col, rows, k0, kc, r0, r1, dst):
    """dst[r*kc + k] = src[off + r*s_row + (k0+k)*s_col] for r in [r0, r1), zero for
    r >= rows (padding to a whole micro-tile). Reads through any strides."""
    for r in range(r0, r1):
        base = r * kc
        if r < rows:
            src_row = off + r * s_row + k0 * s_col
            for k in range(kc):
                dst[base + k] = src[src_row + k * s_col]
        else:
            for k in range(kc):
                dst[base + k] = 0


@helper(fastmath={"reassoc", "contract"})
def _micro(ap, bp, kc, zero, out, o, ldo, mr, nr):
    """out[o + i*ldo + j] += sum_k ap[i*kc + k] * bp[j*kc + k] for i < mr, j < nr (<= 4).
    The 4 x 4 block lives in 16 registers for the whole k loop."""
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = zero
    c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = zero
    for k in range(kc):
        a0, a1, a2, a3 = ap[k], ap[kc + k], ap[2 * kc + k], ap[3 * kc + k]
        b0, b1, b2, b3 = bp[k], bp[kc + k], bp[2 * kc + k], bp[3 * kc + k]
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3   # noqa: E702
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3   # noqa: E702
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3   # noqa: E702
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3   # noqa: E702
    _store_row(out, o, nr, c00, c01, c02, c03)
    if mr > 1:
        _store_row(out, o + ldo, nr, c10, c11, c12, c13)
    if mr > 2:
        _store_row(out, o + 2 * ldo, nr, c20, c21, c22, c23)
    if mr > 3:
        _store_row(out, o + 3 * ldo, nr, c30, c31, c32, c33)


@helper()
def _store_row(out, o, nr, x0, x1, x2, x3):
    """Add the first nr of (x0..x3) into out[o:o+nr] (edge tiles have nr < 4)."""
    out[o] += x0
    if nr > 1:
        out[o + 1] += x1
    if nr > 2:
        out[o + 2] += x2
    if nr > 3:
        out[o + 3] += x3


@helper()
def _tile(ap, a0, bp, kc, zero, out, o_base, M, N, i0, j0):
    """One MC x NC output tile: sweep 4-column panels of B (kept in L1) across the
    tile's 4-row panels of A (kept in L2). Output row i0 is packed row a0 of `ap`."""
    i1 = min(i0 + MC, M)
    j1 = min(j0 + NC, N)
    for jr in range(0, j1 - j0, NR):
        j = j0 + jr
        bpan = bp[j * kc:(j + NR) * kc]
        for ir in range(0, i1 - i0, MR):
            i = i0 + ir
            _micro(ap[(a0 + ir) * kc:(a0 + ir + MR) * kc], bpan, kc, zero, out, o_base + i * N + j, N,
                   min(MR, M - i), min(NR, N - j))


@kernel(parallel=True, fastmath={"reassoc", "contract"})
def matmul_packed(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, zero, out):
    """Contract: a strided (batch, M, K) view (a_off, a_str[3]), b strided (batch, K, N);
    out is a zeroed row-major (batch, M, N) storage, += a @ b per batch.
    Optimisation: packing + cache blocking + 4x4 register blocking (module docstring).
    Loop order "by slab": for each k-slab, pack it (A and B) in parallel, then all output
    tiles in parallel, so the slab of B is read from memory once and shared by every
    tile from cache. Right when B is large (it would not stay in cache)."""
    m_pad = (M + MR - 1) // MR * MR
    n_pad = (N + NR - 1) // NR * NR
    kc_max = min(KC, K)
    ap = np.empty(m_pad * kc_max, out.dtype)
    bp = np.empty(n_pad * kc_max, out.dtype)
    tiles_m = (M + MC - 1) // MC
    tiles_n = (N + NC - 1) // NC
    for bi in range(batch):
        for pc in range(0, K, KC):
            kc = min(KC, K - pc)
            for g in prange((m_pad + 15) // 16):          # pack A: rows m, along k
                _pack(a, a_off + bi * a_str[0], a_str[1], a_str[2], M, pc, kc,
                      g * 16, min(g * 16 + 16, m_pad), ap)
            for g in prange((n_pad + 15) // 16):          # pack B: columns n, along k
                _pack(b, b_off + bi * b_str[0], b_str[2], b_str[1], N, pc, kc,
                      g * 16, min(g * 16 + 16, n_pad), bp)
            for t in prange(tiles_m * tiles_n):
                i0 = (t // tiles_n) * MC
                _tile(ap, i0, bp, kc, zero, out, bi * M * N, M, N, i0, (t % tiles_n) * NC)


@kernel(parallel=True, fastmath={"reassoc", "contract"})
def matmul_by_tile(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, zero, out):
    """Contract: as matmul_packed.
    Loop order "by tile", for a B that fits in cache (packed B <= BY_TILE_BYTES, about L2): pack all
    of B in one parallel loop, then one task per output tile packs its own A rows slab by
    slab and runs the whole k loop. Two parallel loops per product instead of three per
    k-slab: a (512, 10000) @ (10000, 16) layer (IMDB) had 60 thread hand-offs, each costing
    more than its slab's arithmetic on a busy machine (measured 2x faster; 4x for the
    transposed (10000, 512)^T @ (512, 16) weight gradient, whose strided A rows are now
    packed by the task that uses them, while they are hot in its L1)."""
    n_pad = (N + NR - 1) // NR * NR
    slabs = (K + KC - 1) // KC
    groups = (n_pad + 15) // 16
    bp = np.empty(n_pad * K, out.dtype)       # slab s (k from s*KC) at bp[s*KC*n_pad:]
    tiles_m = (M + MC - 1) // MC
    tiles_n = (N + NC - 1) // NC
    for bi in range(batch):
        for t in prange(slabs * groups):                 # pack B: columns n, along k
            pc = (t // groups) * KC
            g = t % groups
            kc = min(KC, K - pc)
            _pack(b, b_off + bi * b_str[0], b_str[2], b_str[1], N, pc, kc,
                  g * 16, min(g * 16 + 16, n_pad), bp[pc * n_pad:pc * n_pad + n_pad * kc])
        for t in prange(tiles_m * tiles_n):
            i0 = (t // tiles_n) * MC
            rows = min(MC, M - i0)
            ap = np.empty(MC * min(KC, K), out.dtype)    # this task's A rows, one slab
            for pc in range(0, K, KC):
                kc = min(KC, K - pc)
                _pack(a, a_off + bi * a_str[0] + i0 * a_str[1], a_str[1], a_str[2], rows, pc, kc,
                      0, (rows + MR - 1) // MR * MR, ap)
                _tile(ap, 0, bp[pc * n_pad:pc * n_pad + n_pad * kc], kc, zero, out, bi * M * N, M, N,
                      i0, (t % tiles_n) * NC)


@kernel(parallel=True, fastmath={"contract"})
def matmul_small_k(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, zero, out):
    """Contract: as matmul_packed (zero unused), for small K. out[b, i, :] += a[b, i, k] * b[b, k, :]
    row by row: B (K x N) is packed row-major once per batch so the inner loop over the
    output row is unit-stride and vectorises; rows run in parallel."""
    bp = np.empty(K * N, out.dtype)
    for bi in range(batch):
        for k in range(K):
            for j in range(N):
                bp[k * N + j] = b[b_off + bi * b_str[0] + k * b_str[1] + j * b_str[2]]
        for i in prange(M):
            row = out[(bi * M + i) * N:(bi * M + i + 1) * N]
            a_row = a_off + bi * a_str[0] + i * a_str[1]
            for k in range(K):
                aik = a[a_row + k * a_str[2]]
                bk = bp[k * N:(k + 1) * N]
                for j in range(N):
                    row[j] += aik * bk[j]


# --- dispatch: which loop runs a product ----------------------------------------------
# Every path computes the same contract; tests force each one (monkeypatch `choose`) on
# shapes that span several k-slabs and partial tiles (tests/kernels/test_gemm_paths.py).
KERNELS = {"small_k": matmul_small_k, "by_tile": matmul_by_tile, "by_slab": matmul_packed}


def tiles(dtype):
    """(MR, NR, MC, KC, NC) for `dtype` (tests build their shapes from these)."""
    return MR, NR, MC, KC, NC


def choose(M, N, K, itemsize):
    """The name (a key of KERNELS) of the loop for one (M, K) @ (K, N) product."""
    if K < SMALL_K and N >= SMALL_K_MIN_N:
        return "small_k"
    packed_b = (N + NR - 1) // NR * NR * K * itemsize
    tiles_ = -(-M // MC) * -(-N // NC)
    # "by slab" pays 3 thread hand-offs per k-slab to share B between many tiles;
    # with few tiles (a conv's weight gradient: 9 x 43264 @ 43264 x 32 is one
    # tile and 85 slabs) the hand-offs cost 10x the arithmetic: go "by tile".
    return "by_tile" if packed_b <= BY_TILE_BYTES or tiles_ <= FEW_TILES else "by_slab"
