"""sum / max / min over every axis set, the second pass for long rows, and argmax."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import View

from .views import check, make, pair

DTYPES = [np.float32, np.float64]


def keepdims(shape, axes):
    return tuple(1 if d in axes else n for d, n in enumerate(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)])
def test_reduce_2d(rng, cuda_backend, ref, op, axes, dtype):
    r, c = make(rng, cuda_backend, (5, 7), "offset", dtype)
    check(cuda_backend, ref, cuda_backend.reduce(op, c, axes), ref.reduce(op, r, axes),
          keepdims((5, 7), axes), dtype)


@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 2), (1, 2)])
@pytest.mark.parametrize("kind", ["transposed", "broadcast", "sliced"])
def test_reduce_3d_strided(rng, cuda_backend, ref, op, axes, kind):
    r, c = make(rng, cuda_backend, (3, 4, 5), kind, np.float64)
    check(cuda_backend, ref, cuda_backend.reduce(op, c, axes), ref.reduce(op, r, axes),
          keepdims((3, 4, 5), axes))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_long_rows_take_a_second_pass(rng, cuda_backend, ref, op, dtype):
    """300 elements per row > block (16) * 8 items per thread: 3 blocks per row,
    then a second pass over the partials."""
    from tinygrad_book.kernels.cuda import reduce as reduce_module
    assert 300 > cuda_backend.launch.block * reduce_module.ITEMS_PER_THREAD
    r, c = make(rng, cuda_backend, (2, 300), "contiguous", dtype)
    check(cuda_backend, ref, cuda_backend.reduce(op, c, (1,)), ref.reduce(op, r, (1,)), (2, 1), dtype)
    r, c = make(rng, cuda_backend, (300, 2), "transposed", dtype)
    check(cuda_backend, ref, cuda_backend.reduce(op, c, (0, 1)), ref.reduce(op, r, (0, 1)), (1, 1), dtype)


def test_reduce_int64_and_nan(cuda_backend, ref):
    r, c = pair(cuda_backend, np.arange(12, dtype=np.int64) - 5, (3, 4), (4, 1), 0)
    for op in ("sum", "max", "min"):
        check(cuda_backend, ref, cuda_backend.reduce(op, c, (1,)), ref.reduce(op, r, (1,)), (3, 1), np.int64)
    host = np.array([1.0, np.nan, 3.0, 2.0])
    r, c = pair(cuda_backend, host, (4,), (1,), 0)
    for op in ("sum", "max", "min"):   # NaN propagates, as in numpy
        got = cuda_backend.to_numpy(View(cuda_backend.reduce(op, c, (0,)), (1,), (1,), 0))
        assert np.isnan(got[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1])
def test_argmax_first_maximum(rng, cuda_backend, ref, axis, dtype):
    host = rng.integers(0, 3, size=35).astype(dtype)   # many ties: the first must win
    r, c = pair(cuda_backend, host, (5, 7), (7, 1), 0)
    shape = (7,) if axis == 0 else (5,)
    check(cuda_backend, ref, cuda_backend.argmax(c, axis), ref.argmax(r, axis), shape, np.int64)


def test_argmax_strided_3d(rng, cuda_backend, ref):
    r, c = make(rng, cuda_backend, (3, 4, 5), "transposed", np.float32)
    for axis in range(3):
        shape = tuple(n for d, n in enumerate((3, 4, 5)) if d != axis)
        check(cuda_backend, ref, cuda_backend.argmax(c, axis), ref.argmax(r, axis), shape, np.int64)
