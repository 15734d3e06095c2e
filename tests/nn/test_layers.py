"""Each layer's forward against numpy, and its backward against central differences."""
import numpy as np
import pytest

from tinygrad_book import Tensor, gradcheck
from tinygrad_book import layers
from tinygrad_book.nn import set_seed

R = np.random.default_rng(1)


def f64(a, grad=True):
    return Tensor(np.asarray(a, np.float64), dtype=np.float64, requires_grad=grad)


def assert_grads(results):
    for r in results:
        if r is not None:
            np.testing.assert_allclose(r.analytic, r.numeric, rtol=1e-5, atol=1e-7)


def built(layer, shape):
    layer(Tensor(np.zeros(shape, np.float32)))
    return layer


def test_dense_forward_matches_numpy():
    layer = built(layers.Dense(3, activation="relu"), (4, 5))
    x = R.standard_normal((4, 5)).astype(np.float32)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 3) and bias.shape == (3,)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_dense_defaults_are_glorot_uniform_and_zero_bias():
    layer = built(layers.Dense(200), (2, 300))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / 500)
    assert np.all(np.abs(kernel) <= limit) and kernel.max() > 0.9 * limit
    assert np.all(bias == 0)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", None])
def test_dense_backward(activation):
    layer = built(layers.Dense(3, activation=activation), (2, 4))

    def f(x, k, b):
        layer.kernel, layer.bias = k, b
        return layer.call(x)
    assert_grads(gradcheck(f, f64(R.standard_normal((2, 4))), f64(R.standard_normal((4, 3))),
                           f64(R.standard_normal(3))))


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 1), ("valid", 2), ("same", 2)])
def test_conv2d_forward_and_backward(padding, strides):
    layer = built(layers.Conv2D(2, (3, 3), strides=strides, padding=padding, activation="relu"), (1, 5, 6, 2))
    x = R.standard_normal((1, 5, 6, 2))
    k, b = R.standard_normal((3, 3, 2, 2)), R.standard_normal(2)
    layer.kernel, layer.bias = f64(k, False), f64(b, False)
    out = layer(Tensor(x, dtype=np.float64)).numpy()
    assert out.shape == layer.compute_output_shape((1, 5, 6, 2))
    # numpy reference: zero-pad as TensorFlow's 'same' (extra row/column after), slide, dot
    pad_h = max((out.shape[1] - 1) * strides + 3 - 5, 0) if padding == "same" else 0
    pad_w = max((out.shape[2] - 1) * strides + 3 - 6, 0) if padding == "same" else 0
    xp = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    ref = np.zeros(out.shape)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            patch = xp[:, i * strides:i * strides + 3, j * strides:j * strides + 3, :]
            ref[:, i, j, :] = np.einsum("nhwc,hwcf->nf", patch, k) + b
    np.testing.assert_allclose(out, np.maximum(ref, 0), rtol=1e-10, atol=1e-12)

    def f(x, k, b):
        layer.kernel, layer.bias = k, b
        return layer.call(x)
    assert_grads(gradcheck(f, f64(x), f64(k), f64(b)))


def test_pooling_layers_forward_and_backward():
    x = R.standard_normal((2, 4, 6, 3))
    pool = layers.MaxPooling2D((2, 2))
    ref = x.reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4))
    np.testing.assert_allclose(pool(Tensor(x, dtype=np.float64)).numpy(), ref)
    assert_grads(gradcheck(lambda t: pool.call(t), f64(x)))
    avg = layers.AveragePooling2D(2)
    np.testing.assert_allclose(avg(Tensor(x, dtype=np.float64)).numpy(), x.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4)))
    assert_grads(gradcheck(lambda t: avg.call(t), f64(x)))
    gap = layers.GlobalAveragePooling2D()
    np.testing.assert_allclose(gap(Tensor(x, dtype=np.float64)).numpy(), x.mean(axis=(1, 2)))
    assert_grads(gradcheck(lambda t: gap.call(t), f64(x)))


def test_pooling_with_strides():
    x = R.standard_normal((1, 5, 5, 1))
    out = layers.MaxPooling2D(3, strides=2)(Tensor(x, dtype=np.float64)).numpy()
    assert out.shape == (1, 2, 2, 1)
    assert out[0, 1, 1, 0] == x[0, 2:5, 2:5, 0].max()


