"""Keras' `activations` module for the book's listings: `from tinygrad_book import activations`.
The code lives in tinygrad_book/nn/activations; this file only re-exports it."""
from .nn.activations import *  # noqa: F401,F403
from .nn.activations import __all__  # noqa: F401
