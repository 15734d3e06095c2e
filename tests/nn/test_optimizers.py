"""Each optimizer against the Keras 2.2 formulas written out in float64 numpy, at rtol 1e-12.

Every formula runs on three paths: the fused kernel of the cpu backend (numba), the
fused kernel of the numpy backend (the readable reference), and the Tensor-op path
(`fused=False`, on the numpy device). The cases are chosen so that each constant of a
formula shows in the result: gradients of 1e-9 make sqrt(a) ~ 1e-9, so epsilon (1e-7)
dominates the denominator and moving it inside the square root changes the step
a thousandfold; a large epsilon, an unusual rho or beta, decay, and several steps
make the running averages and Adam's bias corrections visible.
"""
import numpy as np
import pytest

from tinygrad_book import Tensor, optimizers

RTOL = 1e-12
P0 = np.array([1.0, -2.0, 0.5, 3.0, -0.25])
_R = np.random.default_rng(7)
NORMAL = [_R.standard_normal(5) for _ in range(5)]
NORMAL[1][3] = 0.0                                   # a gradient of exactly zero: a, m, v only decay
TINY = [g * 1e-9 for g in NORMAL]                    # sqrt(a) ~ 1e-9 << epsilon = 1e-7
GRADS = {"normal": NORMAL, "tiny": TINY}
PATHS = ["cpu", "numpy", "ops"]                      # fused numba | fused numpy | Tensor ops


def run(opt, grads, path):
    """Apply `opt` to P0 once per gradient, on `path` (a device, or "ops": the Tensor-op
    path on the numpy device); the final parameter values."""
    device = "numpy" if path == "ops" else path
    opt.fused = path != "ops"
    p = Tensor(P0, dtype=np.float64, device=device, requires_grad=True)
    for g in grads:
        p.grad = Tensor(g, dtype=np.float64, device=device)
        opt.step([p])
    return p.numpy()


def check(opt, grads, device, expected):
    got = run(opt, grads, device)
    # atol 0: every element, including those that barely moved, to 12 significant digits
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)
    assert not np.allclose(expected, P0, rtol=1e-6, atol=0), "the case must move the parameters"


# ---- the oracles: Keras 2.2's update rules, step by step ------------------------------

def sgd(grads, lr, momentum=0.0, nesterov=False, decay=0.0):
    p, v = P0.copy(), np.zeros_like(P0)
    for i, g in enumerate(grads):
        lr_i = lr / (1 + decay * i)
        v = momentum * v - lr_i * g
        p = p + momentum * v - lr_i * g if nesterov else p + v
    return p


def rmsprop(grads, lr, rho=0.9, epsilon=1e-7, decay=0.0):
    p, a = P0.copy(), np.zeros_like(P0)
    for i, g in enumerate(grads):
        a = rho * a + (1 - rho) * g * g
        p = p - lr / (1 + decay * i) * g / (np.sqrt(a) + epsilon)
    return p


def adagrad(grads, lr, epsilon=1e-7, decay=0.0):
    p, a = P0.copy(), np.zeros_like(P0)
    for i, g in enumerate(grads):
        a = a + g * g
        p = p - lr / (1 + decay * i) * g / (np.sqrt(a) + epsilon)
    return p


def adam(grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, decay=0.0):
    p, m, v, vhat = P0.copy(), np.zeros_like(P0), np.zeros_like(P0), np.zeros_like(P0)
    for t, g in enumerate(grads, start=1):
        lr_t = lr / (1 + decay * (t - 1)) * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        vhat = np.maximum(vhat, v)
        p = p - lr_t * m / (np.sqrt(vhat if amsgrad else v) + epsilon)
    return p


# ---- the cases ------------------------------------------------------------------------

@pytest.mark.parametrize("device", PATHS)
@pytest.mark.parametrize("settings", [dict(), dict(momentum=0.9), dict(momentum=0.7, nesterov=True),
                                      dict(momentum=0.5, decay=0.3)], ids=str)
def test_sgd(settings, device):   # no epsilon: tiny gradients would only make tiny steps
    check(optimizers.SGD(lr=0.1, **settings), NORMAL, device, sgd(NORMAL, 0.1, **settings))


