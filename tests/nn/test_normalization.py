"""BatchNormalization: Keras 2.0's semantics, its weights, and train vs inference mode."""
import numpy as np
import pytest

from tinygrad_book import Input, Tensor, layers, models
from tinygrad_book.nn import clear_session, keras_h5, set_seed
from tinygrad_book.nn.optimizers import SGD

RNG = np.random.default_rng(0)
X = (RNG.standard_normal((16, 5, 4, 3)) * 2 + 0.5).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh():
    clear_session()
    set_seed(0)


def ref_train(x, gamma, beta, eps=1e-3, axes=(0, 1, 2)):
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)   # var: biased
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def bn_model(**kwargs):
    model = models.Sequential([layers.BatchNormalization(input_shape=X.shape[1:], **kwargs)])
    model.compile(SGD(lr=0.0), "mse")           # lr 0: only the moving averages move
    return model, model.layers[0]


def test_weights_in_keras_order_names_and_trainability():
    model, bn = bn_model()
    assert [w.shape for w in bn.weights] == [(3,)] * 4
    assert keras_h5.weight_names(bn) == [f"{bn.name}/{n}:0" for n in ("gamma", "beta", "moving_mean",
                                                                       "moving_variance")]
    assert [id(w) for w in bn.trainable_weights] == [id(bn.gamma), id(bn.beta)]
    assert [id(w) for w in model.non_trainable_weights] == [id(bn.moving_mean), id(bn.moving_variance)]
    np.testing.assert_array_equal(bn.get_weights()[0], np.ones(3))      # gamma, beta, mean, variance init
    np.testing.assert_array_equal(bn.get_weights()[3], np.ones(3))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 12" in text and "Trainable params: 6" in text and "Non-trainable params: 6" in text


@pytest.mark.parametrize("center, scale, names", [(False, True, ["gamma"]), (True, False, ["beta"]),
                                                  (False, False, [])])
def test_center_and_scale_switch_beta_and_gamma_off(center, scale, names):
    _, bn = bn_model(center=center, scale=scale)
    expected = names + ["moving_mean", "moving_variance"]
    assert keras_h5.weight_names(bn) == [f"{bn.name}/{n}:0" for n in expected]
    y = bn(Tensor(X), training=True).numpy()
    np.testing.assert_allclose(y, ref_train(X, 1.0, 0.0), rtol=1e-4, atol=1e-4)


def test_training_normalises_with_the_batch_and_steps_the_moving_averages():
    model, bn = bn_model(momentum=0.9)
    gamma, beta = np.array([1.5, 0.5, -1.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    bn.set_weights([gamma, beta, np.full(3, 0.2, np.float32), np.full(3, 2.0, np.float32)])
    y = bn(Tensor(X), training=True).numpy()
    np.testing.assert_allclose(y, ref_train(X, gamma, beta), rtol=1e-4, atol=1e-4)
    mean, var = X.mean(axis=(0, 1, 2)), X.var(axis=(0, 1, 2))          # Keras 2.0: biased variance
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.2 * 0.9 + mean * 0.1, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 2.0 * 0.9 + var * 0.1, rtol=1e-5)
    unbiased = X.var(axis=(0, 1, 2), ddof=1)
    assert not np.allclose(bn.moving_variance.numpy(), 2.0 * 0.9 + unbiased * 0.1, rtol=1e-5)


def test_inference_uses_the_moving_averages_and_changes_nothing():
    model, bn = bn_model()
    weights = [np.array([1.5, 0.5, -1.0]), np.array([0.1, -0.2, 0.3]), np.array([0.4, -1.0, 2.0]),
               np.array([4.0, 0.25, 1.0])]
    bn.set_weights([w.astype(np.float32) for w in weights])
    gamma, beta, mean, var = weights
    expected = gamma * (X - mean) / np.sqrt(var + 1e-3) + beta
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)
    model.evaluate(X, X, verbose=0)
    for w, a in zip(bn.get_weights(), weights):
        np.testing.assert_allclose(w, a, rtol=1e-7)          # predict / evaluate never update them


