"""What chapter 8 asks of the model API: Keras 2 custom layers (call without `training`,
add_loss), compile(loss=None), Lambda with inferred outputs, Conv2DTranspose, the GAN's
freezing semantics, save_img. The VAE listing (8.23-8.27) runs with only the imports changed:
the zoo's copy (zoo/chapter8.py) is the one listing, built here at small image sizes."""
import numpy as np
import pytest

import tinygrad_book as keras
from tinygrad_book import Tensor, layers, optimizers
from tinygrad_book import backend as K
from tinygrad_book.autograd import functional as F
from tinygrad_book.models import Model
from tinygrad_book.nn.seeding import set_seed
from tinygrad_book.zoo.chapter8 import vae_listing   # listings 8.23-8.26 as printed, imports swapped


def blobs(n, size, rng):
    """Soft round spots at random places: images in [0, 1] with some structure to learn."""
    yy, xx = np.mgrid[:size, :size]
    c = rng.uniform(size * 0.3, size * 0.7, size=(n, 2))
    return np.exp(-((yy - c[:, :1, None]) ** 2 + (xx - c[:, 1:, None]) ** 2) / (size / 2))[..., None].astype('float32')


def test_the_vae_listing_trains_with_loss_none_and_validation_without_targets():
    set_seed(0)
    input_img, y, decoder, z = vae_listing(img_shape=(12, 12, 1))    # the book's 28 x 28, made small
    assert K.int_shape(z) == (None, 2) and K.int_shape(y) == (None, 12, 12, 1)
    vae = Model(input_img, y)
    vae.compile(optimizer='rmsprop', loss=None)
    lines = []
    vae.summary(print_fn=lines.append)
    assert "custom_variational_layer" in "\n".join(lines)
    x_train = blobs(48, 12, np.random.default_rng(0))
    history = vae.fit(x=x_train, y=None, shuffle=True, epochs=4, batch_size=16,
                      validation_data=(x_train[:16], None), verbose=0)
    val = history.history['val_loss']
    assert len(val) == 4 and val[-1] < val[0] and np.isfinite(history.history['loss']).all()
    digits = decoder.predict(np.zeros((16, 2)), batch_size=16)
    assert digits.shape == (16, 12, 12, 1) and ((digits > 0) & (digits < 1)).all()


def test_loss_none_without_add_loss_is_refused():
    x = layers.Input(shape=(3,))
    model = Model(x, layers.Dense(1)(x))
    with pytest.raises(ValueError, match="add_loss"):
        model.compile(optimizer="sgd", loss=None)


def test_an_added_loss_is_the_training_loss_and_its_gradient_reaches_the_weights():
    """A layer whose call adds mean(h**2): one SGD step must move the Dense kernel by
    -lr * d mean(h**2) / dW, computed here by hand."""
    class Penalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(K.mean(K.square(inputs)))
            return inputs

    set_seed(1)
    x = layers.Input(shape=(3,))
    dense = layers.Dense(2, use_bias=False)
    model = Model(x, Penalty()(dense(x)))
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss=None)
    data = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    w0 = dense.get_weights()[0]
    loss = model.train_on_batch(data, None)
    h = data @ w0
    assert loss == pytest.approx(float(np.mean(h ** 2)), rel=1e-5)
    np.testing.assert_allclose(dense.get_weights()[0], w0 - 0.1 * data.T @ (2 * h / h.size), rtol=1e-5)


def test_a_keras_2_layer_with_weights_runs_eagerly_and_symbolically():
    """The Keras docs' custom layer: build with add_weight, call(self, x) with K.dot."""
    class MyLayer(layers.Layer):
        def __init__(self, output_dim, **kwargs):
            self.output_dim = output_dim
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[1], self.output_dim), initializer='uniform',
                                          name='kernel')

        def call(self, x):
            return K.dot(x, self.kernel)

    set_seed(2)
    x = layers.Input(shape=(4,))
    layer = MyLayer(3)
    out = layer(x)
    assert K.int_shape(out) == (None, 3)
    model = Model(x, out)
    model.compile(optimizer="sgd", loss="mse")
    data = np.ones((5, 4), dtype=np.float32)
    kernel = layer.get_weights()[0]
    np.testing.assert_allclose(model.predict(data), data @ kernel, rtol=1e-6)
    np.testing.assert_allclose(layer(Tensor(data)).numpy(), data @ kernel, rtol=1e-6)   # eager call
    model.fit(data, np.zeros((5, 3)), epochs=1, verbose=0)
    assert not np.allclose(layer.get_weights()[0], kernel)


def test_lambda_infers_several_outputs():
    x = layers.Input(shape=(6,))
    halves = layers.Lambda(lambda t: [t[:, :2], K.concatenate([t, t], axis=-1)])(x)
    assert [K.int_shape(h) for h in halves] == [(None, 2), (None, 12)]
    model = Model(x, halves)
    a, b = model.predict(np.arange(12.0).reshape(2, 6))
    np.testing.assert_array_equal(a, [[0, 1], [6, 7]])
    assert b.shape == (2, 12)


@pytest.mark.parametrize("padding,strides,size,expected", [
    ("same", (2, 2), (7, 5), (14, 10)), ("valid", (2, 2), (7, 5), (15, 11)),
    ("valid", (3, 1), (2, 3), (6, 5)), ("same", 1, (4, 4), (4, 4))])
