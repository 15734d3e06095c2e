"""Model inputs as Keras types them: floatx (float32), except integer ids for an Embedding.

A numpy array becomes a Tensor of its own kind: uint8 images would become int64, and the
first Dense layer would then promote the whole network to float64 (2.7x slower, float64 out).
Keras casts every input to the input layer's dtype, float32 unless it says otherwise; the
ids fed to an Embedding stay integers (a float32 id is exact only up to 2**24).
"""
from __future__ import annotations

import numpy as np

from .layers.embedding import Embedding


def takes_integers(model, symbolic_input) -> bool:
    """True if the input's own dtype is an integer, or every layer that reads it is an Embedding."""
    if np.issubdtype(symbolic_input.node.layer.input_dtype, np.integer):
        return True
    readers = [n.layer for n in getattr(model, "_nodes", []) if any(t is symbolic_input for t in n.inputs)]
    return bool(readers) and all(isinstance(layer, Embedding) for layer in readers)


def model_inputs(model, arrays) -> list:
    """`arrays` (one per model input) with integer and boolean arrays cast to float32 where the
    model does not take integers."""
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype.kind in "biu" and not (i < len(model.inputs) and takes_integers(model, model.inputs[i])):
            a = a.astype(np.float32)
        out.append(a)
    return out
