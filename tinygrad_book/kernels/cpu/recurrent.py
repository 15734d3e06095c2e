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
* Backward accumulates d U per thread (a private (u, G*u) slab, summed at the end:
  no races, no atomics), and hands d gates_x back for the GEMMs outside (d x, d W).
* Inner loops run over a gate's units with unit stride (a_g[j] += h[k] U[k, g*u + j];
  dh[k] += da_g[j] U^T[g*u + j, k]), so LLVM vectorises them without reassociating sums.
"""
from __future__ import annotations

import numpy as np

from .. import gate_math
from ..gate_math import GRU, LSTM, SIMPLE_RNN
from .jit import get_num_threads, helper, kernel, prange, run

activate = helper()(gate_math.activate)
slope = helper()(gate_math.slope)
FAST = {"contract"}


@helper(fastmath=FAST)
def gate_products(x, h, m, U, a, g0, g1):
    """a[g*u:(g+1)*u] = x[...] + (h * m[g]) @ U[:, g*u:(g+1)*u] for the gates g0 <= g < g1."""
    u = h.shape[0]
    for g in range(g0, g1):
        ag, xg = a[g * u:(g + 1) * u], x[g * u:(g + 1) * u]
        for j in range(u):
            ag[j] = xg[j]
        for k in range(u):
            hk = h[k] * m[g, k]
            Uk = U[k, g * u:(g + 1) * u]
            for j in range(u):
                ag[j] += hk * Uk[j]


@helper(fastmath=FAST)
def back_product(da, UT, g, out):
    """out = da_g @ U_g^T (UT = U^T, (G*u, u)): the gradient of what multiplied U_g."""
    u = out.shape[0]
    for k in range(u):
        out[k] = 0.0
    for j in range(u):
        d = da[g * u + j]
        row = UT[g * u + j]
        for k in range(u):
            out[k] += d * row[k]


@helper(fastmath=FAST)
def add_masked(dh, v, mask):
    """dh += v * mask (the gradient through h * m)."""
    for k in range(dh.shape[0]):
        dh[k] += v[k] * mask[k]


@helper(fastmath=FAST)
def accumulate_outer(dU, rin, da, G):
    """dU[:, g*u:(g+1)*u] += outer(rin_g, da_g) for every gate (rin_g: what multiplied U_g)."""
    u = dU.shape[0]
    for g in range(G):
        for k in range(u):
            r = rin[g * u + k]
            row = dU[k, g * u:(g + 1) * u]
            dag = da[g * u:(g + 1) * u]
            for j in range(u):
                row[j] += r * dag[j]


@kernel(parallel=True, fastmath=FAST)
def rnn_forward(kind, gx, U, masks, act, rec, go_backwards, states, gates, cells):
    """gx (B, T, G*u), U (u, G*u), masks (G, B, u) -> states (B, T, u), gates (B, T, G*u) and,
    for an LSTM, cells (B, T, u), written in place (step order). Every row b is independent:
    one prange over rows, each running all T steps."""
    n, steps, width = gx.shape
    u = U.shape[0]
    for b in prange(n):
        h = np.zeros(u, gx.dtype)
        c = np.zeros(u, gx.dtype)
        hm = np.empty(u, gx.dtype)
        a = np.empty(width, gx.dtype)
        m = masks[:, b]
        for s in range(steps):
            x = gx[b, steps - 1 - s if go_backwards else s]
            out = gates[b, s]
            if kind == SIMPLE_RNN:
                gate_products(x, h, m, U, a, 0, 1)
                for j in range(u):
                    h[j] = activate(act, a[j])
                    out[j] = h[j]
            elif kind == LSTM:
                gate_products(x, h, m, U, a, 0, 4)
                for j in range(u):
                    i = activate(rec, a[j])
                    f = activate(rec, a[u + j])
                    g = activate(act, a[2 * u + j])
                    o = activate(rec, a[3 * u + j])
                    c[j] = f * c[j] + i * g
                    h[j] = o * activate(act, c[j])
                    out[j], out[u + j], out[2 * u + j], out[3 * u + j] = i, f, g, o
                cells[b, s] = c
            else:                                  # GRU: r acts before U_h, so two products
                gate_products(x, h, m, U, a, 0, 2)
                for j in range(u):
                    out[j] = activate(rec, a[j])
                    out[u + j] = activate(rec, a[u + j])
                    hm[j] = out[u + j] * h[j]       # r * h (gate_products applies m_h)
                gate_products(x, hm, m, U, a, 2, 3)
                for j in range(u):
                    hh = activate(act, a[2 * u + j])
                    out[2 * u + j] = hh
                    z = out[j]
                    h[j] = z * h[j] + (1.0 - z) * hh
            states[b, s] = h


@kernel(parallel=True, fastmath=FAST)
def rnn_backward(kind, d_states, UT, masks, states, gates, cells, act, rec, go_backwards, bounds, d_gx, dU_parts):
    """The mirror loop. UT = U^T (G*u, u). Rows bounds[c]..bounds[c+1] go to task c, which
    adds its share of d U into dU_parts[c]; d_gx (B, T, G*u) is written by input step."""
    n, steps, u = states.shape
    width = gates.shape[2]
    G = width // u
    for task in prange(bounds.shape[0] - 1):
        dU = dU_parts[task]
        da = np.empty(width, states.dtype)
        rin = np.empty(width, states.dtype)         # per gate, what multiplied U_g
        tmp = np.empty(u, states.dtype)
        dh = np.empty(u, states.dtype)
        dc = np.empty(u, states.dtype)
        dh_prev = np.empty(u, states.dtype)
        zero = np.zeros(u, states.dtype)
        for b in range(bounds[task], bounds[task + 1]):
            m = masks[:, b]
            dh[:] = 0.0
            dc[:] = 0.0
            for s in range(steps - 1, -1, -1):
                h_prev = states[b, s - 1] if s > 0 else zero
                y = gates[b, s]
                for j in range(u):
                    dh[j] += d_states[b, s, j]
                for j in range(u):
                    dh_prev[j] = 0.0
                if kind == SIMPLE_RNN:
                    for j in range(u):
                        da[j] = dh[j] * slope(act, y[j])
                        rin[j] = h_prev[j] * m[0, j]
                    back_product(da, UT, 0, tmp)
                    add_masked(dh_prev, tmp, m[0])
                elif kind == LSTM:
                    c_prev = cells[b, s - 1] if s > 0 else zero
                    for j in range(u):
                        i, f, g, o = y[j], y[u + j], y[2 * u + j], y[3 * u + j]
                        tc = activate(act, cells[b, s, j])
                        dcj = dc[j] + dh[j] * o * slope(act, tc)
                        da[j] = dcj * g * slope(rec, i)
                        da[u + j] = dcj * c_prev[j] * slope(rec, f)
                        da[2 * u + j] = dcj * i * slope(act, g)
                        da[3 * u + j] = dh[j] * tc * slope(rec, o)
                        dc[j] = dcj * f
                        for g_ in range(4):
                            rin[g_ * u + j] = h_prev[j] * m[g_, j]
                    for g_ in range(4):
                        back_product(da, UT, g_, tmp)
                        add_masked(dh_prev, tmp, m[g_])
                else:
                    for j in range(u):
                        z, hh = y[j], y[2 * u + j]
                        da[2 * u + j] = dh[j] * (1.0 - z) * slope(act, hh)
                    back_product(da, UT, 2, dc)             # dc (unused by a GRU) = d(r * h*m_h)
                    for j in range(u):
                        z, r, hh = y[j], y[u + j], y[2 * u + j]
                        da[j] = dh[j] * (h_prev[j] - hh) * slope(rec, z)
                        da[u + j] = dc[j] * h_prev[j] * m[2, j] * slope(rec, r)
                        rin[j] = h_prev[j] * m[0, j]
                        rin[u + j] = h_prev[j] * m[1, j]
                        rin[2 * u + j] = r * h_prev[j] * m[2, j]
                        dh_prev[j] = dh[j] * z + dc[j] * r * m[2, j]
                    for g_ in range(2):
                        back_product(da, UT, g_, tmp)
                        add_masked(dh_prev, tmp, m[g_])
                accumulate_outer(dU, rin, da, G)
                d_gx[b, steps - 1 - s if go_backwards else s] = da
                dh[:] = dh_prev



def _bounds(n):
    """Row ranges of the backward tasks: one per thread (each owns a d U slab)."""
    tasks = max(1, min(n, get_num_threads()))
    return np.linspace(0, n, tasks + 1).astype(np.int64)


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
    run(rnn_forward, n * steps * width * u, code, gx, U, masks, act, rec, bool(go_backwards), states, gates, cells)
    return states.reshape(-1), gates.reshape(-1), cells.reshape(-1) if code == LSTM else None


def backward(kind, d_states, U, masks, states, gates, cells, activations, go_backwards):
    """Contiguous arrays in (shapes as base.Backend.rnn_backward); (d_gates_x, d_U) flat out."""
    n, steps, u = states.shape
    width = gates.shape[2]
    code = gate_math.KIND_CODES[kind]
    masks = np.ones((width // u, n, u), states.dtype) if masks is None else masks
    cells = np.empty((1, 1, 1), states.dtype) if cells is None else cells
    bounds = _bounds(n)
    d_gx = np.empty(gates.shape, states.dtype)
    dU_parts = np.zeros((bounds.shape[0] - 1, u, width), states.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    run(rnn_backward, n * steps * width * u, code, d_states, np.ascontiguousarray(U.T), masks, states, gates, cells,
        act, rec, bool(go_backwards), bounds, d_gx, dU_parts)
    return d_gx.reshape(-1), dU_parts.sum(axis=0).reshape(-1)
