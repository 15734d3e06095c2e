"""Keras' `callbacks` module for the book's listings: `from tinygrad_book import callbacks`.
The code lives in tinygrad_book/nn/callbacks; this file only re-exports it."""
from .nn.callbacks import *  # noqa: F401,F403
from .nn.callbacks import __all__  # noqa: F401
from .nn.progbar import ProgbarLogger  # noqa: F401,E402
