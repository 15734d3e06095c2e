"""Zoo tests never touch the user's home: results go to a temporary TINYGRAD_BOOK_HOME."""
import pytest


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TINYGRAD_BOOK_HOME", str(home))
    return home
