"""Shared test set-up: which devices the op suite runs on, hypothesis profiles,
and keeping the CUDA simulator suite in its own process."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

os.environ.setdefault("TINYGRAD_BOOK_OFFLINE", "1")   # tests never reach the network

# Hypothesis profiles live here and only here: a conftest deeper down that loaded a
# profile would silently override HYPOTHESIS_PROFILE for the whole session once its
# folder is collected. Numba compiles on first call: no per-example deadline.
#   default   the everyday run (CI)
#   thorough  ten times the examples, for a change to a kernel or an op
#   cudasim   the CUDA simulator (about a thousand threads a second): a few tiny examples
#   mutation  mutmut (docs/testing.md): the same few examples for every mutant, so a
#             mutant is killed by the tests and not by a lucky draw; no shrinking
# A test that needs fewer examples than the profile says so with `fewer_examples`
# (a fraction of the active profile, so `thorough` still scales it).
settings.register_profile("default", deadline=None, max_examples=8,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", deadline=None, max_examples=80,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("cudasim", deadline=None, max_examples=2, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("mutation", deadline=None, max_examples=4, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.generate],   # no shrinking: a failure is enough,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# and shrinking a mutant's failure ran past mutmut's time limit ("timeout", not "killed")
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)


def fewer_examples(fraction: float) -> settings:
    """@settings for a slow test: `fraction` of the active profile's examples (at least one)."""
    return settings(max_examples=max(1, round(settings.default.max_examples * fraction)))


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
