"""Fused recurrent sequences (SimpleRNN, LSTM, GRU): the whole time loop in compiled code.

Contract: base.Backend.rnn_forward / rnn_backward; the equations, readable, are in
kernels/reference_recurrent.py. What this file demonstrates:

* No Python per step. Built from Tensor ops, one LSTM step is ~17 kernel launches and
  graph nodes (~3 ms at batch 128 on the 2-core machine); here one call runs all steps.
* Parallel over the batch, not over a step. The samples of a batch never interact in a
  recurrence, so each task takes a block of MR rows (samples) and runs them through every
  step on its own: no barrier per step (a per-step parallel loop would wait for the
  slowest thread 500 times per sequence).
* The input projection is inside the loop. A block's step is one small GEMM,
  [h m_h, x_t m_x] (MR x (u+F)) @ [U; W] ((u+F) x G*u), run by the GEMM's own register-
  blocked micro-kernel (matmul.outer_block: MR x NR accumulators in vector registers).
  [U; W] is packed once per call into NR-column panels per gate (`column_panels`); the
  block's h and x_t are packed side by side, k-major, per step (384 numbers for the IMDB
  LSTM, F = u = 32, on AVX2). h comes first so that, backward, the column panels that
  hold only d x_t can be skipped when x needs no gradient (a network's input). Before, x W was one big GEMM over all steps (K = F = 32:
  ~20 GFLOP/s) writing a (B, T, G*u) array (33 MB for the IMDB LSTM) that the loop read
  back, and backward needed two more GEMMs over d gates_x.
* Backward mirrors it with the same micro-kernel: d[h_{s-1}, x_t] = sum_g (da_g [U_g;
  W_g]^T) [m_h, m_x]_g (d h carried, d x_t written out), and d[U; W] = sum over rows and
  steps of (what multiplied [U_g; W_g])^T da_g, accumulated inside the loop, a chunk of
  steps at a time (K = CHUNK_STEPS x MR per micro-kernel call), into each task's own
  (u+F, G*u) sum: no (B, T, G*u) d gates_x array, and no atomics (the host adds the
  tasks' sums).
* The large shared arrays (x, states, gates, masks) are indexed directly, never
  sliced inside the loops: a numba slice is a view whose reference count is updated
  atomically, and both threads updating the count of one shared array bounce its cache
  line between the cores. Slices are taken only of a task's own buffers.
"""
from __future__ import annotations

import numpy as np

from .. import gate_math
from ..gate_math import GRU, LSTM, SIMPLE_RNN
from .jit import helper, kernel, prange, run
from .matmul import MR, outer_block, tiles
from .vecmath import tanh32

FAST = {"contract"}
CHUNK_STEPS = 16      # steps of a block gathered per d U micro-kernel call: K = 16 x MR = 96 on AVX2


@helper(fastmath=FAST)
def activate(code, v, g, rows, fast):
    """v[g, i, :] = f(v[g, i, :]) for i < rows, the activation `code`, on a (G, MR, u) gate-
    major buffer. The switch sits outside the loops, and every index of the innermost loop
    is its own counter from 0: numba wraps a negative index around, so an index such as
    `j0 + j` (j0 unknown to LLVM) put a select on every element and kept the loop scalar
    (the LSTM step ran ~3x slower); `v[g, i, j]` vectorises. fast: float32, tanh by tanh32."""
    u = v.shape[2]
    if code == gate_math.TANH:
        if fast:
            for i in range(rows):
                for j in range(u):
                    v[g, i, j] = tanh32(v[g, i, j])
        else:
            for i in range(rows):
                for j in range(u):
                    v[g, i, j] = np.tanh(v[g, i, j])
    elif code == gate_math.SIGMOID:                 # 0.5 + 0.5 tanh(x / 2) = 1 / (1 + e^-x)
        if fast:
            for i in range(rows):
                for j in range(u):
                    v[g, i, j] = np.float32(0.5) + np.float32(0.5) * tanh32(np.float32(0.5) * v[g, i, j])
        else:
            for i in range(rows):
                for j in range(u):
                    v[g, i, j] = 0.5 + 0.5 * np.tanh(0.5 * v[g, i, j])
    elif code == gate_math.HARD_SIGMOID:            # constants in v's type: float32 stays float32
        lo, hi, half, fifth = v.dtype.type(0.0), v.dtype.type(1.0), v.dtype.type(0.5), v.dtype.type(0.2)
        for i in range(rows):
            for j in range(u):
                v[g, i, j] = min(max(fifth * v[g, i, j] + half, lo), hi)
    elif code == gate_math.RELU:
        for i in range(rows):
            for j in range(u):
                v[g, i, j] = max(v[g, i, j], v.dtype.type(0.0))