def test_conv2d_transpose_layer_sizes_are_keras_2s(padding, strides, size, expected):
    layer = layers.Conv2DTranspose(4, 3, strides=strides, padding=padding)
    x = layers.Input(shape=size + (2,))
    assert K.int_shape(layer(x)) == (None,) + expected + (4,)
    out = layer(np.ones((1,) + size + (2,), dtype=np.float32))
    assert out.shape == (1,) + expected + (4,)
    assert layer.get_weights()[0].shape == (3, 3, 4, 2)


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv2d(y, w), x> == <y, conv2d_transpose(x, w)> for every y, x: the definition."""
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 2, 4, 5))
    for stride, padding, hw in [((2, 2), "same", (3, 4)), ((2, 1), "valid", (3, 3))]:
        x = rng.normal(size=(2,) + hw + (5,))
        up = F.conv2d_transpose(Tensor(x, dtype=np.float64), Tensor(w, dtype=np.float64), stride, padding).numpy()
        y = rng.normal(size=up.shape)
        down = F.conv2d(Tensor(y, dtype=np.float64), Tensor(w, dtype=np.float64), stride, padding).numpy()
        assert down.shape == x.shape
        assert np.sum(down * x) == pytest.approx(np.sum(y * up), rel=1e-12)


def test_gan_freezing_semantics():
    """Listing 8.31's order: the discriminator is compiled, then frozen, then wrapped in the
    compiled gan. Training the gan moves only the generator; training the discriminator
    (compiled before the freeze) still moves its own weights."""
    set_seed(5)
    generator_input = keras.Input(shape=(3,))
    generator = Model(generator_input, layers.Dense(4, activation="tanh")(generator_input))
    disc_input = layers.Input(shape=(4,))
    discriminator = Model(disc_input, layers.Dense(1, activation="sigmoid")(disc_input))
    discriminator.compile(optimizer=optimizers.RMSprop(lr=0.01, clipvalue=1.0, decay=1e-8),
                          loss="binary_crossentropy")
    discriminator.trainable = False
    gan_input = keras.Input(shape=(3,))
    gan = Model(gan_input, discriminator(generator(gan_input)))
    gan.compile(optimizer=optimizers.RMSprop(lr=0.01, clipvalue=1.0, decay=1e-8), loss="binary_crossentropy")
    noise, ones = np.random.default_rng(0).normal(size=(8, 3)), np.ones((8, 1))
    d0, g0 = discriminator.get_weights(), generator.get_weights()
    gan.train_on_batch(noise, ones)
    assert all(np.array_equal(a, b) for a, b in zip(d0, discriminator.get_weights()))
    assert not any(np.array_equal(a, b) for a, b in zip(g0, generator.get_weights()))
    g1 = generator.get_weights()
    discriminator.train_on_batch(np.ones((8, 4)), np.zeros((8, 1)))
    assert not any(np.array_equal(a, b) for a, b in zip(d0, discriminator.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(g1, generator.get_weights()))
    assert [len(m.trainable_weights) for m in (gan, discriminator)] == [2, 0]


def test_save_img_writes_what_array_to_img_makes(tmp_path):
    from PIL import Image
    from tinygrad_book.preprocessing import image
    x = np.linspace(0, 1, 4 * 5 * 3).reshape(4, 5, 3)
    image.save_img(str(tmp_path / "frog.png"), x)
    saved = np.asarray(Image.open(tmp_path / "frog.png"))
    np.testing.assert_array_equal(saved, np.asarray(image.array_to_img(x)))
    with pytest.raises(ValueError, match="height, width"):
        image.save_img(str(tmp_path / "bad.png"), np.zeros((4, 5)))


def test_a_layer_that_needs_real_tensors_falls_back_to_running_eagerly():
    class Doubler(layers.Layer):
        def call(self, inputs):
            return inputs.relu() * 2.0          # a Tensor method: symbolic tensors have no relu

    x = layers.Input(shape=(3,))
    model = Model(x, Doubler()(x))
    np.testing.assert_array_equal(model.predict(np.array([[-1.0, 0.5, 2.0]])), [[0.0, 1.0, 4.0]])


def test_add_loss_outside_a_traced_call_names_the_problem():
    layer = layers.Dense(2)
    with pytest.raises(TypeError, match="add_loss takes symbolic tensors"):
        layer.add_loss(Tensor(np.ones(1)))


def test_the_vae_loss_gradient_matches_central_differences_in_float64():
    """add_loss through the sampling Lambda, the nested decoder and Conv2DTranspose: K.gradients
    of the model's added loss w.r.t. every weight, against central differences. The weights
    are switched to float64 and the sampling noise is replayed from the same seed."""
    set_seed(11)
    input_img, y, decoder, z = vae_listing(img_shape=(4, 4, 1))
    vae = Model(input_img, y)
    input_img.dtype = np.dtype(np.float64)           # feed float64 images
    for w in vae.weights:
        w.view = Tensor(w.numpy().astype(np.float64), dtype=np.float64).view
    loss = vae.losses[0]
    z_log_var_layer = [l for l in vae.layers if getattr(l, "units", None) == 2][1]
    transpose = [l for l in decoder.layers if isinstance(l, layers.Conv2DTranspose)][0]
    picked = [vae.weights[1], z_log_var_layer.kernel, transpose.bias]    # vae.weights[1]: the first conv's bias
    f = K.function([input_img], [loss] + K.gradients(loss, picked))
    images = blobs(3, 4, np.random.default_rng(1)).astype(np.float64)

    def value():
        set_seed(123)                                  # the same epsilon at every evaluation
        return float(f([images])[0])

    set_seed(123)
    grads = f([images])[1:]
    for w, g in zip(picked, grads):
        base = w.numpy().copy()
        numeric = np.zeros_like(base)
        for i in np.ndindex(*base.shape):
            for sign in (1, -1):
                moved = base.copy()
                moved[i] += sign * 1e-6
                w.replace_data(moved)
                numeric[i] += sign * value() / 2e-6
            w.replace_data(base)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-9)
