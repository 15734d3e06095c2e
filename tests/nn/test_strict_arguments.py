"""The Keras face is strict: Keras 2's argument names are accepted, any other raises a
TypeError that names it (a misspelled `epoch=5` must not silently train 1 epoch), and
layer sizes must be positive integers (the error names the layer and the value)."""
import inspect

import numpy as np
import pytest

from tinygrad_book import layers, models
from tinygrad_book.nn.layers.base import Layer, layer_class

X = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
Y = (X.sum(axis=1, keepdims=True) > 0).astype("float32")


def compiled():
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["acc"])
    return model


def batches():
    while True:
        yield X, Y


MISSPELLED = {
    "compile": lambda m: m.compile(optimizer="sgd", loss="mse", metricz=["acc"]),
    "fit": lambda m: m.fit(X, Y, epoch=5, verbose=0),
    "evaluate": lambda m: m.evaluate(X, Y, batchsize=4, verbose=0),
    "predict": lambda m: m.predict(X, batch=4),
    "fit_generator": lambda m: m.fit_generator(batches(), steps_per_epoch=1, epoch=2, verbose=0),
    "evaluate_generator": lambda m: m.evaluate_generator(batches(), steps=1, step=1),
    "predict_generator": lambda m: m.predict_generator(batches(), steps=1, step=1),
}


@pytest.mark.parametrize("method", list(MISSPELLED))
def test_a_misspelled_argument_is_a_type_error_naming_it(method):
    misspelled = {"compile": "metricz", "fit": "epoch", "evaluate": "batchsize", "predict": "batch",
                  "fit_generator": "epoch", "evaluate_generator": "step", "predict_generator": "step"}[method]
    with pytest.raises(TypeError, match=f"'{misspelled}'"):
        MISSPELLED[method](compiled())


def test_keras_names_are_accepted():
    model = compiled()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["acc"], loss_weights=None,
                  sample_weight_mode=None, weighted_metrics=None, target_tensors=None)
    history = model.fit(x=X, y=Y, batch_size=4, epochs=2, verbose=0, callbacks=[], validation_split=0.25,
                        validation_data=None, shuffle=False, class_weight=None, sample_weight=None,
                        initial_epoch=0, steps_per_epoch=None, validation_steps=None)
    assert len(history.history["loss"]) == 2          # epochs=2 really trains two epochs
    model.evaluate(x=X, y=Y, batch_size=4, verbose=0, sample_weight=None, steps=None)
    assert model.predict(X, batch_size=4, verbose=0, steps=None).shape == (8, 1)
    history = model.fit_generator(batches(), steps_per_epoch=2, epochs=3, verbose=0, callbacks=None,
                                  validation_data=(X, Y), validation_steps=None, class_weight=None,
                                  max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True,
                                  initial_epoch=1)
    assert len(history.history["loss"]) == 2          # epochs 1 and 2
    model.evaluate_generator(batches(), steps=1, max_queue_size=10, workers=1, use_multiprocessing=False,
                             verbose=0)
    model.predict_generator(batches(), steps=1, max_queue_size=10, workers=1, use_multiprocessing=False,
                            verbose=0)


@pytest.mark.parametrize("call, name", [
    (lambda m: m.fit(X, Y, verbose=0, class_weight={0: 1.0, 1: 2.0}), "class_weight"),
    (lambda m: m.fit(X, Y, verbose=0, sample_weight=np.ones(8)), "sample_weight"),
    (lambda m: m.evaluate(X, Y, verbose=0, sample_weight=np.ones(8)), "sample_weight"),
    (lambda m: m.compile(optimizer="sgd", loss="mse", sample_weight_mode="temporal"), "sample_weight_mode"),
])
def test_a_keras_argument_we_do_not_implement_says_so(call, name):
    with pytest.raises(NotImplementedError, match=name):
        call(compiled())


# --- layer constructors -------------------------------------------------------------------
REQUIRED = {"Dense": (4,), "Activation": ("relu",), "Dropout": (0.5,), "Reshape": ((2, 2),),
            "Lambda": (lambda x: x,), "Conv2D": (2, 3), "Conv1D": (2, 3), "Embedding": (10, 4),
            "SimpleRNN": (4,), "LSTM": (4,), "GRU": (4,), "Bidirectional": (layers.LSTM(4, name="wrapped_lstm"),),
            "SeparableConv2D": (2, 3), "DepthwiseConv2D": (3,),
            "Conv2DTranspose": (2, 3)}
PUBLIC = [name for name in layers.__all__
          if isinstance(getattr(layers, name), type) and issubclass(getattr(layers, name), Layer)
          and name not in ("Layer", "InputLayer")]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_layer_constructor_names_an_unknown_argument(name):
    cls = getattr(layers, name)
    cls(*REQUIRED.get(name, ()), name=f"strict_{name.lower()}", trainable=True)   # Keras' common names
    with pytest.raises(TypeError, match="activaton"):
        cls(*REQUIRED.get(name, ()), activaton="relu")


