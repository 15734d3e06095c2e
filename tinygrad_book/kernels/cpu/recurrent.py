"""Fused recurrent sequences (SimpleRNN, LSTM, GRU): the whole time loop in compiled code.

Contract: base.Backend.rnn_forward / rnn_backward; the equations, readable, are in
kernels/reference_recurrent.py. What this file demonstrates:

* No Python per step. Built from Tensor ops, one LSTM step is ~17 kernel launches and
  graph nodes (~3 ms at batch 128 on the 2-core machine); here one call runs all steps.
* Parallel over the batch, not over a step. The samples of a batch never interact in a
  recurrence, so each task takes a block of MR rows (samples) and runs them through every
  step on its own: no barrier per step (a per-step parallel loop would wait for the
  slowest thread 500 times per sequence).
* A block's step is a small GEMM, (MR x u) @ (u x G*u), run by the GEMM's own register-
  blocked micro-kernel (matmul.outer_block: MR x NR accumulators in vector registers).
  One row at a time it was a vector-matrix product whose inner loop loaded and stored
  its accumulator for every multiply-add: load/store bound, ~2x slower. U is packed once
  per call into NR-column panels per gate (`column_panels`); the block's h is packed
  k-major per step (192 numbers for an LSTM(32) on AVX2).
* Backward mirrors it with the same micro-kernel: dh_{t-1} = sum_g (da_g U_g^T) m_g, and
  d U = sum over rows and steps of (what multiplied U_g)^T da_g. d U is accumulated inside
  the loop, a chunk of steps at a time (K = CHUNK_STEPS x MR per micro-kernel call), into
  each task's own (u, G*u) sum: no (B, T, G*u) array of recurrent inputs to write and read
  back for a GEMM afterwards, and no atomics (the host adds the tasks' sums).
* The large shared arrays (gates_x, states, gates, masks) are indexed directly, never
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

FAST = {"contract"}
CHUNK_STEPS = 16      # steps of a block gathered per d U micro-kernel call: K = 16 x MR = 96 on AVX2


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
def activate_cols(code, v, rows, j0, n, fast):
    """v[i, j0:j0+n] = f(v[i, j0:j0+n]) for i < rows, the activation `code`; the switch sits
    outside the loops, so each loop is straight arithmetic that LLVM vectorises (loops
    start at 0: a runtime start stopped vectorisation). fast: float32, tanh by tanh32."""
    if code == gate_math.TANH:
        if fast:
            for i in range(rows):
                for j in range(n):
                    v[i, j0 + j] = tanh32(v[i, j0 + j])
        else:
            for i in range(rows):
                for j in range(n):
                    v[i, j0 + j] = np.tanh(v[i, j0 + j])
    elif code == gate_math.SIGMOID:                 # 0.5 + 0.5 tanh(x / 2) = 1 / (1 + e^-x)
        if fast:
            for i in range(rows):
                for j in range(n):
                    v[i, j0 + j] = np.float32(0.5) + np.float32(0.5) * tanh32(np.float32(0.5) * v[i, j0 + j])
        else:
            for i in range(rows):
                for j in range(n):
                    v[i, j0 + j] = 0.5 + 0.5 * np.tanh(0.5 * v[i, j0 + j])
    elif code == gate_math.HARD_SIGMOID:            # constants in v's type: float32 stays float32
        lo, hi, half, fifth = v.dtype.type(0.0), v.dtype.type(1.0), v.dtype.type(0.5), v.dtype.type(0.2)
        for i in range(rows):
            for j in range(n):
                v[i, j0 + j] = min(max(fifth * v[i, j0 + j] + half, lo), hi)
    elif code == gate_math.RELU:
        for i in range(rows):
            for j in range(n):
                v[i, j0 + j] = max(v[i, j0 + j], v.dtype.type(0.0))


@helper(fastmath=FAST)
def slope_cols(code, y, rows, j0, n, out):
    """out[i, j0+j] = f'(x) written with y = f(x) (gate_math.slope), for i < rows, j < n."""
    if code == gate_math.TANH:
        for i in range(rows):
            for j in range(n):
                out[i, j0 + j] = 1.0 - y[i, j0 + j] * y[i, j0 + j]
    elif code == gate_math.SIGMOID:
        for i in range(rows):
            for j in range(n):
                out[i, j0 + j] = y[i, j0 + j] * (1.0 - y[i, j0 + j])
    elif code == gate_math.HARD_SIGMOID:            # 0.2 inside (0, 1): a select, no branch
        fifth = y.dtype.type(0.2)
        for i in range(rows):
            for j in range(n):
                out[i, j0 + j] = fifth * ((y[i, j0 + j] > 0.0) & (y[i, j0 + j] < 1.0))
    elif code == gate_math.RELU:
        for i in range(rows):
            for j in range(n):
                out[i, j0 + j] = y[i, j0 + j] > 0.0
    else:
        for i in range(rows):
            for j in range(n):
                out[i, j0 + j] = 1.0


