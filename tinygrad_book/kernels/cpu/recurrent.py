"""Fused recurrent sequences (SimpleRNN, LSTM, GRU): the whole time loop in compiled code.

Contract: base.Backend.rnn_forward / rnn_backward; the equations, readable, are in
kernels/reference_recurrent.py. What this file demonstrates:

* No Python per step. Built from Tensor ops, one LSTM step is ~17 kernel launches and
  graph nodes (~3 ms at batch 128 on the 2-core machine); here one call runs all steps.
* Parallel over the batch, not over a step. The samples of a batch never interact in a
  recurrence, so each thread takes whole rows and runs them through every step on its
  own: no barrier per step (a per-step parallel matmul would wait for the slowest thread
  500 times per sequence). A row's step is a vector-matrix product h U (u x G*u: U stays
  in L1) and the gate arithmetic on a G*u vector.
* Backward writes, per step, d gates_x and what multiplied each U_g (rin); d U is then
  one GEMM over all B*T rows (CpuBackend.rnn_backward), and d x, d W are GEMMs outside
  (MatMul's backward). A rank-1 update of d U per row and step was load/store bound.
* Inner loops run over a gate's units with unit stride (a_g[j] += h[k] U[k, g*u + j];
  dh[k] += da_g[j] U^T[g*u + j, k]), so LLVM vectorises them without reassociating sums.
"""
from __future__ import annotations

import numpy as np

from .. import gate_math
from ..gate_math import GRU, LSTM, SIMPLE_RNN
from .jit import helper, kernel, prange, run

FAST = {"contract"}


@helper(fastmath=FAST)
def tanh32(x):
    """tanh for float32 in a few multiply-adds and one divide (Eigen's rational 13/6
    approximation, within 3.5e-7 relative of tanh): no library call and no branch, so a
    loop of them runs as SIMD. libm's tanh is a call per element, and it was ~2/3 of the
    LSTM forward's time. float64 keeps math.tanh (the gradient checks need it exact)."""
    x = min(max(x, np.float32(-7.9053111076)), np.float32(7.9053111076))
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@helper(fastmath=FAST)
def activate_all(code, v, fast):
    """v[:] = f(v) for the activation `code`, the switch outside the loops (so each loop is
    straight arithmetic that LLVM vectorises); fast: float32, tanh by tanh32."""
    if code == gate_math.TANH:
        if fast:
            for j in range(v.shape[0]):
                v[j] = tanh32(v[j])
        else:
            for j in range(v.shape[0]):
                v[j] = np.tanh(v[j])
    elif code == gate_math.SIGMOID:                 # 0.5 + 0.5 tanh(x / 2) = 1 / (1 + e^-x)
        if fast:
            for j in range(v.shape[0]):
                v[j] = np.float32(0.5) + np.float32(0.5) * tanh32(np.float32(0.5) * v[j])
        else:
            for j in range(v.shape[0]):
                v[j] = 0.5 + 0.5 * np.tanh(0.5 * v[j])
    elif code == gate_math.HARD_SIGMOID:            # constants in v's type: float32 stays float32
        lo, hi, half, fifth = v.dtype.type(0.0), v.dtype.type(1.0), v.dtype.type(0.5), v.dtype.type(0.2)
        for j in range(v.shape[0]):
            v[j] = min(max(fifth * v[j] + half, lo), hi)
    elif code == gate_math.RELU:
        for j in range(v.shape[0]):
            v[j] = max(v[j], v.dtype.type(0.0))


@helper(fastmath=FAST)
def slope_all(code, y, out):
    """out[:] = f'(x) written with y = f(x) (gate_math.slope), the switch outside the loops."""
    if code == gate_math.TANH:
        for j in range(y.shape[0]):
            out[j] = 1.0 - y[j] * y[j]
    elif code == gate_math.SIGMOID:
        for j in range(y.shape[0]):
            out[j] = y[j] * (1.0 - y[j])
    elif code == gate_math.HARD_SIGMOID:            # 0.2 inside (0, 1): a select, no branch
        fifth = y.dtype.type(0.2)
        for j in range(y.shape[0]):
            out[j] = fifth * ((y[j] > 0.0) & (y[j] < 1.0))
    elif code == gate_math.RELU:
        for j in range(y.shape[0]):
            out[j] = y[j] > 0.0
    else:
        for j in range(y.shape[0]):
            out[j] = 1.0


