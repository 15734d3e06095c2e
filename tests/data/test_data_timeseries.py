"""The chapter-6 generator: the book's rows, windows, targets and wrap-around."""

import numpy as np
import pytest

from tinygrad_book.preprocessing.timeseries import generator

DATA = np.arange(100 * 3, dtype=float).reshape(100, 3)  # row r = [3r, 3r + 1, 3r + 2]


def test_sequential_windows_targets_and_wraparound():
    gen = generator(DATA, lookback=10, delay=5, min_index=0, max_index=40, batch_size=8, step=2)
    batches = [next(gen) for _ in range(5)]
    samples, targets = batches[0]
    assert samples.shape == (8, 5, 3) and targets.shape == (8,)
    np.testing.assert_array_equal(samples[0], DATA[0:10:2])  # rows[0] = min_index + lookback = 10
    assert targets[0] == DATA[10 + 5][1]
    np.testing.assert_array_equal(targets, [DATA[r + 5][1] for r in range(10, 18)])
    # rows 10-17, 18-25, 26-33; then 34 + 8 >= 40, so the book starts again at 10
    np.testing.assert_array_equal(batches[3][1], batches[0][1])
    np.testing.assert_array_equal(batches[4][1], batches[1][1])


def test_shuffle_is_seeded_and_in_range():
    a = generator(DATA, lookback=10, delay=5, min_index=20, max_index=60, shuffle=True, batch_size=16, step=1, rng=3)
    b = generator(DATA, lookback=10, delay=5, min_index=20, max_index=60, shuffle=True, batch_size=16, step=1,
                  rng=np.random.RandomState(3))
    (sa, ta), (sb, tb) = next(a), next(b)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_array_equal(ta, tb)
    rows = (ta - 1) / 3 - 5  # invert target = DATA[row + delay][1]
    assert np.all((rows >= 30) & (rows < 60))
    for s, r in zip(sa, rows.astype(int)):
        np.testing.assert_array_equal(s, DATA[r - 10:r])


def test_default_max_index_and_empty_range():
    gen = generator(DATA, lookback=6, delay=3, min_index=0, max_index=None, batch_size=200, step=3)
    _, targets = next(gen)
    assert len(targets) == 100 - 3 - 1 - 6  # rows 6 .. len - delay - 2
    with pytest.raises(ValueError):
        next(generator(DATA, lookback=50, delay=1, min_index=0, max_index=40))
