"""Keras' `losses` module for the book's listings: `from tinygrad_book import losses`.
The code lives in tinygrad_book/nn/losses; this file only re-exports it."""
from .nn.losses import *  # noqa: F401,F403
from .nn.losses import __all__  # noqa: F401
