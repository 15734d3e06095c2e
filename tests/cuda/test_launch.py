"""The launch configuration and the backend's construction."""
import pytest

from tinygrad_book.kernels.cuda import CudaBackend
from tinygrad_book.kernels.cuda.launch import Launch


def test_the_conftest_lowered_tile_and_block(cuda_backend):
    assert (cuda_backend.launch.tile, cuda_backend.launch.block) == (4, 16)


def test_constructor_arguments_override_the_environment():
    backend = CudaBackend(tile=8, block=32)
    assert (backend.launch.tile, backend.launch.block) == (8, 32)


@pytest.mark.parametrize("kwargs", [dict(tile=0), dict(tile=33), dict(block=24), dict(block=2048)])
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError):
        Launch(**kwargs)


def test_env_var_must_be_an_integer(monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_CUDA_TILE", "big")
    with pytest.raises(ValueError, match="TINYGRAD_BOOK_CUDA_TILE"):
        Launch.from_env()


def test_grid_shapes():
    launch = Launch(tile=4, block=16, max_blocks=3)
    assert launch.grid_stride(1) == (1, 16)
    assert launch.grid_stride(1000) == (3, 16)                 # capped: threads loop
    assert launch.tiles(rows=5, cols=9, batch=2) == ((3, 2, 2), (4, 4))
    assert [launch.reduction_threads(n) for n in (0, 1, 5, 16, 300)] == [1, 1, 8, 16, 16]