@helper(fastmath=FAST)
def slope(code, y, g, rows, out):
    """out[g, i, j] = f'(x) written with y = f(x) (gate_math.slope), for i < rows, j < u
    (y, out: (G, MR, u) gate-major buffers, indexed from 0 as in `activate`)."""
    u = y.shape[2]
    if code == gate_math.TANH:
        for i in range(rows):
            for j in range(u):
                out[g, i, j] = 1.0 - y[g, i, j] * y[g, i, j]
    elif code == gate_math.SIGMOID:
        for i in range(rows):
            for j in range(u):
                out[g, i, j] = y[g, i, j] * (1.0 - y[g, i, j])
    elif code == gate_math.HARD_SIGMOID:            # 0.2 inside (0, 1): a select, no branch
        fifth = y.dtype.type(0.2)
        for i in range(rows):
            for j in range(u):
                out[g, i, j] = fifth * ((y[g, i, j] > 0.0) & (y[g, i, j] < 1.0))
    elif code == gate_math.RELU:
        for i in range(rows):
            for j in range(u):
                out[g, i, j] = y[g, i, j] > 0.0
    else:
        for i in range(rows):
            for j in range(u):
                out[g, i, j] = 1.0


@helper(fastmath=FAST)
def pack_step(x, t, h, scale, masks, g, b0, rows, ap):
    """ap[k*MR + i] = [h[i] * scale[i], x[b0+i, t]][k] * masks[g, b0+i, k]: a block's states
    beside its inputs of step t, as the micro-kernel's A operand (k-major, K = u + F; masks
    (G, B, u+F), gate g's state mask beside its input mask); rows i >= rows stay zero."""
    features = x.shape[2]
    u = h.shape[1]
    for i in range(rows):
        for k in range(u):
            ap[k * MR + i] = h[i, k] * scale[i, k] * masks[g, b0 + i, k]
        for k in range(features):
            ap[(u + k) * MR + i] = x[b0 + i, t, k] * masks[g, b0 + i, u + k]


@helper(fastmath=FAST)
def load_bias(bias, rows, a):
    """a[g, i, :] = bias[g, :]: the start of every step's sum (bias (G, u))."""
    for g in range(a.shape[0]):
        for i in range(rows):
            for j in range(a.shape[2]):
                a[g, i, j] = bias[g, j]


@helper(fastmath=FAST)
def add_gate_products(ap, wup, g0, g1, one_pack, af, u):
    """a[g, i, :] += (A_g @ [U_g; W_g])[i, :] for gates g0 <= g < g1, straight into a's flat
    storage af (a = af[:G*MR*u] seen as (G, MR, u)): A_g is the packed block ap[g] (ap[g0]
    for every gate when one_pack), wup holds [U; W]'s panels (column_panels); one
    micro-kernel call per panel, K = u + F, rows u apart. A panel's columns past its gate's
    last one add exact zeros (the panels are zero-padded) into the next row, or into af's
    nr spare elements at the end."""
    k = ap.shape[1] // MR
    nr = wup.shape[1] // k
    ppg = (u + nr - 1) // nr
    for g in range(g0, g1):
        src = ap[g0] if one_pack else ap[g]
        for q in range(ppg):
            outer_block(src, wup[g * ppg + q], k, af, g * MR * u + q * nr, u)


