"""The scalar engine: values, derivatives, accumulation, deep graphs."""
import math

import pytest

from tinygrad_book import Scalar


def numeric(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@pytest.mark.parametrize("f, df", [
    (lambda x: x * x + 3 * x, lambda v: 2 * v + 3),
    (lambda x: (x + 1) / (x * x + 2), None),
    (lambda x: x.exp().log() - x ** 3, lambda v: 1 - 3 * v ** 2),
    (lambda x: x.tanh() * x.sigmoid(), None),
    (lambda x: (x * 2 - 1).relu() + (-x).relu(), None),
    (lambda x: 2 ** x + x ** Scalar(2.5), None),
    (lambda x: 1 - x - 4 / x, None),
])
def test_derivatives_match_central_differences(f, df):
    for v in (0.3, 1.7, 2.9):
        x = Scalar(v)
        y = f(x)
        y.backward()
        expected = df(v) if df else numeric(lambda t: f(Scalar(t)).data, v)
        assert x.grad == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_values():
    x = Scalar(2.0)
    assert (x ** 3).data == 8.0
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-2)))
    assert Scalar(-800.0).sigmoid().data == 0.0           # no overflow in either tail
    assert Scalar(800.0).sigmoid().data == 1.0


def test_shared_subexpression_gets_both_contributions():
    x = Scalar(3.0)
    y = x * x          # x used twice
    z = y + y          # y used twice
    z.backward()
    assert x.grad == 12.0


def test_leaves_accumulate_and_reset():
    x = Scalar(2.0)
    y = x * 5
    y.backward()
    y.backward()
    assert x.grad == 10.0                    # backward twice adds twice
    x.zero_grad()
    assert x.grad == 0.0
    a, b = Scalar(1.0), Scalar(2.0)
    (a * b).backward()
    Scalar.zero_grads([a, b])
    assert a.grad == b.grad == 0.0


def test_chain_of_100000_nodes_needs_no_recursion():
    x = Scalar(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_power_by_scalar_exponent():
    a, b = Scalar(2.0), Scalar(3.0)
    (a ** b).backward()
    assert a.grad == pytest.approx(3 * 2.0 ** 2)
    assert b.grad == pytest.approx(8 * math.log(2.0))
