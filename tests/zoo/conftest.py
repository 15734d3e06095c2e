"""Zoo tests never touch the user's home: results go to a temporary TINYGRAD_BOOK_HOME."""
import pytest

from tinygrad_book.nn import clear_session, set_seed


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TINYGRAD_BOOK_HOME", str(home))
    return home


@pytest.fixture
def offline_empty_cache(tmp_path, monkeypatch):
    """An empty cache, no network, a fresh session and seed 0: the runs that look for trained
    models or weight files find none and take their declared fallbacks (tiny or random)."""
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    clear_session()
    set_seed(0)
