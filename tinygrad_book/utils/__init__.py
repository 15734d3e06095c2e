"""Small array helpers the book uses on its data: one-hot labels and multi-hot sequences;
and plot_model, a picture of a model's layer graph (vis_utils.py)."""

from __future__ import annotations

import numpy as np

from .vis_utils import model_to_dot, plot_model

__all__ = ["to_categorical", "vectorize_sequences", "plot_model", "model_to_dot"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels, exactly as Keras 2's ``keras.utils.to_categorical``.

    ``y`` of shape ``s`` gives shape ``s + (num_classes,)``; a trailing axis of size 1 is dropped
    first, so labels of shape (n, 1) give (n, num_classes). ``num_classes`` defaults to
    ``max(y) + 1``. Unlike Keras, labels outside ``[0, num_classes)`` raise instead of wrapping
    around (Keras silently treats -1 as the last class).
    """
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()
    if not num_classes:
        num_classes = int(np.max(y)) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}); got min {y.min()}, max {y.max()}")
    categorical = np.zeros((y.shape[0], num_classes), dtype=dtype)
    categorical[np.arange(y.shape[0]), y] = 1
    return categorical.reshape(input_shape + (num_classes,))


def vectorize_sequences(sequences, dimension=10000, dtype="float32"):
    """Multi-hot encode: row i has 1 at every index that occurs in ``sequences[i]`` (book listing 3.2).

    The book builds ``np.zeros((len(sequences), dimension))`` (float64); float32 is what the
    network consumes, so that is the default here. Indices >= ``dimension`` raise IndexError.
    """
    results = np.zeros((len(sequences), dimension), dtype=dtype)
    for i, sequence in enumerate(sequences):
        results[i, list(sequence)] = 1.0
    return results
