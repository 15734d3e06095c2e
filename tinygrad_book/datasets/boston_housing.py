"""Boston housing prices, 13 features (Keras ``keras.datasets.boston_housing``; book 3.6).

Harrison & Rubinfeld (1978), via StatLib. Note: the ``B`` column encodes a racial statistic, a
known ethical problem of this dataset; the book uses it as a plain regression example.
"""

from __future__ import annotations

import numpy as np

from ._base import fetch, load_npz, shuffled

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: 404 + 102 rows of float64, targets in k$.

    Keras 2: shuffle the 506 rows with ``np.random.RandomState(seed)``, split at
    ``int(506 * (1 - test_split))``. Book check: ``y_train[:3] == [15.2, 42.3, 50.0]``.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    d = load_npz(fetch("boston_housing", "boston_housing.npz", ORIGIN, SHA256), ["x", "y"],
                 shapes={"x": ("n", 13), "y": ("n",)})
    x, y = shuffled(np.random.RandomState(seed), d["x"], d["y"])
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])