def test_flatten_reshape_leakyrelu_activation():
    x = R.standard_normal((2, 3, 4))
    assert layers.Flatten()(Tensor(x)).shape == (2, 12)
    assert layers.Reshape((4, 3))(Tensor(x)).shape == (2, 4, 3)
    assert layers.Reshape((-1, 2))(Tensor(x)).shape == (2, 6, 2)
    leaky = layers.LeakyReLU()
    np.testing.assert_allclose(leaky(Tensor(x, dtype=np.float64)).numpy(), np.where(x > 0, x, 0.3 * x))
    assert_grads(gradcheck(lambda t: leaky.call(t), f64(x + 0.01 * np.sign(x))))
    act = layers.Activation("tanh")
    np.testing.assert_allclose(act(Tensor(x, dtype=np.float64)).numpy(), np.tanh(x))
    assert_grads(gradcheck(lambda t: layers.Flatten().call(t) * 2.0, f64(x)))


def test_dropout_is_inverted_and_only_active_in_training():
    x = Tensor(np.ones((200, 50), np.float32))
    drop = layers.Dropout(0.5)
    assert np.array_equal(drop(x).numpy(), x.numpy())                     # inference: identity
    out = drop(x, training=True).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}                              # survivors scaled by 1/(1-rate)
    assert abs((out == 0).mean() - 0.5) < 0.03

    def f(t):
        set_seed(3)                                                      # the same mask on every call
        return drop.call(t, training=True)
    assert_grads(gradcheck(f, f64(R.standard_normal((4, 5)))))


def test_embedding_conv1d_pool1d():
    emb = layers.Embedding(10, 3, input_length=4)
    ids = np.array([[1, 2, 3, 9], [0, 0, 5, 1]])
    out = emb(Tensor(ids)).numpy()
    table = emb.get_weights()[0]
    np.testing.assert_allclose(out, table[ids])
    assert np.all(np.abs(table) <= 0.05)
    conv = built(layers.Conv1D(2, 3, activation="relu"), (2, 6, 3))
    x = R.standard_normal((2, 6, 3))
    k, b = R.standard_normal((3, 3, 2)), R.standard_normal(2)

    def f(x, k, b):
        conv.kernel, conv.bias = k, b
        return conv.pre_activation(x)
    ref = np.stack([np.einsum("nkc,kcf->nf", x[:, i:i + 3], k) + b for i in range(4)], axis=1)
    np.testing.assert_allclose(f(f64(x), f64(k), f64(b)).numpy(), ref, rtol=1e-10)
    assert_grads(gradcheck(f, f64(x), f64(k), f64(b)))
    pooled = layers.MaxPooling1D(2)(Tensor(x, dtype=np.float64)).numpy()
    np.testing.assert_allclose(pooled, x.reshape(2, 3, 2, 3).max(axis=2))
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(Tensor(x, dtype=np.float64)).numpy(), x.max(axis=1))


def test_merge_layers():
    a, b = R.standard_normal((2, 3)), R.standard_normal((2, 4))
    out = layers.Concatenate()([Tensor(a, dtype=np.float64), Tensor(b, dtype=np.float64)]).numpy()
    np.testing.assert_allclose(out, np.concatenate([a, b], axis=-1))
    assert_grads(gradcheck(lambda s, t: layers.Add().call([s, t]), f64(a), f64(a[::-1])))


def test_kernel_regularizer_is_collected():
    from tinygrad_book import regularizers
    layer = built(layers.Dense(2, kernel_regularizer=regularizers.l1_l2(l1=0.01, l2=0.1)), (1, 3))
    (reg, w), = layer.penalties()
    k = layer.get_weights()[0]
    np.testing.assert_allclose(reg(w).item(), 0.01 * np.abs(k).sum() + 0.1 * (k ** 2).sum(), rtol=1e-5)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="relu.*softmax"):
        layers.Dense(3, activation="relux")


def test_unexpected_argument_is_an_error():
    with pytest.raises(TypeError, match="unexpected argument"):
        layers.Dense(3, activaton="relu")
