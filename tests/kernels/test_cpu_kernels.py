"""CpuBackend (numba) against NumpyBackend (the oracle), primitive by primitive.

Inputs are real `View`s over flat storages: contiguous, offset, sliced with a step,
permuted, and stride-0 broadcast, at sizes that are not multiples of any tile
(1, 7, 13, 65), in float32 and float64.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_book.kernels.base import BINARY_OPS, UNARY_OPS, View, contiguous_strides

DTYPES = [np.float32, np.float64]
TOL = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6), np.dtype(np.float64): dict(rtol=1e-12, atol=1e-12)}
LAYOUTS = ("contiguous", "offset", "sliced", "permuted", "broadcast")


def as_np(v: View) -> np.ndarray:
    """The oracle's reading of a view (independent of both backends)."""
    it = v.storage.itemsize
    return np.lib.stride_tricks.as_strided(v.storage[v.offset:], v.shape, [s * it for s in v.strides])


def make_view(rng, shape, dtype, layout, low=-2.0, high=2.0) -> View:
    """A View of `shape` whose elements are random and whose layout is `layout`."""
    shape = tuple(shape)
    nd = len(shape)
    dtype = np.dtype(dtype)

    def values(n):
        if dtype.kind == "i":
            return rng.integers(-5, 6, n).astype(dtype)
        return rng.uniform(low, high, n).astype(dtype)

    if layout == "contiguous":
        return View(values(int(np.prod(shape))), shape, contiguous_strides(shape), 0)
    if layout == "offset":
        off = 5
        st = values(int(np.prod(shape)) + off + 3)
        return View(st, shape, contiguous_strides(shape), off)
    if layout == "sliced":               # every other element along every axis, from 3
        big = tuple(2 * d for d in shape)
        st = values(int(np.prod(big)) + 3)
        strides = tuple(2 * s for s in contiguous_strides(big))
        return View(st, shape, strides, 3)
    if layout == "permuted":             # the storage is row-major for reversed axes
        perm = tuple(reversed(range(nd)))
        base_shape = tuple(shape[p] for p in perm)
        base = contiguous_strides(base_shape)
        strides = [0] * nd
        for i, p in enumerate(perm):
            strides[p] = base[i]
        return View(values(int(np.prod(shape))), shape, tuple(strides), 0)
    if layout == "broadcast":            # stride 0 along every other axis
        real = tuple(1 if i % 2 == 0 and nd > 1 else d for i, d in enumerate(shape))
        strides = list(contiguous_strides(real))
        for i, d in enumerate(shape):
            if real[i] == 1:
                strides[i] = 0
        return View(values(int(np.prod(real))) , shape, tuple(strides), 0)
    raise ValueError(layout)


def close(got, want, dtype, scale=1.0):
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale)


shapes = st.lists(st.sampled_from([1, 2, 3, 7, 13]), min_size=1, max_size=4)
layouts = st.sampled_from(LAYOUTS)
dtypes = st.sampled_from(DTYPES)


# --- memory and movement -----------------------------------------------------------

@given(shape=shapes, layout=layouts, dtype=dtypes)
def test_contiguous_and_to_numpy(cpu, ref, shape, layout, dtype):
    x = make_view(np.random.default_rng(1), shape, dtype, layout)
    got = cpu.contiguous(x)
    assert got.dtype == x.dtype and got.shape == (x.size,)
    np.testing.assert_array_equal(got, ref.contiguous(x))
    np.testing.assert_array_equal(cpu.to_numpy(x), ref.to_numpy(x))


def test_from_numpy_and_full(cpu):
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T
    st_ = cpu.from_numpy(a)
    assert st_.dtype == np.float32 and st_.ndim == 1
    np.testing.assert_array_equal(st_, a.reshape(-1))
    for dt in (np.float32, np.float64, np.int64):
        f = cpu.full(7, 3, dt)
        assert f.dtype == dt and (f == 3).all()
    assert cpu.full(0, 1.0, np.float32).shape == (0,)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("target", [np.float32, np.float64, np.int64])
