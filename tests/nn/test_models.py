"""Sequential and functional models: shapes, parameter counts, summary, graph rules."""
import numpy as np
import pytest

from tinygrad_book import Tensor, layers, models


def mnist_convnet():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def test_book_parameter_counts():
    assert mnist_convnet().count_params() == 93322
    cats = models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(150, 150, 3)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dense(1, activation="sigmoid")])
    assert cats.count_params() == 3453121
    assert cats.layers[-3].output_shape == (None, 6272)
    x = layers.Input(shape=(64,))
    h = layers.Dense(32, activation="relu")(x)
    h = layers.Dense(32, activation="relu")(h)
    assert models.Model(x, layers.Dense(10, activation="softmax")(h)).count_params() == 3466
    assert models.Sequential([layers.Dense(10, input_dim=784)]).count_params() == 7850


def test_shape_inference_and_deferred_build():
    model = mnist_convnet()
    assert [l.output_shape for l in model.layers[:6]] == [
        (None, 26, 26, 32), (None, 13, 13, 32), (None, 11, 11, 64), (None, 5, 5, 64), (None, 3, 3, 64), (None, 576)]
    lazy = models.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not lazy.built
    out = lazy.predict(np.zeros((3, 7), np.float32))
    assert out.shape == (3, 2) and lazy.count_params() == 7 * 4 + 4 + 4 * 2 + 2


def test_summary_matches_keras_format():
    text = []
    mnist_convnet().summary(print_fn=text.append)
    lines = text[0].splitlines()
    assert lines[1] == "Layer (type)                 Output Shape              Param #   "
    assert lines[3] == "conv2d_1 (Conv2D)            (None, 26, 26, 32)        320       "
    assert lines[5].startswith("max_pooling2d_1 (MaxPooling2 (None, 13, 13, 32)")
    assert "Total params: 93,322" in lines and "Trainable params: 93,322" in lines
    assert "Non-trainable params: 0" in lines and lines[0] == "_" * 65


def test_keras_style_names_and_get_layer():
    model = mnist_convnet()
    assert [l.name for l in model.layers][:3] == ["conv2d_1", "max_pooling2d_1", "conv2d_2"]
    assert model.get_layer("dense_2") is model.layers[-1]
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("dense_9")


def test_functional_multi_input_multi_output_and_merges():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(2,), name="b")
    shared = layers.Dense(4, activation="relu", name="shared")
    merged = layers.concatenate([shared(layers.Dense(4)(a)), shared(layers.Dense(4)(b))], axis=-1)
    out1 = layers.Dense(1, name="out1")(merged)
    out2 = layers.Dense(2, activation="softmax", name="out2")(layers.add([merged, merged]))
    model = models.Model([a, b], [out1, out2])
    assert merged.shape == (None, 8)
    xa, xb = np.ones((5, 3), np.float32), np.ones((5, 2), np.float32)
    p1, p2 = model.predict([xa, xb])
    assert p1.shape == (5, 1) and p2.shape == (5, 2)
    assert len(shared.inbound_nodes) == 2 and len(shared.weights) == 2      # one layer, two calls
    p1d, _ = model.predict({"a": xa, "b": xb})
    np.testing.assert_allclose(p1d, p1)
    text = []
    model.summary(print_fn=text.append)
    assert "Connected to" in text[0] and "shared[1][0]" in text[0]


def test_model_as_layer():
    inner = models.Sequential([layers.Dense(3, activation="relu", input_shape=(4,))])
    outer = models.Sequential()
    outer.add(inner)
    outer.add(layers.Dense(1))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    expected = outer.layers[1](inner(Tensor(x))).numpy()
    np.testing.assert_allclose(outer.predict(x), expected, rtol=1e-6)
    i = layers.Input(shape=(4,))
    wrapped = models.Model(i, inner(i))
    np.testing.assert_allclose(wrapped.predict(x), inner.predict(x))
    assert outer.count_params() == 4 * 3 + 3 + 3 + 1


def test_disconnected_graph_names_the_missing_input():
    a, b = layers.Input(shape=(3,), name="first"), layers.Input(shape=(3,), name="second")
    out = layers.add([a, b])
    with pytest.raises(ValueError, match="Graph disconnected.*'second'"):
        models.Model(a, out)


def test_wrong_input_shape_names_layer_and_shapes():
    model = models.Sequential([layers.Dense(2, input_shape=(784,), name="dense_in")])
    with pytest.raises(ValueError, match=r"dense_in.*\(None, 784\).*\(3, 100\)"):
        model.predict(np.zeros((3, 100), np.float32))


def test_get_set_weights_and_trainable():
    model = models.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,), (3, 1), (1,)]
    model.set_weights([np.ones_like(w) for w in weights])
    np.testing.assert_allclose(model.predict(np.ones((1, 2), np.float32)), [[10.0]])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="shape"):
        model.layers[1].set_weights([np.ones((2, 1)), np.ones(1)])
