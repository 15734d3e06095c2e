"""Kinks and ties, where the derivative is one-sided and central differences cannot
check it (the registry draws values away from them): relu and abs take 0 at 0, a**b's
gradient in b is 0 where a is 0, and where max/min (or maximum/minimum) is attained
more than once the gradient is shared evenly among the winners. Pinned down by hand.
Also a case the registry's draws miss: cross-entropy targets that do not sum to 1."""
import numpy as np
import pytest

from tinygrad_book import Tensor

from ..conftest import DEVICES


@pytest.fixture(params=DEVICES)
def dev(request):
    return request.param


@pytest.mark.parametrize("op", ["max", "min"])
def test_a_reduction_shares_the_gradient_among_tied_winners(dev, op):
    x = np.array([[1.0, 3.0, 3.0, 0.0],    # max tied twice
                  [2.0, 2.0, 2.0, 2.0],    # everything tied
                  [0.0, 1.0, -4.0, 5.0]])  # one winner each way
    if op == "min":
        x = -x
    t = Tensor(x, requires_grad=True, device=dev)
    g = np.array([6.0, 4.0, 10.0])
    getattr(t, op)(axis=1).backward(g)
    want = np.array([[0, 3, 3, 0],
                     [1, 1, 1, 1],
                     [0, 0, 0, 10.0]])
    np.testing.assert_array_equal(t.grad.numpy(), want)


@pytest.mark.parametrize("op", ["max", "min"])
def test_a_reduction_over_several_axes_shares_among_all_its_winners(dev, op):
    x = np.array([[[1.0, 7.0], [7.0, 2.0]],
                  [[7.0, 7.0], [3.0, 7.0]]])   # 2 winners in batch 0, 3 in batch 1 (over axes 1, 2)
    sign = 1.0 if op == "max" else -1.0
    t = Tensor(sign * x, requires_grad=True, device=dev)
    getattr(t, op)(axis=(1, 2), keepdims=True).backward(np.array([[[6.0]], [[6.0]]]))
    want = np.where(x == 7.0, np.array([3.0, 2.0])[:, None, None], 0.0)
    np.testing.assert_array_equal(t.grad.numpy(), want)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_elementwise_extrema_split_a_tie_in_half(dev, op):
    a = Tensor([1.0, 2.0, 5.0], requires_grad=True, device=dev)
    b = Tensor([1.0, 3.0, 4.0], requires_grad=True, device=dev)
    getattr(a, op)(b).backward(np.array([2.0, 8.0, 16.0]))
    a_wins = np.array([False, op == "minimum", op == "maximum"])
    np.testing.assert_array_equal(a.grad.numpy(), np.where(a_wins, [2, 8, 16], 0) + [1, 0, 0])
    np.testing.assert_array_equal(b.grad.numpy(), np.where(~a_wins, [2, 8, 16], 0) - [1, 0, 0])


def test_relu_and_abs_take_zero_as_the_derivative_at_zero(dev):
    # relu and abs have a kink at 0; the library's convention is the subgradient 0 there
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True, device=dev)
    x.relu().backward(np.array([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 5.0])
    x.zero_grad()
    x.abs().backward(np.array([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [-5.0, 0.0, 5.0])


def test_the_exponents_gradient_is_zero_where_the_base_is_zero(dev):
    # d/db a**b = a**b log a; at a = 0 (b > 0) the limit is 0, not 0 * log 0 = nan
    a = Tensor([0.0, 2.0, 0.5], dtype="float64", device=dev)
    b = Tensor([2.0, 3.0, 1.0], dtype="float64", requires_grad=True, device=dev)
    (a ** b).backward(np.ones(3))
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 8 * np.log(2), 0.5 * np.log(0.5)], rtol=1e-14)


def test_cross_entropys_gradient_with_targets_that_do_not_sum_to_one(dev):
    # the fused gradient is softmax(z) * sum(t) - t; the registry's targets all sum to 1,
    # which hides a wrong sum(t) factor. Oracle: central differences in float64.
    from tinygrad_book.autograd import functional as F
    r = np.random.default_rng(0)
    z = r.standard_normal((3, 4))
    t = np.array([[2.0, 0, 0, 0], [0.5, 0.25, 0, 0], [0.125, 0.25, 0.375, 0.875]])   # exact in float32
    x = Tensor(z, dtype="float64", requires_grad=True, device=dev)
    F.cross_entropy(x, t, reduction="none").backward(np.array([1.0, 2.0, 3.0]))

    def loss(zz):
        logp = zz - zz.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
        return (-(t * logp).sum(axis=1) * [1.0, 2.0, 3.0]).sum()
    h, want = 1e-6, np.zeros_like(z)
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = h
        want[i] = (loss(z + e) - loss(z - e)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-7, atol=1e-9)
