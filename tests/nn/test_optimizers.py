"""Each optimizer's first steps against the Keras 2.2 formulas written out in numpy."""
import numpy as np
import pytest

from tinygrad_book import Tensor, optimizers

G = [np.array([0.5, -1.0, 2.0, 0.0]), np.array([-0.3, 0.2, 1.5, 0.0]), np.array([1.0, 1.0, -1.0, 0.0])]
P0 = np.array([1.0, -2.0, 0.5, 3.0])


def run(opt, steps=3):
    p = Tensor(P0, dtype=np.float64, requires_grad=True)
    for g in G[:steps]:
        p.grad = Tensor(g, dtype=np.float64)
        opt.step([p])
    return p.numpy()


def test_sgd_plain_and_decay():
    p, lr = P0.copy(), 0.1
    for i, g in enumerate(G):
        p = p - lr / (1 + 0.5 * i) * g
    np.testing.assert_allclose(run(optimizers.SGD(lr=0.1, decay=0.5)), p)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov):
    p, v, lr, mu = P0.copy(), np.zeros(4), 0.1, 0.9
    for g in G:
        v = mu * v - lr * g
        p = p + mu * v - lr * g if nesterov else p + v
    np.testing.assert_allclose(run(optimizers.SGD(lr=0.1, momentum=0.9, nesterov=nesterov)), p)


def test_rmsprop_defaults_and_formula():
    opt = optimizers.RMSprop()
    assert (opt.lr, opt.rho, opt.epsilon) == (0.001, 0.9, 1e-7)
    p, a = P0.copy(), np.zeros(4)
    for g in G:
        a = 0.9 * a + 0.1 * g * g
        p = p - 0.01 * g / (np.sqrt(a) + 1e-7)
    np.testing.assert_allclose(run(optimizers.RMSprop(lr=0.01)), p)


def test_rmsprop_clipvalue_and_clipnorm():
    p, a = P0.copy(), np.zeros(4)
    for g in G:
        g = np.clip(g, -0.5, 0.5)
        a = 0.9 * a + 0.1 * g * g
        p = p - 0.01 * g / (np.sqrt(a) + 1e-7)
    np.testing.assert_allclose(run(optimizers.RMSprop(lr=0.01, clipvalue=0.5)), p)
    p = P0.copy()
    for g in G:
        g = g * min(1.0, 1.0 / np.linalg.norm(g))
        p = p - 0.1 * g
    np.testing.assert_allclose(run(optimizers.SGD(lr=0.1, clipnorm=1.0)), p)


def test_rmsprop_flushes_tiny_accumulator_values():
    from tinygrad_book.nn.optimizers import FLUSH_EVERY
    opt = optimizers.RMSprop(lr=0.0)
    p = Tensor(np.zeros(2, np.float32), requires_grad=True)
    for _ in range(FLUSH_EVERY):
        p.grad = Tensor(np.array([1e-17, 1.0], np.float32))     # 1e-35 after squaring: below the flush line
        opt.step([p])
    acc = opt.state[id(p)][0].numpy()
    assert acc[0] == 0.0 and acc[1] > 0.9


def test_adam_and_amsgrad():
    for amsgrad in (False, True):
        p, m, v, vhat = P0.copy(), np.zeros(4), np.zeros(4), np.zeros(4)
        for t, g in enumerate(G, start=1):
            lr_t = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            vhat = np.maximum(vhat, v)
            p = p - lr_t * m / (np.sqrt(vhat if amsgrad else v) + 1e-7)
        np.testing.assert_allclose(run(optimizers.Adam(lr=0.01, amsgrad=amsgrad)), p)


def test_adagrad():
    p, a = P0.copy(), np.zeros(4)
    for g in G:
        a = a + g * g
        p = p - 0.01 * g / (np.sqrt(a) + 1e-7)
    np.testing.assert_allclose(run(optimizers.Adagrad()), p)


def test_lr_and_learning_rate_are_the_same_setting():
    opt = optimizers.RMSprop(learning_rate=0.5)
    assert opt.lr == 0.5
    opt.learning_rate = 0.25
    assert opt.lr == 0.25
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
