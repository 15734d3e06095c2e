"""Fixtures for the data tests: an isolated data/cache/home per test, and the real data copies.

Every test runs with HOME, TINYGRAD_BOOK_CACHE and TINYGRAD_BOOK_DATA pointing into its own
tmp_path, and TINYGRAD_BOOK_OFFLINE=1 (as CI): nothing touches the user's real cache or the
network. Tests of the real datasets use the ``real_data`` fixture, which restores the
TINYGRAD_BOOK_DATA the test run was started with, and skip when there is none.
"""

import os
from pathlib import Path

import pytest

REAL_DATA = os.environ.get("TINYGRAD_BOOK_DATA")  # read before any test patches it


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Per-test folders: returns the (empty, existing) data folder."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(data))
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    return data


@pytest.fixture
def data_dir(isolated):
    return isolated


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory):
    """One unpack folder for the whole session: the real archives are unpacked only once."""
    return tmp_path_factory.mktemp("real_cache")


@pytest.fixture
def real_data(monkeypatch, real_cache):
    """The real data copies named by the TINYGRAD_BOOK_DATA the run started with."""
    if not REAL_DATA:
        pytest.skip("TINYGRAD_BOOK_DATA is not set: the checks against the real datasets "
                    "(book values) need the project's data folder, e.g. ../shared/datasets")
    if not Path(REAL_DATA).is_dir():
        pytest.skip(f"TINYGRAD_BOOK_DATA={REAL_DATA} is not a folder")
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", REAL_DATA)
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(real_cache))
    return Path(REAL_DATA)

