"""Keras' `metrics` module for the book's listings: `from tinygrad_book import metrics`.
The code lives in tinygrad_book/nn/metrics; this file only re-exports it."""
from .nn.metrics import *  # noqa: F401,F403
from .nn.metrics import __all__  # noqa: F401
from . import backend as K


def binary_crossentropy(y_true, y_pred):
    """Keras' metrics.binary_crossentropy: element-wise cross-entropy, mean over the last
    axis. Takes Tensors or symbolic tensors (the VAE's loss layer, listing 8.26)."""
    return K.mean(K.binary_crossentropy(y_true, y_pred), axis=-1)
