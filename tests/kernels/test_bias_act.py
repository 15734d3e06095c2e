"""The fused bias + activation primitives (cpu vs the numpy reference), and the ops
built on them (Dense / Conv2D layers take the fused path and agree with the unfused one)."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import FUSED_ACTIVATIONS, View, contiguous_strides

from test_cpu_kernels import DTYPES, close, make_view

# (rows, C): one row; a partial last task; several parallel tasks (above the serial cut-off)
SHAPES = [(1, 1), (7, 13), (300, 100), (700, 64)]


def _storage_view(storage, shape):
    return View(storage, tuple(shape), contiguous_strides(shape), 0)


@pytest.mark.parametrize("act", FUSED_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", ["contiguous", "sliced", "permuted"])
def test_bias_act_forward_and_backward_match_the_reference(cpu, ref, act, dtype, shape, layout):
    rng = np.random.default_rng(12)
    z = make_view(rng, shape, dtype, layout, -3, 3)
    bias = make_view(rng, shape[1:], dtype, "sliced")
    y = cpu.bias_act(act, z, bias)
    want_y = ref.bias_act(act, z, bias)
    assert y.dtype == dtype and y.shape == (z.size,)
    close(y, want_y, dtype)
    g = make_view(rng, shape, dtype, layout)
    dz, db = cpu.bias_act_backward(act, _storage_view(want_y, shape), g)
    want_dz, want_db = ref.bias_act_backward(act, _storage_view(want_y, shape), g)
    assert dz.dtype == dtype and db.dtype == dtype and db.shape == (shape[1],)
    close(dz, want_dz, dtype)
    close(db, want_db, dtype, scale=shape[0])


@pytest.mark.parametrize("act", FUSED_ACTIVATIONS)
def test_bias_act_without_bias(cpu, ref, act):
    z = make_view(np.random.default_rng(3), (9, 5), np.float64, "contiguous")
    np.testing.assert_allclose(cpu.bias_act(act, z, None), ref.bias_act(act, z, None), rtol=1e-14)


def test_relu_slope_is_zero_at_zero_and_nan_stays_nan(cpu, ref):
    z = View(np.array([-1.0, 0.0, 2.0, np.nan]), (2, 2), (2, 1), 0)
    y = cpu.bias_act("relu", z, None)
    np.testing.assert_array_equal(y, [0.0, 0.0, 2.0, np.nan])
    dz, db = cpu.bias_act_backward("relu", _storage_view(y, (2, 2)), View(np.ones(4), (2, 2), (2, 1), 0))
    np.testing.assert_array_equal(dz, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(db, [1.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_in_the_bias_loop_keeps_nan_and_writes_positive_zero(cpu, dtype):
    """Rows long enough for the SIMD loop, with NaN, infinities and signed zeros among
    them: ReLU is a select before the store (bias_act's docstring), exact everywhere."""
    rng = np.random.default_rng(5)
    z = rng.standard_normal((300, 32)).astype(dtype)
    z.flat[rng.choice(z.size, 60, replace=False)] = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0] * 12, dtype)
    bias = np.zeros(32, dtype)
    bias[3] = -0.0
    y = cpu.bias_act("relu", _storage_view(z.reshape(-1), z.shape), _storage_view(bias, (32,)))
    s = z + bias
    want = np.where((s > 0) | np.isnan(s), s, dtype(0)).reshape(-1)
    np.testing.assert_array_equal(y, want)
    assert not np.signbit(y[y == 0]).any()


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_bad_arguments_name_the_primitive(backend):
    from tinygrad_book.kernels import get_backend
    be = get_backend(backend)
    z = View(np.zeros(6), (2, 3), (3, 1), 0)
    with pytest.raises(ValueError, match="bias_act: unknown op 'softmax'"):
        be.bias_act("softmax", z, None)
    with pytest.raises(ValueError, match=r"bias_act: bias must have shape \(3,\)"):
        be.bias_act("relu", z, View(np.zeros(2), (2,), (1,), 0))
    with pytest.raises(ValueError, match="bias_act_backward: shapes differ"):
        be.bias_act_backward("relu", z, View(np.zeros(6), (3, 2), (2, 1), 0))
