"""SeparableConv2D, DepthwiseConv2D and 'same' pooling: Keras' weights, shapes and values."""
import numpy as np
import pytest

import tinygrad_book
from tinygrad_book import Tensor, gradcheck, layers, models
from tinygrad_book.autograd import functional as F
from tinygrad_book.autograd.registry import _ref_conv2d_direct, _ref_depthwise, _ref_pool_same
from tinygrad_book.nn import clear_session, keras_h5, set_seed

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh():
    clear_session()
    set_seed(0)


def test_the_book_imports_input_from_the_top_level():
    from tinygrad_book import Input
    assert Input is layers.Input and "Input" in tinygrad_book.__all__
    assert Input(shape=(3,)).shape == (None, 3)


def test_separable_conv2d_weights_in_keras_order():
    layer = layers.SeparableConv2D(8, (3, 3), depth_multiplier=2, padding="same")
    model = models.Sequential([layer], name="s")
    model.build((None, 7, 6, 3))
    assert [w.shape for w in layer.weights] == [(3, 3, 3, 2), (1, 1, 6, 8), (8,)]
    assert keras_h5.weight_names(layer) == [f"{layer.name}/{n}:0" for n in
                                            ("depthwise_kernel", "pointwise_kernel", "bias")]
    assert layer.count_params() == 3 * 3 * 3 * 2 + 6 * 8 + 8
    assert model.output_shape == (None, 7, 6, 8)


def test_separable_conv2d_is_depthwise_then_pointwise():
    layer = layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")
    out = layer(Tensor(X)).numpy()
    dw, pw, b = layer.get_weights()
    depthwise = _ref_depthwise(X.astype(np.float64), dw, (2, 2), "same")
    expected = np.maximum(_ref_conv2d_direct(depthwise, pw, (1, 1), "valid") + b, 0)
    assert out.shape == (2, 4, 3, 4) == layer.compute_output_shape((2, 7, 6, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_separable_conv2d_gradients_in_float64():
    rng = np.random.default_rng(2)
    x, dw, pw = rng.standard_normal((1, 4, 5, 2)), rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((1, 1, 4, 3))
    ts = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, dw, pw)]
    results = gradcheck(lambda x, dw, pw: F.conv2d(F.depthwise_conv2d(x, dw, padding="same"), pw), *ts, seed=3)
    for r in results:
        np.testing.assert_allclose(r.analytic, r.numeric, rtol=1e-6, atol=1e-8)


def test_depthwise_conv2d_layer():
    layer = layers.DepthwiseConv2D((2, 3), depth_multiplier=3, use_bias=True)
    out = layer(Tensor(X)).numpy()
    dw, b = layer.get_weights()
    assert dw.shape == (2, 3, 3, 3) and b.shape == (9,)
    assert keras_h5.weight_names(layer) == [f"{layer.name}/depthwise_kernel:0", f"{layer.name}/bias:0"]
    np.testing.assert_allclose(out, _ref_depthwise(X.astype(np.float64), dw, (1, 1), "valid") + b,
                               rtol=1e-4, atol=1e-5)


def test_a_separable_model_trains():
    x = RNG.standard_normal((16, 8, 8, 3)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.float32)
    model = models.Sequential([layers.SeparableConv2D(8, 3, activation="relu", input_shape=(8, 8, 3)),
                               layers.BatchNormalization(), layers.GlobalAveragePooling2D(),
                               layers.Dense(1, activation="sigmoid")])
    model.compile("rmsprop", "binary_crossentropy")
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("cls, reduce", [(layers.MaxPooling2D, np.max), (layers.AveragePooling2D, np.mean)])
@pytest.mark.parametrize("pool, strides", [((3, 3), (2, 2)), ((2, 2), None), ((3, 2), (1, 1))])
def test_same_pooling_matches_tensorflow_placement(cls, reduce, pool, strides):
    layer = cls(pool, strides=strides, padding="same")
    out = layer(Tensor(X)).numpy()
    s = strides or pool
    expected = _ref_pool_same(X, pool, s, reduce)
    assert out.shape == expected.shape == layer.compute_output_shape(X.shape)
    assert out.shape[1:3] == (-(-7 // s[0]), -(-6 // s[1]))     # ceil(size / stride), as Keras
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_same_average_pooling_does_not_count_the_padding():
    ones = np.ones((1, 3, 3, 1), np.float32)
    out = layers.AveragePooling2D(3, strides=1, padding="same")(Tensor(ones)).numpy()
    np.testing.assert_array_equal(out, ones)        # zero padding counted would give 4/9 at a corner


@pytest.mark.parametrize("make, match", [
    (lambda: layers.MaxPooling2D(2, padding="full"), "padding"),
    (lambda: layers.SeparableConv2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.SeparableConv2D(2, 3, dilation_rate=2), "dilation_rate"),
    (lambda: layers.DepthwiseConv2D(3, depthwise_constraint="non_neg"), "depthwise_constraint"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        make()


def test_a_model_with_the_new_layers_saves_and_loads(tmp_path):
    model = models.Sequential([
        layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="relu", input_shape=(7, 6, 3)),
        layers.BatchNormalization(momentum=0.9, scale=False), layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.DepthwiseConv2D(2), layers.AveragePooling2D(2, padding="same"), layers.Flatten(), layers.Dense(1)])
    model.compile("rmsprop", "mse")
    model.fit(X, np.ones((2, 1), np.float32), epochs=1, verbose=0)
    model.save(str(tmp_path / "m.h5"))
    again = models.load_model(str(tmp_path / "m.h5"))
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
    assert again.layers[1].scale is False and again.layers[2].padding == "same"
    np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=1e-6)
