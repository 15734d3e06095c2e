"""Memory and movement primitives: from/to numpy, full, contiguous, cast, assign."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import View, contiguous_strides

from .views import LAYOUTS, check, make

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
def test_round_trip_keeps_values_and_dtype(cuda_backend, dtype):
    host = np.arange(35, dtype=dtype).reshape(5, 7)
    storage = cuda_backend.from_numpy(host)
    back = cuda_backend.to_numpy(View(storage, (5, 7), (7, 1), 0))
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, host)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_to_numpy_and_contiguous_of_strided_views(rng, cuda_backend, ref, kind):
    r, c = make(rng, cuda_backend, (5, 7), kind, np.float32)
    np.testing.assert_array_equal(cuda_backend.to_numpy(c), ref.to_numpy(r))
    check(cuda_backend, ref, cuda_backend.contiguous(c), ref.contiguous(r), (5, 7))


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
def test_full(cuda_backend, ref, dtype):
    check(cuda_backend, ref, cuda_backend.full(13, 2.5, dtype), ref.full(13, 2.5, dtype), (13,))


@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.float32),
                                     (np.float64, np.int64), (np.int64, np.float32)])
@pytest.mark.parametrize("kind", ["offset", "transposed"])
def test_cast(rng, cuda_backend, ref, src, dst, kind):
    r, c = make(rng, cuda_backend, (5, 7), kind, src, low=-9, high=9)
    check(cuda_backend, ref, cuda_backend.cast(c, dst), ref.cast(r, dst), (5, 7), dst)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assign_writes_a_strided_region_only(rng, cuda_backend, ref, dtype):
    """Write a transposed (3, 4) source into columns 1, 3, 5, 7 of rows 1..3 of a (5, 9)."""
    base = np.arange(45, dtype=dtype)
    dst_ref = View(base.copy(), (3, 4), (9, 2), 9 + 1)
    dst_cuda = View(cuda_backend.from_numpy(base), (3, 4), (9, 2), 9 + 1)
    src_ref, src_cuda = make(rng, cuda_backend, (3, 4), "transposed", dtype)
    ref.assign(dst_ref, src_ref)
    cuda_backend.assign(dst_cuda, src_cuda)
    check(cuda_backend, ref, dst_cuda.storage, dst_ref.storage, (45,))


def test_assign_from_an_overlapping_view_of_the_same_storage(cuda_backend, ref):
    """dst = elements 1..8, src = elements 0..7 of one storage: a shift by one."""
    base = np.arange(10, dtype=np.float64)
    st_ref, st_cuda = base.copy(), cuda_backend.from_numpy(base)
    ref.assign(View(st_ref, (8,), (1,), 1), View(st_ref, (8,), (1,), 0))
    cuda_backend.assign(View(st_cuda, (8,), (1,), 1), View(st_cuda, (8,), (1,), 0))
    check(cuda_backend, ref, st_cuda, st_ref, (10,))


def test_zero_sized_views(cuda_backend):
    empty = View(cuda_backend.from_numpy(np.zeros(0, np.float32)), (0, 3), contiguous_strides((0, 3)), 0)
    assert cuda_backend.to_numpy(empty).shape == (0, 3)
    assert cuda_backend.unary("exp", empty).shape == (0,)
    assert cuda_backend.contiguous(empty).shape == (0,)
