"""Loading weights is all or nothing: every array is checked before the first one is assigned.

A file of another model (Dense(8)->Dense(5) into Dense(8)->Dense(3)) used to overwrite the
first layer, then fail on the second: a half-loaded model that still predicts. Here the
check runs first, and its error names the file, the model, and the first layer that does not
fit, with both shapes.
"""
from __future__ import annotations

import os

import numpy as np

_MAGIC = {b"PK\x03\x04": ".npz (zip)", b"\x89HDF\r\n\x1a\n": "HDF5"}


class WeightsFileError(ValueError):
    """A weights file that cannot be read, or does not fit the model it is loaded into."""


def _where(model, source):
    return f"{source}: " if source is not None else ""


def weight_slots(model) -> list:
    """(layer name, index within the layer, weight Tensor) in `model.weights` order."""
    slots, seen = [], set()
    for layer in model.layers:
        for i, w in enumerate(layer.weights):
            if id(w) not in seen:
                seen.add(id(w))
                slots.append((layer.name, i, w))
    return slots


def check_weights(model, arrays, source=None):
    """Raise WeightsFileError unless `arrays` fit `model.weights` one for one (count and shapes)."""
    slots = weight_slots(model)
    where = _where(model, source)
    if len(arrays) != len(slots):
        layers = sorted({name for name, _, _ in slots}, key=[s[0] for s in slots].index)
        raise WeightsFileError(f"{where}{len(arrays)} weight arrays for model {model.name!r}, which has "
                               f"{len(slots)} weights (layers {', '.join(layers) or 'none'}); "
                               "the weights are of another model")
    for (layer, index, w), a in zip(slots, arrays):
        if tuple(np.shape(a)) != tuple(w.shape):
            raise WeightsFileError(f"{where}layer {layer!r} of model {model.name!r}: weight {index} has shape "
                                   f"{tuple(w.shape)}, the array given has shape {tuple(np.shape(a))}")


def read_weights_file(path, read):
    """`read(path)`, with the file checked first and any failure as one WeightsFileError that
    names the file (a text file no longer reads as 'contains pickled (object) data')."""
    if not os.path.exists(path):
        raise WeightsFileError(f"{path}: no such weights file")
    if os.path.isdir(path):
        raise WeightsFileError(f"{path}: is a folder, not a weights file")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise WeightsFileError(f"{path}: the file is empty")
    if not any(head.startswith(m) for m in _MAGIC):
        raise WeightsFileError(f"{path}: not a weights file (neither .npz nor .h5; it starts with {head[:4]!r})")
    try:
        return read(path)
    except Exception as e:   # noqa: BLE001 - zipfile, h5py and numpy each raise their own kinds
        raise WeightsFileError(f"{path}: cannot read the weights ({type(e).__name__}: {e}); "
                               "the file is damaged, cut short, or not written by save_weights") from e