def test_cast(cpu, ref, layout, target):
    x = make_view(np.random.default_rng(2), (7, 13), np.float64, layout, low=-50, high=50)
    got = cpu.cast(x, target)
    assert got.dtype == target
    np.testing.assert_array_equal(got, ref.cast(x, target))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_assign_into_strided_region(cpu, ref, layout, dtype):
    rng = np.random.default_rng(3)
    src = make_view(rng, (7, 13), dtype, layout)
    storage = rng.standard_normal(400).astype(dtype)
    dst_cpu = View(storage.copy(), (7, 13), (1, 21), 4)      # transposed, offset region
    dst_ref = View(storage.copy(), (7, 13), (1, 21), 4)
    cpu.assign(dst_cpu, src)
    ref.assign(dst_ref, src)
    np.testing.assert_array_equal(dst_cpu.storage, dst_ref.storage)


@pytest.mark.parametrize("shape", [(1,), (1, 1), (0,), (3, 0)])
def test_assign_of_one_element_or_none(cpu, ref, shape):
    """The edge sizes: one element is copied like any other, an empty view is a no-op
    (mutation testing: `size == 0` -> `size == 1` survived the strided tests)."""
    n = int(np.prod(shape))
    src = View(np.full(max(n, 1), 7.0), shape, contiguous_strides(shape), 0)
    got, want = np.arange(6.0), np.arange(6.0)
    cpu.assign(View(got, shape, contiguous_strides(shape), 2), src)
    ref.assign(View(want, shape, contiguous_strides(shape), 2), src)
    np.testing.assert_array_equal(got, want)
    assert (got != np.arange(6.0)).sum() == n


def test_assign_overlapping_source(cpu, ref):
    st_ = np.arange(20, dtype=np.float64)
    a, b = st_.copy(), st_.copy()
    cpu.assign(View(a, (10,), (1,), 5), View(a, (10,), (1,), 0))
    ref.assign(View(b, (10,), (1,), 5), View(b, (10,), (1,), 0))
    np.testing.assert_array_equal(a, b)


# --- element-wise ------------------------------------------------------------------

UNARY_DOMAIN = {"log": (0.1, 3.0), "sqrt": (0.0, 3.0), "recip": (0.5, 3.0)}


@pytest.mark.parametrize("op", UNARY_OPS)
@given(shape=shapes, layout=layouts, dtype=dtypes)
def test_unary(cpu, ref, op, shape, layout, dtype):
    lo, hi = UNARY_DOMAIN.get(op, (-3.0, 3.0))
    x = make_view(np.random.default_rng(4), shape, dtype, layout, lo, hi)
    got = cpu.unary(op, x)
    assert got.dtype == x.dtype
    close(got, ref.unary(op, x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tails_and_special_values(cpu, ref, dtype):
    x = np.array([-1e4, -100, -20, -1e-8, 0, 1e-8, 20, 100, 1e4, np.inf, -np.inf], dtype)
    v = View(x, x.shape, (1,), 0)
    got = cpu.unary("sigmoid", v)
    assert np.isfinite(got).all()
    close(got, ref.unary("sigmoid", v), dtype)
    y = np.array([-1.0, 0.0, 2.0, np.nan], dtype)
    for op in ("relu", "sign", "abs", "log"):
        np.testing.assert_array_equal(cpu.unary(op, View(y, (4,), (1,), 0)), ref.unary(op, View(y, (4,), (1,), 0)))


BINARY_DOMAIN = {"pow": ((0.2, 2.0), (-2.0, 2.0)), "div": ((-2.0, 2.0), (0.5, 2.0))}


@pytest.mark.parametrize("op", BINARY_OPS)
@given(shape=shapes, la=layouts, lb=layouts, dtype=dtypes)
def test_binary(cpu, ref, op, shape, la, lb, dtype):
    (alo, ahi), (blo, bhi) = BINARY_DOMAIN.get(op, ((-2.0, 2.0), (-2.0, 2.0)))
    rng = np.random.default_rng(5)
    a = make_view(rng, shape, dtype, la, alo, ahi)
    b = make_view(rng, shape, dtype, lb, blo, bhi)
    if op in ("eq", "ne", "le", "ge"):            # make some elements equal
        b = View(a.storage, a.shape, a.strides, a.offset) if rng.random() < 0.5 else b
    got = cpu.binary(op, a, b)
    assert got.dtype == a.dtype
    close(got, ref.binary(op, a, b), dtype)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "maximum", "minimum", "lt", "eq"])
