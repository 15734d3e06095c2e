"""Shared fixtures for the kernel tests: backends and a session-wide numba warm-up."""
import numpy as np
import pytest

from tinygrad_book.kernels import get_backend

# Hypothesis profiles are set in tests/conftest.py only (HYPOTHESIS_PROFILE chooses one).


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
