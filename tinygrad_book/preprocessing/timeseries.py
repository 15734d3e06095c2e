"""The book's chapter-6 windowed generator over a timeseries (listing 6.33)."""

from __future__ import annotations

import numpy as np

__all__ = ["generator"]


def generator(data, lookback, delay, min_index, max_index, shuffle=False, batch_size=128, step=6,
              rng=None):
    """Yield ``(samples, targets)`` forever, exactly as the book's ``generator``.

    ``samples[j] = data[rows[j] - lookback : rows[j] : step]``, shape (lookback // step, features);
    ``targets[j] = data[rows[j] + delay][1]`` (column 1 is the temperature in the Jena data).
    Rows come from ``[min_index + lookback, max_index)``: drawn at random when ``shuffle``
    (``randint(min_index + lookback, max_index, size=batch_size)``), else in order, starting again
    at the beginning when the next batch would reach ``max_index`` (the last batch may be short).
    ``max_index=None`` means ``len(data) - delay - 1``.

    ``rng``: a seed or ``np.random.RandomState`` for reproducible shuffling; None uses the global
    ``np.random``, as the book does. Samples and targets are float64, as in the book's np.zeros.
    """
    if max_index is None:
        max_index = len(data) - delay - 1
    if min_index + lookback >= max_index:
        raise ValueError(f"no rows to draw: min_index + lookback = {min_index + lookback} "
                         f">= max_index = {max_index}")
    if rng is None:
        rng = np.random
    elif not isinstance(rng, np.random.RandomState):
        rng = np.random.RandomState(rng)
    i = min_index + lookback
    while True:
        if shuffle:
            rows = rng.randint(min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)
        samples = np.zeros((len(rows), lookback // step, data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, row in enumerate(rows):
            indices = range(row - lookback, row, step)
            samples[j] = data[indices]
            targets[j] = data[row + delay][1]
        yield samples, targets
