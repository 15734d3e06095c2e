"""The book's listings 2.1-2.5, 3.1-3.11 and 5.1-5.3, as printed, with only the
imports changed (keras -> tinygrad_book) and the datasets replaced by small
synthetic arrays of the same shapes and dtypes.

Each listing runs twice from the same seed: on the default device (numba kernels,
fused optimizers) and on the numpy device, the readable reference. The losses,
weights and predictions must agree; "the loss fell" would let a wrong kernel through.
"""
from contextlib import contextmanager

import numpy as np
import pytest

from tinygrad_book import layers, models, optimizers, losses, metrics  # noqa: F401  (was: from keras import ...)
from tinygrad_book import set_default_device
from tinygrad_book.kernels import default_device
from tinygrad_book.nn import clear_session, set_seed
from tinygrad_book.utils import to_categorical                          # was: from keras.utils import to_categorical

R = np.random.default_rng(0)
# float32 on two backends that sum in different orders; RMSprop divides by
# sqrt(a) + 1e-7, so where a gradient is ~1e-7 rounding moves a step by ~lr * 1e-3
# (1e-6), while a wrong gradient moves it by ~lr (1e-3).
TOL = dict(rtol=1e-4, atol=1e-5)


@contextmanager
def on_device(device):
    """New tensors on `device`, a fresh session and seed 0; the default device restored after."""
    previous = default_device()
    set_default_device(device)
    clear_session()
    set_seed(0)
    try:
        yield
    finally:
        set_default_device(previous)


def run_on_both(listing, *data):
    """listing(*data) on the numpy device, then on the default cpu device."""
    results = {}
    for device in ("numpy", "cpu"):
        with on_device(device):
            results[device] = listing(*data)
    return results["numpy"], results["cpu"]


def assert_same(ref, got, what):
    for i, (r, g) in enumerate(zip(ref, got)):
        np.testing.assert_allclose(g, r, err_msg=f"{what} {i}", **TOL)


def fake_mnist(n):
    images = R.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = R.integers(0, 10, n)
    return images, labels


def listing_2(train_images, train_labels, test_images, test_labels):
    # --- listing 2.2 ---
    network = models.Sequential()
    network.add(layers.Dense(512, activation='relu', input_shape=(28 * 28,)))
    network.add(layers.Dense(10, activation='softmax'))
    # --- listing 2.3 ---
    network.compile(optimizer='rmsprop',
                    loss='categorical_crossentropy',
                    metrics=['accuracy'])
    # --- listing 2.4 (60000/10000 -> our sample counts) ---
    train_images = train_images.reshape((256, 28 * 28))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((64, 28 * 28))
    test_images = test_images.astype('float32') / 255
    # --- listing 2.5 (5 epochs -> 1: two steps of the book's batch, 128 x 784 @ 784 x 512) ---
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)
    history = network.fit(train_images, train_labels, epochs=1, batch_size=128, verbose=0)
    test_loss, test_acc = network.evaluate(test_images, test_labels, verbose=0)
    return network, history, test_loss, test_acc


def test_listing_2_mnist_dense():
    data = (*fake_mnist(256), *fake_mnist(64))
    (ref, ref_history, ref_loss, ref_acc), (network, history, test_loss, test_acc) = run_on_both(listing_2, *data)
    assert set(history.history) == {"loss", "accuracy"}
    assert_same(ref_history.history["loss"], history.history["loss"], "training loss")
    assert_same([w.numpy() for w in ref.weights], [w.numpy() for w in network.weights], "weight")
    assert test_loss == pytest.approx(ref_loss, rel=1e-4) and test_acc == pytest.approx(ref_acc, abs=1 / 64)
    assert network.count_params() == 407050


def vectorize_sequences(sequences, dimension=10000):       # listing 3.2
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.
    return results


def listing_3(train_data, train_labels, test_data, test_labels):
    x_train = vectorize_sequences(train_data)
    x_test = vectorize_sequences(test_data)
    y_train = np.asarray(train_labels).astype('float32')
    y_test = np.asarray(test_labels).astype('float32')
    # --- listing 3.3 ---
    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    # --- listings 3.5 and 3.6 (alternative compiles) ---
    model.compile(optimizer=optimizers.RMSprop(lr=0.001),
                  loss=losses.binary_crossentropy,
                  metrics=[metrics.binary_accuracy])
    # --- listing 3.7 (10000 -> 100 validation samples) ---
    x_val = x_train[:100]
    partial_x_train = x_train[100:]
    y_val = y_train[:100]
    partial_y_train = y_train[100:]
    # --- listing 3.8 (20 epochs -> 4) ---
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['acc'])
    history = model.fit(partial_x_train,
                        partial_y_train,
                        epochs=4,
                        batch_size=512,
                        validation_data=(x_val, y_val), verbose=0)
    # --- listing 3.11 ---
    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=4, batch_size=512, verbose=0)
    results = model.evaluate(x_test, y_test, verbose=0)
    return history.history, results, model.predict(x_test)


def test_listing_3_imdb():
    n = 300
    train_data = [list(R.integers(1, 10000, R.integers(10, 80))) for _ in range(n)]
    test_data = [list(R.integers(1, 10000, R.integers(10, 80))) for _ in range(50)]
    train_labels, test_labels = R.integers(0, 2, n), R.integers(0, 2, 50)
    (ref_history, ref_results, ref_predictions), (history_dict, results, predictions) = run_on_both(
        listing_3, train_data, train_labels, test_data, test_labels)
    assert sorted(history_dict.keys()) == ['acc', 'loss', 'val_acc', 'val_loss']
    for key in ('loss', 'val_loss'):
        assert_same(ref_history[key], history_dict[key], key)
    assert len(results) == 2
    assert_same(ref_results, results, "evaluate result")
    assert predictions.shape == (50, 1) and np.all((predictions > 0) & (predictions < 1))
    assert_same(ref_predictions, predictions, "prediction")


def listing_5(train_images, train_labels, test_images, test_labels):
    # --- listing 5.1 ---
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    # --- listing 5.2 ---
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    # --- listing 5.3 (60000/10000 -> our sample counts, 5 epochs -> 1: two steps) ---
    train_images = train_images.reshape((128, 28, 28, 1))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((32, 28, 28, 1))
    test_images = test_images.astype('float32') / 255
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    history = model.fit(train_images, train_labels, epochs=1, batch_size=64, verbose=0)
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=0)
    return model, history, test_loss, model.predict(test_images)


def test_listing_5_mnist_convnet():
    data = (*fake_mnist(128), *fake_mnist(32))
    (ref, ref_history, ref_loss, ref_predictions), (model, history, test_loss, predictions) = run_on_both(
        listing_5, *data)
    assert model.count_params() == 93322
    assert set(history.history) == {"loss", "accuracy"}
    assert_same(ref_history.history["loss"], history.history["loss"], "training loss")
    assert_same([w.numpy() for w in ref.weights], [w.numpy() for w in model.weights], "weight")
    assert test_loss == pytest.approx(ref_loss, rel=1e-4)
    assert predictions.shape == (32, 10)
    assert_same(ref_predictions, predictions, "prediction")
