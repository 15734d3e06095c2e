"""Losses against numpy, the from-logits forms' stability, and the metrics."""
import numpy as np
import pytest

from tinygrad_book import Tensor, gradcheck, losses, metrics

R = np.random.default_rng(0)


def t(a):
    return Tensor(np.asarray(a, np.float64), dtype=np.float64)


def test_regression_losses():
    y, p = R.standard_normal((4, 3)), R.standard_normal((4, 3))
    np.testing.assert_allclose(losses.mse(t(y), t(p)).numpy(), ((p - y) ** 2).mean(-1))
    np.testing.assert_allclose(losses.mean_absolute_error(t(y), t(p)).numpy(), np.abs(p - y).mean(-1))


def test_crossentropies_on_probabilities():
    y = np.array([[1.0], [0.0], [1.0]])
    p = np.array([[0.9], [0.2], [1.0]])
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    ref = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean(-1)
    np.testing.assert_allclose(losses.binary_crossentropy(t(y[:, 0]), t(p)).numpy(), ref, rtol=1e-6)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    onehot = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    ref = -np.log(np.array([0.7, 0.1]))
    np.testing.assert_allclose(losses.categorical_crossentropy(t(onehot), t(probs)).numpy(), ref, rtol=1e-6)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(Tensor(np.array([0, 1])), t(probs)).numpy(),
                               ref, rtol=1e-6)


def test_logits_forms_equal_the_plain_losses_and_stay_finite():
    z = R.standard_normal((5, 3)) * 3
    onehot = np.eye(3)[[0, 1, 2, 1, 0]]
    soft = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(losses.categorical_crossentropy_from_logits(t(onehot), t(z)).numpy(),
                               losses.categorical_crossentropy(t(onehot), t(soft)).numpy(), rtol=1e-6)
    y = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]])
    zb = z[:, :1]
    np.testing.assert_allclose(losses.binary_crossentropy_from_logits(t(y), t(zb)).numpy(),
                               losses.binary_crossentropy(t(y), t(1 / (1 + np.exp(-zb)))).numpy(), rtol=1e-6)
    extreme = t([[-200.0], [200.0]])                     # sigmoid saturates: the logits form does not
    out = losses.binary_crossentropy_from_logits(t([[1.0], [0.0]]), extreme).numpy()
    np.testing.assert_allclose(out, [200.0, 200.0])
    z64 = Tensor(zb, dtype=np.float64, requires_grad=True)
    (r,) = gradcheck(lambda a: losses.binary_crossentropy_from_logits(t(y), a), z64)
    np.testing.assert_allclose(r.analytic, r.numeric, rtol=1e-5, atol=1e-7)


def test_metrics():
    y = np.array([1.0, 0.0, 1.0, 1.0])
    p = np.array([[0.8], [0.6], [0.4], [0.9]])
    assert metrics.binary_accuracy(y, p) == 0.5
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert metrics.categorical_accuracy(np.eye(2)[[1, 0, 0]], probs) == 2 / 3
    assert metrics.sparse_categorical_accuracy(np.array([1, 0, 0]), probs) == 2 / 3
    assert metrics.mean_absolute_error(y, p) == np.mean(np.abs(p[:, 0] - y))


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("device", ["numpy", "cpu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_crossentropies_on_sequences_with_integer_or_float_labels(dtype, device):
    """(n, t, classes) predictions against (n, t) labels, as a per-timestep classifier
    gives them; Keras' labels often arrive as floats (0., 1., ...). The loss stays on
    the predictions' device and in their dtype."""
    z = R.standard_normal((2, 3, 4))
    labels = np.array([[0, 3, 1], [2, 2, 0]])
    picked = np.take_along_axis(_softmax(z), labels[..., None], -1)[..., 0]
    want = -np.log(picked).mean(-1)                       # per sample: the mean over time steps
    rtol = 1e-5 if dtype == np.float32 else 1e-10

    def on(a, dt=dtype):
        return Tensor(np.asarray(a), dtype=dt, device=device)
    for y in (on(labels, np.int64), on(labels, dtype)):
        for loss, pred in ((losses.sparse_categorical_crossentropy, on(_softmax(z))),
                           (losses.sparse_categorical_crossentropy_from_logits, on(z))):
            out = loss(y, pred)
            assert out.device == device and out.dtype == np.dtype(dtype), loss.__name__
            np.testing.assert_allclose(out.numpy(), want, rtol=rtol, err_msg=loss.__name__)
    out = losses.categorical_crossentropy_from_logits(on(np.eye(4)[labels]), on(z))
    np.testing.assert_allclose(out.numpy(), want, rtol=rtol)


def test_get_by_name_and_the_logits_forms():
    assert losses.get("mse") is losses.mean_squared_error and losses.get("mae") is losses.mean_absolute_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get(losses.binary_crossentropy) is losses.binary_crossentropy
    try:
        losses.get("hinge")
    except ValueError as e:
        assert "unknown loss 'hinge'" in str(e) and "binary_crossentropy, categorical_crossentropy, mae" in str(e)
    else:
        raise AssertionError("an unknown loss name must raise")
    assert losses.logits_form(losses.binary_crossentropy, "sigmoid") is losses.binary_crossentropy_from_logits
    assert losses.logits_form(losses.categorical_crossentropy, "softmax") is losses.categorical_crossentropy_from_logits
    assert (losses.logits_form(losses.sparse_categorical_crossentropy, "softmax")
            is losses.sparse_categorical_crossentropy_from_logits)
    assert losses.logits_form(losses.categorical_crossentropy, "sigmoid") is None
    assert losses.logits_form(losses.mse, "softmax") is None


def test_categorical_crossentropy_normalises_clips_and_reduces_the_last_axis():
    """Keras 2.2: p = y_pred / sum(y_pred, -1), clipped to [1e-7, 1 - 1e-7]; the sum over
    the last axis, then the mean over every axis but the batch."""
    y = np.eye(3)[[[0, 2], [1, 1]]]                            # (2, 2, 3): per-timestep targets
    scores = R.uniform(0.5, 2.0, (2, 2, 3))                    # not normalised
    p = scores / scores.sum(-1, keepdims=True)
    want = -(y * np.log(p)).sum(-1).mean(-1)
    np.testing.assert_allclose(losses.categorical_crossentropy(t(y), t(scores)).numpy(), want, rtol=1e-10)
    certain = losses.categorical_crossentropy(t([[0.0, 1.0]]), t([[0.0, 1.0]])).numpy()
    np.testing.assert_allclose(certain, [-np.log(1 - 1e-7)], rtol=1e-6)   # clipped below 1: not 0
    wrong = losses.categorical_crossentropy(t([[1.0, 0.0]]), t([[0.0, 1.0]])).numpy()
    np.testing.assert_allclose(wrong, [-np.log(1e-7)], rtol=1e-6)         # clipped above 0: not inf


def test_targets_take_the_predictions_dtype_and_shape():
    """(n,) float64 targets against (n, 1) float32 outputs: compared as (n, 1) float32."""
    y, p = R.standard_normal(4), R.standard_normal((4, 1)).astype(np.float32)
    out = losses.mean_squared_error(Tensor(y, dtype=np.float64), Tensor(p, dtype=np.float32))
    assert out.dtype == np.float32 and out.shape == (4,)
    np.testing.assert_allclose(out.numpy(), (p[:, 0] - y.astype(np.float32)) ** 2, rtol=1e-6)
