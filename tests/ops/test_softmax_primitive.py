"""Tensor.softmax where no graph is recorded (no_grad, or an input that needs no
gradient) runs one fused kernel (ops_nn.softmax_without_graph: softmax_xent against a
zero target); with a graph it is the composed, differentiable form. Both must give the
same probabilities, on every backend, for any layout of the input."""
import numpy as np
import pytest

from tinygrad_book.autograd import Tensor, no_grad
from tinygrad_book.autograd import ops_nn

from ..conftest import DEVICES


def numpy_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layouts(x, device, dtype):
    """x as a tensor: row-major, transposed (a strided view), and a slice at an offset."""
    t = Tensor(x, dtype=dtype, device=device)
    yield "row-major", t, x
    tt = Tensor(np.ascontiguousarray(np.swapaxes(x, 0, -1)), dtype=dtype, device=device)
    yield "transposed", tt.transpose(), x
    wide = Tensor(np.concatenate([x, x + 1.0], axis=-1), dtype=dtype, device=device)
    yield "sliced", wide[..., x.shape[-1]:], x + 1.0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 4), (1, 1), (6,), (3, 1)])
def test_softmax_without_graph_equals_the_composed_form(device, dtype, shape):
    x = np.random.default_rng(sum(shape)).uniform(-30, 30, shape)
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    for name, t, values in layouts(x, device, dtype):
        with no_grad():
            fast = t.softmax()
        composed = Tensor(values, dtype=dtype, device=device, requires_grad=True).softmax()   # records a graph
        assert composed.requires_grad and not fast.requires_grad
        assert fast.shape == shape and fast.dtype == np.dtype(dtype) and fast.device == device
        np.testing.assert_allclose(fast.numpy(), composed.numpy(), **tol, err_msg=name)
        np.testing.assert_allclose(fast.numpy(), numpy_softmax(values), **tol, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_takes_the_fused_kernel_exactly_when_no_graph_is_recorded(device, monkeypatch):
    calls = []
    real = ops_nn.softmax_without_graph
    monkeypatch.setattr(ops_nn, "softmax_without_graph", lambda x: (calls.append(x.shape), real(x))[1])
    x = np.arange(12.0).reshape(3, 4)
    leaf = Tensor(x, requires_grad=True, device=device)
    y = leaf.softmax()                                 # a graph: composed, and differentiable
    y.sum().backward()
    assert calls == [] and leaf.grad is not None
    with no_grad():
        leaf.softmax()                                 # no graph under no_grad
    Tensor(x, device=device).softmax(axis=1)           # nor for an input that needs no gradient
    Tensor(x, device=device).softmax(axis=0)           # not the last axis: composed
    assert calls == [(3, 4), (3, 4)]
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        Tensor(x, device=device).softmax(axis=2)       # a wrong axis is still an error
