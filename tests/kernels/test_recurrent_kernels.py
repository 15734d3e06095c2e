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


def case(kind, dtype, n=5, steps=23, units=7, features=4, masks=True, seed=0):
    """x, W, U, b, input masks, state masks, d states."""
    r = np.random.default_rng(seed)
    g = RNN_GATES[kind]
    x = r.standard_normal((n, steps, features)).astype(dtype)
    W = (r.standard_normal((features, g * units)) * 0.5).astype(dtype)
    U = (r.standard_normal((units, g * units)) * 0.4).astype(dtype)
    b = r.standard_normal(g * units).astype(dtype)
    mx = ((r.random((g, n, features)) >= 0.3) / 0.7).astype(dtype) if masks in (True, "input") else None
    mh = ((r.random((g, n, units)) >= 0.3) / 0.7).astype(dtype) if masks in (True, "state") else None
    d = r.standard_normal((n, steps, units)).astype(dtype)
    return x, W, U, b, mx, mh, d


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
    next gate and in the buffer's spare tail; 13 samples: two whole row blocks and a part;
    11 features: [x_t, h] spans K = 30 columns, two panels of [W; U]^T in float32."""
    _check_against_reference(get_backend("cpu"), kind, ("tanh", "hard_sigmoid"), dtype, n=13, steps=6, units=19,
                             features=11)


@pytest.mark.parametrize("device", BACKENDS)
@pytest.mark.parametrize("masks", ["input", "state"])
@pytest.mark.parametrize("kind", list(RNN_GATES))
def test_one_kind_of_dropout_alone(kind, masks, device):
    """Input dropout without recurrent dropout and the reverse: the kernels then combine a
    given mask with ones (and no longer share one packed operand between the gates)."""
    _check_against_reference(get_backend(device), kind, ("tanh", "hard_sigmoid"), np.float64, masks=masks,
                             variants=((True, False, True),))


def _optional(a, f=lambda a: a):
    return None if a is None else f(a)


def _check_against_reference(be, kind, acts, dtype, masks=True, variants=None, **shape):
    """Every result of rnn_forward and every gradient of rnn_backward, every element, against
    the reference computed in float64; variants: (masks?, go_backwards, bias?) triples."""
    for with_masks, backwards, with_bias in variants or ((True, True, True), (False, False, False)):
        x, W, U, b, mx, mh, d = case(kind, dtype, masks=masks if with_masks else False, **shape)
        b = b if with_bias else None
        f64 = [_optional(a, lambda a: a.astype(np.float64)) for a in (x, W, U, b, mx, mh)]
        want = reference_recurrent.rnn_forward(kind, *f64, acts, backwards)
        got = be.rnn_forward(kind, *[_optional(a, view) for a in (x, W, U, b, mx, mh)], acts, backwards)
        for w, g_ in zip(want, got):
            assert (w is None) == (g_ is None)
            if w is not None:
                np.testing.assert_allclose(np.asarray(g_).reshape(w.shape), w, **_tolerance(dtype, w))
        states, gates, cells = want
        x64, W64, U64, _, mx64, mh64 = f64
        want_back = reference_recurrent.rnn_backward(kind, d.astype(np.float64), x64, W64, U64, mx64, mh64, states,
                                                     gates, cells, acts, backwards)
        cast = [_optional(a, lambda a: view(a.astype(dtype))) for a in (states, gates, cells)]
        for need_dx in (True, False):     # without d x, the rest must not change
            got_back = be.rnn_backward(kind, view(d), *[_optional(a, view) for a in (x, W, U, mx, mh)], *cast, acts,
                                       backwards, need_dx)
            assert len(got_back) == 4 and (got_back[0] is None) == (not need_dx)
            for w, g_ in list(zip(want_back, got_back))[0 if need_dx else 1:]:
                np.testing.assert_allclose(np.asarray(g_).reshape(w.shape), w, **_tolerance(dtype, w))


def _tolerance(dtype, want):
    """float32: an element that is a sum of large terms of both signs (a linear recurrence's
    d U grows to ~1e4) is off by float32's rounding of those terms, not of itself, so the
    absolute tolerance scales with the array's largest magnitude."""
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5 * max(1.0, float(np.abs(want).max())))
    return dict(rtol=1e-10, atol=1e-12)


def _bad(what):
    x, W, U, b, mx, mh, d = case("lstm", np.float64, n=2, steps=3, units=2, features=3)
    acts = ("tanh", "tanh")
    return {
        "kind": (("rnn", view(x), view(W), view(U), None, None, None, acts, False), "unknown op 'rnn'"),
        "activation": (("lstm", view(x), view(W), view(U), None, None, None, ("tanh", "softmax"), False),
                       "unknown op 'softmax'"),
        "width": (("gru", view(x), view(W), view(U), None, None, None, acts, False), "a gru of 2 units on x"),
        "kernel": (("lstm", view(x), view(W[:2]), view(U), None, None, None, acts, False),
                   r"a lstm of 2 units on x \(2, 3, 3\) needs kernel \(3, 8\)"),
        "input_masks": (("lstm", view(x), view(W), view(U), None, view(mx[:, :, :2]), None, acts, False),
                        "input_masks must be"),
        "state_masks": (("lstm", view(x), view(W), view(U), None, None, view(mh[:2]), acts, False),
                        "state_masks must be"),
        "bias": (("lstm", view(x), view(W), view(U), view(b[:6]), None, None, acts, False), r"bias must be \(8,\)"),
    }[what]


@pytest.mark.parametrize("device", BACKENDS)
@pytest.mark.parametrize("what", ["kind", "activation", "width", "kernel", "input_masks", "state_masks", "bias"])
def test_bad_arguments_are_refused_naming_the_primitive(device, what):
    args, message = _bad(what)
    with pytest.raises(ValueError, match="rnn_forward: " + message):
        get_backend(device).rnn_forward(*args)