@helper(fastmath=FAST)
def pack_rows(v, scale, masks, g, b0, rows, ap):
    """ap[k*MR + i] = v[i, k] * scale[i, k] * masks[g, b0+i, k]: a block of states as the
    micro-kernel's A operand (k-major); rows i >= rows stay as they are (zero)."""
    u = v.shape[1]
    for i in range(rows):
        for k in range(u):
            ap[k * MR + i] = v[i, k] * scale[i, k] * masks[g, b0 + i, k]


@helper(fastmath=FAST)
def gate_products(ap, up, gx, b0, rows, t, g0, g1, one_pack, a, cbuf):
    """a[i, g*u + j] = gx[b0+i, t, g*u+j] + (A_g @ U_g)[i, j] for gates g0 <= g < g1, where
    A_g is the packed block ap[g] (ap[g0] for every gate when one_pack) and up holds U's
    panels (column_panels). Each panel is one micro-kernel call with K = u."""
    width = a.shape[1]
    nr = cbuf.shape[0] // MR
    u = up.shape[1] // nr
    ppg = up.shape[0] // (width // u)
    for g in range(g0, g1):
        src = ap[g0] if one_pack else ap[g]
        for q in range(ppg):
            cbuf[:] = 0                      # outer_block adds into its block
            outer_block(src, up[g * ppg + q], u, cbuf, 0, nr)
            base = g * u + q * nr
            cols = min(nr, u - q * nr)
            for i in range(rows):
                for j in range(cols):
                    a[i, base + j] = gx[b0 + i, t, base + j] + cbuf[i * nr + j]


