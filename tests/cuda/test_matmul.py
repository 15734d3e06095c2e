"""Tiled matmul with tile 4 on shapes that are not multiples of 4."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import View

from .views import check, make, pair

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((1, 5, 7), (1, 7, 3)), ((2, 5, 6), (2, 6, 9)),
                                    ((1, 1, 1), (1, 1, 1)), ((1, 4, 8), (1, 8, 4))])
def test_matmul(rng, cuda_backend, ref, shapes, dtype):
    assert cuda_backend.launch.tile == 4
    (ra, ca), (rb, cb) = (make(rng, cuda_backend, s, "contiguous", dtype) for s in shapes)
    (b, m, _), n = shapes[0], shapes[1][2]
    check(cuda_backend, ref, cuda_backend.matmul(ca, cb), ref.matmul(ra, rb), (b, m, n), dtype)


def test_matmul_transposed_offset_and_broadcast_batch(rng, cuda_backend, ref):
    """a: one (5, 6) matrix broadcast over a batch of 2 (stride 0), stored with an
    offset; b: (2, 6, 9) stored as (2, 9, 6), i.e. each matrix transposed."""
    host_a = rng.uniform(-1, 1, 3 + 30)
    ra, ca = pair(cuda_backend, host_a, (2, 5, 6), (0, 6, 1), 3)
    host_b = rng.uniform(-1, 1, 2 * 9 * 6)
    rb, cb = pair(cuda_backend, host_b, (2, 6, 9), (54, 1, 6), 0)
    check(cuda_backend, ref, cuda_backend.matmul(ca, cb), ref.matmul(ra, rb), (2, 5, 9))


def test_matmul_with_empty_inner_dimension_is_zero(cuda_backend):
    a = View(cuda_backend.from_numpy(np.zeros(0)), (1, 2, 0), (0, 0, 1), 0)
    b = View(cuda_backend.from_numpy(np.zeros(0)), (1, 0, 3), (0, 3, 1), 0)
    out = cuda_backend.to_numpy(View(cuda_backend.matmul(a, b), (1, 2, 3), (6, 3, 1), 0))
    np.testing.assert_array_equal(out, np.zeros((1, 2, 3)))
