"""Metrics by their Keras names, computed on the host from one copy of a batch's
predictions: `metric(y_true, y_pred) -> float` (the batch mean), numpy in, numpy out."""
from __future__ import annotations

import numpy as np

from . import losses as L


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _like(y_true, y_pred):
    return y_true.reshape(y_pred.shape) if y_true.shape != y_pred.shape and y_true.size == y_pred.size else y_true


def binary_accuracy(y_true, y_pred):
    """Fraction of outputs on the right side of 0.5."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    return float(np.mean(_like(y_true, y_pred) == np.round(y_pred)))


def categorical_accuracy(y_true, y_pred):
    """Fraction of samples whose largest output is the one-hot target's class."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    return float(np.mean(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)))


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _np(y_true), _np(y_pred)
    return float(np.mean(y_true.reshape(-1).astype(np.int64) == np.argmax(y_pred, axis=-1).reshape(-1)))


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _np(y_true), _np(y_pred)
    return float(np.mean(np.abs(y_pred - _like(y_true, y_pred))))


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _np(y_true), _np(y_pred)
    return float(np.mean((y_pred - _like(y_true, y_pred)) ** 2))


mae = mean_absolute_error
mse = mean_squared_error

_BY_NAME = {"binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
            "sparse_categorical_accuracy": sparse_categorical_accuracy,
            "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
            "mean_squared_error": mean_squared_error, "mse": mean_squared_error}


def resolve(identifier, loss, output_shape):
    """(history key, function) for a metric as the user wrote it.

    'acc'/'accuracy' become binary, sparse or categorical accuracy the way Keras 2
    picks: one output unit or binary cross-entropy -> binary; sparse loss -> sparse;
    else categorical. The key stays as written ('acc' or 'accuracy')."""
    if identifier in ("acc", "accuracy"):
        if output_shape[-1] == 1 or loss is L.binary_crossentropy:
            return identifier, binary_accuracy
        if loss is L.sparse_categorical_crossentropy:
            return identifier, sparse_categorical_accuracy
        return identifier, categorical_accuracy
    if callable(identifier):
        return identifier.__name__, identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return identifier, _BY_NAME[identifier]
    raise ValueError(f"unknown metric {identifier!r}; valid names: "
                     f"{', '.join(sorted(list(_BY_NAME) + ['acc', 'accuracy']))}")


# Keras 2.2 logged 'mae' under the function's name: the book reads 'val_mean_absolute_error'.
ALIASES = {"mae": "mean_absolute_error", "mse": "mean_squared_error"}

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_absolute_error", "mean_squared_error", "mae", "mse", "resolve"]
