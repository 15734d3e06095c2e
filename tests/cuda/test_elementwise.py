"""unary, binary, where against the numpy reference: both kernel paths
(contiguous fast path, strided path), float32 and float64."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import BINARY_OPS, UNARY_OPS, View

from .views import check, make, pair

DTYPES = [np.float32, np.float64]
POSITIVE_ONLY = {"log", "sqrt"}          # keep the tests inside each op's domain ...
NONZERO = {"recip"}


def domain(op):
    if op in POSITIVE_ONLY:
        return 0.1, 3.0
    if op in NONZERO:
        return 0.5, 3.0
    return -3.0, 3.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_contiguous(rng, cuda_backend, ref, op, dtype):
    r, c = make(rng, cuda_backend, (5, 7), "offset", dtype, *domain(op))
    check(cuda_backend, ref, cuda_backend.unary(op, c), ref.unary(op, r), (5, 7), dtype)


@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_strided(rng, cuda_backend, ref, op):
    r, c = make(rng, cuda_backend, (5, 7), "transposed", np.float32, *domain(op))
    check(cuda_backend, ref, cuda_backend.unary(op, c), ref.unary(op, r), (5, 7), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_edges_match_numpy(cuda_backend, ref, dtype):
    """The tails: sigmoid of +-1000 (no overflow), exp overflow, log(0), sqrt(-1), sign(0)."""
    host = np.array([-1000.0, -30.0, -0.0, 0.0, 30.0, 1000.0, 800.0, -1.0], dtype=dtype)
    r, c = pair(cuda_backend, host, (8,), (1,), 0)
    for op in ("sigmoid", "exp", "tanh", "sign", "relu", "abs", "neg"):
        check(cuda_backend, ref, cuda_backend.unary(op, c), ref.unary(op, r), (8,), dtype)
    for op in ("log", "sqrt"):  # -inf / nan where numpy has them
        got = cuda_backend.to_numpy(View(cuda_backend.unary(op, c), (8,), (1,), 0))
        np.testing.assert_array_equal(got, ref.unary(op, r))


def binary_inputs(rng, cuda_backend, op, dtype, kind_a, kind_b):
    low, high = (0.5, 2.0) if op == "pow" else (-3.0, 3.0)
    a = make(rng, cuda_backend, (5, 7), kind_a, dtype, low, high)
    b = make(rng, cuda_backend, (5, 7), kind_b, dtype, -2.0 if op != "div" else 0.5, 2.0)
    return a, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_contiguous(rng, cuda_backend, ref, op, dtype):
    (ra, ca), (rb, cb) = binary_inputs(rng, cuda_backend, op, dtype, "offset", "contiguous")
    check(cuda_backend, ref, cuda_backend.binary(op, ca, cb), ref.binary(op, ra, rb), (5, 7), dtype)


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_strided_and_broadcast(rng, cuda_backend, ref, op):
    """a transposed, b broadcast along the first axis (stride 0)."""
    (ra, ca), (rb, cb) = binary_inputs(rng, cuda_backend, op, np.float64, "transposed", "broadcast")
    check(cuda_backend, ref, cuda_backend.binary(op, ca, cb), ref.binary(op, ra, rb), (5, 7))


@pytest.mark.parametrize("dtype", DTYPES)
def test_comparisons_with_ties_give_one_and_zero_in_the_input_dtype(cuda_backend, ref, dtype):
    a = np.array([1, 2, 3, 2, 1, 0], dtype=dtype)
    b = np.array([1, 1, 3, 3, 2, 0], dtype=dtype)
    ra, ca = pair(cuda_backend, a, (6,), (1,), 0)
    rb, cb = pair(cuda_backend, b, (6,), (1,), 0)
    for op in ("eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum"):
        check(cuda_backend, ref, cuda_backend.binary(op, ca, cb), ref.binary(op, ra, rb), (6,), dtype)


def test_binary_int64(rng, cuda_backend, ref):
    (ra, ca), (rb, cb) = binary_inputs(rng, cuda_backend, "add", np.int64, "offset", "broadcast")
    for op in ("add", "sub", "mul", "maximum", "lt"):
        check(cuda_backend, ref, cuda_backend.binary(op, ca, cb), ref.binary(op, ra, rb), (5, 7), np.int64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_with_broadcast_condition(rng, cuda_backend, ref, dtype):
    cond = (rng.uniform(size=7) > 0.5).astype(dtype)
    rc, cc = pair(cuda_backend, cond, (5, 7), (0, 1), 0)
    ra, ca = make(rng, cuda_backend, (5, 7), "transposed", dtype)
    rb, cb = make(rng, cuda_backend, (5, 7), "offset", dtype)
    check(cuda_backend, ref, cuda_backend.where(cc, ca, cb), ref.where(rc, ra, rb), (5, 7), dtype)


def test_grid_stride_loop_covers_more_elements_than_threads(rng, ref):
    """One block of 16 threads for 100 elements: each thread must loop."""
    from tinygrad_book.kernels.cuda import CudaBackend
    small = CudaBackend(block=16, max_blocks=1)
    r, c = make(rng, small, (10, 10), "contiguous", np.float32)
    check(small, ref, small.unary("neg", c), ref.unary("neg", r), (10, 10))
    r, c = make(rng, small, (10, 10), "transposed", np.float32)
    check(small, ref, small.binary("mul", c, c), ref.binary("mul", r, r), (10, 10))
