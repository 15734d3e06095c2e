"""Every applications test: fresh layer names, seed 0, and its own empty data folder, offline
(the ImageNet files can never be downloaded in a test)."""
import pytest

from tinygrad_book.nn import clear_session, initializers, set_seed


@pytest.fixture(autouse=True)
def fresh_session(tmp_path, monkeypatch):
    clear_session()
    set_seed(0)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(data))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    return data


@pytest.fixture
def cheap_init(monkeypatch):
    """Zero weights instead of Glorot draws: VGG16's 138 M random numbers take seconds
    (fc1 alone ~5 s here), zeros are free, and counts and shapes do not depend on values."""
    monkeypatch.setitem(initializers._BY_NAME, "glorot_uniform", initializers.zeros)
