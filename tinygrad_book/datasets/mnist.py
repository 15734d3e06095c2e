"""MNIST handwritten digits (Keras ``keras.datasets.mnist``; book chapters 2, 5, 8).

Y. LeCun, C. Cortes and C. J. C. Burges; commonly cited as CC BY-SA 3.0.
"""

from __future__ import annotations

import sys
from importlib import resources

from ..data.download import DatasetNotFoundError, DownloadError, ENV_DATA, data_home
from ._base import fetch, load_npz

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
KEYS = ["x_train", "y_train", "x_test", "y_test"]
SHAPES = {"x_train": ("n_train", 28, 28), "y_train": ("n_train",),
          "x_test": ("n_test", 28, 28), "y_test": ("n_test",)}


def _split(d):
    return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (60000, 28, 28) / (10000, 28, 28),
    uint8 labels 0-9, in the official order. Book check: ``y_train[:10] == 5 0 4 1 9 2 1 3 1 4``.
    """
    return _split(load_npz(fetch("mnist", "mnist.npz", ORIGIN, SHA256), KEYS, shapes=SHAPES))


def load_sample():
    """The sample shipped inside the package: 2,000 training and 500 test digits of the real set,
    drawn with a fixed seed (see ``tinygrad_book/data/samples/README.md``). Same dtypes and layout
    as ``load_data()``."""
    ref = resources.files("tinygrad_book.data").joinpath("samples", "mnist_sample.npz")
    with resources.as_file(ref) as path:
        return _split(load_npz(path, KEYS, shapes=SHAPES))


def load_data_or_sample():
    """``(((x_train, y_train), (x_test, y_test)), source)``, source ``"mnist"`` or ``"sample"``.

    The full set when it is on disk or can be downloaded; otherwise (offline, or the download
    failed) the bundled sample, with a one-line notice on stderr saying how to get the full set.
    A damaged file on disk still raises: that needs fixing, not hiding.
    """
    try:
        return load_data(), "mnist"
    except DatasetNotFoundError as e:
        why = "download failed" if isinstance(e, DownloadError) else "offline"
        print(f"tinygrad_book: MNIST not available ({why}); using the bundled sample "
              f"(2,000 train / 500 test digits). For the full set put {ORIGIN} at "
              f"{data_home() / 'mnist' / 'mnist.npz'} or set {ENV_DATA}.", file=sys.stderr)
        return load_sample(), "sample"