@kernel(parallel=True, fastmath=FAST)
def rnn_forward(kind, x, bias, wup, masks, shared, act, rec, go_backwards, fast, states, gates, cells):
    """x (B, T, F), bias (G, u), wup: [U; W] packed by column_panels, masks (G, B, u+F) (each
    gate's state mask beside its input mask; shared: all ones) -> states (B, T, u), gates
    (B, T, G, u) and, for an LSTM, cells (B, T, u), written in place (step order). One task
    per block of MR rows, each running all T steps; the block's gates live gate-major in a
    (G, MR, u) buffer."""
    n, steps, u = states.shape
    G = gates.shape[2]
    k = x.shape[2] + u
    nr = wup.shape[1] // k
    for blk in prange((n + MR - 1) // MR):
        b0 = blk * MR
        rows = min(MR, n - b0)
        own_wup = wup.copy()                      # this task's copy: slicing it touches no shared count
        h = np.zeros((MR, u), x.dtype)
        c = np.zeros((MR, u), x.dtype)
        ones = np.ones((MR, u), x.dtype)
        tc = np.zeros((MR, u), x.dtype)
        tcv = tc.reshape((1, MR, u))
        af = np.zeros(G * MR * u + nr, x.dtype)
        a = af[:G * MR * u].reshape((G, MR, u))
        ap = np.zeros((G, k * MR), x.dtype)
        for s in range(steps):
            t = steps - 1 - s if go_backwards else s
            load_bias(bias, rows, a)
            if kind == GRU:                       # z, r; then hh, which multiplies r * h by U_h
                for g in range(2):
                    pack_step(x, t, h, ones, masks, g, b0, rows, ap[g])
                add_gate_products(ap, own_wup, 0, 2, False, af, u)
                activate(rec, a, 0, rows, fast)
                activate(rec, a, 1, rows, fast)
                for i in range(rows):
                    for j in range(u):
                        tc[i, j] = a[1, i, j]                     # r
                pack_step(x, t, h, tc, masks, 2, b0, rows, ap[2])
                add_gate_products(ap, own_wup, 2, 3, False, af, u)
                activate(act, a, 2, rows, fast)
                for i in range(rows):
                    for j in range(u):
                        h[i, j] = a[0, i, j] * h[i, j] + (1.0 - a[0, i, j]) * a[2, i, j]
            else:
                for g in range(1 if shared else G):
                    pack_step(x, t, h, ones, masks, g, b0, rows, ap[g])
                add_gate_products(ap, own_wup, 0, G, shared, af, u)
                if kind == SIMPLE_RNN:
                    activate(act, a, 0, rows, fast)
                    for i in range(rows):
                        for j in range(u):
                            h[i, j] = a[0, i, j]
                else:
                    activate(rec, a, 0, rows, fast)          # i
                    activate(rec, a, 1, rows, fast)          # f
                    activate(act, a, 2, rows, fast)          # g
                    activate(rec, a, 3, rows, fast)          # o
                    for i in range(rows):
                        for j in range(u):
                            c[i, j] = a[1, i, j] * c[i, j] + a[0, i, j] * a[2, i, j]
                            tc[i, j] = c[i, j]
                            cells[b0 + i, s, j] = c[i, j]
                    activate(act, tcv, 0, rows, fast)
                    for i in range(rows):
                        for j in range(u):
                            h[i, j] = a[3, i, j] * tc[i, j]
            for i in range(rows):
                for j in range(u):
                    states[b0 + i, s, j] = h[i, j]
            for g in range(G):
                for i in range(rows):
                    for j in range(u):
                        gates[b0 + i, s, g, j] = a[g, i, j]


@helper(fastmath=FAST)
def back_products(ap, wtp, panels, g0, g1, one_gate, masks, b0, rows, out, cbuf, u):
    """out[i, k] += sum_g (da_g @ [U_g; W_g]^T)[i, k] * masks[g, b0+i, k] for g0 <= g < g1 and
    k < K = u + F, with ap the block's da packed k-major over all G*u columns (pack_gates)
    and wtp [U; W]^T's panels (column_panels([U; W].T)), the first `panels` of them (those
    that cover h's columns, when x needs no gradient). one_gate: no masks, so all the
    gates are one micro-kernel call each panel (K' = (g1-g0) * u), added straight into
    out's flat storage (out: (MR*K + nr,), rows K apart; columns past K add exact zeros,
    as in add_gate_products)."""
    nr = cbuf.shape[0] // MR
    k = (out.shape[0] - nr) // MR
    if one_gate:
        for q in range(panels):
            outer_block(ap[g0 * u * MR:g1 * u * MR], wtp[q][g0 * u * nr:g1 * u * nr], (g1 - g0) * u, out,
                        q * nr, k)
        return
    for g in range(g0, g1):
        for q in range(panels):
            cbuf[:] = 0
            outer_block(ap[g * u * MR:(g + 1) * u * MR], wtp[q][g * u * nr:(g + 1) * u * nr], u, cbuf, 0, nr)
            cols = min(nr, k - q * nr)
            for i in range(rows):
                for j in range(cols):
                    out[i * k + q * nr + j] += cbuf[i * nr + j] * masks[g, b0 + i, q * nr + j]


@helper(fastmath=FAST)
def pack_gates(v, rows, ap):
    """ap[(g*u + j)*MR + i] = v[g, i, j] for i < rows: a (G, MR, u) block, k-major over all
    G*u columns (the micro-kernel's A)."""
    u = v.shape[2]
    for g in range(v.shape[0]):
        for i in range(rows):
            for j in range(u):
                ap[(g * u + j) * MR + i] = v[g, i, j]


@helper(fastmath=FAST)
def gather_grad_u(rin, da4, rows, slot, a_u, b_d3):
    """Appends this step's block to the d [U; W] operands at position `slot` of the chunk:
    A = rin^T (its K = u + F columns as rows, in MR-row panels, k = slot*MR + i), B = da
    (NR-column panels per gate, as column_panels lays out [U; W]: b_d3 (G*ppg, CHUNK*MR, nr),
    da4 (G, MR, ppg, nr) = the da buffer, zero past column u). rin (P, MR, u+F): what
    multiplied [U_g; W_g], [h m_h, x_t m_x] (P = 1 when every gate saw the same)."""
    cols = rin.shape[2]
    G, _, ppg, nr = da4.shape
    for p in range(rin.shape[0]):
        for i in range(rows):
            k = slot * MR + i
            for m in range(cols):
                a_u[p, m // MR, k * MR + m % MR] = rin[p, i, m]
    for g in range(G):
        for q in range(ppg):
            for i in range(rows):
                k = slot * MR + i
                for j in range(nr):
                    b_d3[g * ppg + q, k, j] = da4[g, i, q, j]


@helper(fastmath=FAST)
def flush_grad_u(a_u, b_d, kc, dwu, cbuf, u):
    """dwu (u+F, G*u) += the gathered A^T B for the first kc rows: one micro-kernel call per
    (MR rows of [U; W]) x (NR columns) block, K = kc."""
    k = dwu.shape[0]
    nr = cbuf.shape[0] // MR
    G = dwu.shape[1] // u
    ppg = b_d.shape[0] // G
    for g in range(G):
        p = 0 if a_u.shape[0] == 1 else g
        for mp in range(a_u.shape[1]):
            for q in range(ppg):
                cbuf[:] = 0
                outer_block(a_u[p, mp], b_d[g * ppg + q], kc, cbuf, 0, nr)
                for i in range(min(MR, k - mp * MR)):
                    for j in range(min(nr, u - q * nr)):
                        dwu[mp * MR + i, g * u + q * nr + j] += cbuf[i * nr + j]


@helper(fastmath=FAST)
def recurrent_inputs(x, t, hp, scale, masks, p, b0, rows, rin):
    """rin[p, i] = [hp[i] * scale[i], x[b0+i, t]] * masks[p, b0+i]: what multiplied
    [U_p; W_p] at this step (d [U; W]'s A operand, gathered by gather_grad_u)."""
    features = x.shape[2]
    u = hp.shape[1]
    for i in range(rows):
        for k in range(u):
            rin[p, i, k] = hp[i, k] * scale[i, k] * masks[p, b0 + i, k]
        for k in range(features):
            rin[p, i, u + k] = x[b0 + i, t, k] * masks[p, b0 + i, u + k]


@kernel(parallel=True, fastmath=FAST)
def rnn_backward(kind, d_states, x, wtp, masks, shared, states, gates, cells, act, rec, go_backwards, fast,
                 need_dx, dx, dwu_parts, db_parts):
    """The mirror loop, one task per block of MR rows. wtp: [U; W]^T packed by column_panels;
    gates (B, T, G, u). Writes dx (B, T, F) by input step t (if need_dx), dwu_parts[task]
    (u+F, G*u) and db_parts[task] (G, u): the task's shares of d [U; W] and d b (the caller
    sums them). The block's gates, slopes and da live gate-major in (G, MR, u) buffers (da's
    padded to whole NR panels); d [h_{s-1}, x_t] of the block in an (MR, u+F) buffer."""
    n, steps, u = states.shape
    G = gates.shape[2]
    features = x.shape[2]
    k = features + u
    width = G * u
    nr = wtp.shape[1] // width
    ppg = (u + nr - 1) // nr
    panels = wtp.shape[0] if need_dx else ppg          # without d x: only the panels over h's columns
    for blk in prange((n + MR - 1) // MR):
        b0 = blk * MR
        rows = min(MR, n - b0)
        own_wtp = wtp.copy()
        y = np.zeros((G, MR, u), x.dtype)               # the step's gates
        sy = np.zeros((G, MR, u), x.dtype)              # their slopes
        da_pad = np.zeros((G, MR, ppg * nr), x.dtype)
        da = da_pad[:, :, :u]
        da4 = da_pad.reshape((G, MR, ppg, nr))
        hp = np.zeros((MR, u), x.dtype)                 # h_{s-1}
        cp = np.zeros((MR, u), x.dtype)                 # c_{s-1}
        ones = np.ones((MR, u), x.dtype)
        r_gate = np.zeros((MR, u), x.dtype)             # GRU: r, which scales h in gate h
        tc = np.zeros((1, MR, u), x.dtype)
        sc = np.zeros((1, MR, u), x.dtype)
        dgh_f = np.zeros(MR * k + nr, x.dtype)          # GRU: gate h's d [r * h m_h, x_t m_x] * [m_h, m_x]
        dgh = dgh_f[:MR * k].reshape((MR, k))
        dh = np.zeros((MR, u), x.dtype)
        dc = np.zeros((MR, u), x.dtype)
        dxh_f = np.zeros(MR * k + nr, x.dtype)          # d [h_{s-1}, x_t]
        dxh = dxh_f[:MR * k].reshape((MR, k))
        rin = np.zeros((1 if shared else G, MR, k), x.dtype)
        ap = np.zeros(width * MR, x.dtype)
        a_u = np.zeros((rin.shape[0], (k + MR - 1) // MR, CHUNK_STEPS * MR * MR), x.dtype)
        b_d = np.zeros((G * ppg, CHUNK_STEPS * MR * nr), x.dtype)
        b_d3 = b_d.reshape((G * ppg, CHUNK_STEPS * MR, nr))
        dwu = np.zeros((k, width), x.dtype)
        db = np.zeros((G, u), x.dtype)
        cbuf = np.empty(MR * nr, x.dtype)
        slot = 0
        for s in range(steps - 1, -1, -1):
            t = steps - 1 - s if go_backwards else s
            for g in range(G):
                for i in range(rows):
                    for j in range(u):
                        y[g, i, j] = gates[b0 + i, s, g, j]
            for i in range(rows):
                for j in range(u):
                    dh[i, j] += d_states[b0 + i, s, j]
                for j in range(k):
                    dxh[i, j] = 0.0
                if s > 0:
                    for j in range(u):
                        hp[i, j] = states[b0 + i, s - 1, j]
                else:
                    for j in range(u):
                        hp[i, j] = 0.0
            if kind == SIMPLE_RNN:
                slope(act, y, 0, rows, sy)
                for i in range(rows):
                    for j in range(u):
                        da[0, i, j] = dh[i, j] * sy[0, i, j]
                recurrent_inputs(x, t, hp, ones, masks, 0, b0, rows, rin)
            elif kind == LSTM:
                for i in range(rows):
                    for j in range(u):
                        tc[0, i, j] = cells[b0 + i, s, j]
                    if s > 0:
                        for j in range(u):
                            cp[i, j] = cells[b0 + i, s - 1, j]
                    else:
                        for j in range(u):
                            cp[i, j] = 0.0
                activate(act, tc, 0, rows, fast)
                slope(act, tc, 0, rows, sc)
                slope(rec, y, 0, rows, sy)
                slope(rec, y, 1, rows, sy)
                slope(act, y, 2, rows, sy)
                slope(rec, y, 3, rows, sy)
                for i in range(rows):
                    for j in range(u):
                        dcj = dc[i, j] + dh[i, j] * y[3, i, j] * sc[0, i, j]
                        da[0, i, j] = dcj * y[2, i, j] * sy[0, i, j]
                        da[1, i, j] = dcj * cp[i, j] * sy[1, i, j]
                        da[2, i, j] = dcj * y[0, i, j] * sy[2, i, j]
                        da[3, i, j] = dh[i, j] * tc[0, i, j] * sy[3, i, j]
                        dc[i, j] = dcj * y[1, i, j]
                for p in range(rin.shape[0]):
                    recurrent_inputs(x, t, hp, ones, masks, p, b0, rows, rin)
            else:
                slope(rec, y, 0, rows, sy)
                slope(rec, y, 1, rows, sy)
                slope(act, y, 2, rows, sy)
                for i in range(rows):
                    for j in range(u):
                        da[2, i, j] = dh[i, j] * (1.0 - y[0, i, j]) * sy[2, i, j]
                        r_gate[i, j] = y[1, i, j]
                    for j in range(k):
                        dgh[i, j] = 0.0
                pack_gates(da, rows, ap)
                back_products(ap, own_wtp, panels, 2, 3, False, masks, b0, rows, dgh_f, cbuf, u)
                for i in range(rows):               # dgh[i, j]: d(r * h*m_h) * m_h
                    for j in range(u):
                        drh = dgh[i, j]
                        da[0, i, j] = dh[i, j] * (hp[i, j] - y[2, i, j]) * sy[0, i, j]
                        da[1, i, j] = drh * hp[i, j] * sy[1, i, j]
                        dxh[i, j] = dh[i, j] * y[0, i, j] + drh * y[1, i, j]
                    for j in range(features):
                        dxh[i, u + j] = dgh[i, u + j]
                recurrent_inputs(x, t, hp, ones, masks, 0, b0, rows, rin)
                recurrent_inputs(x, t, hp, ones, masks, 1, b0, rows, rin)
                recurrent_inputs(x, t, hp, r_gate, masks, 2, b0, rows, rin)
            for g in range(G):
                for i in range(rows):
                    for j in range(u):
                        db[g, j] += da[g, i, j]
            pack_gates(da, rows, ap)
            back_products(ap, own_wtp, panels, 0, 2 if kind == GRU else G, shared, masks, b0, rows, dxh_f, cbuf,
                          u)
            for i in range(rows):
                for j in range(u):
                    dh[i, j] = dxh[i, j]
                if need_dx:
                    for j in range(features):
                        dx[b0 + i, t, j] = dxh[i, u + j]
            gather_grad_u(rin, da4, rows, slot, a_u, b_d3)
            slot += 1
            if slot == CHUNK_STEPS or s == 0:
                flush_grad_u(a_u, b_d, slot * MR, dwu, cbuf, u)
                slot = 0
        for m in range(k):
            for j in range(width):
                dwu_parts[blk, m, j] = dwu[m, j]
        for g in range(G):
            for j in range(u):
                db_parts[blk, g, j] = db[g, j]


def column_panels(w, groups, nr):
    """w (k, groups*u) -> (groups*ppg, k*nr), ppg = ceil(u / nr): panel g*ppg + q holds the
    columns g*u + q*nr ... g*u + q*nr + nr-1 of group g, k-major, zero past the group's
    last column. This is how the micro-kernel reads its B operand, one panel per call."""
    k, width = w.shape
    u = width // groups
    ppg = -(-u // nr)
    padded = np.zeros((k, groups, ppg * nr), w.dtype)
    padded[:, :, :u] = w.reshape(k, groups, u)
    return np.ascontiguousarray(padded.reshape(k, groups * ppg, nr).transpose(1, 0, 2)).reshape(groups * ppg, k * nr)


def _masks(input_masks, state_masks, gates, n, features, u, dtype):
    """(masks (G, B, u+F), shared): each gate's state mask beside its input mask, ones where
    there is no dropout; shared when there is none at all, and then every gate multiplies
    the same [h_{t-1}, x_t] (the GRU's h gate aside: it sees r * h)."""
    masks = np.ones((gates, n, u + features), dtype)
    if state_masks is not None:
        masks[:, :, :u] = state_masks
    if input_masks is not None:
        masks[:, :, u:] = input_masks
    return masks, input_masks is None and state_masks is None


def forward(kind, x, W, U, bias, input_masks, state_masks, activations, go_backwards):
    """x (B, T, F), W (F, G*u) and U (u, G*u) contiguous arrays, bias (G*u,) or None, masks
    (G, B, F) and (G, B, u) or None -> (states, gates, cells) flat storages (cells None
    unless lstm)."""
    n, steps, features = x.shape
    u, width = U.shape
    G = width // u
    code = gate_math.KIND_CODES[kind]
    masks, shared = _masks(input_masks, state_masks, G, n, features, u, x.dtype)
    states = np.empty((n, steps, u), x.dtype)
    gates = np.empty((n, steps, G, u), x.dtype)           # the gates as their own axis
    cells = np.empty((n, steps, u) if code == LSTM else (1, 1, 1), x.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    wup = column_panels(np.concatenate([U, W]), G, tiles(x.dtype)[1])
    bias = np.zeros((G, u), x.dtype) if bias is None else bias.reshape(G, u)
    run(rnn_forward, n * steps * width * (features + u), code, x, bias, wup, masks, shared, act, rec,
        bool(go_backwards), x.dtype == np.float32, states, gates, cells)
    return states.reshape(-1), gates.reshape(-1), cells.reshape(-1) if code == LSTM else None


def backward(kind, d_states, x, W, U, input_masks, state_masks, states, gates, cells, activations, go_backwards,
             need_dx):
    """Contiguous arrays in (shapes as base.Backend.rnn_backward); returns the storages
    d x (B, T, F) (None unless need_dx), d W (F, G*u), d U (u, G*u) and d b (G*u,)."""
    n, steps, features = x.shape
    u, width = U.shape
    G = width // u
    code = gate_math.KIND_CODES[kind]
    masks, shared = _masks(input_masks, state_masks, G, n, features, u, x.dtype)
    cells = np.empty((1, 1, 1), x.dtype) if cells is None else cells
    dx = np.empty(x.shape if need_dx else (1, 1, 1), x.dtype)
    blocks = (n + MR - 1) // MR
    dwu_parts = np.empty((blocks, u + features, width), x.dtype)
    db_parts = np.empty((blocks, G, u), x.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    wtp = column_panels(np.ascontiguousarray(np.concatenate([U, W]).T), 1, tiles(x.dtype)[1])
    run(rnn_backward, n * steps * width * (features + u), code, d_states, x, wtp, masks, shared and code != GRU,
        states, gates.reshape(n, steps, G, u), cells, act, rec, bool(go_backwards), x.dtype == np.float32,
        bool(need_dx), dx, dwu_parts, db_parts)
    dwu = dwu_parts.sum(axis=0)
    return (dx.reshape(-1) if need_dx else None), dwu[u:].reshape(-1), dwu[:u].reshape(-1), \
        db_parts.sum(axis=0).reshape(-1)
