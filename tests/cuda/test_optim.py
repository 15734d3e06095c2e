"""The fused optimizer updates on the GPU (kernels/cuda/optim.py) change the weight and
its state exactly as the numpy reference does (kernels/reference.py), step after step,
for every rule, with a gradient that is a strided view (transposed)."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import OPTIMIZER_RULES, full_view

CASES = [("sgd", 0, {"lr": 0.1, "momentum": 0.0, "nesterov": False}),
         ("sgd", 1, {"lr": 0.1, "momentum": 0.9, "nesterov": False}),
         ("sgd", 1, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
         ("rmsprop", 1, {"lr": 0.01, "rho": 0.9, "epsilon": 1e-7, "flush_below": 1e-30}),
         ("adagrad", 1, {"lr": 0.1, "epsilon": 1e-7}),
         ("adam", 2, {"lr_t": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "flush_below": 1e-30,
                      "amsgrad": False}),
         ("adam", 3, {"lr_t": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "flush_below": 1e-30,
                      "amsgrad": True})]


def test_the_cuda_backend_offers_every_rule(cuda_backend):
    assert set(cuda_backend.optimizer_rules) == set(OPTIMIZER_RULES)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule, slots, hyper", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_fused_update_matches_the_reference(rng, cuda_backend, ref, rule, slots, hyper, dtype):
    shape = (5, 7)                                    # 35 elements: not a multiple of the block (16)
    p0 = rng.standard_normal(shape).astype(dtype)
    states = {"cuda": None, "ref": None}
    for name, be in (("cuda", cuda_backend), ("ref", ref)):
        p = full_view(be.from_numpy(p0), shape)
        state = [full_view(be.full(p0.size, 0.0, dtype), shape) for _ in range(slots)]
        states[name] = (be, p, state)
    for step in range(3):
        g = rng.standard_normal(shape[::-1]).astype(dtype) * (step + 1)
        g[::2] = 0.0                                  # zeros: the accumulators decay
        for be, p, state in states.values():
            gt = full_view(be.from_numpy(g), shape[::-1])
            g_view = gt._replace(shape=shape, strides=(1, shape[0]))   # the transpose: strided
            be.optimizer_update(rule, p, g_view, state, dict(hyper))
    (cb, cp, cs), (rb, rp, rs) = states["cuda"], states["ref"]
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cb.to_numpy(cp), rb.to_numpy(rp), **tol)
    for c, r in zip(cs, rs):
        np.testing.assert_allclose(cb.to_numpy(c), rb.to_numpy(r), **tol)
    assert not np.allclose(rb.to_numpy(rp), p0)       # the weight moved


def test_the_cuda_primitives_get_the_shape_checks_of_base(cuda_backend):
    from tinygrad_book.kernels.base import SHAPE_CHECKS
    for name in SHAPE_CHECKS:
        assert hasattr(getattr(type(cuda_backend), name), "unchecked"), name