@helper(fastmath=FAST)
def gate_products(x, h, m, U, a, g0, g1):
    """a[g*u:(g+1)*u] = x[...] + (h * m[g]) @ U[:, g*u:(g+1)*u] for the gates g0 <= g < g1."""
    u = h.shape[0]
    for g in range(g0, g1):
        base = g * u
        for j in range(u):
            a[base + j] = x[base + j]
        for k in range(u):
            hk = h[k] * m[g, k]
            for j in range(u):
                a[base + j] += hk * U[k, base + j]


@helper(fastmath=FAST)
def back_product(da, UT, g, out):
    """out = da_g @ U_g^T (UT = U^T, (G*u, u)): the gradient of what multiplied U_g."""
    u = out.shape[0]
    for k in range(u):
        out[k] = 0.0
    for j in range(u):
        d = da[g * u + j]
        for k in range(u):
            out[k] += d * UT[g * u + j, k]


@helper(fastmath=FAST)
def add_masked(dh, v, mask):
    """dh += v * mask (the gradient through h * m)."""
    for k in range(dh.shape[0]):
        dh[k] += v[k] * mask[k]


@kernel(parallel=True, fastmath=FAST)
def rnn_forward(kind, gx, U, masks, act, rec, go_backwards, fast, states, gates, cells):
    """gx (B, T, G*u), U (u, G*u), masks (G, B, u) -> states (B, T, u), gates (B, T, G*u) and,
    for an LSTM, cells (B, T, u), written in place (step order). Every row b is independent:
    one prange over rows, each running all T steps. fast: float32 (tanh by tanh32)."""
    n, steps, width = gx.shape
    u = U.shape[0]
    for b in prange(n):
        h = np.zeros(u, gx.dtype)
        c = np.zeros(u, gx.dtype)
        tc = np.empty(u, gx.dtype)
        a = np.empty(width, gx.dtype)
        m = masks[:, b]
        for s in range(steps):
            x = gx[b, steps - 1 - s if go_backwards else s]
            if kind == SIMPLE_RNN:
                gate_products(x, h, m, U, a, 0, 1)
                activate_all(act, a, fast)
                h[:] = a
            elif kind == LSTM:
                gate_products(x, h, m, U, a, 0, 4)
                activate_all(rec, a[:2 * u], fast)                 # i, f
                activate_all(act, a[2 * u:3 * u], fast)            # g
                activate_all(rec, a[3 * u:], fast)                 # o
                for j in range(u):
                    c[j] = a[u + j] * c[j] + a[j] * a[2 * u + j]
                    tc[j] = c[j]
                activate_all(act, tc, fast)
                for j in range(u):
                    h[j] = a[3 * u + j] * tc[j]
                cells[b, s] = c
            else:                                  # GRU: r acts before U_h, so two products
                gate_products(x, h, m, U, a, 0, 2)
                activate_all(rec, a[:2 * u], fast)                 # z, r
                for j in range(u):
                    tc[j] = a[u + j] * h[j]                        # r * h (gate_products applies m_h)
                gate_products(x, tc, m, U, a, 2, 3)
                activate_all(act, a[2 * u:], fast)                 # hh
                for j in range(u):
                    h[j] = a[j] * h[j] + (1.0 - a[j]) * a[2 * u + j]
            gates[b, s] = a
            states[b, s] = h