@kernel(parallel=True, fastmath=FAST)
def rnn_forward(kind, gx, up, masks, shared, act, rec, go_backwards, fast, states, gates, cells):
    """gx (B, T, G*u), up: U packed by column_panels, masks (G, B, u) (shared: all ones)
    -> states (B, T, u), gates (B, T, G*u) and, for an LSTM, cells (B, T, u), written in
    place (step order). One task per block of MR rows, each running all T steps."""
    n, steps, width = gx.shape
    u = states.shape[2]
    G = width // u
    nr = up.shape[1] // u
    for blk in prange((n + MR - 1) // MR):
        b0 = blk * MR
        rows = min(MR, n - b0)
        own_up = up.copy()                        # this task's copy: slicing it touches no shared count
        h = np.zeros((MR, u), gx.dtype)
        c = np.zeros((MR, u), gx.dtype)
        ones = np.ones((MR, u), gx.dtype)
        tc = np.empty((MR, u), gx.dtype)
        a = np.empty((MR, width), gx.dtype)
        ap = np.zeros((G, u * MR), gx.dtype)
        cbuf = np.empty(MR * nr, gx.dtype)
        for s in range(steps):
            t = steps - 1 - s if go_backwards else s
            if kind == GRU:                       # z, r; then hh, which multiplies r * h by U_h
                for g in range(2):
                    pack_rows(h, ones, masks, g, b0, rows, ap[g])
                gate_products(ap, own_up, gx, b0, rows, t, 0, 2, False, a, cbuf)
                activate_cols(rec, a, rows, 0, 2 * u, fast)
                for i in range(rows):
                    for j in range(u):
                        tc[i, j] = a[i, u + j]                     # r
                pack_rows(h, tc, masks, 2, b0, rows, ap[2])
                gate_products(ap, own_up, gx, b0, rows, t, 2, 3, False, a, cbuf)
                activate_cols(act, a, rows, 2 * u, u, fast)
                for i in range(rows):
                    for j in range(u):
                        h[i, j] = a[i, j] * h[i, j] + (1.0 - a[i, j]) * a[i, 2 * u + j]
            else:
                for g in range(1 if shared else G):
                    pack_rows(h, ones, masks, g, b0, rows, ap[g])
                gate_products(ap, own_up, gx, b0, rows, t, 0, G, shared, a, cbuf)
                if kind == SIMPLE_RNN:
                    activate_cols(act, a, rows, 0, u, fast)
                    for i in range(rows):
                        for j in range(u):
                            h[i, j] = a[i, j]
                else:
                    activate_cols(rec, a, rows, 0, 2 * u, fast)          # i, f
                    activate_cols(act, a, rows, 2 * u, u, fast)          # g
                    activate_cols(rec, a, rows, 3 * u, u, fast)          # o
                    for i in range(rows):
                        for j in range(u):
                            c[i, j] = a[i, u + j] * c[i, j] + a[i, j] * a[i, 2 * u + j]
                            tc[i, j] = c[i, j]
                    activate_cols(act, tc, rows, 0, u, fast)
                    for i in range(rows):
                        for j in range(u):
                            h[i, j] = a[i, 3 * u + j] * tc[i, j]
                            cells[b0 + i, s, j] = c[i, j]
            for i in range(rows):
                for j in range(u):
                    states[b0 + i, s, j] = h[i, j]
                for j in range(width):
                    gates[b0 + i, s, j] = a[i, j]


@helper(fastmath=FAST)
def back_products(ap, utp, g0, g1, one_gate, masks, b0, rows, out, cbuf):
    """out[i, k] += sum_g (da_g @ U_g^T)[i, k] * masks[g, b0+i, k] for g0 <= g < g1, with
    ap the block's da packed k-major over all G*u columns and utp U^T's panels
    (column_panels(U.T)). one_gate: no masks, so all the gates are one micro-kernel call
    each panel (K = (g1-g0) * u)."""
    u = out.shape[1]
    nr = cbuf.shape[0] // MR
    for g in range(g0, g1):
        span = g1 - g0 if one_gate else 1
        for q in range(utp.shape[0]):
            cbuf[:] = 0
            outer_block(ap[g * u * MR:(g + span) * u * MR], utp[q][g * u * nr:(g + span) * u * nr], span * u, cbuf, 0, nr)
            cols = min(nr, u - q * nr)
            for i in range(rows):
                for j in range(cols):
                    out[i, q * nr + j] += cbuf[i * nr + j] * masks[g, b0 + i, q * nr + j]
        if one_gate:
            break


@helper(fastmath=FAST)
def pack_block(v, rows, ap):
    """ap[k*MR + i] = v[i, k] for i < rows, every column k of v (the micro-kernel's A)."""
    for i in range(rows):
        for k in range(v.shape[1]):
            ap[k * MR + i] = v[i, k]


@helper(fastmath=FAST)
def gather_grad_u(rin, da, rows, slot, a_u, b_d):
    """Appends this step's block to the d U operands at position `slot` of the chunk:
    A = rin^T (units as rows, MR-unit panels, k = slot*MR + i), B = da (NR-column panels
    per gate, as column_panels lays out U). rin (P, MR, u): what multiplied U_g (P = 1
    when every gate saw the same)."""
    u = rin.shape[2]
    nr = b_d.shape[1] // (a_u.shape[2] // MR)
    width = da.shape[1]
    ppg = b_d.shape[0] // (width // u)
    for p in range(rin.shape[0]):
        for i in range(rows):
            k = slot * MR + i
            for m in range(u):
                a_u[p, m // MR, k * MR + m % MR] = rin[p, i, m]
    for i in range(rows):
        k = slot * MR + i
        for g in range(width // u):
            for q in range(ppg):
                cols = min(nr, u - q * nr)
                for j in range(cols):
                    b_d[g * ppg + q, k * nr + j] = da[i, g * u + q * nr + j]


@helper(fastmath=FAST)
def flush_grad_u(a_u, b_d, kc, du, cbuf):
    """du (u, G*u) += the gathered A^T B for the first kc rows: one micro-kernel call per
    (MR units) x (NR columns) block, K = kc."""
    u = du.shape[0]
    nr = cbuf.shape[0] // MR
    G = du.shape[1] // u
    ppg = b_d.shape[0] // G
    for g in range(G):
        p = 0 if a_u.shape[0] == 1 else g
        for mp in range(a_u.shape[1]):
            for q in range(ppg):
                cbuf[:] = 0
                outer_block(a_u[p, mp], b_d[g * ppg + q], kc, cbuf, 0, nr)
                for i in range(min(MR, u - mp * MR)):
                    for j in range(min(nr, u - q * nr)):
                        du[mp * MR + i, g * u + q * nr + j] += cbuf[i * nr + j]


@kernel(parallel=True, fastmath=FAST)
def rnn_backward(kind, d_states, utp, masks, shared, states, gates, cells, act, rec, go_backwards, fast,
                 d_gx, du_parts):
    """The mirror loop, one task per block of MR rows. utp: U^T packed by column_panels.
    Writes d_gx (B, T, G*u) by input step t, and du_parts[task] (u, G*u): the task's share
    of d U (the caller sums them)."""
    n, steps, u = states.shape
    width = gates.shape[2]
    G = width // u
    nr = utp.shape[1] // width
    ppg = (u + nr - 1) // nr
    for blk in prange((n + MR - 1) // MR):
        b0 = blk * MR
        rows = min(MR, n - b0)
        own_utp = utp.copy()
        y = np.zeros((MR, width), states.dtype)          # the step's gates
        sy = np.zeros((MR, width), states.dtype)         # their slopes
        da = np.zeros((MR, width), states.dtype)
        hp = np.zeros((MR, u), states.dtype)             # h_{s-1}
        cp = np.zeros((MR, u), states.dtype)             # c_{s-1}
        tc = np.zeros((MR, u), states.dtype)
        sc = np.zeros((MR, u), states.dtype)
        drh = np.zeros((MR, u), states.dtype)            # GRU: d(r * h*m_h) * m_h
        dh = np.zeros((MR, u), states.dtype)
        dc = np.zeros((MR, u), states.dtype)
        dh_prev = np.zeros((MR, u), states.dtype)
        rin = np.zeros((1 if shared else G, MR, u), states.dtype)
        ap = np.zeros(width * MR, states.dtype)
        a_u = np.zeros((rin.shape[0], (u + MR - 1) // MR, CHUNK_STEPS * MR * MR), states.dtype)
        b_d = np.zeros((G * ppg, CHUNK_STEPS * MR * nr), states.dtype)
        du = np.zeros((u, width), states.dtype)
        cbuf = np.empty(MR * nr, states.dtype)
        slot = 0
        for s in range(steps - 1, -1, -1):
            t = steps - 1 - s if go_backwards else s
            for i in range(rows):
                b = b0 + i
                for j in range(width):
                    y[i, j] = gates[b, s, j]
                for j in range(u):
                    hp[i, j] = states[b, s - 1, j] if s > 0 else 0.0
                    dh[i, j] += d_states[b, s, j]
                    dh_prev[i, j] = 0.0
            if kind == SIMPLE_RNN:
                slope_cols(act, y, rows, 0, u, sy)
                for i in range(rows):
                    for j in range(u):
                        da[i, j] = dh[i, j] * sy[i, j]
                        rin[0, i, j] = hp[i, j] * masks[0, b0 + i, j]
            elif kind == LSTM:
                for i in range(rows):
                    for j in range(u):
                        tc[i, j] = cells[b0 + i, s, j]
                        cp[i, j] = cells[b0 + i, s - 1, j] if s > 0 else 0.0
                activate_cols(act, tc, rows, 0, u, fast)
                slope_cols(act, tc, rows, 0, u, sc)
                slope_cols(rec, y, rows, 0, 2 * u, sy)
                slope_cols(act, y, rows, 2 * u, u, sy)
                slope_cols(rec, y, rows, 3 * u, u, sy)
                for i in range(rows):
                    for j in range(u):
                        dcj = dc[i, j] + dh[i, j] * y[i, 3 * u + j] * sc[i, j]
                        da[i, j] = dcj * y[i, 2 * u + j] * sy[i, j]
                        da[i, u + j] = dcj * cp[i, j] * sy[i, u + j]
                        da[i, 2 * u + j] = dcj * y[i, j] * sy[i, 2 * u + j]
                        da[i, 3 * u + j] = dh[i, j] * tc[i, j] * sy[i, 3 * u + j]
                        dc[i, j] = dcj * y[i, u + j]
                    for p in range(rin.shape[0]):
                        for j in range(u):
                            rin[p, i, j] = hp[i, j] * masks[p, b0 + i, j]
            else:
                slope_cols(rec, y, rows, 0, 2 * u, sy)
                slope_cols(act, y, rows, 2 * u, u, sy)
                for i in range(rows):
                    for j in range(u):
                        da[i, 2 * u + j] = dh[i, j] * (1.0 - y[i, j]) * sy[i, 2 * u + j]
                        drh[i, j] = 0.0
                pack_block(da, rows, ap)
                back_products(ap, own_utp, 2, 3, False, masks, b0, rows, drh, cbuf)   # d(r*h) * m_h
                for i in range(rows):
                    for j in range(u):
                        z, r, hh = y[i, j], y[i, u + j], y[i, 2 * u + j]
                        da[i, j] = dh[i, j] * (hp[i, j] - hh) * sy[i, j]
                        da[i, u + j] = drh[i, j] * hp[i, j] * sy[i, u + j]
                        rin[0, i, j] = hp[i, j] * masks[0, b0 + i, j]
                        rin[1, i, j] = hp[i, j] * masks[1, b0 + i, j]
                        rin[2, i, j] = r * hp[i, j] * masks[2, b0 + i, j]
                        dh_prev[i, j] = dh[i, j] * z + drh[i, j] * r
            for i in range(rows):
                for j in range(width):
                    d_gx[b0 + i, t, j] = da[i, j]
            pack_block(da, rows, ap)
            back_products(ap, own_utp, 0, 2 if kind == GRU else G, shared, masks, b0, rows, dh_prev, cbuf)
            for i in range(rows):
                for j in range(u):
                    dh[i, j] = dh_prev[i, j]
            gather_grad_u(rin, da, rows, slot, a_u, b_d)
            slot += 1
            if slot == CHUNK_STEPS or s == 0:
                flush_grad_u(a_u, b_d, slot * MR, du, cbuf)
                slot = 0
        for m in range(u):
            for j in range(width):
                du_parts[blk, m, j] = du[m, j]


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


def _masks(masks, gates, n, u, dtype):
    """(masks as an array, shared): all ones when there are none, and then every gate
    multiplies the same h_{t-1} (the GRU's h gate aside: it sees r * h)."""
    if masks is None:
        return np.ones((gates, n, u), dtype), True
    return masks, False


def forward(kind, gx, U, masks, activations, go_backwards):
    """gx (B, T, G*u) and U (u, G*u) contiguous arrays, masks (G, B, u) or None ->
    (states, gates, cells) flat storages (cells None unless lstm)."""
    n, steps, width = gx.shape
    u = U.shape[0]
    code = gate_math.KIND_CODES[kind]
    masks, shared = _masks(masks, width // u, n, u, gx.dtype)
    states = np.empty((n, steps, u), gx.dtype)
    gates = np.empty((n, steps, width), gx.dtype)
    cells = np.empty((n, steps, u) if code == LSTM else (1, 1, 1), gx.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    up = column_panels(U, width // u, tiles(gx.dtype)[1])
    run(rnn_forward, n * steps * width * u, code, gx, up, masks, shared, act, rec, bool(go_backwards),
        gx.dtype == np.float32, states, gates, cells)
    return states.reshape(-1), gates.reshape(-1), cells.reshape(-1) if code == LSTM else None


def backward(kind, d_states, U, masks, states, gates, cells, activations, go_backwards):
    """Contiguous arrays in (shapes as base.Backend.rnn_backward); returns the storages
    d_gates_x (B, T, G*u) and d U (u, G*u)."""
    n, steps, u = states.shape
    width = gates.shape[2]
    code = gate_math.KIND_CODES[kind]
    masks, shared = _masks(masks, width // u, n, u, states.dtype)
    cells = np.empty((1, 1, 1), states.dtype) if cells is None else cells
    d_gx = np.empty(gates.shape, states.dtype)
    du_parts = np.empty(((n + MR - 1) // MR, u, width), states.dtype)
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    utp = column_panels(np.ascontiguousarray(U.T), 1, tiles(states.dtype)[1])
    run(rnn_backward, n * steps * width * u, code, d_states, utp, masks, shared and code != GRU, states, gates,
        cells, act, rec, bool(go_backwards), states.dtype == np.float32, d_gx, du_parts)
    return d_gx.reshape(-1), du_parts.sum(axis=0).reshape(-1)
