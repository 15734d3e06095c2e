"""The SIMD-friendly float32 exp, log and tanh (kernels/cpu/vecmath.py), measured in ulps
against the correctly rounded value (numpy's float64 function rounded to float32), over
dense samples of their whole range, and at the edges where the formulas switch. And the
dispatch: float32 takes the approximation, float64 stays numpy's function bit for bit
(the C library's, to the last bit: the gradient checks depend on it)."""
import numpy as np
import pytest
from numba import njit

from tinygrad_book.kernels.base import View
from tinygrad_book.kernels.cpu.vecmath import (EXP_HI, EXP_LO, TANH_ONE, TANH_TINY, exp32, log32, tanh32, vexp, vlog,
                                                vtanh)


def _mapped(fn):
    """A compiled loop out[i] = fn(x[i]) (fn is compiled into it, as in a kernel)."""
    @njit
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return loop


def _libm_exp(x):
    return np.exp(x)          # what numba compiles np.exp to: the C library's exp


def _libm_log(x):
    return np.log(x)


def _libm_tanh(x):
    return np.tanh(x)


_map_exp32, _map_log32, _map_tanh32 = (_mapped(f) for f in (exp32, log32, tanh32))
_map_vexp, _map_vlog, _map_vtanh = (_mapped(f) for f in (vexp, vlog, vtanh))
_map_libm_exp, _map_libm_log, _map_libm_tanh = (_mapped(njit(f)) for f in (_libm_exp, _libm_log, _libm_tanh))


def apply(fn, x):
    out = np.empty_like(x)
    fn(x, out)
    return out


def ulps(got, want):
    """Distance in units in the last place between float32 arrays of one sign pattern
    (their bit patterns are ordered like the values within one sign)."""
    return np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))


def rounded(f, x):
    """f(x) correctly rounded to float32 (float64 is 29 bits more precise)."""
    with np.errstate(over="ignore", under="ignore"):
        return f(x.astype(np.float64)).astype(np.float32)


def dense(low, high, n, seed):
    return np.random.default_rng(seed).uniform(low, high, n).astype(np.float32)


# --- exp32 ----------------------------------------------------------------------------

def test_exp32_is_within_one_ulp_over_its_whole_range():
    x = np.concatenate([dense(EXP_LO, EXP_HI, 1_000_000, 1), dense(-1, 1, 200_000, 2),
                        dense(-104, -87, 100_000, 3)])            # the subnormal results too
    got, want = apply(_map_exp32, x), rounded(np.exp, x)
    assert ulps(got, want).max() <= 1
    assert (got[x < -87.4] < np.finfo(np.float32).tiny).any()     # subnormals were produced


def test_exp32_at_its_edges_and_special_values():
    x = np.float32([0.0, -0.0, 1.0, -1.0, 1e-30, EXP_HI, np.nextafter(EXP_HI, np.float32(0)),
                    -87.33654, -103.9, EXP_LO, np.nextafter(EXP_HI, np.float32(np.inf)),
                    np.nextafter(EXP_LO, np.float32(-np.inf)), 200.0, -200.0, np.inf, -np.inf])
    got, want = apply(_map_exp32, x), rounded(np.exp, x)
    assert ulps(got, want).max() <= 1, (got, want)
    assert np.isfinite(got[5]) and got[5] > 3.4e38                # the largest finite exp
    assert got[10] == np.inf and got[12] == np.inf and got[14] == np.inf
    assert got[11] == 0 and got[13] == 0 and got[15] == 0
    assert np.isnan(apply(_map_exp32, np.float32([np.nan, -np.nan]))).all()


# --- log32 ----------------------------------------------------------------------------

def test_log32_is_within_one_ulp_over_all_positive_floats():
    r = np.random.default_rng(8)
    x = np.concatenate([np.exp(r.uniform(-87, 88.7, 1_000_000)).astype(np.float32),     # every binade
                        dense(0.5, 2.0, 200_000, 9),                                      # around log = 0
                        (r.integers(1, 1 << 23, 100_000) * np.float32(2.0 ** -149)).astype(np.float32)])
    assert (x < np.finfo(np.float32).tiny).sum() >= 100_000                              # subnormal inputs
    got, want = apply(_map_log32, x), rounded(np.log, x)
    assert ulps(got, want).max() <= 1


