"""Activations by their Keras names. Each maps a Tensor to a Tensor of the same shape."""
from __future__ import annotations

from ..autograd import functional as F


def linear(x):
    """The identity: what `activation=None` means."""
    return x


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1): Keras 2.0's piecewise-linear sigmoid, the default gate
    activation of its LSTM and GRU (cheaper than exp; slope 0 outside [-2.5, 2.5])."""
    return (x * 0.2 + 0.5).clip(0.0, 1.0)


def softmax(x, axis=-1):
    return F.softmax(x, axis=axis)


_BY_NAME = {"linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
            "hard_sigmoid": hard_sigmoid}


def get(identifier):
    """An activation from a name, a function, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown activation {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))} (or None)")


def name_of(fn) -> str:
    """The Keras name of an activation function (for configs and the fused losses)."""
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", "custom")


__all__ = ["get", "hard_sigmoid", "linear", "relu", "sigmoid", "softmax", "tanh"]
