"""The fused optimizer updates (an optional backend capability: numpy reference, cpu
numba kernels; cuda in tests/cuda/test_optim.py) change weights as the readable
Tensor-op path does (fused=False), step after step, and flush RMSprop's denormals."""
import numpy as np
import pytest

from tinygrad_book import optimizers
from tinygrad_book.autograd import Tensor
from tinygrad_book.kernels import get_backend
from tinygrad_book.kernels.base import OPTIMIZER_RULES

DEVICES = ["numpy", "cpu"]

CASES = [lambda f: optimizers.RMSprop(lr=0.01, fused=f),
         lambda f: optimizers.RMSprop(lr=0.01, clipnorm=0.5, decay=0.1, fused=f),
         lambda f: optimizers.Adam(lr=0.01, fused=f),
         lambda f: optimizers.Adam(lr=0.01, amsgrad=True, fused=f),
         lambda f: optimizers.SGD(lr=0.1, fused=f),
         lambda f: optimizers.SGD(lr=0.1, momentum=0.9, fused=f),
         lambda f: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True, fused=f),
         lambda f: optimizers.Adagrad(lr=0.1, clipvalue=0.3, fused=f)]


def _train(opt, dtype, steps=7, device="cpu"):
    r = np.random.default_rng(0)
    params = [Tensor(r.standard_normal(s), dtype=dtype, device=device, requires_grad=True)
              for s in [(37, 5), (5,), (40000,)]]
    for step in range(steps):
        for p in params:
            g = r.standard_normal(p.shape) * (step + 1)
            g[..., ::3] = 0.0                                 # dead units: a accumulator decays
            p.grad = Tensor(g, dtype=dtype, device=device)
        opt.step(params)
    return [p.numpy() for p in params]


def test_every_backend_offers_every_rule_and_documents_it():
    for device in DEVICES:
        assert set(get_backend(device).optimizer_rules) == set(OPTIMIZER_RULES)
    assert {optimizers.get(name).rule for name in ("sgd", "rmsprop", "adagrad", "adam")} == set(OPTIMIZER_RULES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_fused_matches_tensor_ops(case, dtype, device):
    fused, plain = _train(CASES[case](True), dtype, device=device), _train(CASES[case](False), dtype, device=device)
    for f, p in zip(fused, plain):
        np.testing.assert_allclose(f, p, rtol=2e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_fused_rmsprop_flushes_every_step(device):
    opt = optimizers.RMSprop(lr=0.0)
    p = Tensor(np.ones(4, np.float32), device=device, requires_grad=True)
    p.grad = Tensor(np.array([1e-16, 1.0, 0.0, 0.0], np.float32), device=device)
    opt.step([p])
    a = opt.state[id(p)][0].numpy()
    assert a[0] == 0.0 and a[1] == pytest.approx(0.1) and not np.any((a > 0) & (a < 1e-30))


@pytest.mark.parametrize("device", DEVICES)
def test_fused_update_keeps_the_tensor_object_and_writes_in_place(device):
    opt = optimizers.RMSprop(lr=0.1)
    p = Tensor(np.ones(3, np.float32), device=device, requires_grad=True)
    storage = p.view.storage
    p.grad = Tensor(np.ones(3, np.float32), device=device)
    opt.step([p])
    assert p.view.storage is storage and np.all(p.numpy() < 1.0)


def test_a_weight_the_kernel_cannot_take_goes_the_tensor_op_way():
    """A non-contiguous weight (a transposed view) is updated by Tensor ops, to the same values."""
    r = np.random.default_rng(1)
    base, g = r.standard_normal((4, 3)), r.standard_normal((3, 4))
    results = []
    for fused in (True, False):
        p = Tensor(base, device="cpu").T
        p.requires_grad = True
        p.grad = Tensor(g, device="cpu")
        assert p.fused_update("rmsprop", p.grad, [p.full_like(0.0)], lr=0.1, rho=0.9, epsilon=1e-7,
                              flush_below=1e-30) is False
        optimizers.RMSprop(lr=0.1, fused=fused).step([p])
        results.append(p.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    assert not np.allclose(results[0], base.T)


class _NoFusedBackend:
    optimizer_rules = frozenset()


def test_fused_update_says_no_for_a_backend_without_the_capability(monkeypatch):
    p = Tensor(np.ones(3), device="numpy")
    monkeypatch.setattr(Tensor, "backend", property(lambda self: _NoFusedBackend()))
    assert p.fused_update("sgd", p, [], lr=0.1, momentum=0.0, nesterov=False) is False