def test_log32_at_the_edges_and_special_values():
    x = np.float32([1.0, 2.0, 0.5, np.nextafter(np.float32(1), np.float32(0)), np.nextafter(np.float32(1), np.float32(2)),
                    2.0 ** -149, np.finfo(np.float32).tiny, np.finfo(np.float32).max, 0.7071067, 0.7071068])
    got, want = apply(_map_log32, x), rounded(np.log, x)
    assert ulps(got, want).max() <= 1, (got, want)
    assert got[0] == 0
    special = apply(_map_log32, np.float32([0.0, -0.0, np.inf, -1.0, -np.inf, np.nan, -1e-45]))
    assert special[0] == -np.inf and special[1] == -np.inf and special[2] == np.inf
    assert np.isnan(special[3:]).all()


# --- tanh32 ---------------------------------------------------------------------------

def test_tanh32_is_within_five_ulps_and_exact_where_tanh_is_x_or_one():
    x = np.concatenate([dense(-12, 12, 1_000_000, 4), dense(-2e-3, 2e-3, 200_000, 5)])
    got, want = apply(_map_tanh32, x), rounded(np.tanh, x)
    assert ulps(got, want).max() <= 5
    exact = (np.abs(x) < TANH_TINY) | (np.abs(x) > TANH_ONE)
    assert exact.sum() > 200_000
    np.testing.assert_array_equal(got[exact], want[exact])


def test_tanh32_special_values():
    x = np.float32([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 1e-30])
    got = apply(_map_tanh32, x)
    np.testing.assert_array_equal(got, x[[0, 1, 2, 3, 4, 5, 6]].clip(-1, 1))
    assert np.signbit(got[1]) and not np.signbit(got[0])
    assert np.isnan(apply(_map_tanh32, np.float32([np.nan]))).all()


# --- the dispatch ---------------------------------------------------------------------

@pytest.mark.parametrize("vfn, fn32, libm, low", [(_map_vexp, _map_exp32, _map_libm_exp, -20),
                                                  (_map_vlog, _map_log32, _map_libm_log, 0),
                                                  (_map_vtanh, _map_tanh32, _map_libm_tanh, -20)])
def test_float32_takes_the_approximation_and_float64_stays_the_c_librarys(vfn, fn32, libm, low):
    x = dense(low, 20, 10_000, 6)
    got = apply(vfn, x)
    np.testing.assert_array_equal(got, apply(fn32, x))
    assert (got != apply(libm, x)).any()                   # the two float32 answers differ somewhere
    x64 = x.astype(np.float64) * 1.0000001
    np.testing.assert_array_equal(apply(vfn, x64), apply(libm, x64))


@pytest.mark.parametrize("op, npfn", [("exp", np.exp), ("tanh", np.tanh), ("log", lambda v: np.log(np.abs(v))),
                                      ("sigmoid", lambda v: 1 / (1 + np.exp(-v)))])
def test_the_backends_float32_unary_ops_use_them(cpu, op, npfn):
    """The element-wise kernels in float32: within a few ulps of the exact function over a
    range where libm and the approximations differ (a wrong dispatch or a scalar slip in
    the kernel shows here); float64 as numpy's within an ulp or two (both are exact
    functions, computed by different libraries)."""
    x = dense(-30, 30, 100_003, 7)
    if op == "log":
        x = np.abs(x)
    got = cpu.unary(op, View(x, x.shape, (1,), 0))
    assert got.dtype == np.float32
    assert ulps(got, rounded(npfn, x)).max() <= 8
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(cpu.unary(op, View(x64, x64.shape, (1,), 0)), npfn(x64), rtol=1e-15, atol=1e-300)
