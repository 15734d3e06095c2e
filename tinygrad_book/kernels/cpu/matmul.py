"""Batched matmul, out[b] = a[b] @ b[b], written as a blocked, packed, outer-product GEMM.

The naive triple loop reads a row of A and a column of B for every output element:
2 loads per multiply-add and cache misses on the column. Three ideas make it fast
(the BLIS / OpenBLAS design):

1. Packing. For each slab of KC values of k, copy A into panels of MR rows and B into
   panels of NR columns, stored k-major: `ap[k*MR + i]`, `bp[k*NR + j]`, so the
   micro-kernel reads both as one unit-stride stream. The copy reads the operands
   through their strides, so a transposed operand (a.T, b.T) costs nothing extra:
   packing *is* the transpose. Packing is O(MK + KN); the product is O(MNK).
2. Cache blocking. Output tiles of MC x NC are independent tasks (`prange`); inside a
   tile one KC x NR panel of B stays in L1 while the tile's MR-row panels of A (MC x KC,
   in L2) stream past it. KC, MC, NC are derived from this machine's cache sizes.
3. Register blocking, outer-product shaped. `outer_block` keeps an MR x NR block of C in
   MR * NR / LANES vector registers for the whole k loop. Per k it loads NR values of B
   (NR / LANES vectors), and for each of the MR rows broadcasts one value of A and does
   NR / LANES fused multiply-adds: MR + NR/LANES loads feed MR * NR / LANES vector FMAs,
   and there is no horizontal sum anywhere. With 16 vector registers (AVX2) that is
   6 x 16 float32 (12 accumulators + 2 B vectors + 1 broadcast); with 32 (AVX-512)
   14 x 32. numba cannot keep an array in registers (LLVM cannot prove it does not alias
   the inputs) and its loop vectoriser does not form this shape from scalar code, so
   `outer_block` is written as an `@intrinsic`: a few lines of LLVM IR with vector types
   (`llvm.fma.v8f32`). `outer_block_py` below is the same contract in plain Python; it is
   what runs under NUMBA_DISABLE_JIT=1.

Very small k (a 3x3 convolution of one input channel has k = 9) gives the packed GEMM
little to amortise its packing, so `matmul_small_k` vectorises along the output row
(below k = 16; at k = 27, three channels, the packed GEMM was already 2x faster).
NOT a call into BLAS: that is what we measure against (benchmarks/).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import cache_bytes, helper, kernel, prange, vector_bytes, vector_registers

VECTOR_BYTES = vector_bytes()                 # 32 (AVX2) or 64 (AVX-512)
MR = 14 if vector_registers() == 32 else 6   # rows of the register block (+ NR/LANES B vectors + 1 broadcast)
L1, L2 = cache_bytes(1, 32 << 10), cache_bytes(2, 1 << 20)
SMALL_K = 16    # below this, vectorise along the output row instead of along k (K = 27 was 2x faster packed) ...
SMALL_K_MIN_N = 16   # ... if the output row is long enough to vectorise (conv1's dx has N = 9)
BY_TILE_BYTES = 1 << 20   # packed B up to this (~L2) size: loop order "by tile", else "by slab"
FEW_TILES = 8             # ... and "by tile" too when the output has this few MC x NC tiles


def tiles(dtype):
    """(MR, NR, MC, KC, NC) for `dtype`, from the vector width and the cache sizes:
    NR = 2 vectors; KC so that a KC x NR panel of B fills half of L1; MC so that the
    tile's A block (MC x KC) fills at most a quarter of L2, at most 16 panels of MR rows
    (more tiles = work for both cores); NC = 8 panels of B."""
    return _blocking(np.dtype(dtype).itemsize)


def _blocking(item):
    nr = 2 * VECTOR_BYTES // item
    kc = max(64, min(512, L1 // 2 // (nr * item)) // 8 * 8)
    mc = MR * max(1, min(16, L2 // 4 // (kc * item * MR)))
    return MR, nr, mc, kc, 8 * nr


@intrinsic
def outer_block(typingctx, ap, bp, kc, c, c_off, ldc):
    """c[c_off + i*ldc + j] += sum over k < kc of ap[k*MR + i] * bp[k*NR + j], for i < MR,
    j < NR (NR = 2 * VECTOR_BYTES / itemsize). Generated LLVM IR: MR x NR/LANES vector
    accumulators, per k NR/LANES vector loads of B, MR broadcasts of A, FMAs; at the end
    each accumulator is added into its run of c (no bounds checks: the caller passes a
    whole MR x NR block). Adding straight into the output row (ldc = N) instead of into
    a buffer that the caller then adds row by row saved a slice and a copy per block:
    128 x 784 @ 784 x 512 has 2816 blocks of only 196 k-steps each."""
    sig = types.void(ap, bp, kc, c, c_off, ldc)

    def codegen(context, builder, signature, args):
        ap_v, bp_v, kc_v, c_v, c_off_v, ldc_v = args
        dtype = signature.args[0].dtype
        item = dtype.bitwidth // 8
        lanes = VECTOR_BYTES // item
        nr, nv = 2 * lanes, 2
        scalar = context.get_value_type(dtype)
        vec = ir.VectorType(scalar, lanes)
        i32, i64 = ir.IntType(32), ir.IntType(64)
        data = [context.make_array(t)(context, builder, v).data for t, v in zip(signature.args, args) if
                isinstance(t, types.Array)]
        a_ptr, b_ptr, c_ptr = data
        c_off_v, ldc_v = (context.cast(builder, v, t, types.int64) for v, t in
                          zip((c_off_v, ldc_v), signature.args[4:]))
        if isinstance(dtype, types.Float):
            fma_fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec] * 3),
                                                    f"llvm.fma.v{lanes}f{item * 8}")

            def fma(x, y, acc):
                return builder.call(fma_fn, [x, y, acc])
            add = builder.fadd
        else:                                                 # integer matmul: multiply, add
            def fma(x, y, acc):
                return builder.add(builder.mul(x, y), acc)
            add = builder.add
        acc = [[cgutils.alloca_once_value(builder, ir.Constant(vec, None)) for _ in range(nv)] for _ in range(MR)]
        with cgutils.for_range(builder, kc_v) as loop:        # allocas become registers (mem2reg)
            k = loop.index
            b_row = builder.mul(k, ir.Constant(i64, nr))
            b = [builder.load(builder.bitcast(builder.gep(b_ptr, [builder.add(b_row, ir.Constant(i64, v * lanes))]),
                                              vec.as_pointer()), align=item) for v in range(nv)]
            a_row = builder.mul(k, ir.Constant(i64, MR))
            for i in range(MR):
                a = builder.load(builder.gep(a_ptr, [builder.add(a_row, ir.Constant(i64, i))]))
                one = builder.insert_element(ir.Constant(vec, ir.Undefined), a, ir.Constant(i32, 0))
                splat = builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined),
                                               ir.Constant(ir.VectorType(i32, lanes), [0] * lanes))
                for v in range(nv):
                    builder.store(fma(splat, b[v], builder.load(acc[i][v])), acc[i][v])
        for i in range(MR):
            row = builder.add(c_off_v, builder.mul(ldc_v, ir.Constant(i64, i)))
            for v in range(nv):
                dst = builder.bitcast(builder.gep(c_ptr, [builder.add(row, ir.Constant(i64, v * lanes))]),
                                      vec.as_pointer())
                builder.store(add(builder.load(dst, align=item), builder.load(acc[i][v])), dst, align=item)
        return context.get_dummy_value()
    return sig, codegen


def outer_block_py(ap, bp, kc, c, c_off, ldc):
    """outer_block's contract in plain Python (runs under NUMBA_DISABLE_JIT=1)."""
    nr = 2 * VECTOR_BYTES // c.itemsize
    block = ap[:kc * MR].reshape(kc, MR).T @ bp[:kc * nr].reshape(kc, nr)
    for i in range(MR):
        c[c_off + i * ldc:c_off + i * ldc + nr] += block[i]


