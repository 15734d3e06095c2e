"""Keras' `regularizers` module for the book's listings: `from tinygrad_book import regularizers`.
The code lives in tinygrad_book/nn/regularizers; this file only re-exports it."""
from .nn.regularizers import *  # noqa: F401,F403
from .nn.regularizers import __all__  # noqa: F401
