"""Every GEMM loop of the cpu backend, reached on purpose, against numpy.

`matmul.choose` picks one of `matmul.KERNELS` for each product. These tests force each
path in turn (monkeypatch `choose`), check with a spy that the forced kernel is the one
that ran, and compare with numpy in float64 on shapes built from the kernel's own
blocking (`matmul.tiles`): several k-slabs with a partial last one, partial register
and cache tiles in M and N, transposed operands (strided views), batches (including a
broadcast batch stride 0) and a storage offset. The shapes follow the blocking, so the
tests keep their strength when the tile sizes change.

Convolution is im2col + GEMM forward and two GEMMs backward (dout @ W^T, cols^T @ dout):
forward and both gradients are checked per path against a direct numpy convolution.
"""
import numpy as np
import pytest

from tinygrad_book import Tensor
from tinygrad_book.autograd import functional as F
from tinygrad_book.kernels import View, get_backend
from tinygrad_book.kernels.cpu import matmul as mm

PATHS = sorted(mm.KERNELS)
DTYPES = [np.float32, np.float64]


@pytest.fixture
def force_path(monkeypatch):
    """force_path(name): every cpu matmul now runs kernel `name`; returns the list
    of paths that ran (a spy), so a test can assert the path was really taken."""
    def force(name):
        ran = []
        kernel = mm.KERNELS[name]

        def spy(*args):
            ran.append(name)
            return kernel(*args)
        monkeypatch.setattr(mm, "choose", lambda M, N, K, itemsize, a_rows_are_runs=False: name)
        monkeypatch.setitem(mm.KERNELS, name, spy)
        return ran
    return force


