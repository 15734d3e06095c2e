"""CIFAR-10 tiny images, 10 classes (Keras ``keras.datasets.cifar10``; book 8.5, the DCGAN frogs).

A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images" (2009).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np

from ..data.download import cache_home
from ._base import fetch, first_existing, load_npz

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _load_batch(path):
    """One pickled CIFAR batch -> (uint8 (n, 32, 32, 3), uint8 labels)."""
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")  # the files were pickled by Python 2
    x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(d[b"labels"], dtype=np.uint8)


def _from_batches(folder):
    parts = [_load_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _load_batch(folder / "test_batch")
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 32, 32, 3) (channels last, as
    Keras), uint8 labels of shape (n, 1), in Keras' order (``data_batch_1..5``, ``test_batch``).

    Sources, first found wins: ``<data_home>/cifar10/cifar10.npz`` (keys ``x_train`` ...);
    an unpacked ``cifar-10-batches-py`` folder; Keras' archive (170 MB), downloaded and unpacked.
    **The project's local ``cifar10.npz`` is a real subset**: the first 5,000 training and 1,000
    test images, exact and in Keras order (a warning says so when the arrays are smaller than the
    full 50,000/10,000). The book's DCGAN needs only the frogs: ``x_train[y_train.flatten() == 6]``.
    """
    npz = first_existing("cifar10/cifar10.npz")
    if npz is not None:
        d = load_npz(npz, ["x_train", "y_train", "x_test", "y_test"],
                     shapes={"x_train": ("n_train", 32, 32, 3), "y_train": ("n_train", 1),
                             "x_test": ("n_test", 32, 32, 3), "y_test": ("n_test", 1)})
        if len(d["x_train"]) < 50000 or len(d["x_test"]) < 10000:
            warnings.warn(f"{npz} is a subset of CIFAR-10: {len(d['x_train'])} training and "
                          f"{len(d['x_test'])} test images (the full set has 50,000 and 10,000).",
                          stacklevel=2)
        return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
    folder = first_existing("cifar10/cifar-10-batches-py")
    if folder is None:
        from ..data.download import unpack_once
        archive = fetch("cifar10", "cifar-10-python.tar.gz", ORIGIN, SHA256)
        folder = unpack_once(archive, cache_home() / "cifar10") / "cifar-10-batches-py"
    return _from_batches(folder)


def load_frogs():
    """CIFAR-10's 5,000 training frogs, uint8 (5000, 32, 32, 3): ``x_train[y_train.flatten() == 6]``
    of the book's DCGAN (listing 8.32), in Keras' order.

    Sources, first found wins: ``<data_home>/cifar10/cifar10_frogs_train.npz`` (key ``x``, the
    frogs alone, exact); else the frogs of ``load_data()`` (fewer than 5,000 from the local subset).
    """
    npz = first_existing("cifar10/cifar10_frogs_train.npz")
    if npz is not None:
        return load_npz(npz, ["x"], shapes={"x": (None, 32, 32, 3)})["x"]
    (x_train, y_train), _ = load_data()
    return x_train[y_train.flatten() == 6]