def test_binary_int64(cpu, ref, op):
    rng = np.random.default_rng(6)
    a = make_view(rng, (7, 13), np.int64, "permuted")
    b = make_view(rng, (7, 13), np.int64, "broadcast")
    np.testing.assert_array_equal(cpu.binary(op, a, b), ref.binary(op, a, b))


def test_binary_nan_propagation(cpu, ref):
    a = np.array([np.nan, 1.0, 2.0, np.nan])
    b = np.array([1.0, np.nan, 1.0, np.nan])
    for op in ("maximum", "minimum", "eq", "ne", "lt", "ge"):
        va, vb = View(a, (4,), (1,), 0), View(b, (4,), (1,), 0)
        np.testing.assert_array_equal(cpu.binary(op, va, vb), ref.binary(op, va, vb))


def test_broadcast_row_big(cpu, ref):
    """The benchmark's shape class: (1000, 1000) + a (1000,) row (stride 0 rows)."""
    rng = np.random.default_rng(7)
    a = make_view(rng, (65, 1000), np.float32, "contiguous")
    row = View(rng.standard_normal(1000).astype(np.float32), (65, 1000), (0, 1), 0)
    col = View(rng.standard_normal(65).astype(np.float32), (65, 1000), (1, 0), 0)
    close(cpu.binary("add", a, row), ref.binary("add", a, row), np.float32)
    close(cpu.binary("mul", col, a), ref.binary("mul", col, a), np.float32)
    big = make_view(rng, (70000,), np.float32, "contiguous")     # several parallel chunks
    close(cpu.binary("add", big, big), ref.binary("add", big, big), np.float32)
    close(cpu.unary("tanh", big), ref.unary("tanh", big), np.float32)


@given(shape=shapes, lc=layouts, la=layouts, lb=layouts, dtype=dtypes)
def test_where(cpu, ref, shape, lc, la, lb, dtype):
    rng = np.random.default_rng(8)
    c = make_view(rng, shape, dtype, lc)
    c = View(np.where(c.storage > 0, c.storage, 0).astype(dtype), c.shape, c.strides, c.offset)
    a, b = make_view(rng, shape, dtype, la), make_view(rng, shape, dtype, lb)
    np.testing.assert_array_equal(cpu.where(c, a, b), ref.where(c, a, b))


# --- reductions --------------------------------------------------------------------

@pytest.mark.parametrize("op", ["sum", "max", "min"])   # parametrized, not drawn: every op
@pytest.mark.parametrize("dtype", DTYPES)                 # and dtype gets the profile's examples
@given(data=st.data(), shape=shapes, layout=layouts)
def test_reduce(cpu, ref, data, shape, layout, dtype, op):
    nd = len(shape)
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, nd - 1), min_size=1))))
    x = make_view(np.random.default_rng(9), shape, dtype, layout)
    got = cpu.reduce(op, x, axes)
    want = ref.reduce(op, x, axes)
    assert got.dtype == x.dtype and got.shape == want.shape
    n = int(np.prod([shape[a] for a in axes]))
    close(got, want, dtype, scale=2.0 * n)   # sums may add in another order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axes", [((1000, 65), (0,)), ((65, 1000), (1,)), ((300_001,), (0,)),
                                         ((7, 13, 65), (0, 2)), ((13, 65, 7), (1,))])
