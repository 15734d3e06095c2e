"""load_model of a whole-model .h5 file as Keras 2 writes it (`model.save('m.h5')`): the
architecture as Keras' JSON in the root attribute `model_config`, compile settings in
`training_config`, the weights under `model_weights` in Keras' layout. The files are
written here with h5py, attribute for attribute as Keras 2.1.6 (the book's Keras) writes them."""
import json

import h5py
import numpy as np
import pytest

from tinygrad_book import layers, models
from tinygrad_book.nn import keras_h5, saving

GLOROT = {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
                                                       "distribution": "uniform", "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
NO_EXTRAS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
             "kernel_constraint": None, "bias_constraint": None}


def keras_conv(name, filters, **extra):
    return {"class_name": "Conv2D", "config": {
        "name": name, "trainable": True, **extra, "filters": filters, "kernel_size": [3, 3],
        "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
        "activation": "relu", "use_bias": True, "kernel_initializer": GLOROT, "bias_initializer": ZEROS,
        **NO_EXTRAS}}


def keras_dense(name, units, activation, **extra):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "units": units, "activation": activation, "use_bias": True,
        "kernel_initializer": GLOROT, "bias_initializer": ZEROS, **NO_EXTRAS, **extra}}


# Listing 5.1's convnet on 10x10 inputs, as Keras 2.1.6's Sequential.get_config() writes it
KERAS_LAYERS = [
    keras_conv("conv2d_1", 4, batch_input_shape=[None, 10, 10, 1], dtype="float32"),
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "trainable": True, "pool_size": [2, 2],
                                              "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
    {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True, "data_format": "channels_last"}},
    {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True, "rate": 0.5,
                                         "noise_shape": None, "seed": None}},
    keras_dense("dense_1", 3, "softmax", kernel_regularizer={"class_name": "L1L2",
                                                             "config": {"l1": 0.0, "l2": 0.001}})]
TRAINING = {"optimizer_config": {"class_name": "RMSprop", "config": {
                "lr": 0.0010000000474974513, "rho": 0.8999999761581421, "decay": 0.0, "epsilon": 1e-07}},
            "loss": "categorical_crossentropy", "metrics": ["accuracy"], "sample_weight_mode": None,
            "loss_weights": None}


def our_twin():
    """The same network built here, whose weights go into the file."""
    return models.Sequential([layers.Conv2D(4, (3, 3), activation="relu", input_shape=(10, 10, 1)),
                              layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.5),
                              layers.Dense(3, activation="softmax")])


def write_keras_file(path, model_config, model, training=TRAINING):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.1.6")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(model_config).encode())
        if training is not None:
            f.attrs["training_config"] = np.bytes_(json.dumps(training).encode())
        keras_h5.save_weights_to_group(f.create_group("model_weights"), model.layers)


@pytest.mark.parametrize("sequential_config", [
    lambda ls: ls,                                      # Keras 2.0 - 2.1: the config is the list
    lambda ls: {"name": "sequential_1", "layers": ls}])  # Keras 2.2: a dict with "layers"
def test_keras_sequential_file_loads_with_weights_and_compile(tmp_path, sequential_config):
    twin = our_twin()
    path = tmp_path / "mnist_convnet.h5"
    write_keras_file(path, {"class_name": "Sequential", "config": sequential_config(KERAS_LAYERS)}, twin)
    model = models.load_model(str(path))
    assert [l.name for l in model.layers] == ["conv2d_1", "max_pooling2d_1", "flatten_1", "dropout_1", "dense_1"]
    x = np.random.default_rng(0).random((4, 10, 10, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), twin.predict(x))
    [(regularizer, weight)] = model.penalties()
    assert regularizer.l2 == pytest.approx(0.001) and weight is model.layers[-1].weights[0]
    assert type(model.optimizer).__name__ == "RMSprop"
    assert model.optimizer.lr == pytest.approx(1e-3)
    assert model.metrics_names == ["loss", "accuracy"]
    model.fit(x, np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], epochs=1, verbose=0)


def test_keras_functional_file_with_two_inputs(tmp_path):
    a, b = models.Input((4,), name="a"), models.Input((2,), name="b")
    hidden = layers.Dense(3, name="hidden")(a)
    out = layers.Dense(1, name="out")(layers.concatenate([hidden, b], name="merge"))
    twin = models.Model([a, b], out)
    config = {"class_name": "Model", "config": {"name": "model_1", "layers": [
        {"name": "a", "class_name": "InputLayer", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "a"}},
        {"name": "hidden", "class_name": "Dense", "inbound_nodes": [[["a", 0, 0, {}]]],
         "config": keras_dense("hidden", 3, "linear")["config"]},
        {"name": "b", "class_name": "InputLayer", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 2], "dtype": "float32", "sparse": False, "name": "b"}},
        {"name": "merge", "class_name": "Concatenate", "inbound_nodes": [[["hidden", 0, 0, {}], ["b", 0, 0, {}]]],
         "config": {"name": "merge", "trainable": True, "axis": -1}},
        {"name": "out", "class_name": "Dense", "inbound_nodes": [[["merge", 0, 0, {}]]],
         "config": keras_dense("out", 1, "linear")["config"]}],
        "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["out", 0, 0]]}}
    path = tmp_path / "two_inputs.h5"
    write_keras_file(path, config, twin, training=None)
    model = models.load_model(str(path))
    xa, xb = np.ones((2, 4), np.float32), np.full((2, 2), 0.5, np.float32)
    np.testing.assert_array_equal(model.predict([xa, xb]), twin.predict([xa, xb]))
    assert model.optimizer is None                     # saved without training_config: not compiled


def test_keras_file_with_wrong_weights_names_the_layer(tmp_path):
    wrong = models.Sequential([layers.Conv2D(5, (3, 3), activation="relu", input_shape=(10, 10, 1)),
                               layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.5),
                               layers.Dense(3, activation="softmax")])
    path = tmp_path / "wrong.h5"
    write_keras_file(path, {"class_name": "Sequential", "config": KERAS_LAYERS}, wrong)
    with pytest.raises(ValueError, match="conv2d_1.*shape"):
        models.load_model(str(path))


def test_unknown_keras_initializer_is_named():
    spec = {"class_name": "Orthogonal", "config": {"gain": 1.0}}
    with pytest.raises(ValueError, match="Orthogonal"):
        saving.keras_layer_config("Dense", {"units": 2, "kernel_initializer": spec})


def test_he_normal_as_keras_writes_it():
    spec = {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal"}}
    assert saving.keras_layer_config("Dense", {"units": 2, "kernel_initializer": spec}) == \
        {"units": 2, "kernel_initializer": "he_normal"}


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_our_own_files_still_load(tmp_path, suffix):
    model = our_twin()
    model.compile("rmsprop", "categorical_crossentropy")
    path = str(tmp_path / f"ours{suffix}")
    model.save(path)
    x = np.ones((2, 10, 10, 1), np.float32)
    np.testing.assert_array_equal(models.load_model(path).predict(x), model.predict(x))
