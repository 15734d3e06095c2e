"""Every nn test starts from the same random stream and fresh layer names (dense_1, ...)."""
import pytest

from tinygrad_book.nn import clear_session, set_seed


@pytest.fixture(autouse=True)
def fresh_session():
    clear_session()
    set_seed(0)
    yield
