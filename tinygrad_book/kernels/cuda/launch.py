"""Launch geometry: how many blocks of how many threads each kernel gets.

Three shapes cover every kernel in this package:

* `grid_stride(n)`: a 1-D grid for "one thread per element" kernels. Threads loop
  `for i in range(cuda.grid(1), n, cuda.gridsize(1))`, so a capped grid still covers
  any n (and each thread does more than one element on big arrays).
* `tiles(rows, cols, batch)`: a 3-D grid of (tile x tile) blocks for matmul.
* `reduction_threads(length)`: a power of two <= block for the shared-memory tree.

The tile and block sizes are compile-time constants inside kernels that use shared
memory (its size must be known when a kernel is compiled), so they are chosen once,
when the backend is built: constructor arguments, else the environment variables
TINYGRAD_BOOK_CUDA_TILE (default 16) and TINYGRAD_BOOK_CUDA_BLOCK (default 256).
Tests lower them (tile 4, block 16) so that tiny shapes cross tile edges.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

DEFAULT_TILE = 16
DEFAULT_BLOCK = 256
DEFAULT_MAX_BLOCKS = 4096   # grid-stride grids stop here: ~1M threads fill any current GPU
MAX_GRID_Y = 65535          # CUDA's limit on gridDim.y and gridDim.z


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class Launch:
    """The backend's launch configuration, validated once."""

    tile: int = DEFAULT_TILE
    block: int = DEFAULT_BLOCK
    max_blocks: int = DEFAULT_MAX_BLOCKS

    def __post_init__(self):
        if not 1 <= self.tile <= 32:   # tile*tile threads per block: at most 1024
            raise ValueError(f"tile must be in 1..32 (tile*tile threads per block), got {self.tile}")
        if not _is_power_of_two(self.block) or self.block > 1024:
            raise ValueError(f"block must be a power of two <= 1024 (the reduction tree halves it), "
                             f"got {self.block}")
        if self.max_blocks < 1:
            raise ValueError(f"max_blocks must be >= 1, got {self.max_blocks}")

    @classmethod
    def from_env(cls, tile=None, block=None, max_blocks=None) -> "Launch":
        return cls(tile=tile if tile is not None else _env_int("TINYGRAD_BOOK_CUDA_TILE", DEFAULT_TILE),
                   block=block if block is not None else _env_int("TINYGRAD_BOOK_CUDA_BLOCK", DEFAULT_BLOCK),
                   max_blocks=max_blocks if max_blocks is not None else DEFAULT_MAX_BLOCKS)

    def grid_stride(self, n: int) -> tuple:
        """(blocks, threads) for a grid-stride loop over n elements (n >= 1)."""
        blocks = min(-(-n // self.block), self.max_blocks)
        return max(blocks, 1), self.block

    def tiles(self, rows: int, cols: int, batch: int) -> tuple:
        """(grid, block) for a tiled (batch, rows, cols) output: block (tile, tile),
        x over columns (so neighbouring threads touch neighbouring addresses)."""
        t = self.tile
        grid = (-(-cols // t), -(-rows // t), min(max(batch, 1), MAX_GRID_Y))
        return grid, (t, t)

    def reduction_threads(self, length: int) -> int:
        """Threads per block for reducing `length` elements: the smallest power of two
        covering them, capped at block (idle threads would only add tree steps)."""
        threads = 1
        while threads < length and threads < self.block:
            threads *= 2
        return threads


def index_array(values) -> np.ndarray:
    """Shape or strides as int64, never empty (a 0-d view is a 1-element one)."""
    values = tuple(int(v) for v in values)
    return np.asarray(values if values else (1,), dtype=np.int64)
