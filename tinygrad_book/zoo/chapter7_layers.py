"""Chapter 7's layer experiments (book lines L12658-L12708, L13243-L13395): batch
normalisation (7.3.1), depthwise separable convolution (7.3.1) and the siamese Xception of
7.1.6. The other chapter 7 entries are in chapter7.py.

The book gives no data for these: what stands in is said in each entry's notes.

* ch7-batchnorm: the book's two snippets (a Conv2D and a Dense, each followed by
  BatchNormalization) put into chapter 5's MNIST convnet after every Conv2D and the Dense.
* ch7-separable-conv-small: the book's listing exactly (64x64x3 in, 10 classes); the data is
  CIFAR-10 (10 classes), each 32x32 image upscaled 2x (pixel repetition) to the listing's 64x64.
* ch7-siamese-xception-vision: the book's code with its typo fixed, run on one stereo pair.

``tiny=True`` (the tests) uses a few random images and a 71x71 Xception.
"""
from __future__ import annotations

import time

import numpy as np

from .checks import at_least, at_most
from .entry import Data, Entry
from .runner import fit_and_evaluate

ENTRIES: list[Entry] = []   # this module's experiments, in book order (the registry collects them)


# --- ch7-siamese-xception-vision (7.1.6) -------------------------------------------------------
STEREO_SIZE = (250, 250)
TINY_STEREO_SIZE = (71, 71)      # Xception's smallest input


def siamese_xception(size=STEREO_SIZE):
    """The book's listing (L12688-L12705) with its typo fixed. As printed,

        right_input = xception_base(right_input)
        merged_features = layers.concatenate([left_features, right_input], axis=-1)

    overwrites the right *Input* with its features, so the model's second input is lost
    (`Model([left_input, right_input], ...)` would be given a feature tensor as an input).
    Fixed: the features get their own name, `right_features`."""
    from .. import Input, applications, layers
    from ..nn.model import Model

    xception_base = applications.Xception(weights=None, include_top=False)
    left_input = Input(shape=size + (3,))
    right_input = Input(shape=size + (3,))
    left_features = xception_base(left_input)
    right_features = xception_base(right_input)          # the book: right_input = xception_base(right_input)
    merged_features = layers.concatenate([left_features, right_features], axis=-1)
    return Model([left_input, right_input], merged_features)


def stereo_pair(size, seed=0):
    """A synthetic stereo pair in 'tf' preprocessing (-1..1): one random scene, the right view
    shifted 4 pixels (the book has no data: "stereo camera" images, L12663)."""
    rng = np.random.default_rng(seed)
    scene = rng.uniform(0, 255, (1, size[0], size[1] + 4, 3)).astype(np.float32)
    from ..applications.xception import preprocess_input
    return preprocess_input(scene[:, :, 4:]), preprocess_input(scene[:, :, :-4])


