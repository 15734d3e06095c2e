"""Tensor.softmax over the last axis is one primitive (ops_nn.Softmax: the backend's
softmax_rows forward, y * (g - sum g y) backward), with or without a graph; along another
axis it is the composed form (max, subtract, exp, sum, divide). Both must give the same
probabilities on every backend for any layout of the input, and the same gradient. The
registry's "softmax" spec checks the primitive's gradient element by element in float64."""
import numpy as np
import pytest

from tinygrad_book.autograd import Tensor, no_grad
from tinygrad_book.autograd import ops_nn

from ..conftest import DEVICES


def numpy_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def composed_softmax(t, axis=-1):
    """Tensor.softmax's composed form, written out (the path for any axis)."""
    shifted = t - t.max(axis=axis, keepdims=True).detach()
    e = shifted.exp()
    return e / e.sum(axis=axis, keepdims=True)


LAYOUTS = ("row-major", "transposed", "sliced")


def in_layout(x, layout, device, dtype, requires_grad=False):
    """(leaf, view of x in `layout`, the values the view holds): row-major, transposed (a
    strided view) or a slice at an offset."""
    if layout == "row-major":
        leaf = Tensor(x, dtype=dtype, device=device, requires_grad=requires_grad)
        return leaf, leaf, x
    if layout == "transposed":
        leaf = Tensor(np.ascontiguousarray(np.swapaxes(x, 0, -1)), dtype=dtype, device=device,
                      requires_grad=requires_grad)
        return leaf, leaf.transpose(), x
    leaf = Tensor(np.concatenate([x, x + 1.0], axis=-1), dtype=dtype, device=device, requires_grad=requires_grad)
    return leaf, leaf[..., x.shape[-1]:], x + 1.0


def layouts(x, device, dtype):
    for layout in LAYOUTS:
        _, t, values = in_layout(x, layout, device, dtype)
        yield layout, t, values


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 4), (1, 1), (6,), (3, 1)])
def test_the_softmax_primitive_equals_the_composed_form(device, dtype, shape):
    x = np.random.default_rng(sum(shape)).uniform(-30, 30, shape)
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    for name, t, values in layouts(x, device, dtype):
        with no_grad():
            fast = t.softmax()
        composed = composed_softmax(Tensor(values, dtype=dtype, device=device, requires_grad=True))
        assert composed.requires_grad and not fast.requires_grad
        assert fast.shape == shape and fast.dtype == np.dtype(dtype) and fast.device == device
        np.testing.assert_allclose(fast.numpy(), composed.numpy(), **tol, err_msg=name)
        np.testing.assert_allclose(fast.numpy(), numpy_softmax(values), **tol, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 4), (6,)])
def test_the_softmax_primitive_has_the_composed_forms_gradient_for_any_layout(device, layout, shape):
    x = np.random.default_rng(len(shape)).uniform(-3, 3, shape)
    g = Tensor(np.random.default_rng(7).normal(size=shape), device=device)
    grads = []
    for softmax in (lambda t: t.softmax(), composed_softmax):
        leaf, t, _ = in_layout(x, layout, device, np.float64, requires_grad=True)
        (softmax(t) * g).sum().backward()
        grads.append(leaf.grad.numpy())
    assert np.abs(grads[1]).max() > 1e-3                    # a gradient that can tell them apart
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_takes_the_primitive_exactly_on_the_last_axis_of_a_float_tensor(device, monkeypatch):
    calls = []
    real = ops_nn.Softmax.forward
    monkeypatch.setattr(ops_nn.Softmax, "forward", lambda self, x: (calls.append(x.shape), real(self, x))[1])
    x = np.arange(12.0).reshape(3, 4)
    leaf = Tensor(x, requires_grad=True, device=device)
    y = leaf.softmax()                                 # with a graph: the primitive, differentiable
    y.sum().backward()
    assert calls == [(3, 4)] and leaf.grad is not None
    with no_grad():
        leaf.softmax()                                 # without a graph: the same primitive
    Tensor(x, device=device).softmax(axis=1)
    Tensor(x, device=device).softmax(axis=0)           # not the last axis: composed
    assert calls == [(3, 4)] * 3
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        Tensor(x, device=device).softmax(axis=2)       # a wrong axis is still an error
