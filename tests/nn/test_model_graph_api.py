"""The model API of the book's chapter 5: model.input / model.output, layer.input / layer.output,
models of intermediate activations (listing 5.27), and `trainable` with the book's counts
(listings 5.20-5.22): frozen weights are left alone by fit."""
import numpy as np
import pytest

from tinygrad_book import layers, models, optimizers
from tinygrad_book.applications import VGG16
from tinygrad_book.nn import initializers


def small_convnet():
    """The shape of the book's cats-vs-dogs convnet, on 16x16 inputs."""
    model = models.Sequential()
    model.add(layers.Conv2D(4, (3, 3), activation="relu", input_shape=(16, 16, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(6, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, activation="sigmoid"))
    return model


def images(n=3, size=16):
    return np.random.default_rng(1).random((n, size, size, 3), dtype=np.float32)


# --- input and output --------------------------------------------------------------------
def test_sequential_input_and_output_are_its_first_and_last_tensors():
    model = small_convnet()
    assert model.input is model.inputs[0] and model.output is model.outputs[0]
    assert model.input.shape == (None, 16, 16, 3) and model.output.shape == (None, 1)
    assert model.layers[0].input is model.input
    assert model.layers[-1].output is model.output
    assert model.layers[1].input is model.layers[0].output


def test_functional_input_and_output_single_and_several():
    a, b = models.Input((3,)), models.Input((2,))
    x = layers.Dense(4)(a)
    y = layers.concatenate([x, b])
    one = models.Model(a, x)
    two = models.Model([a, b], [x, y])
    assert one.input is a and one.output is x
    assert two.input == [a, b] and two.output == [x, y]
    assert two.get_layer(index=0).input is a                  # an InputLayer's input is itself
    assert two.layers[-1].input == [x, b]                      # a merge layer's input is the list


def test_unbuilt_sequential_has_no_input_yet():
    model = models.Sequential([layers.Dense(2)])
    with pytest.raises(AttributeError, match="not built yet.*input_shape"):
        model.input
    model.build((None, 5))
    assert model.input.shape == (None, 5)


def test_layer_never_called_symbolically_has_no_output():
    with pytest.raises(AttributeError, match="dense_1 has not been called"):
        layers.Dense(2).output


def test_activation_model_from_intermediate_outputs_matches_layer_by_layer():
    """Listing 5.27: Model(inputs=model.input, outputs=[layer.output for layer in model.layers[:4]])."""
    model = small_convnet()
    activation_model = models.Model(inputs=model.input, outputs=[l.output for l in model.layers[:4]])
    x = images()
    activations = activation_model.predict(x)
    assert [a.shape for a in activations] == [(3, 14, 14, 4), (3, 7, 7, 4), (3, 5, 5, 6), (3, 2, 2, 6)]
    value = x
    for layer, activation in zip(model.layers[:4], activations):
        value = layer(value).numpy()
        np.testing.assert_allclose(activation, value, rtol=1e-6, atol=1e-7)
    assert activation_model.count_params() == model.count_params() - model.layers[-1].count_params()


def test_activation_model_shares_weights_with_the_model():
    model = small_convnet()
    activation_model = models.Model(model.input, model.layers[0].output)
    assert activation_model.weights[0] is model.weights[0]
    before = activation_model.predict(images())
    model.layers[0].set_weights([w * 2 for w in model.layers[0].get_weights()])
    np.testing.assert_allclose(activation_model.predict(images()), 2 * before, rtol=1e-5, atol=1e-6)


def test_activation_model_of_a_functional_model():
    inp = models.Input((16, 16, 3))
    x = layers.Conv2D(2, 3, name="c1")(inp)
    out = layers.Dense(1)(layers.Flatten()(x))
    model = models.Model(inp, out)
    probe = models.Model(model.input, model.get_layer("c1").output)
    assert probe.predict(images()).shape == (3, 14, 14, 2)


def test_outputs_not_reached_from_the_input_are_refused():
    model = small_convnet()
    stray = models.Input((16, 16, 3))
    with pytest.raises(ValueError, match="Graph disconnected"):
        models.Model(stray, model.layers[0].output)


# --- trainable ---------------------------------------------------------------------------
@pytest.fixture
def cheap_init(monkeypatch):
    """Zeros instead of Glorot draws (14.7 M of them for the VGG16 base): counts do not depend on values."""
    monkeypatch.setitem(initializers._BY_NAME, "glorot_uniform", initializers.zeros)


def book_vgg_classifier():
    """Listing 5.20: the VGG16 conv base, Flatten, Dense(256), Dense(1)."""
    conv_base = VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
    model = models.Sequential()
    model.add(conv_base)
    model.add(layers.Flatten())
    model.add(layers.Dense(256, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    return model, conv_base


def test_book_trainable_counts(cheap_init):
    """The book: 30 trainable weights, 4 once the conv base is frozen (L7960), and
    fine-tuning from block5_conv1 on (listing 5.22) makes 10."""
    model, conv_base = book_vgg_classifier()
    assert len(model.trainable_weights) == 30
    conv_base.trainable = False
    assert len(model.trainable_weights) == 4
    assert len(model.non_trainable_weights) == 26
    conv_base.trainable = True
    set_trainable = False
    for layer in conv_base.layers:
        if layer.name == "block5_conv1":
            set_trainable = True
        layer.trainable = set_trainable
    assert len(model.trainable_weights) == 10
    assert sum(w.size for w in model.trainable_weights) == 3 * (512 * 512 * 9 + 512) + 8192 * 256 + 256 + 257


def test_trainable_weights_of_a_frozen_layer_move_to_non_trainable():
    layer = layers.Dense(3, input_shape=(2,))
    models.Sequential([layer])
    assert len(layer.trainable_weights) == 2 and layer.non_trainable_weights == []
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def _fit_once(model):
    model.compile(optimizers.RMSprop(lr=1e-2), "binary_crossentropy")
    x, y = images(8), np.array([0, 1] * 4, dtype=np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)


def test_fit_leaves_a_frozen_base_alone_and_trains_the_rest():
    model = small_convnet()
    frozen = model.layers[0]
    frozen.trainable = False
    before = [w.copy() for w in model.get_weights()]
    _fit_once(model)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])   # the frozen conv: kernel
    np.testing.assert_array_equal(after[1], before[1])   # and bias
    for b, a in zip(before[2:], after[2:]):
        assert not np.array_equal(a, b)


def test_fit_leaves_a_frozen_model_inside_a_sequential_alone():
    base = small_convnet()
    base.pop()
    base.pop()
    model = models.Sequential([base, layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    base.trainable = False
    before = [w.copy() for w in base.get_weights()]
    head = model.layers[-1].get_weights()[0].copy()
    _fit_once(model)
    for b, a in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[0], head)


def test_unfreezing_needs_a_new_compile_as_in_keras():
    """Keras reads `trainable` at compile time: unfreeze, then compile again (listing 5.22)."""
    model = small_convnet()
    model.layers[0].trainable = False
    _fit_once(model)
    model.layers[0].trainable = True
    kernel = model.layers[0].get_weights()[0].copy()
    _fit_once(model)                                     # _fit_once compiles again
    assert not np.array_equal(model.layers[0].get_weights()[0], kernel)
