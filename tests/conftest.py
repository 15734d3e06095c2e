"""Shared test set-up: which devices the op suite runs on, hypothesis profiles,
and keeping the CUDA simulator suite in its own process."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("TINYGRAD_BOOK_OFFLINE", "1")   # tests never reach the network

# Numba compiles on first call: no per-example deadline. "cudasim" keeps the
# simulator (about a thousand threads a second) to a few tiny examples.
settings.register_profile("default", deadline=None, max_examples=6,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("cudasim", deadline=None, max_examples=2, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# The op-registry suite runs on these devices; the CUDA simulator process sets "cuda".
DEVICES = [d for d in os.environ.get("TINYGRAD_BOOK_TEST_DEVICES", "numpy,cpu").split(",") if d]


def _cuda_runnable():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import cuda
        return cuda.is_available()
    except Exception:
        return False


collect_ignore = [] if _cuda_runnable() else ["cuda"]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