def test_reduce_large(cpu, ref, dtype, shape, axes):
    x = make_view(np.random.default_rng(10), shape, dtype, "contiguous")
    for op in ("sum", "max", "min"):
        n = int(np.prod([shape[a] for a in axes]))
        close(cpu.reduce(op, x, axes), ref.reduce(op, x, axes), dtype, scale=n)


def test_reduce_int64_and_nan(cpu, ref):
    x = make_view(np.random.default_rng(11), (7, 65), np.int64, "permuted")
    for op in ("sum", "max", "min"):
        for axes in ((0,), (1,), (0, 1)):
            np.testing.assert_array_equal(cpu.reduce(op, x, axes), ref.reduce(op, x, axes))
    y = np.arange(12, dtype=np.float64)
    y[5] = np.nan
    for op in ("sum", "max", "min"):
        for shape, strides, axes in (((12,), (1,), (0,)), ((3, 4), (4, 1), (0,)), ((3, 4), (4, 1), (1,))):
            v = View(y, shape, strides, 0)
            np.testing.assert_array_equal(cpu.reduce(op, v, axes), ref.reduce(op, v, axes))


@given(data=st.data(), shape=shapes, layout=layouts, dtype=dtypes)
def test_argmax(cpu, ref, data, shape, layout, dtype):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = make_view(np.random.default_rng(12), shape, dtype, layout)
    x = View(np.round(x.storage), x.shape, x.strides, x.offset)     # ties: first maximum wins
    got = cpu.argmax(x, axis)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.argmax(x, axis))


# --- matmul ------------------------------------------------------------------------

