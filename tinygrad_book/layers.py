"""Keras' `layers` module for the book's listings: `from tinygrad_book import layers`.
The code lives in tinygrad_book/nn/layers; this file only re-exports it."""
from .nn.layers import *  # noqa: F401,F403
from .nn.layers import __all__  # noqa: F401
