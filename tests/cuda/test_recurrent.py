"""The fused recurrent primitives on the GPU (kernels/cuda/recurrent.py): rnn_forward's
states, gates and cells and every gradient of rnn_backward (d x, d kernel, d
recurrent_kernel, d bias) against the numpy reference, every element, for each kind,
with input and/or state dropout masks or none, go_backwards, with and without a bias.
Shapes are small (the simulator runs ~1k threads/s) and not multiples of the block."""
import numpy as np
import pytest

from tinygrad_book.kernels import reference_recurrent
from tinygrad_book.kernels.base import RNN_GATES, full_view

VARIANTS = [("both", True, True), ("input", False, False), ("state", True, False), ("none", False, True)]


def _inputs(kind, rng, n=3, steps=3, units=3, features=2):
    g = RNN_GATES[kind]
    mask = lambda size: (rng.random((g, n, size)) >= 0.3) / 0.7    # noqa: E731
    return dict(x=rng.standard_normal((n, steps, features)), W=rng.standard_normal((features, g * units)) * 0.5,
                U=rng.standard_normal((units, g * units)) * 0.4, b=rng.standard_normal(g * units),
                mx=mask(features), mh=mask(units), d=rng.standard_normal((n, steps, units)))


@pytest.mark.parametrize("masks, backwards, with_bias", VARIANTS, ids=[v[0] for v in VARIANTS])
@pytest.mark.parametrize("kind", list(RNN_GATES))
def test_forward_and_every_gradient_match_the_reference(cuda_backend, rng, kind, masks, backwards, with_bias):
    a = _inputs(kind, rng)
    a["b"] = a["b"] if with_bias else None
    a["mx"] = a["mx"] if masks in ("both", "input") else None
    a["mh"] = a["mh"] if masks in ("both", "state") else None
    acts = ("tanh", "hard_sigmoid")

    def dev(v):
        return None if v is None else full_view(cuda_backend.from_numpy(v), v.shape)

    want = reference_recurrent.rnn_forward(kind, a["x"], a["W"], a["U"], a["b"], a["mx"], a["mh"], acts, backwards)
    got = cuda_backend.rnn_forward(kind, *(dev(a[k]) for k in ("x", "W", "U", "b", "mx", "mh")), acts, backwards)
    tol = dict(rtol=1e-10, atol=1e-12)
    for w, g in zip(want, got):
        assert (w is None) == (g is None)
        if w is not None:
            np.testing.assert_allclose(g.copy_to_host().reshape(w.shape), w, **tol)
    want_back = reference_recurrent.rnn_backward(kind, a["d"], a["x"], a["W"], a["U"], a["mx"], a["mh"], *want, acts,
                                                 backwards)
    for need_dx in (True, False):
        got_back = cuda_backend.rnn_backward(kind, dev(a["d"]), *(dev(a[k]) for k in ("x", "W", "U", "mx", "mh")),
                                             *(dev(w) for w in want), acts, backwards, need_dx)
        assert len(got_back) == 4 and (got_back[0] is None) == (not need_dx)
        for w, g in list(zip(want_back, got_back))[0 if need_dx else 1:]:
            np.testing.assert_allclose(g.copy_to_host()[:w.size].reshape(w.shape), w, **tol)