def cases(*settings, large_epsilon):
    """Each setting on normal and on tiny gradients; a large epsilon only on normal ones
    (tiny gradients over a large epsilon would not move the parameters)."""
    return ([("normal", s) for s in settings] + [("tiny", s) for s in settings]
            + [("normal", large_epsilon)])


@pytest.mark.parametrize("device", PATHS)
@pytest.mark.parametrize("kind,settings", cases(dict(), dict(rho=0.5), dict(rho=0.3, epsilon=2e-9), dict(decay=0.4),
                                                large_epsilon=dict(epsilon=0.5)), ids=str)
def test_rmsprop(settings, kind, device):
    check(optimizers.RMSprop(lr=0.01, **settings), GRADS[kind], device, rmsprop(GRADS[kind], 0.01, **settings))


@pytest.mark.parametrize("device", PATHS)
@pytest.mark.parametrize("kind,settings", cases(dict(), dict(decay=0.3), large_epsilon=dict(epsilon=0.5)), ids=str)
def test_adagrad(settings, kind, device):   # lr 0.05: not the default 0.01, so a lost lr shows
    check(optimizers.Adagrad(lr=0.05, **settings), GRADS[kind], device, adagrad(GRADS[kind], 0.05, **settings))


@pytest.mark.parametrize("device", PATHS)
@pytest.mark.parametrize("kind,settings", cases(dict(), dict(amsgrad=True), dict(beta_1=0.5, beta_2=0.7),
                                                dict(beta_1=0.3, beta_2=0.6, amsgrad=True), dict(decay=0.3),
                                                large_epsilon=dict(epsilon=0.5)), ids=str)
def test_adam(settings, kind, device):
    check(optimizers.Adam(lr=0.01, **settings), GRADS[kind], device, adam(GRADS[kind], 0.01, **settings))


@pytest.mark.parametrize("device", PATHS)
def test_clipvalue_clips_each_element_before_the_update(device):
    clipped = [np.clip(g, -0.4, 0.4) for g in NORMAL]
    check(optimizers.RMSprop(lr=0.01, clipvalue=0.4), NORMAL, device, rmsprop(clipped, 0.01))
    check(optimizers.Adam(lr=0.01, clipvalue=0.4), NORMAL, device, adam(clipped, 0.01))
    check(optimizers.Adagrad(lr=0.05, clipvalue=0.4), NORMAL, device, adagrad(clipped, 0.05))
    check(optimizers.SGD(lr=0.1, momentum=0.5, clipvalue=0.4), NORMAL, device, sgd(clipped, 0.1, momentum=0.5))


@pytest.mark.parametrize("device", PATHS)
def test_clipnorm_scales_all_gradients_by_one_global_norm(device):
    # two parameters: the norm is taken over both together (Keras 2.2), not each alone
    grads = [(g, 3 * g[::-1]) for g in NORMAL]
    opt = optimizers.SGD(lr=0.1, clipnorm=1.0, fused=device != "ops")
    device = "numpy" if device == "ops" else device
    p = [Tensor(P0, dtype=np.float64, device=device, requires_grad=True) for _ in range(2)]
    expected = [P0.copy(), P0.copy()]
    for g0, g1 in grads:
        scale = min(1.0, 1.0 / np.sqrt((g0 * g0).sum() + (g1 * g1).sum()))
        expected = [expected[0] - 0.1 * g0 * scale, expected[1] - 0.1 * g1 * scale]
        p[0].grad, p[1].grad = (Tensor(g, dtype=np.float64, device=device) for g in (g0, g1))
        opt.step(p)
    for got, want in zip(p, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=RTOL, atol=0)


def test_keras_defaults():
    assert (optimizers.RMSprop().lr, optimizers.RMSprop().rho, optimizers.RMSprop().epsilon) == (0.001, 0.9, 1e-7)
    adam_ = optimizers.Adam()
    assert (adam_.lr, adam_.beta_1, adam_.beta_2, adam_.epsilon, adam_.amsgrad) == (0.001, 0.9, 0.999, 1e-7, False)
    assert (optimizers.SGD().lr, optimizers.SGD().momentum, optimizers.SGD().nesterov) == (0.01, 0.0, False)
    assert (optimizers.Adagrad().lr, optimizers.Adagrad().epsilon) == (0.01, 1e-7)


