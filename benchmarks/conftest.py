"""pytest-benchmark setup: the numba kernels are compiled once per session (timed)."""
import time

import pytest


@pytest.fixture(scope="session")
def warm_up_s():
    """Seconds to compile (cold numba cache) or load (warm cache) the common kernels."""
    from tinygrad_book.kernels.cpu import warm_up
    t0 = time.perf_counter()
    warm_up()
    return time.perf_counter() - t0


def pytest_report_header(config):
    """Every benchmark run names the machine it ran on (figures are only comparable there)."""
    from tinygrad_book.bench import machine_line
    return machine_line()
