"""Keras' `initializers` module for the book's listings: `from tinygrad_book import initializers`.
The code lives in tinygrad_book/nn/initializers; this file only re-exports it."""
from .nn.initializers import *  # noqa: F401,F403
from .nn.initializers import __all__  # noqa: F401
