"""The cpu column sum (`reduce_cols` -> `sum_rows_into`): rows added four at a time, in
groups of GROUP rows in x's dtype, then into float64. Row counts around every boundary
of that scheme (1-3 leftover rows, a partial group, row blocks of several tasks), column
runs of several widths, strided rows at an offset; and float32 accuracy at least that of
numpy's column sum (which adds every row in float32, one after the other)."""
import numpy as np
import pytest

from tinygrad_book.kernels import View, get_backend
from tinygrad_book.kernels.cpu import reduce as rd


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 8, rd.GROUP - 1, rd.GROUP, rd.GROUP + 1, rd.GROUP + 7, 257, 1000])
@pytest.mark.parametrize("cols", [1, 7, 256, 300, 1024, 1030])
def test_column_sum_every_boundary(dtype, rows, cols):
    r = np.random.default_rng(rows * 1000 + cols)
    pitch, offset = cols + 3, 5                          # strided rows (a slice of a wider array), at an offset
    storage = (r.integers(-50, 50, offset + rows * pitch) if dtype == np.int64
               else r.standard_normal(offset + rows * pitch)).astype(dtype)
    x = storage[offset:].reshape(rows, pitch)[:, :cols] if rows * pitch else None
    got = get_backend("cpu").reduce("sum", View(storage, (rows, cols), (pitch, 1), offset), (0,))
    want = x.astype(np.float64).sum(axis=0)
    if dtype == np.int64:
        np.testing.assert_array_equal(got, want.astype(np.int64))
    else:
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.sqrt(rows))


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize("rows,cols", [(1, 5), (63, 7), (64 * 9 + 3, 33), (1000, 1030), (2049, 3000)])
def test_row_blocks_for_every_thread_count(threads, op, rows, cols):
    """reduce_cols cuts the rows into blocks by the thread count it is told (one block on
    one thread, up to eight otherwise) and combines them: every count gives the column
    reduction, whatever thread count actually runs the loop."""
    from tinygrad_book.kernels.vocabulary import REDUCE_CODES
    x = np.random.default_rng(rows + cols).standard_normal((rows, cols))
    out = np.empty(cols)
    rd.reduce_cols(REDUCE_CODES[op], x.reshape(-1), 0, cols, cols, rows, threads, 0.0, out)
    np.testing.assert_allclose(out, getattr(x, op)(axis=0), rtol=1e-12, atol=1e-12)


def test_float32_column_sum_is_at_least_as_accurate_as_numpys():
    rows, cols = 100_000, 33
    x = np.full((rows, cols), 0.1, np.float32)
    x[::7] = 1.3
    exact = x.astype(np.float64).sum(axis=0)
    ours = get_backend("cpu").reduce("sum", View(x.reshape(-1), (rows, cols), (cols, 1), 0), (0,))
    assert ours.dtype == np.float32
    ours_error = np.abs(ours.astype(np.float64) - exact).max()
    numpy_error = np.abs(x.sum(axis=0).astype(np.float64) - exact).max()
    assert ours_error <= numpy_error and ours_error < 1e-4 * np.abs(exact).max()


@pytest.mark.parametrize("op", ["sum", "max"])
def test_a_very_wide_column_reduction_combines_in_parallel(op):
    """Past COMBINE_PARALLEL partial values the combining loop is a parallel one."""
    rows, cols = 3, rd.COMBINE_PARALLEL + 5
    x = np.random.default_rng(9).standard_normal((rows, cols))
    got = get_backend("cpu").reduce(op, View(x.reshape(-1), (rows, cols), (cols, 1), 0), (0,))
    np.testing.assert_allclose(got, getattr(x, op)(axis=0), rtol=1e-12)