def test_the_constructors_keep_keras_argument_names():
    """Keras 2's order, so that positional arguments mean what they mean in Keras."""
    for name, expected in {
            "Dense": ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                      "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                      "bias_constraint"],
            "Conv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                       "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                       "activity_regularizer", "kernel_constraint", "bias_constraint"],
            "Embedding": ["input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
                          "activity_regularizer", "embeddings_constraint", "mask_zero", "input_length"],
            "Dropout": ["rate", "noise_shape", "seed"],
            "BatchNormalization": ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                                   "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                                   "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"],
            "SeparableConv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "depth_multiplier",
                                "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
                                "bias_initializer", "depthwise_regularizer", "pointwise_regularizer",
                                "bias_regularizer", "activity_regularizer", "depthwise_constraint",
                                "pointwise_constraint", "bias_constraint"],
            "DepthwiseConv2D": ["kernel_size", "strides", "padding", "depth_multiplier", "data_format", "activation",
                                "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                                "bias_regularizer", "activity_regularizer", "depthwise_constraint",
                                "bias_constraint"]}.items():
        params = list(inspect.signature(getattr(layers, name)).parameters)
        assert params[:len(expected)] == expected, name


def test_every_layer_class_is_registered_by_its_name():
    for name in PUBLIC + ["InputLayer"]:
        assert layer_class(name) is getattr(layers, name)
    assert layer_class("Sequential") is models.Sequential and layer_class("Model") is models.Model
    with pytest.raises(ValueError, match="Densee"):
        layer_class("Densee")


SIZES = [(lambda v: layers.Dense(v), "Dense", "units"),
         (lambda v: layers.Conv2D(v, 3), "Conv2D", "filters"),
         (lambda v: layers.Conv2D(2, v), "Conv2D", "kernel_size"),
         (lambda v: layers.Conv2D(2, (3, v)), "Conv2D", "kernel_size"),
         (lambda v: layers.Conv2D(2, 3, strides=v), "Conv2D", "strides"),
         (lambda v: layers.Conv1D(v, 3), "Conv1D", "filters"),
         (lambda v: layers.Conv1D(2, v), "Conv1D", "kernel_size"),
         (lambda v: layers.MaxPooling2D(v), "MaxPooling2D", "pool_size"),
         (lambda v: layers.AveragePooling2D(2, strides=v), "AveragePooling2D", "strides"),
         (lambda v: layers.MaxPooling1D(v), "MaxPooling1D", "pool_size"),
         (lambda v: layers.Embedding(v, 4), "Embedding", "input_dim"),
         (lambda v: layers.Embedding(10, v), "Embedding", "output_dim"),
         (lambda v: layers.SeparableConv2D(v, 3), "SeparableConv2D", "filters"),
         (lambda v: layers.SeparableConv2D(2, (v, 3)), "SeparableConv2D", "kernel_size"),
         (lambda v: layers.SeparableConv2D(2, 3, depth_multiplier=v), "SeparableConv2D", "depth_multiplier"),
         (lambda v: layers.DepthwiseConv2D(v), "DepthwiseConv2D", "kernel_size"),
         (lambda v: layers.DepthwiseConv2D(3, strides=v), "DepthwiseConv2D", "strides")]


@pytest.mark.parametrize("value, error", [(-1, ValueError), (0, ValueError), (2.5, TypeError),
                                          ("10", TypeError), (True, TypeError), (3.0, TypeError)])
@pytest.mark.parametrize("make, layer, what", SIZES, ids=[f"{l}.{w}" for _, l, w in SIZES])
def test_layer_sizes_must_be_positive_integers(make, layer, what, value, error):
    with pytest.raises(error, match=rf"{layer}: {what} must be a positive integer, got {value!r}".replace(
            "(", r"\(").replace(")", r"\)")):
        make(value)


def test_numpy_integers_are_sizes_too():
    assert layers.Dense(np.int64(3)).units == 3 and layers.Conv2D(2, (np.int32(3), 3)).kernel_size == (3, 3)


@pytest.mark.parametrize("make, name", [
    (lambda: layers.Dense(3, kernel_constraint="max_norm"), "kernel_constraint"),
    (lambda: layers.Dense(3, activity_regularizer="l2"), "activity_regularizer"),
    (lambda: layers.Conv2D(2, 3, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv2D(2, 3, data_format="channels_first"), "data_format"),
    (lambda: layers.Conv1D(2, 3, bias_constraint="non_neg"), "bias_constraint"),
    (lambda: layers.Embedding(10, 3, mask_zero=True), "mask_zero"),
    (lambda: layers.MaxPooling2D(2, data_format="channels_first"), "data_format"),
])
def test_a_keras_layer_argument_we_do_not_implement_says_so(make, name):
    with pytest.raises(NotImplementedError, match=name):
        make()


def test_keras_layer_defaults_are_accepted_and_common_arguments_work():
    layers.Conv2D(2, 3, data_format="channels_last", dilation_rate=(1, 1), bias_initializer="zeros",
                  kernel_constraint=None)
    layers.Embedding(10, 3, mask_zero=False, input_length=5)
    dense = layers.Dense(2, input_shape=(3,), batch_size=4, weights=[np.ones((3, 2)), np.full(2, 0.5)])
    assert dense.batch_input_shape == (4, 3)
    out = dense(np.ones((4, 3), dtype="float32")).numpy()     # weights= is applied when the layer is built
    np.testing.assert_allclose(out, np.full((4, 2), 3.5))
