"""Concatenate refuses inputs whose shapes differ on an axis other than the joined one (Keras
raises too); the book's inception branches as printed end at different sizes (chapter 7)."""
import pytest

from tinygrad_book import layers


def test_concatenate_refuses_mismatched_sizes_off_the_axis():
    a, b = layers.Input(shape=(14, 14, 8)), layers.Input(shape=(13, 13, 8))
    with pytest.raises(ValueError, match="match except on axis -1.*14, 14, 8.*13, 13, 8"):
        layers.concatenate([a, b], axis=-1)


def test_concatenate_accepts_unknown_sizes_and_joins_the_axis():
    a, b = layers.Input(shape=(None, 4)), layers.Input(shape=(7, 3))
    assert layers.concatenate([a, b]).shape == (None, None, 7)
    assert layers.concatenate([layers.Input(shape=(5, 2)), layers.Input(shape=(6, 2))], axis=1).shape == (None, 11, 2)


def test_concatenate_refuses_different_ranks():
    with pytest.raises(ValueError, match="Concatenate"):
        layers.concatenate([layers.Input(shape=(4,)), layers.Input(shape=(2, 4))])
