"""Keras' `metrics` module for the book's listings: `from tinygrad_book import metrics`.
The code lives in tinygrad_book/nn/metrics; this file only re-exports it."""
from .nn.metrics import *  # noqa: F401,F403
from .nn.metrics import __all__  # noqa: F401
