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


class _NumpyWithDirtyEmpty:
    """numpy, except that empty() hands out memory full of NaN (or -7 for integers), as
    reused memory may be: a result must not depend on a fresh array being zero."""
    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float):
        out = np.empty(shape, dtype)
        out.fill(np.nan if np.dtype(dtype).kind == "f" else -7)
        return out


@pytest.fixture
def dirty_empty(monkeypatch):
    """The cpu backend with an np.empty that returns dirty memory (for this test only)."""
    import tinygrad_book.kernels.cpu as cpu_module
    monkeypatch.setattr(cpu_module, "np", _NumpyWithDirtyEmpty())
    return get_backend("cpu")