def test_fit_updates_the_moving_averages_once_per_batch_and_trains_gamma_beta():
    model, bn = bn_model(momentum=0.5)
    model.fit(X, X, batch_size=8, epochs=1, shuffle=False, verbose=0)
    m = np.zeros(3)
    for batch in (X[:8], X[8:]):
        m = m * 0.5 + batch.mean(axis=(0, 1, 2)) * 0.5
    np.testing.assert_allclose(bn.moving_mean.numpy(), m, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.gamma.numpy(), np.ones(3))     # lr 0
    model.compile(SGD(lr=0.1), "mse")
    model.fit(X, X * 2, batch_size=16, epochs=1, verbose=0)
    assert not np.allclose(bn.gamma.numpy(), 1.0)                   # gamma is trained


def test_a_frozen_layer_has_no_trainable_weights_but_still_averages_in_fit():
    """Keras 2.0: trainable=False removes gamma and beta from training; the moving averages
    are updates, not gradients, and still move in fit (Keras 2.0.8 collects every layer's)."""
    model, bn = bn_model()
    bn.trainable = False
    model.compile(SGD(lr=0.1), "mse")
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    model.fit(X, X * 3, batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(bn.gamma.numpy(), np.ones(3))
    assert not np.allclose(bn.moving_mean.numpy(), 0.0)


def test_another_channel_axis():
    bn = layers.BatchNormalization(axis=1)
    y = bn(Tensor(X), training=True).numpy()
    np.testing.assert_allclose(y, ref_train(X, 1.0, 0.0, axes=(0, 2, 3)), rtol=1e-4, atol=1e-4)
    assert bn.moving_mean.shape == (5,)
    with pytest.raises(ValueError, match="axis 0 is the batch"):
        layers.BatchNormalization(axis=0)(Tensor(X))


def test_output_and_gradients_match_torch_in_training():
    # an independent implementation as a second oracle; the numpy oracle (ref_train) above runs everywhere
    torch = pytest.importorskip("torch", reason="PyTorch is in the bench extra (pip install -e '.[bench]'), "
                                                "not in CI's dev extra; ref_train checks the same in every run")
    x = RNG.standard_normal((6, 4)) * 3
    g = RNG.standard_normal((6, 4))
    bn = layers.BatchNormalization(momentum=0.9)
    bn(Tensor(x))                                  # builds it (inference: nothing moves)
    t = Tensor(x, dtype=np.float64, requires_grad=True)
    gamma = Tensor(np.array([1.0, 2.0, -0.5, 0.7]), dtype=np.float64, requires_grad=True)
    bn.gamma = gamma
    bn.beta = Tensor(np.array([0.0, 0.1, 0.2, 0.3]), dtype=np.float64, requires_grad=True)
    y = bn(t, training=True)
    y.backward(Tensor(g, dtype=np.float64))
    ref = torch.nn.BatchNorm1d(4, eps=1e-3, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.0, 2.0, -0.5, 0.7], dtype=torch.float64))
        ref.bias.copy_(torch.tensor([0.0, 0.1, 0.2, 0.3], dtype=torch.float64))
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gamma.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(bn.moving_mean.numpy(), ref.running_mean.numpy(), rtol=1e-6)


def test_moving_averages_go_through_a_weight_file(tmp_path):
    model, bn = bn_model()
    model.fit(X, X, batch_size=16, epochs=2, verbose=0)
    model.save_weights(str(tmp_path / "bn.h5"))
    clear_session()
    again, bn2 = bn_model()
    again.load_weights(str(tmp_path / "bn.h5"))
    for a, b in zip(bn.get_weights(), bn2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), again.predict(X))


def test_in_a_functional_model_from_the_top_level_input():
    inputs = Input(shape=(4,))
    outputs = layers.Dense(1)(layers.BatchNormalization()(layers.Dense(3)(inputs)))
    model = models.Model(inputs, outputs)
    assert model.count_params() == 4 * 3 + 3 + 4 * 3 + 3 + 1
    assert len(model.non_trainable_weights) == 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"momentum": 1.5}, ValueError, "momentum"), ({"epsilon": 0.0}, ValueError, "epsilon"),
    ({"axis": 1.0}, TypeError, "axis"), ({"gamma_constraint": "non_neg"}, NotImplementedError, "gamma_constraint")])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.BatchNormalization(**kwargs)
