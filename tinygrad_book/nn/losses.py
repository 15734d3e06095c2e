"""Losses by their Keras names. Each `loss(y_true, y_pred)` takes Tensors and returns
one loss per sample, shape (n,); the training loop takes the batch mean.

Cross-entropy on probabilities must clip them (log 0 = -inf), which also kills the
gradient where the model is confidently wrong. So when the last layer is softmax or
sigmoid, `fit` hands the loss the layer's *logits* instead (`logits_form`): the fused
softmax cross-entropy kernel, or the log-sigmoid identity for binary cross-entropy.
"""
from __future__ import annotations

import numpy as np

from ..autograd import functional as F

EPSILON = 1e-7   # Keras' K.epsilon(): how far probabilities are clipped from 0 and 1


def _per_sample(t):
    """Mean over every axis but the batch axis -> (n,)."""
    return t.mean(axis=tuple(range(1, t.ndim))) if t.ndim > 1 else t


def _like(y_true, y_pred):
    """Targets of shape (n,) against outputs (n, 1) are compared as (n, 1), as Keras does."""
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)
    if y_true.dtype != y_pred.dtype:
        y_true = y_true.astype(y_pred.dtype)
    return y_true


def mean_squared_error(y_true, y_pred):
    d = y_pred - _like(y_true, y_pred)
    return _per_sample(d * d)


def mean_absolute_error(y_true, y_pred):
    return _per_sample((y_pred - _like(y_true, y_pred)).abs())


def binary_crossentropy(y_true, y_pred):
    """-(y log p + (1 - y) log(1 - p)) with p clipped to [1e-7, 1 - 1e-7]."""
    y = _like(y_true, y_pred)
    p = y_pred.clip(EPSILON, 1.0 - EPSILON)
    return _per_sample(-(y * p.log() + (1.0 - y) * (1.0 - p).log()))


def categorical_crossentropy(y_true, y_pred):
    """-sum(y log p) over the last axis, p renormalized and clipped as Keras does."""
    y = _like(y_true, y_pred)
    p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
    loss = -(y * p.log()).sum(axis=-1)
    return _per_sample(loss)


def sparse_categorical_crossentropy(y_true, y_pred):
    """categorical_crossentropy against integer labels (n,) or (n, 1)."""
    classes = y_pred.shape[-1]
    labels = y_true.reshape((y_true.size,)).astype(np.int64)
    onehot = F.one_hot(labels, classes, dtype=y_pred.dtype, device=y_pred.device)
    losses = categorical_crossentropy(onehot, y_pred.reshape((-1, classes)))
    return _per_sample(losses.reshape(y_pred.shape[:-1]))


# --- the stable forms, from logits ------------------------------------------------------------
def binary_crossentropy_from_logits(y_true, z):
    """The same loss as binary_crossentropy(y, sigmoid(z)), without forming sigmoid(z):
    max(z, 0) - z*y + log(1 + exp(-|z|)) never overflows and never takes log 0."""
    y = _like(y_true, z)
    return _per_sample(z.relu() - z * y + ((-z.abs()).exp() + 1.0).log())


def categorical_crossentropy_from_logits(y_true, z):
    """categorical_crossentropy(y, softmax(z)) with one fused kernel."""
    y = _like(y_true, z)
    losses = F.cross_entropy(z.reshape((-1, z.shape[-1])), y.reshape((-1, z.shape[-1])), reduction="none")
    return _per_sample(losses.reshape(z.shape[:-1])) if z.ndim > 2 else losses


def sparse_categorical_crossentropy_from_logits(y_true, z):
    labels = y_true.reshape((y_true.size,)).astype(np.int64)
    losses = F.cross_entropy(z.reshape((-1, z.shape[-1])), labels, reduction="none")
    return _per_sample(losses.reshape(z.shape[:-1])) if z.ndim > 2 else losses


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_BY_NAME = {"mean_squared_error": mean_squared_error, "mse": mean_squared_error,
            "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
            "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
            "sparse_categorical_crossentropy": sparse_categorical_crossentropy}

# (loss, last activation) -> the same loss computed from that activation's input
_LOGITS_FORMS = {(binary_crossentropy, "sigmoid"): binary_crossentropy_from_logits,
                 (categorical_crossentropy, "softmax"): categorical_crossentropy_from_logits,
                 (sparse_categorical_crossentropy, "softmax"): sparse_categorical_crossentropy_from_logits}


def get(identifier):
    """A loss function from a Keras name or a function."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown loss {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")


def name_of(loss) -> str | None:
    """The Keras name of a loss function (its long name), else its __name__."""
    for name, fn in _BY_NAME.items():
        if fn is loss and len(name) > 3:
            return name
    return getattr(loss, "__name__", None)


def logits_form(loss, activation_name):
    """The stable from-logits version of `loss` after `activation_name`, or None."""
    return _LOGITS_FORMS.get((loss, activation_name))


__all__ = ["get", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "mean_squared_error", "mean_absolute_error", "mse", "mae", "binary_crossentropy_from_logits",
           "categorical_crossentropy_from_logits", "sparse_categorical_crossentropy_from_logits", "logits_form",
           "name_of"]