if config.DISABLE_JIT:
    outer_block = outer_block_py   # noqa: F811


@helper()
def even_split(n, block, multiple):
    """The block size that cuts n into as few blocks of at most `block` as possible, all
    about equal (a multiple of `multiple`): K = 784 with KC = 256 is 4 slabs of 196, not
    3 of 256 and a short one of 16 that would pay a whole slab's packing and start-up."""
    parts = max(1, (n + block - 1) // block)
    size = (n + parts - 1) // parts
    return (size + multiple - 1) // multiple * multiple


@helper()
def _pack(src, off, s_row, s_col, rows, k0, kc, r0, width, dst, d0):
    """One panel: dst[d0 + k*width + i] = src[off + (r0+i)*s_row + (k0+k)*s_col] for
    i < width, k < kc; zero for rows r0+i >= rows (padding to a whole register block).
    Reads through any strides, walking the source along its shorter stride. A unit-stride
    run is sliced once and indexed by the loop counter (no per-element index checks): a
    B panel row is then a plain vector copy (packing was a third of 128 x 784 @ 784 x 512)."""
    n = max(0, min(width, rows - r0))
    panel = dst[d0:d0 + kc * width]
    if abs(s_col) <= abs(s_row):                  # source rows are runs of k
        for i in range(n):
            src_row = off + (r0 + i) * s_row + k0 * s_col
            if s_col == 1:
                src_run = src[src_row:src_row + kc]
                for k in range(kc):
                    panel[k * width + i] = src_run[k]
            else:
                for k in range(kc):
                    panel[k * width + i] = src[src_row + k * s_col]
    else:                                          # source columns (k fixed) are runs of i
        for k in range(kc):
            src_col = off + r0 * s_row + (k0 + k) * s_col
            dst_k = panel[k * width:k * width + n]
            if s_row == 1:
                src_run = src[src_col:src_col + n]
                for i in range(n):
                    dst_k[i] = src_run[i]
            else:
                for i in range(n):
                    dst_k[i] = src[src_col + i * s_row]
    for i in range(n, width):
        for k in range(kc):
            panel[k * width + i] = 0


@helper()
def _tile(ap, a0, bp, kc, out, o_base, M, N, i0, j0, mr, nr, mc, nc, cbuf):
    """One mc x nc output tile += its A panels (packed, starting at panel a0 of `ap`)
    times the B panels: for each KC x NR panel of B (kept in L1), sweep the tile's
    MR-row panels of A (kept in L2). A whole MR x NR block is added into `out` by the
    micro-kernel; an edge block is computed into the zeroed `cbuf` and added in part."""
    i1 = min(i0 + mc, M)
    j1 = min(j0 + nc, N)
    for j in range(j0, j1, nr):
        b_panel = bp[(j // nr) * kc * nr:(j // nr + 1) * kc * nr]
        cols = min(nr, N - j)
        for i in range(i0, i1, mr):
            p = a0 + (i - i0) // mr
            a_panel = ap[p * kc * mr:(p + 1) * kc * mr]
            rows = min(mr, M - i)
            if rows == mr and cols == nr:
                outer_block(a_panel, b_panel, kc, out, o_base + i * N + j, N)
                continue
            cbuf[:] = 0
            outer_block(a_panel, b_panel, kc, cbuf, 0, nr)
            for r in range(rows):
                row = out[o_base + (i + r) * N + j:o_base + (i + r) * N + j + cols]
                c = cbuf[r * nr:r * nr + cols]
                for q in range(cols):
                    row[q] += c[q]


@kernel(parallel=True)
def matmul_packed(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: a strided (batch, M, K) view (a_off, a_str[3]), b strided (batch, K, N);
    out is a zeroed row-major (batch, M, N) storage, += a @ b per batch; blocking is
    tiles(dtype) as an int64 array (MR, NR, MC, KC, NC).
    Loop order "by slab": for each k-slab, pack it (A and B) in parallel, then all output
    tiles in parallel, so the slab of B is read from memory once and shared by every
    tile from cache. Right when B is large (it would not stay in cache)."""
    mr, nr, nc = blocking[0], blocking[1], blocking[4]
    mc, kc_max = even_split(M, blocking[2], mr), even_split(K, blocking[3], 1)
    panels_m = (M + mr - 1) // mr
    panels_n = (N + nr - 1) // nr
    ap = np.empty(panels_m * mr * kc_max, out.dtype)
    bp = np.empty(panels_n * nr * kc_max, out.dtype)
    tiles_m = (M + mc - 1) // mc
    tiles_n = (N + nc - 1) // nc
    for bi in range(batch):
        for pc in range(0, K, kc_max):
            kc = min(kc_max, K - pc)
            for p in prange(panels_m):                     # pack A: MR-row panels
                _pack(a, a_off + bi * a_str[0], a_str[1], a_str[2], M, pc, kc, p * mr, mr, ap, p * mr * kc)
            for p in prange(panels_n):                     # pack B: NR-column panels
                _pack(b, b_off + bi * b_str[0], b_str[2], b_str[1], N, pc, kc, p * nr, nr, bp, p * nr * kc)
            for t in prange(tiles_m * tiles_n):
                i0 = (t // tiles_n) * mc
                cbuf = np.empty(mr * nr, out.dtype)
                _tile(ap, i0 // mr, bp, kc, out, bi * M * N, M, N, i0, (t % tiles_n) * nc, mr, nr, mc, nc, cbuf)


@kernel(parallel=True)
def matmul_by_tile(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: as matmul_packed.
    Loop order "by tile", for a B that fits in cache (packed B <= BY_TILE_BYTES, about L2): pack all
    of B in one parallel loop, then one task per output tile runs the whole k loop. Two
    parallel loops per product instead of three per k-slab: a (512, 10000) @ (10000, 16)
    layer (IMDB) had 60 thread hand-offs, each costing more than its slab's arithmetic on a
    busy machine (measured 2x faster).
    A: with one tile column (N <= NC) a task packs its own A rows slab by slab, while they
    are hot in its L1 (4x faster for the transposed (10000, 512)^T @ (512, 16) weight
    gradient); with several, every tile of a row would pack the same A rows again, so
    all of A is packed once up front, in the same parallel loop as B (128 x 784 @ 784 x 512:
    4 copies of A -> 1, 7.6 -> 10 GFLOP/s on one core)."""
    mr, nr, nc = blocking[0], blocking[1], blocking[4]
    mc, kc_max = even_split(M, blocking[2], mr), even_split(K, blocking[3], 1)
    panels_n = (N + nr - 1) // nr
    panels_m = (M + mr - 1) // mr
    slabs = (K + kc_max - 1) // kc_max
    tiles_m = (M + mc - 1) // mc
    tiles_n = (N + nc - 1) // nc
    pack_a = tiles_n > 1
    bp = np.empty(panels_n * nr * K, out.dtype)    # slab s (k from s*KC) at bp[s*KC*panels_n*nr:]
    ap_all = np.empty(panels_m * mr * K if pack_a else 0, out.dtype)   # likewise, MR-row panels
    packs = panels_n + panels_m if pack_a else panels_n
    for bi in range(batch):
        a_base = a_off + bi * a_str[0]
        for t in prange(slabs * packs):                   # pack B (and A): panels of every slab
            pc = (t // packs) * kc_max
            p = t % packs
            kc = min(kc_max, K - pc)
            if p < panels_n:
                _pack(b, b_off + bi * b_str[0], b_str[2], b_str[1], N, pc, kc, p * nr, nr, bp,
                      pc * panels_n * nr + p * nr * kc)
            else:
                p -= panels_n
                _pack(a, a_base, a_str[1], a_str[2], M, pc, kc, p * mr, mr, ap_all, pc * panels_m * mr + p * mr * kc)
        for t in prange(tiles_m * tiles_n):
            i0 = (t // tiles_n) * mc
            rows = min(mc, M - i0)
            ap = np.empty(0 if pack_a else (rows + mr - 1) // mr * mr * kc_max, out.dtype)   # this task's A rows
            cbuf = np.empty(mr * nr, out.dtype)
            for pc in range(0, K, kc_max):
                kc = min(kc_max, K - pc)
                b_slab = bp[pc * panels_n * nr:(pc + kc) * panels_n * nr]
                if pack_a:
                    _tile(ap_all[pc * panels_m * mr:(pc + kc) * panels_m * mr], i0 // mr, b_slab, kc, out,
                          bi * M * N, M, N, i0, (t % tiles_n) * nc, mr, nr, mc, nc, cbuf)
                else:
                    for p in range((rows + mr - 1) // mr):
                        _pack(a, a_base + i0 * a_str[1], a_str[1], a_str[2], rows, pc, kc, p * mr, mr, ap, p * mr * kc)
                    _tile(ap, 0, b_slab, kc, out, bi * M * N, M, N, i0, (t % tiles_n) * nc, mr, nr, mc, nc, cbuf)


@kernel(parallel=True, fastmath={"contract"})
def matmul_small_k(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: as matmul_packed (blocking unused), for small K. out[b, i, :] += a[b, i, k] * b[b, k, :]
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


def choose(M, N, K, itemsize):
    """The name (a key of KERNELS) of the loop for one (M, K) @ (K, N) product."""
    if K < SMALL_K and N >= SMALL_K_MIN_N:
        return "small_k"
    _, nr, mc, _, nc = _blocking(itemsize)
    packed_b = (N + nr - 1) // nr * nr * K * itemsize
    tiles_ = -(-M // mc) * -(-N // nc)
    # "by slab" pays 3 thread hand-offs per k-slab to share B between many tiles;
    # with few tiles (a conv's weight gradient: 9 x 43264 @ 43264 x 32 is one
    # tile and 85 slabs) the hand-offs cost 10x the arithmetic: go "by tile".
    return "by_tile" if packed_b <= BY_TILE_BYTES or tiles_ <= FEW_TILES else "by_slab"
