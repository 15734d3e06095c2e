"""One seeded random generator for everything random in nn/ (weight init, dropout
masks, shuffling), so `set_seed(s)` makes a CPU run bit-reproducible."""
from __future__ import annotations

import numpy as np

_GENERATOR = [np.random.default_rng()]


def set_seed(seed) -> None:
    """Restart nn's random stream: the same seed gives the same weights, masks and order."""
    _GENERATOR[0] = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The generator every layer, initializer and fit loop draws from."""
    return _GENERATOR[0]