@kernel(parallel=True, fastmath=FAST)
def rnn_backward(kind, d_states, UT, masks, states, gates, cells, act, rec, go_backwards, fast, d_gx, rin_all):
    """The mirror loop. UT = U^T (G*u, u). Writes, by input step t, d_gx (B, T, G*u) and
    rin_all (B, T, G*u): per gate, what multiplied U_g at that step, for d U's GEMMs."""
    n, steps, u = states.shape
    width = gates.shape[2]
    for b in prange(n):
        sy = np.empty(width, states.dtype)          # the gates' slopes
        tmp = np.empty(u, states.dtype)
        tc = np.empty(u, states.dtype)
        sc = np.empty(u, states.dtype)
        dh = np.empty(u, states.dtype)
        dc = np.empty(u, states.dtype)
        dh_prev = np.empty(u, states.dtype)
        zero = np.zeros(u, states.dtype)
        m = masks[:, b]
        dh[:] = 0.0
        dc[:] = 0.0
        for s in range(steps - 1, -1, -1):
            h_prev = states[b, s - 1] if s > 0 else zero
            y = gates[b, s]
            t = steps - 1 - s if go_backwards else s
            da = d_gx[b, t]
            rin = rin_all[b, t]
            for j in range(u):
                dh[j] += d_states[b, s, j]
                dh_prev[j] = 0.0
            if kind == SIMPLE_RNN:
                slope_all(act, y, sy)
                for j in range(u):
                    da[j] = dh[j] * sy[j]
                    rin[j] = h_prev[j] * m[0, j]
                back_product(da, UT, 0, tmp)
                add_masked(dh_prev, tmp, m[0])
            elif kind == LSTM:
                c_prev = cells[b, s - 1] if s > 0 else zero
                tc[:] = cells[b, s]
                activate_all(act, tc, fast)
                slope_all(act, tc, sc)
                slope_all(rec, y[:2 * u], sy[:2 * u])
                slope_all(act, y[2 * u:3 * u], sy[2 * u:3 * u])
                slope_all(rec, y[3 * u:], sy[3 * u:])
                for j in range(u):
                    dcj = dc[j] + dh[j] * y[3 * u + j] * sc[j]
                    da[j] = dcj * y[2 * u + j] * sy[j]
                    da[u + j] = dcj * c_prev[j] * sy[u + j]
                    da[2 * u + j] = dcj * y[j] * sy[2 * u + j]
                    da[3 * u + j] = dh[j] * tc[j] * sy[3 * u + j]
                    dc[j] = dcj * y[u + j]
                for g in range(4):
                    for j in range(u):
                        rin[g * u + j] = h_prev[j] * m[g, j]
                    back_product(da, UT, g, tmp)
                    add_masked(dh_prev, tmp, m[g])
            else:
                slope_all(rec, y[:2 * u], sy[:2 * u])
                slope_all(act, y[2 * u:], sy[2 * u:])
                for j in range(u):
                    da[2 * u + j] = dh[j] * (1.0 - y[j]) * sy[2 * u + j]
                back_product(da, UT, 2, tc)             # tc = d(r * h*m_h)
                for j in range(u):
                    z, r, hh = y[j], y[u + j], y[2 * u + j]
                    da[j] = dh[j] * (h_prev[j] - hh) * sy[j]
                    da[u + j] = tc[j] * h_prev[j] * m[2, j] * sy[u + j]
                    rin[j] = h_prev[j] * m[0, j]
                    rin[u + j] = h_prev[j] * m[1, j]
                    rin[2 * u + j] = r * h_prev[j] * m[2, j]
                    dh_prev[j] = dh[j] * z + tc[j] * r * m[2, j]
                for g in range(2):
                    back_product(da, UT, g, tmp)
                    add_masked(dh_prev, tmp, m[g])
            dh[:] = dh_prev


def forward(kind, gx, U, masks, activations, go_backwards):
    """gx (B, T, G*u) and U (u, G*u) contiguous arrays, masks (G, B, u) or None ->
    (states, gates, cells) flat storages (cells None unless lstm)."""
    n, steps, width = gx.shape
    u = U.shape[0]
    code = gate_math.KIND_CODES[kind]
    masks = np.ones((width // u, n, u), gx.dtype) if masks is None else masks
    states = np.empty((n, steps, u), gx.dtype)
    gates = np.empty((n, steps, width), gx.dtype)
    cells = np.empty((n, steps, u) if code == LSTM else (1, 1, 1), gx.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    run(rnn_forward, n * steps * width * u, code, gx, U, masks, act, rec, bool(go_backwards), gx.dtype == np.float32,
        states, gates, cells)
    return states.reshape(-1), gates.reshape(-1), cells.reshape(-1) if code == LSTM else None


def backward(kind, d_states, U, masks, states, gates, cells, activations, go_backwards):
    """Contiguous arrays in (shapes as base.Backend.rnn_backward); returns d_gates_x (B, T, G*u)
    and rin (B, T, G*u), what multiplied each U_g at each step: d U_g = rin_g^T @ d_gates_x_g
    summed over all samples and steps is one GEMM per gate (or one in all, when every gate
    saw the same h: `shared_recurrent_input`), which the caller runs."""
    n, steps, u = states.shape
    width = gates.shape[2]
    code = gate_math.KIND_CODES[kind]
    masks = np.ones((width // u, n, u), states.dtype) if masks is None else masks
    cells = np.empty((1, 1, 1), states.dtype) if cells is None else cells
    d_gx = np.empty(gates.shape, states.dtype)
    rin = np.empty(gates.shape, states.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    run(rnn_backward, n * steps * width * u, code, d_states, np.ascontiguousarray(U.T), masks, states, gates, cells,
        act, rec, bool(go_backwards), states.dtype == np.float32, d_gx, rin)
    return d_gx, rin


def shared_recurrent_input(kind, masks) -> bool:
    """True when every gate multiplies the same h_{t-1} (no recurrent dropout, not the GRU,
    whose h gate sees r * h): then d U = h^T @ d gates_x is one GEMM over all gates."""
    return masks is None and kind != "gru"
