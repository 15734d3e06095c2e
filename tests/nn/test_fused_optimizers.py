"""The fused cpu optimizer kernels (kernels/cpu/optim.py) update weights as the readable
Tensor-op path does (fused=False), step after step, and flush RMSprop's denormals."""
import numpy as np
import pytest

from tinygrad_book import optimizers
from tinygrad_book.autograd import Tensor

CASES = [lambda f: optimizers.RMSprop(lr=0.01, fused=f),
         lambda f: optimizers.RMSprop(lr=0.01, clipnorm=0.5, decay=0.1, fused=f),
         lambda f: optimizers.Adam(lr=0.01, fused=f),
         lambda f: optimizers.Adam(lr=0.01, amsgrad=True, fused=f),
         lambda f: optimizers.SGD(lr=0.1, fused=f),
         lambda f: optimizers.SGD(lr=0.1, momentum=0.9, fused=f),
         lambda f: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True, fused=f),
         lambda f: optimizers.Adagrad(lr=0.1, clipvalue=0.3, fused=f)]


def _train(opt, dtype, steps=7):
    r = np.random.default_rng(0)
    params = [Tensor(r.standard_normal(s), dtype=dtype, device="cpu", requires_grad=True)
              for s in [(37, 5), (5,), (40000,)]]
    for step in range(steps):
        for p in params:
            g = r.standard_normal(p.shape) * (step + 1)
            g[..., ::3] = 0.0                                 # dead units: a accumulator decays
            p.grad = Tensor(g, dtype=dtype, device="cpu")
        opt.step(params)
    return [p.numpy() for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_fused_matches_tensor_ops(case, dtype):
    fused, plain = _train(CASES[case](True), dtype), _train(CASES[case](False), dtype)
    for f, p in zip(fused, plain):
        np.testing.assert_allclose(f, p, rtol=2e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_fused_rmsprop_flushes_every_step():
    opt = optimizers.RMSprop(lr=0.0)
    p = Tensor(np.ones(4, np.float32), device="cpu", requires_grad=True)
    p.grad = Tensor(np.array([1e-16, 1.0, 0.0, 0.0], np.float32), device="cpu")
    opt.step([p])
    a = opt.state[id(p)][0].numpy()
    assert a[0] == 0.0 and a[1] == pytest.approx(0.1) and not np.any((a > 0) & (a < 1e-30))


def test_fused_update_keeps_the_tensor_object_and_writes_in_place():
    opt = optimizers.RMSprop(lr=0.1)
    p = Tensor(np.ones(3, np.float32), device="cpu", requires_grad=True)
    storage = p.view.storage
    p.grad = Tensor(np.ones(3, np.float32), device="cpu")
    opt.step([p])
    assert p.view.storage is storage and np.all(p.numpy() < 1.0)