def mat_view(rng, shape, dtype, transposed=False, batch_broadcast=False):
    """A (B, R, C) view; transposed: the storage holds (B, C, R); broadcast: one
    matrix seen by every batch (batch stride 0)."""
    B, R, C = shape
    nb = 1 if batch_broadcast else B
    st_ = rng.uniform(-1, 1, nb * R * C + 2).astype(dtype)
    if transposed:
        strides = (R * C, 1, R)
    else:
        strides = (R * C, C, 1)
    if batch_broadcast:
        strides = (0,) + strides[1:]
    return View(st_, shape, strides, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,M,K,N", [(1, 1, 1, 1), (1, 3, 17, 5), (2, 65, 33, 70), (1, 7, 65, 13),
                                     (3, 13, 100, 9), (1, 70, 600, 130), (2, 1, 64, 1)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(cpu, ref, dtype, B, M, K, N, ta, tb):
    rng = np.random.default_rng(13)
    a = mat_view(rng, (B, M, K), dtype, ta)
    b = mat_view(rng, (B, K, N), dtype, tb, batch_broadcast=(B > 1 and not ta))
    got = cpu.matmul(a, b)
    assert got.dtype == dtype and got.shape == (B * M * N,)
    close(got, ref.matmul(a, b), dtype, scale=K)


def test_matmul_int64_and_empty(cpu, ref):
    rng = np.random.default_rng(14)
    a = View(rng.integers(-3, 4, 5 * 70).astype(np.int64), (1, 5, 70), (350, 70, 1), 0)
    b = View(rng.integers(-3, 4, 70 * 6).astype(np.int64), (1, 70, 6), (420, 6, 1), 0)
    np.testing.assert_array_equal(cpu.matmul(a, b), ref.matmul(a, b))
    z = View(np.zeros(0), (1, 3, 0), (0, 0, 1), 0)
    w = View(np.zeros(0), (1, 0, 4), (0, 4, 1), 0)
    np.testing.assert_array_equal(cpu.matmul(z, w), np.zeros(12))


# --- convolution -------------------------------------------------------------------

CONV_CASES = [  # (N, H, W, C), kernel, stride, pads
    ((2, 7, 7, 3), (3, 3), (1, 1), (0, 0, 0, 0)),
    ((1, 13, 7, 2), (3, 2), (2, 3), (1, 0, 2, 1)),
    ((3, 5, 6, 1), (2, 3), (2, 1), (0, 2, 1, 0)),
    ((1, 1, 1, 7), (1, 1), (1, 1), (0, 0, 0, 0)),
    ((2, 8, 9, 4), (3, 3), (3, 2), (2, 1, 0, 3)),
    # stride 1 has its own col2im loop: one channel, 'same' and uneven padding, a kernel
    # wider than the image
    ((2, 6, 5, 1), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((1, 5, 7, 2), (2, 4), (1, 1), (0, 1, 2, 1)),
    ((2, 3, 4, 1), (3, 3), (1, 1), (2, 0, 0, 2)),
    ((1, 4, 3, 5), (5, 5), (1, 1), (2, 2, 3, 2)),
    # one channel, patches inside the image: im2col's tap-by-tap rows (all rows; the middle
    # rows only, with vertical padding; stride 2 with an unused right pad; a 1 x 1 kernel)
    ((2, 9, 8, 1), (3, 3), (1, 1), (0, 0, 0, 0)),
    ((2, 7, 6, 1), (3, 3), (1, 1), (1, 1, 0, 0)),
    ((1, 8, 8, 1), (3, 2), (2, 2), (0, 1, 0, 1)),
    ((1, 3, 4, 1), (1, 1), (1, 1), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_im2col_col2im_and_adjoint(cpu, ref, dtype, case):
    shape, kernel, stride, pads = case
    rng = np.random.default_rng(15)
    for layout in ("contiguous", "sliced", "permuted"):
        x = make_view(rng, shape, dtype, layout)
        cols = cpu.im2col(x, kernel, stride, pads)
        np.testing.assert_array_equal(cols, ref.im2col(x, kernel, stride, pads))
    n, h, w, c = shape
    oh = (h + pads[0] + pads[1] - kernel[0]) // stride[0] + 1
    ow = (w + pads[2] + pads[3] - kernel[1]) // stride[1] + 1
    cshape = (n, oh, ow, kernel[0], kernel[1], c)
    y = View(rng.standard_normal(int(np.prod(cshape))).astype(dtype), cshape, contiguous_strides(cshape), 0)
    img = cpu.col2im(y, shape, kernel, stride, pads)
    close(img, ref.col2im(y, shape, kernel, stride, pads), dtype, scale=10)
    # adjoint identity: <im2col(x), y> == <x, col2im(y)>
    xs = rng.standard_normal(int(np.prod(shape))).astype(dtype)
    xv = View(xs, shape, contiguous_strides(shape), 0)
    lhs = np.dot(cpu.im2col(xv, kernel, stride, pads).astype(np.float64), y.storage.astype(np.float64))
    rhs = np.dot(xs.astype(np.float64), img.astype(np.float64))
    assert abs(lhs - rhs) <= 1e-4 * (1 + abs(lhs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kernel,stride", [((2, 7, 7, 3), (2, 2), (2, 2)), ((1, 13, 9, 5), (3, 3), (2, 1)),
                                                 ((3, 4, 4, 1), (4, 4), (1, 1)), ((1, 6, 5, 2), (2, 3), (3, 2))])
def test_maxpool2d(cpu, ref, dtype, shape, kernel, stride):
    rng = np.random.default_rng(16)
    for layout in ("contiguous", "permuted", "broadcast"):
        x = make_view(rng, shape, dtype, layout)
        x = View(np.round(x.storage * 2), x.shape, x.strides, x.offset)   # ties: first max
        v, i = cpu.maxpool2d(x, kernel, stride)
        rv, ri = ref.maxpool2d(x, kernel, stride)
        assert v.dtype == dtype and i.dtype == np.int64
        np.testing.assert_array_equal(v, rv)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(as_np(x).reshape(-1)[i], v)


POOL_GEOMETRIES = [((2, 7, 7, 3), (2, 2), (2, 2)),      # the zoo's pooling; row and column 6 in no window
                   ((1, 13, 9, 5), (3, 3), (2, 1)),     # overlapping windows
                   ((3, 4, 4, 1), (4, 4), (1, 1)),      # one window, the whole image
                   ((1, 6, 5, 2), (2, 3), (3, 2)),      # rows 2 and 5 in no window, columns overlap
                   ((2, 8, 9, 4), (2, 2), (3, 4)),      # disjoint, with rows and columns between windows
                   ((2, 5, 6, 17), (3, 2), (1, 1))]     # every element in up to six windows


def _pooled(shape, kernel, stride):
    n, h, w, c = shape
    return (n, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1, c)


def _scatter_oracle(g, argmax, size):
    """The backward as its definition reads: every window adds its gradient at its argmax."""
    out = np.zeros(size, dtype=np.float64)
    np.add.at(out, argmax.reshape(-1), g.reshape(-1).astype(np.float64))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kernel,stride", POOL_GEOMETRIES)
def test_maxpool2d_backward_adds_each_gradient_at_its_argmax(dirty_empty, ref, dtype, shape, kernel, stride):
    """Integer images with ties (the first maximum wins, and overlapping windows often pick
    the same input) and integer gradients: every sum is exact, so cpu, the reference and the
    scatter-add oracle agree exactly. The output comes from a dirty np.empty: an input no
    window chose must be written as 0, not left."""
    rng = np.random.default_rng(18)
    x = View(np.round(rng.uniform(-2, 2, int(np.prod(shape)))).astype(dtype), shape, contiguous_strides(shape), 0)
    _, won = ref.maxpool2d(x, kernel, stride)
    pooled = _pooled(shape, kernel, stride)
    argmax = View(won, pooled, contiguous_strides(pooled), 0)
    for layout in ("contiguous", "permuted", "broadcast"):
        g = make_view(rng, pooled, dtype, layout)
        g = View(np.round(g.storage * 3), g.shape, g.strides, g.offset)
        want = _scatter_oracle(as_np(g), won, x.size)
        got = dirty_empty.maxpool2d_backward(g, argmax, shape, kernel, stride)
        assert got.dtype == dtype and got.shape == (x.size,)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(ref.maxpool2d_backward(g, argmax, shape, kernel, stride), want)


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_maxpool2d_backward_drops_an_argmax_outside_its_window(device):
    """The contract's last sentence: argmax is compared with the inputs of its own window,
    never used as an address, so a corrupt index (here one past the image, another window's
    input, and -1) adds nothing instead of writing out of bounds."""
    from tinygrad_book.kernels import get_backend
    shape, pooled = (1, 4, 4, 1), (1, 2, 2, 1)
    argmax = np.array([5, 16, 15, -1], np.int64)    # window (0, 0) chose 5: valid; the rest lie outside
    g = np.array([1.0, 2.0, 4.0, 8.0])
    got = get_backend(device).maxpool2d_backward(View(g, pooled, contiguous_strides(pooled), 0),
                                                 View(argmax, pooled, contiguous_strides(pooled), 0),
                                                 shape, (2, 2), (2, 2))
    want = np.zeros(16)
    want[5] = 1.0
    np.testing.assert_array_equal(got, want)


# --- indexing ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "sliced", "permuted"])
def test_gather_and_scatter_add_rows(cpu, ref, dtype, layout):
    rng = np.random.default_rng(17)
    V, D, n = 13, 65, 70
    table = make_view(rng, (V, D), dtype, layout)
    ids = rng.integers(0, V, n).astype(np.int64)
    ids[:5] = 3                                        # repeated indices
    ids[5] = -1                                        # numpy-style negative index
    idx = View(ids, (n,), (1,), 0)
    np.testing.assert_array_equal(cpu.gather_rows(table, idx), ref.gather_rows(table, idx))
    src = make_view(rng, (n, D), dtype, layout)
    close(cpu.scatter_add_rows(src, idx, V), ref.scatter_add_rows(src, idx, V), dtype, scale=10)
    sliced_idx = View(np.repeat(ids, 2), (n,), (2,), 1)     # a strided index view
    np.testing.assert_array_equal(cpu.gather_rows(table, sliced_idx), ref.gather_rows(table, sliced_idx))


def test_scatter_add_all_same_row(cpu, ref):
    src = View(np.ones(1000 * 7), (1000, 7), (7, 1), 0)
    idx = View(np.zeros(1000, np.int64), (1000,), (1,), 0)
    out = cpu.scatter_add_rows(src, idx, 2).reshape(2, 7)
    np.testing.assert_array_equal(out, [[1000.0] * 7, [0.0] * 7])


def test_index_errors(cpu):
    t = View(np.ones(6), (3, 2), (2, 1), 0)
    with pytest.raises(IndexError):
        cpu.gather_rows(t, View(np.array([3], np.int64), (1,), (1,), 0))
    with pytest.raises(IndexError):
        cpu.one_hot(View(np.array([0, 5], np.int64), (2,), (1,), 0), 5, np.float32)


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
def test_one_hot(cpu, ref, dtype):
    labels = View(np.array([0, 4, 2, 2, 6, 1, 0], np.int64), (7,), (1,), 0)
    got = cpu.one_hot(labels, 7, dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ref.one_hot(labels, 7, dtype))


# --- fused softmax cross-entropy --------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,C", [(1, 1), (7, 10), (13, 46), (65, 1000)])
@pytest.mark.parametrize("layout", ["contiguous", "permuted", "sliced"])
def test_softmax_xent(cpu, ref, dtype, n, C, layout):
    rng = np.random.default_rng(18)
    z = make_view(rng, (n, C), dtype, layout, -5, 5)
    t = make_view(rng, (n, C), dtype, "contiguous", 0, 1)
    loss, probs = cpu.softmax_xent(z, t)
    rl, rp = ref.softmax_xent(z, t)
    assert loss.dtype == dtype and probs.dtype == dtype
    close(loss, rl, dtype, scale=10)
    close(probs, rp, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_large_logits(cpu, ref, dtype):
    z = np.array([[1e4, 0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 3]], dtype)
    t = np.eye(3, dtype=dtype)[[1, 0, 2]]
    zv, tv = View(z.reshape(-1), (3, 3), (3, 1), 0), View(t.reshape(-1), (3, 3), (3, 1), 0)
    loss, probs = cpu.softmax_xent(zv, tv)
    assert np.isfinite(loss).all() and np.isfinite(probs).all()
    rl, rp = ref.softmax_xent(zv, tv)
    close(loss, rl, dtype)
    close(probs, rp, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,C", [(1, 1), (7, 10), (13, 46), (65, 1000)])
@pytest.mark.parametrize("layout", ["contiguous", "permuted", "sliced"])
def test_softmax_rows(cpu, ref, dtype, n, C, layout):
    z = make_view(np.random.default_rng(19), (n, C), dtype, layout, -40, 40)
    probs = cpu.softmax_rows(z)
    assert probs.dtype == dtype and probs.shape == (n * C,)
    close(probs, ref.softmax_rows(z), dtype)
    close(probs, cpu.softmax_xent(z, z)[1], dtype)       # the same probabilities as the fused loss


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_finds_the_max_in_every_lane_of_its_four_chains(cpu, ref, dtype):
    """The row max keeps four running maxima (elements 4q, 4q+1, 4q+2, 4q+3) and a tail:
    a logit of 1000 in each position of rows 1..9 long must still be the max, or exp(1000 -
    m) overflows (in float64 too). One row per (C, position), the rest of the row at 0."""
    for C in range(1, 10):
        z = np.zeros((C, C), dtype)
        z[np.arange(C), np.arange(C)] = 1000.0
        zv = View(z.reshape(-1), (C, C), (C, 1), 0)
        probs = cpu.softmax_rows(zv)
        assert np.isfinite(probs).all(), C
        close(probs, ref.softmax_rows(zv), dtype)
        loss, p = cpu.softmax_xent(zv, zv)
        assert np.isfinite(loss).all() and np.isfinite(p).all(), C


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_a_row_with_a_nan_is_all_nan_and_the_other_rows_are_untouched(cpu, ref, dtype):
    z = np.array([[0.5, np.nan, 2.0, -1.0, 3.0], [np.nan, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0]], dtype)
    zv = View(z.reshape(-1), (3, 5), (5, 1), 0)
    probs = cpu.softmax_rows(zv).reshape(3, 5)
    assert np.isnan(probs[:2]).all()
    close(probs[2], ref.softmax_rows(zv).reshape(3, 5)[2], dtype)
    loss, _ = cpu.softmax_xent(zv, View(np.eye(5, dtype=dtype)[[0, 1, 2]].reshape(-1), (3, 5), (5, 1), 0))
    assert np.isnan(loss[:2]).all() and np.isfinite(loss[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_large_logits(cpu, ref, dtype):
    z = np.array([[1e4, 0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 3]], dtype)
    zv = View(z.reshape(-1), (3, 3), (3, 1), 0)
    probs = cpu.softmax_rows(zv)
    assert np.isfinite(probs).all()
    close(probs, ref.softmax_rows(zv), dtype)
    close(probs, [1, 0, 0, 1 / 3, 1 / 3, 1 / 3, 1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0], dtype)


# --- the backend as a whole --------------------------------------------------------

def test_every_primitive_is_implemented(cpu):
    from tinygrad_book.kernels.base import Backend
    abstract = {n for n in dir(Backend) if getattr(getattr(Backend, n), "__isabstractmethod__", False)}
    assert abstract and all(not getattr(getattr(type(cpu), n), "__isabstractmethod__", False) for n in abstract)


# --- argmax over any axis --------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 0),
                                        ((2, 3, 4), 1), ((2, 3, 4), 2), ((1, 6, 1), 1)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_argmax_of_every_axis_equals_numpys(cpu, shape, axis, layout):
    """Every axis of 1-3-D views, contiguous or transposed (the other axes then do not
    coalesce and the kernel first copies the axis last); int64 indices; first of ties."""
    rng = np.random.default_rng(5)
    values = rng.integers(0, 4, size=shape).astype(np.float64)          # ties on purpose
    if layout == "transposed":
        storage = np.ascontiguousarray(values.T).ravel()
        view = View(storage, shape, tuple(reversed(contiguous_strides(tuple(reversed(shape))))), 0)
    else:
        view = View(values.ravel().copy(), shape, contiguous_strides(shape), 0)
    got = cpu.argmax(view, axis)
    want = values.argmax(axis)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_argmax_of_empty_inputs(cpu):
    none_left = cpu.argmax(View(np.zeros(1), (0, 3), (3, 1), 0), 1)
    assert none_left.shape == (0,) and none_left.dtype == np.int64
    with pytest.raises(ValueError, match="^attempt to get argmax of an empty sequence$"):
        cpu.argmax(View(np.zeros(1), (3, 0), (1, 1), 0), 1)


@pytest.mark.parametrize("a_dtype,b_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_where_of_two_dtypes_takes_the_wider_one(cpu, ref, a_dtype, b_dtype):
    cond = View(np.array([1.0, 0.0, 1.0, 0.0]), (4,), (1,), 0)
    a = View(np.array([1.1, 2.2, 3.3, 4.4], a_dtype), (4,), (1,), 0)
    b = View(np.array([-1.1, -2.2, -3.3, -4.4], b_dtype), (4,), (1,), 0)
    got, want = cpu.where(cond, a, b), ref.where(cond, a, b)
    assert np.asarray(got).dtype == np.float64 == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)
