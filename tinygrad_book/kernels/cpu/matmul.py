"""Batched matmul, out[b] = a[b] @ b[b], written as a blocked, packed, outer-product GEMM.

The naive triple loop reads a row of A and a column of B for every output element:
2 loads per multiply-add and cache misses on the column. Three ideas make it fast
(the BLIS / OpenBLAS design):

1. Packing. For each slab of KC values of k, copy A into panels of MR rows and B into
   panels of NR columns, stored k-major: `ap[k*MR + i]`, `bp[k*NR + j]`, so the
   micro-kernel reads both as one unit-stride stream. The copy reads the operands
   through their strides, so a transposed operand (a.T, b.T) costs nothing extra:
   packing *is* the transpose. Packing is O(MK + KN); the product is O(MNK). Where A's
   rows are already unit-stride runs of k, "by block" skips packing A and the
   micro-kernel reads it in place (`outer_block_strided`).
2. Cache blocking. The output is cut into independent tasks (`prange`): one block per
   thread ("by block") or MC x NC tiles ("by slab"); inside a tile one MR-row panel of
   A stays in L1 while the tile's panels of B (KC x NC, in L2) stream past it, so each
   row block of the output is written left to right. KC, MC, NC are derived from this
   machine's cache sizes.
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
little to amortise its packing, so where A would be packed `matmul_small_k` vectorises
along the output row instead (below k = 16; at k = 27, three channels, the packed GEMM was
already 2x faster). Where A's rows are runs of k, "by block" reads A in place, packs only
the tiny B, and beats it at any k.
NOT a call into BLAS: that is what we measure against (benchmarks/).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import cache_bytes, helper, int64s, kernel, prange, vector_bytes, vector_registers

VECTOR_BYTES = vector_bytes()                 # 32 (AVX2) or 64 (AVX-512)
MR = 14 if vector_registers() == 32 else 6   # rows of the register block (+ NR/LANES B vectors + 1 broadcast)
L1, L2 = cache_bytes(1, 32 << 10), cache_bytes(2, 1 << 20)
SMALL_K = 16    # below this, vectorise along the output row instead of along k (K = 27 was 2x faster packed) ...
SMALL_K_MIN_N = 16   # ... if the output row is long enough to vectorise (conv1's dx has N = 9)
BY_BLOCK_BYTES = 1 << 20  # packed B up to this (~L2) size: loop order "by block", else "by slab"
FEW_TILES = 8             # ... and "by block" too when the output has this few MC x NC tiles


def tiles(dtype):
    """(MR, NR, MC, KC, NC) for `dtype`, from the vector width and the cache sizes:
    NR = 2 vectors; KC as long as a KC x NR panel of B fits in twice L1, at most 512;
    MC so that the tile's A block (MC x KC) fills at most a quarter of L2, at most 16
    panels of MR rows (more tiles = work for both cores); NC at most 8 panels of B, with
    the tile's B block (KC x NC) in half of L2.

    Why KC is long: the micro-kernel loads and stores its MR x NR block of the output
    once per k-slab, and in a large product that block comes from L3 or memory. On an
    AMD EPYC (Zen 4, 512-bit and 256-bit code alike, float32 and float64), 1024^3 at
    one thread went from 0.75 of numpy at KC = 128 to 0.92 at KC = 512 (0.82 at 1024:
    the panels no longer fit in L2). Why A's panel stays and B's stream: then the output
    block after block is the next NR values of the same rows, which the prefetcher
    follows; the other order jumped MR rows down at every block (1024^3 at KC = 512:
    0.91 -> 0.92-0.95 of numpy; docs/kernels-cpu.md, issue 12's ninth round)."""
    return _blocking(np.dtype(dtype).itemsize)


def plan(dtype, blocks=1):
    """The `blocking` argument of every GEMM kernel, an int64 array: tiles(dtype) and
    `blocks`, the number of output blocks "by block" cuts the product into (the threads it
    runs on; the other loops ignore it: their parallel loops have many tasks)."""
    return int64s(tiles(dtype) + (blocks,))


def _blocking(item):
    nr = 2 * VECTOR_BYTES // item
    kc = max(64, min(512, 2 * L1 // (nr * item)) // 8 * 8)
    mc = MR * max(1, min(16, L2 // 4 // (kc * item * MR)))
    nc = nr * max(1, min(8, L2 // 2 // (kc * item * nr)))
    return MR, nr, mc, kc, nc


def _emit_outer_block(context, builder, dtype, a_ptr, a_rows_at, b_ptr, kc_v, c_ptr, c_off_v, ldc_v, overwrite=None,
                      nv=2, rows=MR):
    """The LLVM IR of the micro-kernel, shared by outer_block and outer_block_strided:
    a_rows_at(k) gives the `rows` indexes into a_ptr of A's column k (MR, or fewer for an
    edge kernel); the block is added into c, or stored over it where the i1 value
    `overwrite` is true. `nv` = 1 computes only the first vector of the NR columns
    (packed B keeps its NR-wide rows)."""
    item = dtype.bitwidth // 8
    lanes = VECTOR_BYTES // item
    nr = 2 * lanes
    vec = ir.VectorType(context.get_value_type(dtype), lanes)
    i32, i64 = ir.IntType(32), ir.IntType(64)
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
    acc = [[cgutils.alloca_once_value(builder, ir.Constant(vec, None)) for _ in range(nv)] for _ in range(rows)]
    with cgutils.for_range(builder, kc_v) as loop:        # allocas become registers (mem2reg)
        k = loop.index
        b_row = builder.mul(k, ir.Constant(i64, nr))
        b = [builder.load(builder.bitcast(builder.gep(b_ptr, [builder.add(b_row, ir.Constant(i64, v * lanes))]),
                                          vec.as_pointer()), align=item) for v in range(nv)]
        for i, a_index in enumerate(a_rows_at(k)):
            a = builder.load(builder.gep(a_ptr, [a_index]))
            one = builder.insert_element(ir.Constant(vec, ir.Undefined), a, ir.Constant(i32, 0))
            splat = builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined),
                                           ir.Constant(ir.VectorType(i32, lanes), [0] * lanes))
            for v in range(nv):
                builder.store(fma(splat, b[v], builder.load(acc[i][v])), acc[i][v])
    def write(accumulate):
        for i in range(rows):
            row = builder.add(c_off_v, builder.mul(ldc_v, ir.Constant(i64, i)))
            for v in range(nv):
                dst = builder.bitcast(builder.gep(c_ptr, [builder.add(row, ir.Constant(i64, v * lanes))]),
                                      vec.as_pointer())
                value = builder.load(acc[i][v])
                builder.store(add(builder.load(dst, align=item), value) if accumulate else value, dst, align=item)
    if overwrite is None:
        write(True)
    else:
        with builder.if_else(overwrite) as (then, otherwise):
            with then:
                write(False)
            with otherwise:
                write(True)
    return context.get_dummy_value()


def _data(context, builder, typ, value):
    return context.make_array(typ)(context, builder, value).data


def _i64(context, builder, value, typ):
    return context.cast(builder, value, typ, types.int64)


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
        t = signature.args
        i64 = ir.IntType(64)

        def a_rows_at(k):                               # packed: column k is MR values in a row
            base = builder.mul(k, ir.Constant(i64, MR))
            return [builder.add(base, ir.Constant(i64, i)) for i in range(MR)]
        return _emit_outer_block(context, builder, t[0].dtype, _data(context, builder, t[0], args[0]), a_rows_at,
                                 _data(context, builder, t[1], args[1]), args[2], _data(context, builder, t[3], args[3]),
                                 _i64(context, builder, args[4], t[4]), _i64(context, builder, args[5], t[5]))
    return sig, codegen


def _strided_codegen(nv, rows=MR):
    """outer_block_strided's code generator, for `nv` vectors of output columns and the
    first `rows` rows."""
    def codegen(context, builder, signature, args):
        t = signature.args
        a_off_v, lda_v, ak_v = (_i64(context, builder, args[q], t[q]) for q in (1, 2, 3))
        i64 = ir.IntType(64)
        row_at = [builder.mul(lda_v, ir.Constant(i64, i)) for i in range(rows)]    # before the loop

        def a_rows_at(k):
            base = builder.add(a_off_v, builder.mul(k, ak_v))
            return [builder.add(base, row) for row in row_at]
        overwrite = context.cast(builder, args[9], t[9], types.boolean)
        return _emit_outer_block(context, builder, t[0].dtype, _data(context, builder, t[0], args[0]), a_rows_at,
                                 _data(context, builder, t[4], args[4]), args[5], _data(context, builder, t[6], args[6]),
                                 _i64(context, builder, args[7], t[7]), _i64(context, builder, args[8], t[8]), overwrite,
                                 nv, rows)
    return codegen


@intrinsic
def outer_block_strided_half(typingctx, a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite):
    """outer_block_strided for the first NR / 2 columns only (one vector: j < LANES), still
    reading B's packed rows NR apart: for an edge block at most half as wide as NR (the
    MNIST convnet's input gradient (43264, 32) @ (32, 9) is nothing but such blocks), half
    the multiply-adds of the full kernel, all of them kept."""
    return types.void(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite), _strided_codegen(1)


@intrinsic
def outer_block_strided(typingctx, a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite):
    """As outer_block, with A read in place through its strides instead of from a packed
    panel: c[c_off + i*ldc + j] += sum over k < kc of a[a_off + i*lda + k*ak] * bp[k*NR + j]
    (= instead of += when `overwrite`). Every one of the MR rows must exist (a partial panel
    goes to `block_rows`; a packed panel is lda = 1, ak = MR). Packing A
    costs ~1.3 ns a value here; a product whose output is narrow (N = 64: each value of A
    is used only 64 times) spent a quarter of its time packing A. `overwrite` (the first
    k-slab) never reads the fresh output: reading an untouched page, then writing it,
    faults twice (measured: a (103680, 64) @ (64, 288) product into a fresh array took
    116 ms at 2 threads, 64 ms into one already touched)."""
    return types.void(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite), _strided_codegen(2)


EDGE_ROWS = (8, 4, 2, 1)   # the edge kernels: a partial panel of r < MR rows is r's binary digits


def _edge_kernel(rows, nv):
    """outer_block_strided (nv = 2) or outer_block_strided_half (nv = 1) for the first
    `rows` rows only."""
    def typer(typingctx, a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite):
        return types.void(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite), _strided_codegen(nv, rows)
    typer.__name__ = typer.__qualname__ = f"outer_block_rows{rows}" + ("_half" if nv == 1 else "")
    return intrinsic(typer)


edge_8, edge_4, edge_2, edge_1 = (_edge_kernel(r, 2) for r in EDGE_ROWS)
edge_8_half, edge_4_half, edge_2_half, edge_1_half = (_edge_kernel(r, 1) for r in EDGE_ROWS)


@helper()
def block_rows(a, a_off, lda, ak, rows, half, bp, kc, c, c_off, ldc, overwrite):
    """outer_block_strided (outer_block_strided_half when `half`) for A's first `rows` <= MR
    rows: the MR-row kernel for a whole panel, else one kernel each of 8, 4, 2 and 1 rows as
    `rows` needs (13 = 8 + 4 + 1). Rows past `rows` are neither read nor written, so a
    partial panel of A is read in place. Why: 128 rows are 9 panels of 14 and 2 rows; run as
    a zero-padded 14-row panel those 2 rows cost a whole panel (128 x 784 @ 784 x 512, one
    thread: 0.89 of numpy against 1.05 for 126 rows)."""
    if rows == MR:
        if half:
            outer_block_strided_half(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite)
        else:
            outer_block_strided(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite)
        return
    r = 0
    if rows - r >= 8:
        if half:
            edge_8_half(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        else:
            edge_8(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        r += 8
    if rows - r >= 4:
        if half:
            edge_4_half(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        else:
            edge_4(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        r += 4
    if rows - r >= 2:
        if half:
            edge_2_half(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        else:
            edge_2(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        r += 2
    if rows - r >= 1:
        if half:
            edge_1_half(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)
        else:
            edge_1(a, a_off + r * lda, lda, ak, bp, kc, c, c_off + r * ldc, ldc, overwrite)


def outer_block_py(ap, bp, kc, c, c_off, ldc):
    """outer_block's contract in plain Python (runs under NUMBA_DISABLE_JIT=1)."""
    outer_block_strided_py(ap, 0, 1, MR, bp, kc, c, c_off, ldc, False)


def outer_block_strided_py(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite, width=None, rows=MR):
    """outer_block_strided's contract in plain Python (runs under NUMBA_DISABLE_JIT=1);
    `width` = NR / 2 is outer_block_strided_half's, `rows` < MR an edge kernel's."""
    nr = 2 * VECTOR_BYTES // c.itemsize
    width = nr if width is None else width
    a_block = np.array([[a[a_off + i * lda + k * ak] for k in range(kc)] for i in range(rows)], dtype=c.dtype)
    block = a_block @ bp[:kc * nr].reshape(kc, nr)[:, :width]
    for i in range(rows):
        run = c[c_off + i * ldc:c_off + i * ldc + width]
        run[:] = block[i] if overwrite else run + block[i]


def outer_block_strided_half_py(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite):
    """outer_block_strided_half's contract in plain Python."""
    outer_block_strided_py(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite, VECTOR_BYTES // c.itemsize)


def block_rows_py(a, a_off, lda, ak, rows, half, bp, kc, c, c_off, ldc, overwrite):
    """block_rows' contract in plain Python: the first `rows` rows in one piece."""
    outer_block_strided_py(a, a_off, lda, ak, bp, kc, c, c_off, ldc, overwrite,
                           VECTOR_BYTES // c.itemsize if half else None, rows)


if config.DISABLE_JIT:
    outer_block, outer_block_strided = outer_block_py, outer_block_strided_py   # noqa: F811
    outer_block_strided_half = outer_block_strided_half_py                     # noqa: F811
    block_rows = block_rows_py                                                 # noqa: F811


@helper()
def even_split(n, block, multiple):
    """The block size that cuts n into as few blocks of at most `block` as possible, all
    about equal (a multiple of `multiple`): K = 784 with KC = 256 is 4 slabs of 196, not
    3 of 256 and a short one of 16 that would pay a whole slab's packing and start-up."""
    parts = max(1, (n + block - 1) // block)
    size = (n + parts - 1) // parts
    return (size + multiple - 1) // multiple * multiple


@helper()
def share(part, parts, n):
    """[lo, hi): part `part` of n items cut into `parts` runs whose lengths differ by at
    most one. Tiles of whole register panels, as equal as whole panels allow: 74 panels in
    9 tiles are 8 or 9 panels each, where tiles of a fixed MC = 9 panels left the last 2."""
    return part * n // parts, (part + 1) * n // parts


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
def _tile(ap, a0, bp, b0, kc, first, out, o_base, ldc, i0, i1, j0, j1, mr, nr, cbuf):
    """The output tile rows [i0, i1) x columns [j0, j1) += its packed A panels (row i0 is
    panel a0 of `ap`) times its packed B panels (column j0 is panel b0 of `bp`), for one
    k-slab of kc (= for the `first`)."""
    _tile_a(ap, a0 * kc * mr, kc * mr, 1, mr, bp, b0, kc, first, out, o_base, ldc, i0, i1, j0, j1, mr, nr, cbuf)


@helper()
def _tile_a(a, a_first, a_panel, lda, ak, bp, b0, kc, first, out, o_base, ldc, i0, i1, j0, j1, mr, nr, cbuf):
    """The output tile rows [i0, i1) x columns [j0, j1) += A x its packed B panels (column
    j0 is panel b0 of `bp`) for one k-slab of kc (= for the `first` slab: the output is
    written, never read, so it need not be zeroed): for each MR-row panel of A (kept in L1),
    sweep the tile's KC x NR panels of B (kept in L2), so the output is written along its
    rows (see `tiles` for why this order). Row i0 + i, column k of A is
    a[a_first + (i // mr) * a_panel + (i % mr) * lda + k * ak]: either packed panels
    (a_panel = kc * mr, lda = 1, ak = mr) or the operand itself read through its strides
    (a partial last panel too: `block_rows` reads only the rows there are). `out` is
    row-major with row length ldc from o_base. A block NR columns wide is added into (or
    stored in) `out` by the micro-kernels; a narrower edge block is computed into `cbuf`
    and added (stored) in part."""
    for i in range(i0, i1, mr):
        at = a_first + (i - i0) // mr * a_panel
        rows = min(mr, i1 - i)
        for j in range(j0, j1, nr):
            pj = b0 + (j - j0) // nr
            b_panel = bp[pj * kc * nr:(pj + 1) * kc * nr]
            cols = min(nr, j1 - j)
            if rows == mr and cols == nr:
                outer_block_strided(a, at, lda, ak, b_panel, kc, out, o_base + i * ldc + j, ldc, first)
            elif cols == nr:
                block_rows(a, at, lda, ak, rows, False, b_panel, kc, out, o_base + i * ldc + j, ldc, first)
            else:
                block_rows(a, at, lda, ak, rows, cols <= nr // 2, b_panel, kc, cbuf, 0, nr, True)
                for r in range(rows):
                    row = out[o_base + (i + r) * ldc + j:o_base + (i + r) * ldc + j + cols]
                    c = cbuf[r * nr:r * nr + cols]
                    for q in range(cols):
                        row[q] = c[q] if first else row[q] + c[q]


@kernel(parallel=True)
def matmul_packed(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: a strided (batch, M, K) view (a_off, a_str[3]), b strided (batch, K, N);
    out is a row-major (batch, M, N) storage, its contents ignored, that receives a @ b
    per batch (the packed loops store the first k-slab's blocks without reading out, so
    that it need not be zeroed and a fresh page is touched once); K >= 1; blocking is
    plan(dtype, blocks): (MR, NR, MC, KC, NC, blocks).
    Loop order "by slab": for each k-slab, pack it (A and B) in parallel, then all output
    tiles in parallel, so the slab of B is read from memory once and shared by every
    tile from cache. Right when B is large (it would not stay in cache).
    Tiles are at most MC x NC, cut as evenly as whole register panels allow (`share`):
    numba gives each thread an equal run of tile numbers, so equal tiles are equal work.
    With tiles of exactly MC rows, 1024 rows were 8 tiles of 126 and one of 16, and the
    thread with the first half of the tiles did 55% of the work (1024^3 at 2 threads,
    back to back: 14.8-15.2 -> 13.5-13.9 ms)."""
    mr, nr = blocking[0], blocking[1]
    kc_max = even_split(K, blocking[3], 1)
    panels_m = (M + mr - 1) // mr
    panels_n = (N + nr - 1) // nr
    ap = np.empty(panels_m * mr * kc_max, out.dtype)
    bp = np.empty(panels_n * nr * kc_max, out.dtype)
    tiles_m = (panels_m + blocking[2] // mr - 1) // (blocking[2] // mr)      # MC x NC at most
    tiles_n = (panels_n + blocking[4] // nr - 1) // (blocking[4] // nr)
    for bi in range(batch):
        for pc in range(0, K, kc_max):
            kc = min(kc_max, K - pc)
            for p in prange(panels_m):                     # pack A: MR-row panels
                _pack(a, a_off + bi * a_str[0], a_str[1], a_str[2], M, pc, kc, p * mr, mr, ap, p * mr * kc)
            for p in prange(panels_n):                     # pack B: NR-column panels
                _pack(b, b_off + bi * b_str[0], b_str[2], b_str[1], N, pc, kc, p * nr, nr, bp, p * nr * kc)
            for t in prange(tiles_m * tiles_n):
                p0, p1 = share(t // tiles_n, tiles_m, panels_m)        # the tile's panels of A ...
                q0, q1 = share(t % tiles_n, tiles_n, panels_n)         # ... and of B
                cbuf = np.empty(mr * nr, out.dtype)
                _tile(ap, p0, bp, q0, kc, pc == 0, out, bi * M * N, N, p0 * mr, min(p1 * mr, M), q0 * nr,
                      min(q1 * nr, N), mr, nr, cbuf)


@helper()
def block_grid(M, N, mr, nr, threads):
    """(gm, gn): cut the M x N output into gm x gn blocks for `threads` tasks. As many
    blocks as possible (at most `threads`, at most one per register panel each way), and
    among those grids the one where a task packs the fewest values: its block's rows of A
    plus its columns of B. 128 x 784 @ 784 x 512 on 2 threads: 1 x 2 (each task packs all
    128 rows of A and 256 columns of B, not 64 rows and all 512 columns)."""
    panels_m, panels_n = (M + mr - 1) // mr, (N + nr - 1) // nr
    best_m, best_n, best_cost = 1, 1, 0
    for gm in range(1, min(threads, panels_m) + 1):
        for gn in range(1, min(threads // gm, panels_n) + 1):
            cost = (panels_m + gm - 1) // gm * mr + (panels_n + gn - 1) // gn * nr
            if gm * gn > best_m * best_n or (gm * gn == best_m * best_n and cost < best_cost):
                best_m, best_n, best_cost = gm, gn, cost
    return best_m, best_n


@kernel(parallel=True)
def matmul_by_block(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: as matmul_packed.
    Loop order "by block", ONE parallel loop per product: the output is cut into one
    block per thread (block_grid); each task, slab by slab, packs the B columns its block
    needs into its own buffer, then sweeps its rows of A in chunks of MC while they are in
    its L2. For products whose B fits in cache (an MLP layer, 128 x 784 @ 784 x 512; a
    convolution's three GEMMs): the other order packs in one parallel loop and multiplies
    in the next, so the panels go out to memory and back and both threads must meet
    between the loops. The price: the operand the grid does not split is packed or read
    by every task (here A).
    A is read in place (outer_block_strided), not packed, when its rows are runs of k,
    and when its columns are and the output is narrow (N <= NC: each value of A is used
    at most NC times, so packing it, ~1.3 ns a value, is a large share): the MNIST
    convnet's forward product (7744, 288) @ (288, 64): 1.2x of stop 24's packed "by tile" in CPU time. A
    transposed 1024 x 1024 A read in place was 0.75x of packing it (each k-step jumps 4 KB)."""
    mr, nr, nc = blocking[0], blocking[1], blocking[4]
    kc_max = even_split(K, blocking[3], 1)
    gm, gn = block_grid(M, N, mr, nr, blocking[5])
    rows_per = ((M + mr - 1) // mr + gm - 1) // gm * mr      # whole register panels per block
    cols_per = ((N + nr - 1) // nr + gn - 1) // gn * nr
    for g in prange(gm * gn):
        r0, c0 = (g // gn) * rows_per, (g % gn) * cols_per
        rows, cols = min(rows_per, M - r0), min(cols_per, N - c0)
        if rows <= 0 or cols <= 0:
            continue
        mc = even_split(rows, blocking[2], mr)
        direct = a_str[2] == 1 or (a_str[1] == 1 and N <= nc)    # read A in place (docstring)
        ap = np.empty(0 if direct else mc * kc_max, out.dtype)    # MC rows of A, packed
        bp = np.empty((cols + nr - 1) // nr * nr * kc_max, out.dtype)   # all the block's columns of B
        cbuf = np.empty(mr * nr, out.dtype)
        for bi in range(batch):
            b_base = b_off + bi * b_str[0] + c0 * b_str[2]
            for pc in range(0, K, kc_max):
                kc = min(kc_max, K - pc)
                for p in range((cols + nr - 1) // nr):
                    _pack(b, b_base, b_str[2], b_str[1], cols, pc, kc, p * nr, nr, bp, p * nr * kc)
                for i0 in range(r0, r0 + rows, mc):          # a chunk of A rows stays in L2
                    chunk = min(mc, r0 + rows - i0)
                    a_base = a_off + bi * a_str[0] + i0 * a_str[1]
                    if not direct:                           # pack the chunk, use it at once
                        for p in range((chunk + mr - 1) // mr):
                            _pack(a, a_base, a_str[1], a_str[2], chunk, pc, kc, p * mr, mr, ap, p * mr * kc)
                    for j0 in range(c0, c0 + cols, nc):
                        if direct:
                            _tile_a(a, a_base + pc * a_str[2], mr * a_str[1], a_str[1], a_str[2], bp,
                                    (j0 - c0) // nr, kc, pc == 0, out, bi * M * N, N, i0, i0 + chunk, j0,
                                    min(j0 + nc, c0 + cols), mr, nr, cbuf)
                        else:
                            _tile(ap, 0, bp, (j0 - c0) // nr, kc, pc == 0, out, bi * M * N, N,
                                  i0, i0 + chunk, j0, min(j0 + nc, c0 + cols), mr, nr, cbuf)


@kernel(parallel=True, fastmath={"contract"})
def matmul_small_k(a, a_off, a_str, b, b_off, b_str, batch, M, N, K, blocking, out):
    """Contract: as matmul_packed (blocking unused), for small K. out[b, i, :] = sum over k of
    a[b, i, k] * b[b, k, :], row by row: B (K x N) is packed row-major once per batch so the
    inner loop over the output row is unit-stride and vectorises; rows run in parallel.
    k = 0 stores, the rest add: the fresh output is never read before it is written."""
    if K == 0:                                             # nothing to store (the glue returns zeros)
        return
    bp = np.empty(K * N, out.dtype)
    for bi in range(batch):
        for k in range(K):
            for j in range(N):
                bp[k * N + j] = b[b_off + bi * b_str[0] + k * b_str[1] + j * b_str[2]]
        for i in prange(M):
            row = out[(bi * M + i) * N:(bi * M + i + 1) * N]
            a_row = a_off + bi * a_str[0] + i * a_str[1]
            a0 = a[a_row]
            for j in range(N):
                row[j] = a0 * bp[j]
            for k in range(1, K):
                aik = a[a_row + k * a_str[2]]
                bk = bp[k * N:(k + 1) * N]
                for j in range(N):
                    row[j] += aik * bk[j]


# --- dispatch: which loop runs a product ----------------------------------------------
# Every path computes the same contract; tests force each one (monkeypatch `choose`) on
# shapes that span several k-slabs and partial tiles (tests/kernels/test_gemm_paths.py).
KERNELS = {"small_k": matmul_small_k, "by_block": matmul_by_block, "by_slab": matmul_packed}


def choose(M, N, K, itemsize, a_rows_are_runs=False):
    """The name (a key of KERNELS) of the loop for one (M, K) @ (K, N) product;
    `a_rows_are_runs`: A's rows are unit-stride runs of k (then "by block" reads A in place)."""
    # Small k: "small k" only where "by block" would pack A. Reading A in place, "by block"
    # was 2.6-5x faster (Zen 4, one thread, 512- and 256-bit code: (43264, 9) @ (9, 32),
    # the MNIST convnet's first layer, 0.26 -> 1.32 of numpy).
    if K < SMALL_K and N >= SMALL_K_MIN_N and not a_rows_are_runs:
        return "small_k"
    _, nr, mc, _, nc = _blocking(itemsize)
    packed_b = (N + nr - 1) // nr * nr * K * itemsize
    tiles_ = -(-M // mc) * -(-N // nc)
    # "by slab" pays 3 thread hand-offs per k-slab to share B between many tiles; with
    # few tiles (a conv's weight gradient: 9 x 43264 @ 43264 x 32 is one tile and 85
    # slabs) the hand-offs cost 10x the arithmetic: go "by block", one parallel loop.
    if packed_b <= BY_BLOCK_BYTES or tiles_ <= FEW_TILES:
        return "by_block"
    return "by_slab"