def gemm_shapes(dtype):
    """(B, M, K, N) cases derived from the blocking used for `dtype`."""
    mr, nr, mc, kc, nc = mm.tiles(dtype)
    return [
        (1, mc + mr + 1, 2 * kc + kc // 2 + 3, nc + nr + 1),   # 3 k-slabs (last partial), edge tiles
        (3, 2 * mr + 1, kc + 1, 2 * nr + 3),                    # batches, a 1-element last slab
        (2, 1, 2 * kc, 1),                                       # one row, one column, whole slabs
        (1, 5 * mc + 3, kc - 1, 7),                              # one slab just short, narrow N
        (1, 3, 9, 3 * nc + 1),                                   # tiny K, wide N
        (1, mr + 2, kc // 2, nr + nr // 2 + 1),                  # an edge panel wider than half NR
    ]


def strided_view(rng, shape, dtype, transposed, broadcast_batch, offset=3):
    """A (B, R, C) view over a storage with `offset` leading elements; transposed: the
    storage holds each matrix as (C, R); broadcast_batch: one matrix, batch stride 0."""
    B, R, C = shape
    nb = 1 if broadcast_batch else B
    storage = rng.uniform(-1, 1, offset + nb * R * C).astype(dtype)
    strides = (R * C, 1, R) if transposed else (R * C, C, 1)
    if broadcast_batch:
        strides = (0,) + strides[1:]
    return View(storage, shape, strides, offset)


def as_array(v):
    """The numpy array a View denotes (through its strides), in float64."""
    item = v.storage.itemsize
    return np.lib.stride_tricks.as_strided(v.storage[v.offset:], v.shape,
                                           [s * item for s in v.strides]).astype(np.float64)


def assert_gemm_close(got, want, dtype, k):
    # float32 inputs, float32 accumulation in any order: error ~ sqrt(k) * eps * |terms|
    tol = 2e-6 * np.sqrt(k) if dtype == np.float32 else 1e-14 * k
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_every_path_every_layout(force_path, path, dtype, case, ta, tb):
    B, M, K, N = gemm_shapes(dtype)[case]
    rng = np.random.default_rng(case)
    a = strided_view(rng, (B, M, K), dtype, ta, broadcast_batch=False)
    b = strided_view(rng, (B, K, N), dtype, tb, broadcast_batch=B > 1 and ta)
    ran = force_path(path)
    got = get_backend("cpu").matmul(a, b)
    assert ran == [path]
    assert got.dtype == dtype
    assert_gemm_close(got.reshape(B, M, N), as_array(a) @ as_array(b), dtype, K)


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", [0, 1, 5])
def test_the_backend_needs_no_zeroed_output(dirty_empty, force_path, path, dtype, case):
    """CpuBackend.matmul allocates its output with np.empty, not np.zeros (every loop
    stores its first k-slab): with dirty memory each path still returns the product, and
    K = 0 returns zeros."""
    B, M, K, N = gemm_shapes(np.float64 if dtype == np.int64 else dtype)[case]
    rng = np.random.default_rng(case)
    a = View(rng.integers(-3, 4, B * M * K).astype(dtype), (B, M, K), (M * K, K, 1), 0)
    b = View(rng.integers(-3, 4, B * K * N).astype(dtype), (B, K, N), (K * N, N, 1), 0)
    ran = force_path(path)
    got = dirty_empty.matmul(a, b)
    assert ran == [path]
    np.testing.assert_array_equal(got.reshape(B, M, N), as_array(a) @ as_array(b))
    empty_k = dirty_empty.matmul(View(a.storage, (B, M, 0), (0, 0, 1), 0), View(b.storage, (B, 0, N), (0, N, 1), 0))
    np.testing.assert_array_equal(empty_k, np.zeros(B * M * N))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("half", [False, True])
def test_strided_micro_kernel_reads_a_in_place_and_adds_or_stores(dtype, overwrite, half):
    """outer_block_strided's contract: row i, column k of A at a_off + i*lda + k*ak (here a
    strided window of a larger matrix), the block added into c, or stored over it when
    `overwrite`; every element outside the block untouched (for outer_block_strided_half
    the block is the first NR / 2 columns: the other half of each row is untouched too).
    The numpy contract alongside."""
    from numba import njit
    mr, nr, _, _, _ = mm.tiles(dtype)
    kernel, contract = mm.outer_block_strided, mm.outer_block_strided_py
    if half:
        kernel, contract = mm.outer_block_strided_half, mm.outer_block_strided_half_py
    kc, ldc, c_off, ak, a_off = 29, nr + 3, 2, 3, 5
    lda = ak * kc + 1                          # rows of a larger matrix, k every ak-th value
    rng = np.random.default_rng(12)
    a = rng.uniform(-1, 1, a_off + mr * lda + kc * ak).astype(dtype)
    bp = rng.uniform(-1, 1, kc * nr).astype(dtype)
    before = rng.uniform(-1, 1, c_off + mr * ldc + 4).astype(dtype)
    got, want = before.copy(), before.copy()
    njit(lambda *args: kernel(*args))(a, a_off, lda, ak, bp, kc, got, c_off, ldc, overwrite)
    contract(a, a_off, lda, ak, bp, kc, want, c_off, ldc, overwrite)
    width = nr // 2 if half else nr
    a_block = np.array([[a[a_off + i * lda + k * ak] for k in range(kc)] for i in range(mr)], np.float64)
    block = a_block @ bp.reshape(kc, nr)[:, :width]
    inside = np.zeros(got.size, bool)
    for i in range(mr):
        inside[c_off + i * ldc:c_off + i * ldc + width] = True
    expected = block.ravel() + (0 if overwrite else before[inside])
    for c in (got, want):
        assert_gemm_close(c[inside], expected, dtype, kc)
        np.testing.assert_array_equal(c[~inside], before[~inside])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("overwrite", [False, True])
def test_block_rows_computes_exactly_its_rows_for_every_count(dtype, half, overwrite):
    """block_rows' contract for rows = 1 .. MR (the edge kernels of 8, 4, 2, 1 rows in every
    combination): A read in place from an array that ends at its last value read, the
    first `rows` rows of the block added or stored, every other element of c untouched (a
    kernel that ran more rows would write past them); the numpy contract alongside."""
    from numba import njit
    mr, nr, _, _, _ = mm.tiles(dtype)
    kernel = njit(lambda *args: mm.block_rows(*args))
    kc, ldc, c_off, ak, a_off = 23, nr + 3, 2, 2, 3
    lda = ak * kc + 1
    width = nr // 2 if half else nr
    rng = np.random.default_rng(13)
    bp = rng.uniform(-1, 1, kc * nr).astype(dtype)
    for rows in range(1, mr + 1):
        a = rng.uniform(-1, 1, a_off + (rows - 1) * lda + (kc - 1) * ak + 1).astype(dtype)   # ends at the last value read
        before = rng.uniform(-1, 1, c_off + mr * ldc + 4).astype(dtype)
        got, want = before.copy(), before.copy()
        kernel(a, a_off, lda, ak, rows, half, bp, kc, got, c_off, ldc, overwrite)
        mm.block_rows_py(a, a_off, lda, ak, rows, half, bp, kc, want, c_off, ldc, overwrite)
        a_block = np.array([[a[a_off + i * lda + k * ak] for k in range(kc)] for i in range(rows)], np.float64)
        block = a_block @ bp.reshape(kc, nr)[:, :width]
        inside = np.zeros(got.size, bool)
        for i in range(rows):
            inside[c_off + i * ldc:c_off + i * ldc + width] = True
        expected = block.ravel() + (0 if overwrite else before[inside])
        for c in (got, want):
            assert_gemm_close(c[inside], expected, dtype, kc)
            np.testing.assert_array_equal(c[~inside], before[~inside], err_msg=f"rows={rows}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_micro_kernel_adds_its_block_into_a_strided_output(dtype):
    """outer_block's contract: c[c_off + i*ldc + j] += (A panel^T @ B panel)[i, j] for the
    MR x NR block only; what was in c stays added to, every element around the block
    (row padding between ldc and NR, rows before and after) untouched. Compared with
    outer_block_py, the contract in numpy; the paths above run it inside whole GEMMs."""
    from numba import njit
    mr, nr, _, _, _ = mm.tiles(dtype)
    kc, ldc, c_off = 37, nr + 5, 3
    rng = np.random.default_rng(11)
    ap, bp = rng.uniform(-1, 1, kc * mr).astype(dtype), rng.uniform(-1, 1, kc * nr).astype(dtype)
    before = rng.uniform(-1, 1, c_off + mr * ldc + 4).astype(dtype)
    got, want = before.copy(), before.copy()
    njit(lambda a, b, k, c, o, ld: mm.outer_block(a, b, k, c, o, ld))(ap, bp, kc, got, c_off, ldc)
    mm.outer_block_py(ap, bp, kc, want, c_off, ldc)
    block = (ap.reshape(kc, mr).T.astype(np.float64) @ bp.reshape(kc, nr))
    rows = [before[c_off + i * ldc:c_off + i * ldc + nr] + block[i] for i in range(mr)]
    for c in (got, want):
        assert_gemm_close(np.array([c[c_off + i * ldc:c_off + i * ldc + nr] for i in range(mr)]),
                          np.array(rows), dtype, kc)
        inside = np.zeros(c.size, bool)
        for i in range(mr):
            inside[c_off + i * ldc:c_off + i * ldc + nr] = True
        np.testing.assert_array_equal(c[~inside], before[~inside])


@pytest.mark.parametrize("path", PATHS)
def test_mnist_mlp_shapes(force_path, path):
    """The book's MLP layer and both of its gradients, (128,784)@(784,512) and friends:
    the shapes a broken k-slab loop hurt most while training still 'worked'."""
    rng = np.random.default_rng(7)
    x = strided_view(rng, (1, 128, 784), np.float32, False, False)
    w = strided_view(rng, (1, 784, 512), np.float32, False, False)
    g = strided_view(rng, (1, 128, 512), np.float32, False, False)
    wT = View(w.storage, (1, 512, 784), (0, 1, 512), w.offset)
    xT = View(x.storage, (1, 784, 128), (0, 1, 784), x.offset)
    ran = force_path(path)
    be = get_backend("cpu")
    for a, b in [(x, w), (g, wT), (xT, g)]:
        got = be.matmul(a, b).reshape(a.shape[1], b.shape[2])
        assert_gemm_close(got, as_array(a)[0] @ as_array(b)[0], np.float32, a.shape[2])
    assert ran == [path] * 3


@pytest.mark.parametrize("patch,M,N,K,want", [
    ({}, 64 * 26 * 26, 32, 9, "small_k"),                      # k = 3*3*1, A to be packed (else by block)
    ({}, 20 * 148 * 148, 32, 27, "by_block"),                  # k = 3*3*3: packed is faster
    ({"SMALL_K_MIN_N": 10 ** 9}, 64, 32, 9, "by_block"),         # short rows: no small-k; one tile
    ({"BY_BLOCK_BYTES": 1 << 40}, 1024, 1024, 1024, "by_block"),
    ({}, 1024, 1024, 1024, "by_slab"),
    ({}, 128, 512, 784, "by_block"),                            # the book's MLP layer
    ({"BY_BLOCK_BYTES": 0, "FEW_TILES": 0}, 128, 512, 784, "by_slab"),
    ({"BY_BLOCK_BYTES": 0}, 9, 32, 43264, "by_block"),          # few tiles: by block anyway
])
def test_thresholds_route(monkeypatch, patch, M, N, K, want):
    for name, value in patch.items():
        monkeypatch.setattr(mm, name, value)
    assert mm.choose(M, N, K, 4) == want


def test_default_routing_runs_a_known_kernel(monkeypatch):
    """Without forcing, the backend runs exactly the kernel `choose` names."""
    ran = []
    for name, kernel in list(mm.KERNELS.items()):
        monkeypatch.setitem(mm.KERNELS, name, lambda *args, _n=name, _k=kernel: (ran.append(_n), _k(*args))[1])
    rng = np.random.default_rng(3)
    a = strided_view(rng, (1, 40, 300), np.float64, False, False)
    b = strided_view(rng, (1, 300, 50), np.float64, True, False)
    got = get_backend("cpu").matmul(a, b)
    assert ran == [mm.choose(40, 50, 300, 8, True)]           # a: rows are runs of k
    assert_gemm_close(got.reshape(40, 50), as_array(a)[0] @ as_array(b)[0], np.float64, 300)


# --- "by block": one block of the output per thread ---------------------------------

@pytest.mark.parametrize("threads,M,N,want", [
    (1, 128, 512, (1, 1)),
    (2, 128, 512, (1, 2)),      # wide: split N, every task packs all 128 rows of A
    (2, 784, 128, (2, 1)),      # tall: split M
    (4, 128, 512, (1, 4)),
    (4, 600, 600, (2, 2)),
    (3, 600, 64, (3, 1)),
    (2, 3, 512, (1, 2)),        # one register panel of rows: it cannot be split
    (2, 3, 5, (1, 1)),          # one panel each way: one block
    (4, 7, 5, (2, 1)),          # two panels of rows, one of columns: 2 x 2 does not fit
])
def test_block_grid_cuts_where_the_least_is_packed(threads, M, N, want):
    """block_grid: gm x gn blocks, the product equal to `threads` when the panels allow,
    minimising the A rows + B columns one task packs (in whole MR / NR panels)."""
    mr, nr = 6, 16
    assert mm.block_grid(M, N, mr, nr, threads) == want


@pytest.mark.parametrize("parts,n", [(p, n) for n in (1, 2, 7, 9, 73, 74, 1000) for p in (1, 2, 3, 8, 9)
                                     if p <= n])           # by_slab: never more tiles than panels
def test_share_cuts_runs_that_differ_by_at_most_one(parts, n):
    """share: the `parts` runs tile [0, n) in order, none empty, lengths within one
    (the by-slab loop's tiles: 74 panels in 9 tiles are 8 or 9 panels, not 8 x 9 and 2)."""
    runs = [mm.share(p, parts, n) for p in range(parts)]
    assert runs[0][0] == 0 and runs[-1][1] == n
    assert all(runs[p][1] == runs[p + 1][0] for p in range(parts - 1))
    lengths = [hi - lo for lo, hi in runs]
    assert min(lengths) >= 1 and max(lengths) - min(lengths) <= 1


def every_other_column(rng, shape, dtype, offset=2):
    """A (B, R, C) view with no unit stride: each row's values two apart."""
    B, R, C = shape
    storage = rng.uniform(-1, 1, offset + B * R * 2 * C).astype(dtype)
    return View(storage, shape, (R * 2 * C, 2 * C, 2), offset)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("blocks", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("a_layout", ["rows", "columns", "strided"])
def test_by_block_for_any_number_of_blocks(dtype, blocks, case, a_layout):
    """The kernel itself with any block count (the backend passes the thread count): every
    grid block_grid can choose, including blocks that share a partial panel and grids
    that cannot use every block, gives the product. A with unit-stride rows is read in
    place (partial edge panels packed), with unit-stride columns in place for a narrow
    output and packed for a wide one (the cases have N both sides of NC), and with no
    unit stride packed."""
    B, M, K, N = gemm_shapes(dtype)[case]
    rng = np.random.default_rng(case)
    a = (every_other_column(rng, (B, M, K), dtype) if a_layout == "strided" else
         strided_view(rng, (B, M, K), dtype, a_layout == "columns", broadcast_batch=False))
    b = strided_view(rng, (B, K, N), dtype, False, broadcast_batch=B > 1)
    out = np.full(B * M * N, np.nan, dtype)      # the first k-slab must write every element, not add
    mm.matmul_by_block(a.storage, a.offset, np.array(a.strides), b.storage, b.offset, np.array(b.strides),
                       B, M, N, K, mm.plan(dtype, blocks), out)
    assert_gemm_close(out.reshape(B, M, N), as_array(a) @ as_array(b), dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("path", ["by_slab", "small_k"])
def test_the_first_slab_is_stored_not_added(dtype, case, path):
    """"By slab" stores its first k-slab's blocks, "small k" its k = 0 row, without reading
    the output: an output full of NaN comes back as the product."""
    B, M, K, N = gemm_shapes(dtype)[case]
    rng = np.random.default_rng(case)
    a = strided_view(rng, (B, M, K), dtype, True, broadcast_batch=False)
    b = strided_view(rng, (B, K, N), dtype, False, broadcast_batch=B > 1)
    out = np.full(B * M * N, np.nan, dtype)
    mm.KERNELS[path](a.storage, a.offset, np.array(a.strides), b.storage, b.offset, np.array(b.strides),
                     B, M, N, K, mm.plan(dtype), out)
    assert_gemm_close(out.reshape(B, M, N), as_array(a) @ as_array(b), dtype, K)


def test_backend_passes_the_thread_count_to_by_block(monkeypatch):
    """One block per thread: the blocking the backend hands "by block" ends in the
    number of threads it runs on (1 below parallel_min_work())."""
    import numba

    from tinygrad_book.kernels.cpu import jit
    seen = []
    kernel = mm.KERNELS["by_block"]
    monkeypatch.setitem(mm.KERNELS, "by_block", lambda *args: (seen.append(int(args[-2][5])), kernel(*args))[1])
    monkeypatch.setattr(mm, "choose", lambda M, N, K, itemsize, a_rows_are_runs=False: "by_block")
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", jit.MIN_WORK_FLOOR)     # not this machine's measured one
    rng = np.random.default_rng(5)
    big = [strided_view(rng, s, np.float32, False, False) for s in ((1, 64, 64), (1, 64, 64))]
    small = [strided_view(rng, s, np.float32, False, False) for s in ((1, 4, 4), (1, 4, 4))]
    get_backend("cpu").matmul(*big)
    get_backend("cpu").matmul(*small)
    assert 64 ** 3 >= jit.PARALLEL_MIN_WORK > 4 ** 3
    want = 1 if numba.config.NUMBA_NUM_THREADS == 1 else numba.get_num_threads()
    assert seen == [want, 1]


# --- convolution through each GEMM path ------------------------------------------------

def same_pads(size, k, s):
    """Keras 'same' padding (before, after) for one axis."""
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv_numpy(x, w, stride, padding, g):
    """Direct NHWC convolution in float64, tap by tap, and its gradients for the loss
    sum(out * g): returns out, dL/dx, dL/dw."""
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    (top, bottom), (left, right) = ((same_pads(h, kh, stride), same_pads(wd, kw, stride))
                                    if padding == "same" else ((0, 0), (0, 0)))
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = (h + top + bottom - kh) // stride + 1
    ow = (wd + left + right - kw) // stride + 1
    out = np.zeros((n, oh, ow, f))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + stride * (oh - 1) + 1, stride)
            cols = slice(q, q + stride * (ow - 1) + 1, stride)
            out += xp[:, rows, cols, :] @ w[p, q]
            if g is not None:
                dw[p, q] = np.einsum("nijc,nijf->cf", xp[:, rows, cols, :], g)
                dxp[:, rows, cols, :] += g @ w[p, q].T
    return out, dxp[:, top:top + h, left:left + wd, :], dw


def conv_cases():
    """(N, H, W, C, KH, KW, F, stride, padding): the first spans several k-slabs in the
    forward GEMM (K = 9 C) and in the weight gradient (K = N*OH*OW)."""
    kc = max(mm.tiles(np.float32)[3], mm.tiles(np.float64)[3])
    c = 2 * kc // 9 + 5
    side = int(np.sqrt(kc)) + 3
    return [(2, side, side - 1, c, 3, 3, 13, 1, "same"),
            (3, 17, 15, 3, 3, 3, 32, 2, "same"),           # stride 2, padding after only
            (2, 9, 11, 1, 3, 3, 8, 1, "valid"),
            (1, 6, 7, 5, 2, 3, 40, 1, "same")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", range(4))
def test_conv_forward_and_gradients(force_path, path, dtype, case):
    n, h, wd, c, kh, kw, f, stride, padding = conv_cases()[case]
    rng = np.random.default_rng(case)
    x_np = rng.uniform(-1, 1, (n, h, wd, c)).astype(dtype)
    w_np = rng.uniform(-1, 1, (kh, kw, c, f)).astype(dtype)
    ran = force_path(path)
    x = Tensor(x_np, requires_grad=True, dtype=dtype, device="cpu")
    w = Tensor(w_np, requires_grad=True, dtype=dtype, device="cpu")
    out = F.conv2d(x, w, stride=stride, padding=padding)
    g_np = rng.uniform(-1, 1, out.shape).astype(dtype)
    (out * Tensor(g_np, dtype=dtype, device="cpu")).sum().backward()
    assert ran == [path] * 3                         # forward, dout @ W^T, cols^T @ dout
    want_out, want_dx, want_dw = conv_numpy(x_np.astype(np.float64), w_np.astype(np.float64), stride,
                                            padding, g_np.astype(np.float64))
    assert_gemm_close(out.numpy(), want_out, dtype, kh * kw * c)
    assert_gemm_close(x.grad.numpy(), want_dx, dtype, kh * kw * f)
    assert_gemm_close(w.grad.numpy(), want_dw, dtype, out.size // f)
