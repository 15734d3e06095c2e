"""The cpu backend's alternative loops give the numpy oracle's results: both matmul loop
orders (by block / by slab), the small-k path and its fallback for short rows, and the
column reduction split over row blocks."""
import numpy as np
import pytest

from tinygrad_book.kernels import View, get_backend
from tinygrad_book.kernels.cpu import matmul as mm


def _view(a, transpose=False, offset=0):
    """(1, M, K) view of a 2-D array; transpose=True: a is (K, M) and the view strided."""
    storage = np.concatenate([np.zeros(offset, a.dtype), a.reshape(-1)])
    if transpose:
        k, m = a.shape
        return View(storage, (1, m, k), (0, 1, m), offset)
    m, k = a.shape
    return View(storage, (1, m, k), (0, k, 1), offset)


@pytest.mark.parametrize("by_block_bytes", [0, 1 << 40])     # force "by slab", force "by block"
@pytest.mark.parametrize("m,k,n,transpose", [(7, 13, 5, False), (33, 600, 131, True), (65, 1100, 9, False),
                                             (5, 1030, 17, True), (130, 64, 288, False), (300, 32, 9, False),
                                             (64, 9, 32, False), (1, 1, 1, False)])
def test_matmul_loop_orders(monkeypatch, by_block_bytes, m, k, n, transpose):
    monkeypatch.setattr(mm, "BY_BLOCK_BYTES", by_block_bytes)
    r = np.random.default_rng(m * k + n)
    a = r.standard_normal((k, m) if transpose else (m, k)).astype(np.float32)
    b = r.standard_normal((k, n)).astype(np.float32)
    got = get_backend("cpu").matmul(_view(a, transpose, offset=3), _view(b)).reshape(m, n)
    want = (a.T if transpose else a).astype(np.float64) @ b
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axes", [((43264, 32), (0,)), ((4096, 3), (0,)), ((700, 300), (0,)),
                                        ((64, 26, 26, 32), (0, 1, 2)), ((128, 10), (0,)), ((1, 5), (0,))])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_column_reductions(dtype, shape, axes, op):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    got = get_backend("cpu").reduce(op, View(x.reshape(-1), shape, tuple(s // x.itemsize for s in x.strides), 0), axes)
    want = getattr(x.astype(np.float64), op)(axis=axes, keepdims=True)     # float64: the accurate sum
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows,cols", [(43264, 32), (128, 512), (7, 3), (1, 5), (5000, 1)])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "lt"])
@pytest.mark.parametrize("row_first", [False, True])
def test_row_broadcast_path(monkeypatch, dtype, rows, cols, op, row_first):
    """x (rows, C) op bias (C,) and bias op x, both at storage offsets: binary_row runs
    (a spy says so) and matches numpy."""
    from tinygrad_book.kernels.cpu import elementwise as ew
    ran = []
    kernel = ew.binary_row
    monkeypatch.setattr(ew, "binary_row", lambda *args: (ran.append(1), kernel(*args))[1])
    r = np.random.default_rng(rows + cols)
    x = r.uniform(0.5, 2, rows * cols).astype(dtype)
    bias = r.uniform(0.5, 2, cols).astype(dtype)
    xv = View(np.concatenate([np.zeros(3, dtype), x]), (rows, cols), (cols, 1), 3)
    bv = View(np.concatenate([np.zeros(2, dtype), bias]), (rows, cols), (0, 1), 2)
    a, b = (bv, xv) if row_first else (xv, bv)
    got = get_backend("cpu").binary(op, a, b).reshape(rows, cols)
    x2, b2 = x.reshape(rows, cols), bias[None, :]
    want = getattr(np, {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide",
                        "maximum": "maximum", "lt": "less"}[op])(*((b2, x2) if row_first else (x2, b2)))
    assert ran == [1] or (rows == 1 or cols == 1)      # a single row/column coalesces to the flat loop
    np.testing.assert_allclose(got, want.astype(dtype), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 26, 26, 32), (5,), (3, (1 << 14) + 1)])
@pytest.mark.parametrize("op", ["gt", "sub", "div", "mul", "minimum"])
@pytest.mark.parametrize("value_first", [False, True])
def test_scalar_broadcast_path(monkeypatch, dtype, shape, op, value_first):
    """x op c and c op x, c one element broadcast with stride 0 over every axis (the ReLU
    mask x > 0): binary_scalar runs (spy) and matches numpy, across chunk boundaries."""
    from tinygrad_book.kernels.cpu import elementwise as ew
    ran = []
    kernel = ew.binary_scalar
    monkeypatch.setattr(ew, "binary_scalar", lambda *args: (ran.append(1), kernel(*args))[1])
    r = np.random.default_rng(len(shape))
    x = r.uniform(-2, 2, int(np.prod(shape))).astype(dtype)
    x[::7] = 0.5                                                    # ties with the scalar
    xv = View(np.concatenate([np.zeros(1, dtype), x]), shape, tuple(int(s) // x.itemsize for s in
                                                                    x.reshape(shape).strides), 1)
    cv = View(np.array([9, 0.5], dtype), shape, (0,) * len(shape), 1)
    a, b = (cv, xv) if value_first else (xv, cv)
    got = get_backend("cpu").binary(op, a, b)
    c = dtype(0.5)
    want = getattr(np, {"gt": "greater", "sub": "subtract", "div": "divide", "mul": "multiply",
                        "minimum": "minimum"}[op])(*((c, x) if value_first else (x, c)))
    assert ran == [1]
    np.testing.assert_allclose(got, want.astype(dtype), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_single_values(dtype):
    """scatter_add_rows with one column (one task of the column-parallel loop): repeated
    and negative indices add up as in np.add.at, through a strided, offset source."""
    r = np.random.default_rng(5)
    n, rows = 5000, 300
    ids = r.integers(-rows, rows, n).astype(np.int64)
    ids[:50] = 7
    vals = r.standard_normal(n).astype(dtype)
    storage = np.zeros(2 * n + 1, dtype)
    storage[1::2] = vals
    got = get_backend("cpu").scatter_add_rows(View(storage, (n, 1), (2, 1), 1), View(ids, (n,), (1,), 0), rows)
    want = np.zeros(rows, np.float64)
    np.add.at(want, ids, vals.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)
