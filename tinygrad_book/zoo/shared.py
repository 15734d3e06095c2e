"""Helpers that several chapters share, below them all (a chapter never imports another).

* the IMDB reviews as the book prepares them in chapter 3 (listings 3.1-3.2), which the
  chapter-4 experiments reuse,
* listing 3.31's ``smooth_curve``, which the Boston K-fold entry and its figure use,
* the MNIST digits of chapters 2 and 5 (``mnist_digits``), before each chapter shapes them.
"""
from __future__ import annotations

import functools

import numpy as np


def vectorize_sequences(sequences, dimension=10000):
    """Listing 3.2: multi-hot encoding, a 1 at every word index the review contains."""
    from ..utils import vectorize_sequences as multi_hot
    return multi_hot(sequences, dimension)


@functools.lru_cache(maxsize=1)
def _imdb_vectors():
    # Shared by every IMDB entry of chapters 3 and 4: loading and vectorizing 50,000 reviews
    # takes a while and 2 GB, so one process does it once.
    from ..datasets import imdb
    # Listing 3.1: the 10,000 most frequent words only
    (train_data, train_labels), (test_data, test_labels) = imdb.load_data(num_words=10000)
    x_train = vectorize_sequences(train_data)
    x_test = vectorize_sequences(test_data)
    # The labels, as float32 vectors (L4019-L4020)
    y_train = np.asarray(train_labels).astype('float32')
    y_test = np.asarray(test_labels).astype('float32')
    return x_train, y_train, x_test, y_test


def synthetic_multi_hot(n, dimension, rng, words=40):
    x = np.zeros((n, dimension), dtype='float32')
    for row in x:
        row[rng.randint(0, dimension, words)] = 1.0
    return x


def imdb_vectors(tiny=False):
    """(x_train, y_train, x_test, y_test) as the book prepares them; ``tiny``: random, 64/32 rows."""
    if tiny:
        rng = np.random.RandomState(0)
        return (synthetic_multi_hot(64, 10000, rng), rng.randint(0, 2, 64).astype('float32'),
                synthetic_multi_hot(32, 10000, rng), rng.randint(0, 2, 32).astype('float32'))
    return _imdb_vectors()


def smooth_curve(points, factor=0.9):
    """Listing 3.31: exponential moving average, to read a noisy curve."""
    smoothed_points = []
    for point in points:
        if smoothed_points:
            previous = smoothed_points[-1]
            smoothed_points.append(previous * factor + point * (1 - factor))
        else:
            smoothed_points.append(point)
    return smoothed_points


def mnist_digits(tiny=False):
    """((train_images, train_labels), (test_images, test_labels), source): MNIST as
    ``mnist.load_data()`` gives it, uint8 (n, 28, 28). The full set when it is on disk or can be
    downloaded, else the 2,000/500-digit sample shipped with the package (``source`` says which).
    ``tiny``: 64/32 random digits of the right shape, for tests, without any file."""
    from ..datasets import mnist

    if tiny:
        rng = np.random.RandomState(0)
        return ((rng.randint(0, 256, (64, 28, 28), dtype=np.uint8), rng.randint(0, 10, 64)),
                (rng.randint(0, 256, (32, 28, 28), dtype=np.uint8), rng.randint(0, 10, 32)), "synthetic")
    (train, test), source = mnist.load_data_or_sample()
    return train, test, source
