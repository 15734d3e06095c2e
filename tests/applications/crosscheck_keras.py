"""Cross-check against real Keras, run by hand (not collected by pytest: Keras is no dependency).

Keras 3's loader of `.h5` files is Keras 2's HDF5 code, kept as keras/src/legacy/saving. With
keras and torch installed (`pip install keras torch`), from the repository root:

    KERAS_BACKEND=torch PYTHONPATH=$PWD python tests/applications/crosscheck_keras.py

1. our writer -> Keras' `model.load_weights` -> the same outputs as ours;
2. Keras' own writer (`save_weights_to_hdf5_group`) -> our reader -> the same outputs;
3. a Keras `model.save` file (weights under `model_weights`) -> our reader, by name;
4. preprocess_input (caffe, tf, torch modes) against Keras'.
"""
import os
import sys
import tempfile

import h5py
import keras
import numpy as np
from keras.src.legacy.saving import legacy_h5_format

from tinygrad_book.applications import VGG16, preprocess_input
from tinygrad_book.nn import keras_h5, set_seed


def check(what, ours, theirs, atol):
    diff = float(np.abs(ours - theirs).max())
    print(f"{what}: max |difference| {diff:.3g} (outputs up to {float(np.abs(theirs).max()):.3g})")
    return diff <= atol


def main():
    folder = tempfile.mkdtemp()
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    ok = True

    set_seed(0)
    ours = VGG16(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
    keras_h5.save_weights(ours, path("ours.h5"))
    theirs = keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
    theirs.load_weights(path("ours.h5"))
    ok &= check("ours -> Keras", ours.predict(images), theirs.predict(images, verbose=0), 1e-4)

    theirs = keras.applications.VGG16(include_top=True, weights=None, input_shape=(64, 64, 3), classes=7)
    with h5py.File(path("keras.h5"), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    ours = VGG16(include_top=True, weights=path("keras.h5"), input_shape=(64, 64, 3), classes=7)
    expected = theirs.predict(images / 255, verbose=0)
    ok &= check("Keras -> ours", ours.predict(images / 255), expected, 1e-6)

    theirs.save(path("model.h5"))
    ours = VGG16(include_top=True, weights=None, input_shape=(64, 64, 3), classes=7)
    keras_h5.load_weights(ours, path("model.h5"), by_name=True)
    ok &= check("Keras model.save -> ours (by name)", ours.predict(images / 255), expected, 1e-6)
    for mode in ("caffe", "tf", "torch"):
        theirs = keras.applications.imagenet_utils.preprocess_input(images.copy(), mode=mode)
        ok &= check(f"preprocess_input mode={mode}", preprocess_input(images, mode=mode), np.asarray(theirs), 1e-4)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