@pytest.mark.parametrize("device", PATHS)
def test_default_settings_follow_the_formulas(device):
    check(optimizers.RMSprop(), TINY, device, rmsprop(TINY, 0.001))
    check(optimizers.Adam(), TINY, device, adam(TINY, 0.001))


@pytest.mark.parametrize("device", PATHS)
def test_rmsprop_flushes_tiny_accumulator_values(device):
    """The fused kernels flush at every step; the Tensor-op path every FLUSH_EVERY steps."""
    from tinygrad_book.nn.optimizers import FLUSH_EVERY
    opt = optimizers.RMSprop(lr=0.0, fused=device != "ops")
    device = "numpy" if device == "ops" else device
    p = Tensor(np.zeros(2, np.float32), device=device, requires_grad=True)
    for step in range(1, FLUSH_EVERY + 1):
        p.grad = Tensor(np.array([1e-17, 1.0], np.float32), device=device)   # 1e-35 squared: below the line
        opt.step([p])
        acc = opt.state[id(p)][0].numpy()
        flushed = opt.fused or step == FLUSH_EVERY
        assert (acc[0] == 0.0) == flushed, f"step {step}: a = {acc[0]}"
        assert 0.1 <= acc[1] <= 1.0


def test_lr_and_learning_rate_are_the_same_setting():
    opt = optimizers.RMSprop(learning_rate=0.5)
    assert opt.lr == 0.5
    opt.learning_rate = 0.25
    assert opt.lr == 0.25
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; valid names: adagrad, adam, rmsprop, sgd"):
        optimizers.get("adamw")
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)       # Keras accepts any case


CONFIGURED = {"SGD": lambda: optimizers.SGD(lr=0.2, momentum=0.8, nesterov=True, decay=0.1, clipnorm=2.0),
              "RMSprop": lambda: optimizers.RMSprop(lr=0.02, rho=0.7, epsilon=1e-3, clipvalue=0.5),
              "Adagrad": lambda: optimizers.Adagrad(lr=0.03, epsilon=1e-4, decay=0.2),
              "Adam": lambda: optimizers.Adam(lr=0.04, beta_1=0.6, beta_2=0.8, epsilon=1e-5, amsgrad=True,
                                              clipnorm=3.0)}


@pytest.mark.parametrize("name", CONFIGURED)
def test_get_config_carries_every_setting(name):
    """An optimizer rebuilt from its config takes exactly the steps of the original."""
    opt = CONFIGURED[name]()
    config = opt.get_config()
    for key, value in config.items():
        assert getattr(opt, key) == value, key
    clone = type(opt)(**config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(run(clone, NORMAL, "numpy"), run(opt, NORMAL, "numpy"))


@pytest.mark.parametrize("name", CONFIGURED)
def test_cpu_weights_take_the_fused_path_in_place(name):
    """On both devices each update is one fused kernel writing into the weight's own
    storage; with fused=False the Tensor ops build a new storage."""
    for device, in_place in (("cpu", True), ("numpy", True)):
        opt = CONFIGURED[name]()
        p = Tensor(P0, dtype=np.float64, device=device, requires_grad=True)
        storage = p.view.storage
        p.grad = Tensor(NORMAL[0], dtype=np.float64, device=device)
        opt.step([p])
        assert (p.view.storage is storage) == in_place, device
    unfused = type(opt)(**opt.get_config(), fused=False)
    p = Tensor(P0, dtype=np.float64, device="cpu", requires_grad=True)
    storage = p.view.storage
    p.grad = Tensor(NORMAL[0], dtype=np.float64, device="cpu")
    unfused.step([p])
    assert p.view.storage is not storage


@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_adam_flushes_tiny_second_moments(amsgrad):
    """v = 0.001 * g^2 sinks below float32's normal range for tiny g: the fused kernel
    flushes it to zero (FLUSH_BELOW) at every step, as RMSprop's does."""
    opt = optimizers.Adam(lr=0.0, amsgrad=amsgrad)
    p = Tensor(np.ones(2, np.float32), device="cpu", requires_grad=True)
    p.grad = Tensor(np.array([1e-17, 1.0], np.float32), device="cpu")
    opt.step([p])
    v = opt.state[id(p)][1].numpy()
    assert v[0] == 0.0 and v[1] == pytest.approx(1e-3)
