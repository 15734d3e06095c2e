"""exp, log and tanh for float32, written so that a loop of them runs as SIMD.

numba turns `np.exp(x)` into a call to the C library's `expf`, one element per call: a
loop that calls a function cannot be vectorised (numba would need Intel's SVML, which it
does not have here): `Tensor.tanh` over 1M float32 took 16-18 ms, numpy's 0.4. The
functions below are a few multiply-adds, compares and integer operations with no call
and no branch, so LLVM vectorises a loop of them like an add (tanh over 1M: 0.27 ms; a
4096 x 1000 softmax on one thread, with its own loops split too: 24 -> 5.6 ms).

* `exp32(x)`: Cody and Waite's range reduction, then a polynomial (the classic one of
  Cephes' `expf`). Write x = k ln 2 + r with k = round(x / ln 2), so |r| <= ln 2 / 2 and
  exp(x) = 2^k exp(r). exp(r) is 1 + r + r^2 p(r), p of degree 5. 2^k is built from its
  bits: a float32 whose exponent field holds k + 127 and whose mantissa is 0 *is* 2^k
  (`float32_from_bits`). ln 2 is split in two (LN2_HI in 9 bits, LN2_LO the rest) so
  that x - k LN2_HI loses nothing. Measured against the correctly rounded value over 4M
  points of the whole finite range: at most 1 ulp off (numpy's float32 exp: 2).
* `log32(x)`: the reverse walk. Read x's bits as m 2^e (m the mantissa, in [1/2, 1),
  moved to [sqrt(1/2), sqrt(2)) so that f = m - 1 is small; a subnormal x is first
  scaled by 2^23); log x = e ln 2 + log(1 + f), and log(1 + f) = f - f^2/2 + f^3 p(f), p
  of degree 8 (Cephes' `logf`). Within 1 ulp over the whole positive range, subnormals
  included (numpy's float32 log: 3).
* `tanh32(x)`: a rational function (Eigen's 13/6 approximation), within 3.5e-7 relative.

float64 keeps the C library's exp, log and tanh (what `np.exp` compiles to in numba): the
gradient checks compare float64 results to central differences and need them exact to
the last bits. `vexp`, `vlog` and `vtanh` choose by type when numba compiles the caller,
so one kernel source serves both dtypes.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic, overload

from .jit import helper

FAST = {"contract"}      # let LLVM fuse a * b + c into one FMA; nothing else is reordered

# exp32's constants, float32 like its argument (a float64 constant would make the sum float64)
EXP_HI = np.float32(88.72283)          # exp(x) overflows float32 above this
EXP_LO = np.float32(-103.97208)        # ... and is 0 below this (2^-150, half the smallest subnormal)
LOG2E = np.float32(1.4426950408889634)
LN2_HI = np.float32(0.693359375)       # ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits,
LN2_LO = np.float32(-2.12194440e-4)    # so k * LN2_HI is exact for any |k| < 2^15
EXP_POLY = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                         4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
ONE, HALF, ZERO, INF = np.float32(1.0), np.float32(0.5), np.float32(0.0), np.float32(np.inf)
EXPONENT_BIAS, MANTISSA_BITS = np.int32(127), np.int32(23)
TANH_TINY, TANH_ONE = np.float32(2.0 ** -12), np.float32(9.02)   # tanh(x) rounds to x below, to 1 above
# log32's: Cephes' logf polynomial, highest power first
LOG_POLY = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                                         1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                                         3.3333331174e-1))
SQRT_HALF = np.float32(0.7071067811865476)
SMALLEST_NORMAL, TWO_POW_23 = np.float32(1.1754943508222875e-38), np.float32(2.0 ** 23)
MANTISSA_MASK, HALF_EXPONENT = np.int32(0x007FFFFF), np.int32(0x3F000000)   # 0x3F000000: the bits of 0.5


@intrinsic
def float32_from_bits(typingctx, bits):
    """The float32 whose 32 bits are the int32 `bits` (C's `*(float *)&bits`): one LLVM
    `bitcast`, which costs nothing and vectorises."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


@intrinsic
def bits_of_float32(typingctx, x):
    """The 32 bits of the float32 x as an int32 (C's `*(int *)&x`): the reverse bitcast."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return sig, codegen


def float32_from_bits_py(bits):
    """float32_from_bits' contract in plain Python (runs under NUMBA_DISABLE_JIT=1)."""
    return np.int32(bits).view(np.float32)


def bits_of_float32_py(x):
    """bits_of_float32's contract in plain Python."""
    return np.float32(x).view(np.int32)


if config.DISABLE_JIT:
    float32_from_bits, bits_of_float32 = float32_from_bits_py, bits_of_float32_py   # noqa: F811


@helper()
def power_of_two32(k):
    """2^k as a float32 for an int32 k in [-126, 127]: the exponent field k + 127, mantissa 0."""
    return float32_from_bits((k + EXPONENT_BIAS) << MANTISSA_BITS)


@helper(fastmath=FAST)
def exp32(x):
    """exp(x) for a float32 x, within 1 ulp of the correctly rounded value; 0 below
    EXP_LO, inf above EXP_HI, NaN for NaN. No call and no branch (the ifs become selects)."""
    xc = x if x >= EXP_LO else EXP_LO       # NaN fails both tests: xc = EXP_LO, so the
    xc = xc if xc <= EXP_HI else EXP_HI     # arithmetic below never sees NaN or inf
    k = np.floor(xc * LOG2E + HALF)         # x = k ln 2 + r, |r| <= ln 2 / 2
    r = xc - k * LN2_HI
    r = r - k * LN2_LO
    p = EXP_POLY[0]
    p = p * r + EXP_POLY[1]
    p = p * r + EXP_POLY[2]
    p = p * r + EXP_POLY[3]
    p = p * r + EXP_POLY[4]
    p = p * r + EXP_POLY[5]
    y = p * (r * r) + r + ONE               # exp(r)
    # times 2^k in two halves: k runs from -150 to 128, and 2^k alone is a float32 only
    # for -126 <= k <= 127; each half is, and the second product rounds to a subnormal
    # exactly as exp would
    ki = np.int32(k)
    half_k = ki >> np.int32(1)
    y = y * power_of_two32(half_k) * power_of_two32(ki - half_k)
    if x < EXP_LO:
        y = ZERO
    elif x > EXP_HI:
        y = INF
    elif x != x:
        y = x
    return y


@helper(fastmath=FAST)
def log32(x):
    """log(x) for a float32 x, within 1 ulp of the correctly rounded value, subnormal x
    included; -inf at +-0, inf at inf, NaN below 0 and for NaN. No call, no branch."""
    subnormal = x < SMALLEST_NORMAL
    xs = x * TWO_POW_23 if subnormal else x          # now a normal number (when x > 0)
    xs = xs if (xs > 0 and xs < INF) else ONE        # 0, < 0, inf, NaN: computed on 1, set below
    bits = bits_of_float32(xs)
    e = ((bits >> MANTISSA_BITS) & np.int32(0xFF)) - np.int32(126)    # xs = m 2^e, m in [1/2, 1)
    m = float32_from_bits((bits & MANTISSA_MASK) | HALF_EXPONENT)
    if m < SQRT_HALF:                                # m in [sqrt(1/2), sqrt(2)): f = m - 1 is small
        e = e - np.int32(1)
        m = m + m
    f = m - ONE
    ef = np.float32(e) - (np.float32(23.0) if subnormal else ZERO)
    z = f * f
    p = LOG_POLY[0]
    for c in LOG_POLY[1:]:
        p = p * f + c
    y = f * z * p + ef * LN2_LO - HALF * z           # log(1 + f) - f, plus e ln 2's small part
    y = f + y + ef * LN2_HI
    if x == INF:
        y = x
    elif x == 0:
        y = -INF
    elif not x > 0:                                  # negative, or NaN
        y = np.float32(np.nan)
    return y


@helper(fastmath=FAST)
def tanh32(x):
    """tanh for float32 in a few multiply-adds and one divide (Eigen's rational 13/6
    approximation, within 3.5e-7 relative of tanh, as TensorFlow's CPU kernels use): no
    library call and no branch, so a loop of them runs as SIMD. libm's tanh is a call per
    element (it was ~2/3 of the LSTM forward's time; `Tensor.tanh` over 1M floats took
    18 ms, 0.27 ms now). Over 5M points of [-12, 12]: at most 5 ulp from the correctly
    rounded value (2.9e-7 relative). Beyond |x| = 9.02 tanh rounds to 1 in float32, below
    2^-12 it is x to the last bit (x^3/3 is under half an ulp of x): both are returned
    exactly, and so are NaN and +-0."""
    c = min(max(x, np.float32(-7.9053111076)), np.float32(7.9053111076))
    x2 = c * c
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    y = c * p / q
    if np.abs(x) < TANH_TINY:
        y = x
    elif x >= TANH_ONE:
        y = ONE
    elif x <= -TANH_ONE:
        y = -ONE
    return y


def _float32_or_libm(generic, fast32, libm):
    """Give numba an implementation of `generic` (a plain-Python function): `fast32` when
    the argument is a float32, `libm` (numpy's function, a C-library call) otherwise. The
    choice is made by type, when numba compiles the caller."""
    @overload(generic, jit_options=dict(fastmath=FAST))
    def _implementation(x):
        if x == types.float32:
            return lambda x: fast32(x)
        return lambda x: libm(x)
    return generic


def vexp(x):
    """exp(x): exp32 for a float32 x, the C library's exp for anything else (chosen when
    numba compiles the caller; this body is what runs under NUMBA_DISABLE_JIT=1)."""
    return np.exp(x)


def vlog(x):
    """log(x): log32 for a float32 x, the C library's log for anything else (as vexp)."""
    return np.log(x)


def vtanh(x):
    """tanh(x): tanh32 for a float32 x, the C library's tanh for anything else (as vexp)."""
    return np.tanh(x)


_float32_or_libm(vexp, exp32, np.exp)
_float32_or_libm(vlog, log32, np.log)
_float32_or_libm(vtanh, tanh32, np.tanh)
