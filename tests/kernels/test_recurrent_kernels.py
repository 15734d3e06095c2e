"""The fused recurrent primitives (base.Backend.rnn_forward / rnn_backward) at the kernel
level: every backend against the numpy reference on shapes the registry does not draw
(float32, more units, long sequences), the activation vocabulary, and bad arguments."""
import numpy as np
import pytest

from tinygrad_book.kernels import gate_math, get_backend, reference_recurrent
from tinygrad_book.kernels.base import GATE_ACTIVATIONS, RNN_GATES, full_view

BACKENDS = ["numpy", "cpu"]
ACTS = [("tanh", "hard_sigmoid"), ("sigmoid", "sigmoid"), ("relu", "hard_sigmoid"), ("linear", "sigmoid")]


def view(a):
    a = np.ascontiguousarray(a)
    return full_view(a.reshape(-1), a.shape)


def case(kind, dtype, n=5, steps=23, units=7, masks=True, seed=0):
    r = np.random.default_rng(seed)
    g = RNN_GATES[kind]
    gx = r.standard_normal((n, steps, g * units)).astype(dtype)
    U = (r.standard_normal((units, g * units)) * 0.4).astype(dtype)
    b = r.standard_normal(g * units).astype(dtype)
    m = ((r.random((g, n, units)) >= 0.3) / 0.7).astype(dtype) if masks else None
    d = r.standard_normal((n, steps, units)).astype(dtype)
    return gx, U, b, m, d


def test_activation_codes_are_the_positions_of_the_names():
    assert [gate_math.ACTIVATION_CODES[a] for a in GATE_ACTIVATIONS] == list(range(len(GATE_ACTIVATIONS)))
    x = np.linspace(-4, 4, 41)
    for name, (f, df) in reference_recurrent.ACTIVATIONS.items():
        code = gate_math.ACTIVATION_CODES[name]
        y = np.array([gate_math.activate(code, v) for v in x])
        np.testing.assert_allclose(y, f(x), rtol=1e-12, atol=1e-15, err_msg=name)
        np.testing.assert_allclose([gate_math.slope(code, v) for v in y], df(y), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("device", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("acts", ACTS, ids=["-".join(a) for a in ACTS])
@pytest.mark.parametrize("kind", list(RNN_GATES))
def test_primitives_match_the_reference(kind, acts, dtype, device):
    _check_against_reference(get_backend(device), kind, acts, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", list(RNN_GATES))
def test_cpu_blocks_that_span_several_panels_and_tasks(kind, dtype):
    """19 units: two column panels per gate in float32 (NR = 16 on AVX2), three in float64,
    the last one partial, so the micro-kernel's spill past a gate's last column lands in the
    next gate and in the buffer's spare tail; 13 samples: two whole row blocks and a part."""
    _check_against_reference(get_backend("cpu"), kind, ("tanh", "hard_sigmoid"), dtype, n=13, steps=6, units=19)


def _check_against_reference(be, kind, acts, dtype, **shape):
    for masks, backwards, with_bias in ((True, True, True), (False, False, False)):
        gx, U, b, m, d = case(kind, dtype, masks=masks, **shape)
        b = b if with_bias else None
        want = reference_recurrent.rnn_forward(kind, gx.astype(np.float64), U.astype(np.float64),
                                               None if b is None else b.astype(np.float64),
                                               None if m is None else m.astype(np.float64), acts, backwards)
        got = be.rnn_forward(kind, view(gx), view(U), None if b is None else view(b), None if m is None else view(m),
                             acts, backwards)
        for w, g_ in zip(want, got):
            assert (w is None) == (g_ is None)
            if w is not None:
                np.testing.assert_allclose(np.asarray(g_).reshape(w.shape), w, **_tolerance(dtype, w))
        states, gates, cells = want
        want_back = reference_recurrent.rnn_backward(kind, d.astype(np.float64), U.astype(np.float64),
                                                     None if m is None else m.astype(np.float64), states, gates,
                                                     cells, acts, backwards)
        cast = [view(a.astype(dtype)) if a is not None else None for a in (states, gates, cells)]
        got_back = be.rnn_backward(kind, view(d), view(U), None if m is None else view(m), *cast, acts, backwards)
        for w, g_ in zip(want_back, got_back):
            np.testing.assert_allclose(np.asarray(g_).reshape(w.shape), w, **_tolerance(dtype, w))


def _tolerance(dtype, want):
    """float32: an element that is a sum of large terms of both signs (a linear recurrence's
    d U grows to ~1e4) is off by float32's rounding of those terms, not of itself, so the
    absolute tolerance scales with the array's largest magnitude."""
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5 * max(1.0, float(np.abs(want).max())))
    return dict(rtol=1e-10, atol=1e-12)


def _bad(what):
    gx, U, b, m, d = case("lstm", np.float64, n=2, steps=3, units=2)
    return {
        "kind": (("rnn", view(gx), view(U), None, None, ("tanh", "tanh"), False), "unknown op 'rnn'"),
        "activation": (("lstm", view(gx), view(U), None, None, ("tanh", "softmax"), False), "unknown op 'softmax'"),
        "width": (("gru", view(gx), view(U), None, None, ("tanh", "tanh"), False), "a gru of 2 units needs"),
        "masks": (("lstm", view(gx), view(U), None, view(m[:2]), ("tanh", "tanh"), False), "state_masks must be"),
        "bias": (("lstm", view(gx), view(U), view(b[:6]), None, ("tanh", "tanh"), False), r"bias must be \(8,\)"),
    }[what]


@pytest.mark.parametrize("device", BACKENDS)
@pytest.mark.parametrize("what", ["kind", "activation", "width", "masks", "bias"])
def test_bad_arguments_are_refused_naming_the_primitive(device, what):
    args, message = _bad(what)
    with pytest.raises(ValueError, match="rnn_forward: " + message):
        get_backend(device).rnn_forward(*args)
