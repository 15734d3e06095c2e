"""Shared fixtures for the kernel tests: backends and a session-wide numba warm-up."""
import numpy as np
import pytest
from hypothesis import settings

from tinygrad_book.kernels import get_backend

# Numba compiles on first use: no per-example deadline; a small profile keeps this fast.
settings.register_profile("kernels", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("kernels")


@pytest.fixture(scope="session", autouse=True)
def cpu_warm():
    """Compile (or load from numba's on-disk cache) the common cpu kernels once."""
    from tinygrad_book.kernels.cpu import warm_up
    warm_up()


@pytest.fixture(scope="session")
def cpu():
    return get_backend("cpu")


@pytest.fixture(scope="session")
def ref():
    return get_backend("numpy")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