def run_siamese(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """One forward pass of the pair, and the check that the two branches share one network:
    with the views swapped, the two halves of the features swap exactly."""
    start = time.perf_counter()
    size = TINY_STEREO_SIZE if tiny else STEREO_SIZE
    model = siamese_xception(size)
    left, right = stereo_pair(size)
    features = model.predict([left, right])
    swapped = model.predict([right, left])
    half = features.shape[-1] // 2
    swap_error = float(np.abs(np.concatenate([features[..., half:], features[..., :half]], -1) - swapped).max())
    if model_out is not None:
        model_out.append(model)
    return {"source": "synthetic", "input_size": list(size), "feature_shape": list(features.shape[1:]),
            "params": model.count_params(), "swap_error": swap_error, "history": {},
            "wall_time": time.perf_counter() - start}


# --- ch7-batchnorm (7.3.1) ---------------------------------------------------------------------
def load_mnist(tiny=False):
    """MNIST as chapter 5 prepares it (listing 5.3): (n, 28, 28, 1) in [0, 1], one-hot labels."""
    from ..datasets import mnist
    from ..utils import to_categorical

    if tiny:
        rng = np.random.RandomState(0)
        (x_train, y_train), (x_test, y_test), source = (
            (rng.randint(0, 256, (64, 28, 28), dtype=np.uint8), rng.randint(0, 10, 64)),
            (rng.randint(0, 256, (32, 28, 28), dtype=np.uint8), rng.randint(0, 10, 32)), "synthetic")
    else:
        ((x_train, y_train), (x_test, y_test)), source = mnist.load_data_or_sample()
    prepare = lambda x: x.reshape((len(x), 28, 28, 1)).astype("float32") / 255   # noqa: E731
    return Data(prepare(x_train), to_categorical(y_train, 10), x_test=prepare(x_test),
                y_test=to_categorical(y_test, 10), source=source)


def mnist_convnet_batchnorm():
    """Listing 5.1's convnet with the book's pattern of 7.3.1 (L13276-L13300): every Conv2D and
    the Dense followed by BatchNormalization(). 93,322 + 4 * (32 + 64 + 64 + 64) = 94,218
    parameters, of which 2 * 224 = 448 (the moving means and variances) are non-trainable."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


# --- ch7-separable-conv-small (7.3.1) ------------------------------------------------------------
def separable_convnet():
    """Listing of L13362-L13393, as printed: 38,949 parameters (arithmetic: each
    SeparableConv2D has 9*in + in*out + out)."""
    from .. import layers, models

    height = 64
    width = 64
    channels = 3
    num_classes = 10

    model = models.Sequential()
    model.add(layers.SeparableConv2D(32, 3, activation='relu', input_shape=(height, width, channels,)))
    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.MaxPooling2D(2))

    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.SeparableConv2D(128, 3, activation='relu'))
    model.add(layers.MaxPooling2D(2))

    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.SeparableConv2D(128, 3, activation='relu'))
    model.add(layers.GlobalAveragePooling2D())

    model.add(layers.Dense(32, activation='relu'))
    model.add(layers.Dense(num_classes, activation='softmax'))

    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['acc'])
    return model


def load_cifar_64(tiny=False, train=5000, test=1000):
    """CIFAR-10 (the project's copy: its first 5,000 training and 1,000 test images) in [0, 1],
    upscaled 2x to 64x64 by repeating pixels; one-hot labels over the 10 classes."""
    from ..utils import to_categorical

    if tiny:
        rng = np.random.RandomState(0)
        (x_train, y_train), (x_test, y_test), source = (
            (rng.randint(0, 256, (32, 32, 32, 3), dtype=np.uint8), rng.randint(0, 10, (32, 1))),
            (rng.randint(0, 256, (16, 32, 32, 3), dtype=np.uint8), rng.randint(0, 10, (16, 1))), "synthetic")
    else:
        import warnings

        from ..datasets import cifar10
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # the subset warning: the notes say so
            (x_train, y_train), (x_test, y_test) = cifar10.load_data()
        source = f"cifar10 (first {min(train, len(x_train))} train / {min(test, len(x_test))} test, 2x upscaled)"
        x_train, y_train, x_test, y_test = x_train[:train], y_train[:train], x_test[:test], y_test[:test]
    upscale = lambda x: x.repeat(2, axis=1).repeat(2, axis=2).astype("float32") / 255   # noqa: E731
    return Data(upscale(x_train), to_categorical(y_train.ravel(), 10), x_val=upscale(x_test),
                y_val=to_categorical(y_test.ravel(), 10), source=source)


def run_separable(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    sizes = {k: entry.extra[k] for k in ("train", "test") if k in entry.extra}   # the reduced run's subset
    data = entry.load_data(tiny=tiny, **sizes)
    model = entry.build_model()
    start = time.perf_counter()
    result = fit_and_evaluate(model, data, entry.epochs if epochs is None else epochs,
                              entry.batch_size if batch_size is None else batch_size, verbose)
    result.update(wall_time=time.perf_counter() - start, source=data.source, params=model.count_params())
    if model_out is not None:
        model_out.append(model)
    return result


# --- the entries, in book order ------------------------------------------------------------------
ENTRIES.append(Entry(
    id="ch7-siamese-xception-vision", chapter=7, section="7.1.6", listings="(code in 7.1.6)",
    lines="L12658-L12708", dataset="synthetic stereo pair (250x250 RGB)", build_model=siamese_xception,
    load_data=lambda tiny=False: Data(*stereo_pair(TINY_STEREO_SIZE if tiny else STEREO_SIZE), source="synthetic"),
    epochs=0, batch_size=1, book_result="n/a (no result printed)", metric="swap_error", run=run_siamese,
    check=at_most("swap_error", 1e-5),
    notes="The printed code assigns `right_input = xception_base(right_input)` and concatenates "
          "`right_input`: the right Input is overwritten by its features and the model loses its second "
          "input. Fixed as `right_features = xception_base(right_input)`. Nothing is trained (the book "
          "trains nothing); one Xception (20,861,480 parameters, weights=None) serves both views, so "
          "swapping the views must swap the two halves of the 8x8x4096 features exactly.",
    extra={"weights": None, "feature_shape": "(8, 8, 4096) at 250x250"}))

ENTRIES.append(Entry(
    id="ch7-batchnorm", chapter=7, section="7.3.1", listings="(snippets in 7.3.1)", lines="L13243-L13300",
    dataset="MNIST", build_model=mnist_convnet_batchnorm, load_data=load_mnist, epochs=5, batch_size=64,
    book_result="n/a (no result printed); chapter 5's convnet without it: test_acc 0.9908 (L6610)",
    metric="test_acc", check=at_least("test_acc", 0.985),
    notes="The book shows BatchNormalization only as two snippets; they stand here in chapter 5's MNIST "
          "convnet (after each Conv2D and the Dense), trained as listing 5.3 (rmsprop, 5 epochs, batch 64). "
          "Evaluation runs in inference mode, on the moving averages: a broken update or mode switch "
          "fails the check. The check is meant for the full MNIST: offline the run falls back to the "
          "shipped 2,000-digit sample, where 98.5 % is out of reach.",
    extra={"metric_name": "acc"}))

ENTRIES.append(Entry(
    id="ch7-separable-conv-small", chapter=7, section="7.3.1", listings="(code in 7.3.1)", lines="L13320-L13395",
    dataset="CIFAR-10 subset, upscaled 2x", build_model=separable_convnet, load_data=load_cifar_64, epochs=10,
    batch_size=32, book_result="n/a (no data, no result printed)", metric="max_val_acc", run=run_separable,
    check=at_least("max_val_acc", 0.3),
    notes="The listing as printed (64x64x3, 10 classes, rmsprop, categorical cross-entropy); the book gives "
          "neither data nor fit settings. CIFAR-10 stands in (10 classes): the project's 5,000 training and "
          "1,000 test images, upscaled to 64x64; 10 epochs of batch 32. Chance is 10 %. With Keras' "
          "glorot_uniform depthwise and pointwise kernels the activations shrink about 8x per separable "
          "layer at initialisation (mean |activation| 0.06 after the first, 8e-7 after the sixth, measured "
          "on 16 images), so the loss leaves ln 10 = 2.303 only slowly: 2.301 -> 2.259 in 8 epochs of 128 "
          "images. A short run stays at chance.",
    reduced=(3, "3 of 10 epochs on the first 2,000 of 5,000 training images, validated on 500: the "
                "separable convolutions are composed of tensor ops (no fused kernel), about 8 samples per "
                "second on 2 CPU cores, so the full run takes ~1.5-2 h"),
    reduced_extra={"train": 2000, "test": 500}))
