"""Keras' `optimizers` module for the book's listings: `from tinygrad_book import optimizers`.
The code lives in tinygrad_book/nn/optimizers; this file only re-exports it."""
from .nn.optimizers import *  # noqa: F401,F403
from .nn.optimizers import __all__  # noqa: F401
