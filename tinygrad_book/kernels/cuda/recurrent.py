"""Fused recurrent sequences on the GPU: a host loop over the steps, a few launches per step.

Contract: base.Backend.rnn_forward / rnn_backward; the equations are in
kernels/reference_recurrent.py. The inputs are projected for all steps at once first
(`input_projection`, one thread per element of gates_x (B, T, G*u), each gate's input
mask applied), and backward ends with the two products through that projection
(`input_grad`, `kernel_grad`): on a GPU these are wide, parallel launches, so the
cpu's reason to fuse them into the loop (no big array, no GEMM at K = 32) does not hold.
A step depends on the one before, so the host walks the steps and launches, per step,
kernels with one thread per (sample b, unit j):

forward   `forward_step`: thread (b, j) forms unit j's pre-activations of every gate
          (x + b + sum_k h_prev[k] m_g[k] U[k, g*u + j]), applies the activations and writes
          h_s[b, j] (and c_s). The GRU needs r * h_prev for *all* units before hh, so it
          runs in two phases (z, r; then hh and h): two launches.
backward  `backward_gates`: thread (b, j) adds the step's output gradient to the carried
          dh, and writes unit j's pre-activation gradients da (= d gates_x at that step);
          `backward_state`: thread (b, k) gathers dh_prev[k] = sum_g m_g[k] sum_j da_g[j]
          U[k, g*u + j] (the GRU's reset gate first needs d(r*h) in `backward_reset`).
          After the loop `recurrent_kernel_grad` gives each thread one element of d U,
          a sum over all samples and steps (no atomics: every thread owns its output),
          and `bias_grad` one element of d b, the sum of d gates_x's column.

All arrays are flat device storages, contiguous from their offset 0 (the host copies
strided inputs first); states (n, T, u), gates (n, T, G*u), masks (G, n, u). State lives
in the states array itself: step s reads h_{s-1} = states[:, s-1], so no thread ever reads
a value another thread of the same launch writes.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from .. import gate_math
from ..gate_math import GRU, LSTM, SIMPLE_RNN

activate = cuda.jit(device=True)(gate_math.activate)
slope = cuda.jit(device=True)(gate_math.slope)


@cuda.jit(device=True)
def pre_activation(gx, bias, U, masks, h_in, n, steps, u, width, b, t, s, col, g, use_reset, gates):
    """gates_x[b, t, col] + bias[col] + sum_k h_prev[k] * m_g[b, k] * (r[k] if use_reset) * U[k, col]."""
    acc = gx[(b * steps + t) * width + col] + bias[col]
    if s > 0:
        for k in range(u):
            hk = h_in[(b * steps + s - 1) * u + k] * masks[(g * n + b) * u + k]
            if use_reset:
                hk *= gates[(b * steps + s) * width + u + k]
            acc += hk * U[k * width + col]
    return acc


@cuda.jit
def forward_step(kind, phase, s, t, gx, bias, U, masks, act, rec, n, steps, u, states, gates, cells):
    """Step s (reading input step t) for every (b, j). phase: 0 = the whole step (SimpleRNN,
    LSTM) or the GRU's z and r; 1 = the GRU's hh and h."""
    width = gates.shape[0] // (n * steps)
    for idx in range(cuda.grid(1), n * u, cuda.gridsize(1)):
        b, j = idx // u, idx % u
        row = (b * steps + s) * width
        here = (b * steps + s) * u + j
        h_prev = states[here - u] if s > 0 else 0.0
        if kind == SIMPLE_RNN:
            h = activate(act, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, j, 0, False,
                                             gates))
            gates[row + j] = h
            states[here] = h
        elif kind == LSTM:
            i = activate(rec, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, j, 0, False,
                                             gates))
            f = activate(rec, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, u + j, 1,
                                             False, gates))
            g = activate(act, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, 2 * u + j, 2,
                                             False, gates))
            o = activate(rec, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, 3 * u + j, 3,
                                             False, gates))
            c = f * (cells[here - u] if s > 0 else 0.0) + i * g
            cells[here] = c
            gates[row + j], gates[row + u + j], gates[row + 2 * u + j], gates[row + 3 * u + j] = i, f, g, o
            states[here] = o * activate(act, c)
        elif phase == 0:
            gates[row + j] = activate(rec, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, j,
                                                          0, False, gates))
            gates[row + u + j] = activate(rec, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t,
                                                              s, u + j, 1, False, gates))
        else:
            hh = activate(act, pre_activation(gx, bias, U, masks, states, n, steps, u, width, b, t, s, 2 * u + j, 2,
                                              True, gates))
            gates[row + 2 * u + j] = hh
            z = gates[row + j]
            states[here] = z * h_prev + (1.0 - z) * hh


@cuda.jit
def backward_gates(kind, s, t, d_states, dh, dc, states, gates, cells, act, rec, n, steps, u, d_gx):
    """Thread (b, j): dh[b, j] += d_states[b, s, j]; writes unit j's pre-activation gradients
    into d_gx[b, t] (all gates but the GRU's r) and carries the LSTM's dc."""
    width = gates.shape[0] // (n * steps)
    for idx in range(cuda.grid(1), n * u, cuda.gridsize(1)):
        b, j = idx // u, idx % u
        here = (b * steps + s) * u + j
        row = (b * steps + s) * width
        out = (b * steps + t) * width
        d = dh[idx] + d_states[here]
        dh[idx] = d
        if kind == SIMPLE_RNN:
            d_gx[out + j] = d * slope(act, gates[row + j])
        elif kind == LSTM:
            i, f, g, o = gates[row + j], gates[row + u + j], gates[row + 2 * u + j], gates[row + 3 * u + j]
            tc = activate(act, cells[here])
            dcj = dc[idx] + d * o * slope(act, tc)
            d_gx[out + j] = dcj * g * slope(rec, i)
            d_gx[out + u + j] = dcj * (cells[here - u] if s > 0 else 0.0) * slope(rec, f)
            d_gx[out + 2 * u + j] = dcj * i * slope(act, g)
            d_gx[out + 3 * u + j] = d * tc * slope(rec, o)
            dc[idx] = dcj * f
        else:
            z, hh = gates[row + j], gates[row + 2 * u + j]
            h_prev = states[here - u] if s > 0 else 0.0
            d_gx[out + j] = d * (h_prev - hh) * slope(rec, z)
            d_gx[out + 2 * u + j] = d * (1.0 - z) * slope(act, hh)


@cuda.jit
def backward_reset(s, t, U, masks, dh, states, gates, rec, n, steps, u, d_gx, dh_next):
    """GRU, thread (b, k): d(r*h*m_h)[k] = sum_j da_h[j] U[k, 2u + j]; from it the reset
    gate's gradient and the part of dh_prev that flows through z * h and r * h."""
    width = 3 * u
    for idx in range(cuda.grid(1), n * u, cuda.gridsize(1)):
        b, k = idx // u, idx % u
        out = (b * steps + t) * width
        d_rh = 0.0
        for j in range(u):
            d_rh += d_gx[out + 2 * u + j] * U[k * width + 2 * u + j]
        row = (b * steps + s) * width
        z, r = gates[row + k], gates[row + u + k]
        m = masks[(2 * n + b) * u + k]
        h_prev = states[(b * steps + s - 1) * u + k] if s > 0 else 0.0
        d_gx[out + u + k] = d_rh * h_prev * m * slope(rec, r)
        dh_next[idx] = dh[idx] * z + d_rh * r * m


@cuda.jit
def backward_state(kind, t, U, masks, d_gx, n, steps, u, dh_next):
    """Thread (b, k): dh_next[b, k] (+)= sum over gates g of m_g[b, k] * sum_j da_g[j] U[k, g*u + j]
    (a GRU adds to what backward_reset wrote and skips gate h, already counted there)."""
    width = U.shape[0] // u
    gates = 2 if kind == GRU else width // u
    for idx in range(cuda.grid(1), n * u, cuda.gridsize(1)):
        b, k = idx // u, idx % u
        out = (b * steps + t) * width
        acc = dh_next[idx] if kind == GRU else 0.0
        for g in range(gates):
            part = 0.0
            for j in range(u):
                part += d_gx[out + g * u + j] * U[k * width + g * u + j]
            acc += part * masks[(g * n + b) * u + k]
        dh_next[idx] = acc


@cuda.jit
def recurrent_kernel_grad(kind, go_backwards, masks, states, gates, d_gx, n, steps, u, dU):
    """Thread (k, col): dU[k, col] = sum over b, s of rin_g[b, s, k] * da[b, s, col], where
    rin_g = h_{s-1} * m_g (times r for the GRU's gate h) multiplied U[:, g*u:(g+1)*u]."""
    width = dU.shape[0] // u
    for idx in range(cuda.grid(1), u * width, cuda.gridsize(1)):
        k, col = idx // width, idx % width
        g = col // u
        acc = 0.0
        for b in range(n):
            m = masks[(g * n + b) * u + k]
            for s in range(1, steps):              # h_{-1} = 0: step 0 adds nothing
                t = steps - 1 - s if go_backwards else s
                rin = states[(b * steps + s - 1) * u + k] * m
                if kind == GRU and g == 2:
                    rin *= gates[(b * steps + s) * width + u + k]
                acc += rin * d_gx[(b * steps + t) * width + col]
        dU[idx] = acc


@cuda.jit
def input_projection(x, W, masks, n, steps, features, width, u, gx):
    """Thread (row, col) of gates_x (n*steps, width): sum_f x[row, f] mx_g[b, f] W[f, col],
    g = col // u, b = row // steps; masks (G, n, features)."""
    for idx in range(cuda.grid(1), n * steps * width, cuda.gridsize(1)):
        row, col = idx // width, idx % width
        b, g = row // steps, col // u
        acc = 0.0
        for f in range(features):
            acc += x[row * features + f] * masks[(g * n + b) * features + f] * W[f * width + col]
        gx[idx] = acc


@cuda.jit
def input_grad(d_gx, W, masks, n, steps, features, width, u, dx):
    """Thread (row, f): dx[row, f] = sum_g mx_g[b, f] sum_j d_gx[row, g*u + j] W[f, g*u + j]."""
    for idx in range(cuda.grid(1), n * steps * features, cuda.gridsize(1)):
        row, f = idx // features, idx % features
        b = row // steps
        acc = 0.0
        for g in range(width // u):
            part = 0.0
            for j in range(u):
                part += d_gx[row * width + g * u + j] * W[f * width + g * u + j]
            acc += part * masks[(g * n + b) * features + f]
        dx[idx] = acc


@cuda.jit
def kernel_grad(x, masks, d_gx, n, steps, features, width, u, dW):
    """Thread (f, col): dW[f, col] = sum over samples b and steps of x[b, t, f] mx_g[b, f]
    d_gx[b, t, col], g = col // u (every thread owns its output: no atomics)."""
    for idx in range(cuda.grid(1), features * width, cuda.gridsize(1)):
        f, col = idx // width, idx % width
        g = col // u
        acc = 0.0
        for b in range(n):
            m = masks[(g * n + b) * features + f]
            for t in range(steps):
                row = b * steps + t
                acc += x[row * features + f] * m * d_gx[row * width + col]
        dW[idx] = acc


def project_inputs(backend, x, W, u, masks):
    """gates_x (n*steps*width,) for contiguous device arrays x (n, steps, F), W (F, width);
    masks: the input masks' storage (G, n, F)."""
    n, steps, features = x.shape
    width = W.shape[1]
    gx = backend._empty(n * steps * width, x.dtype)
    input_projection[backend._grid(n * steps * width)](x.storage, W.storage, masks, n, steps, features, width, u,
                                                       gx)
    return gx


def project_inputs_backward(backend, x, W, u, masks, d_gx, need_dx):
    """(d x or None, d W) storages of project_inputs, given d gates_x."""
    n, steps, features = x.shape
    width = W.shape[1]
    dx = None
    if need_dx:
        dx = backend._empty(n * steps * features, x.dtype)
        input_grad[backend._grid(n * steps * features)](d_gx, W.storage, masks, n, steps, features, width, u, dx)
    dW = backend._empty(features * width, x.dtype)
    kernel_grad[backend._grid(features * width)](x.storage, masks, d_gx, n, steps, features, width, u, dW)
    return dx, dW


def forward(backend, kind, gx, U, bias, masks, activations, go_backwards):
    """Host loop for base.Backend.rnn_forward; gx, U: contiguous device arrays, bias and masks
    device storages (zeros and ones when there are none)."""
    n, steps, width = gx.shape
    u = U.shape[0]
    code = gate_math.KIND_CODES[kind]
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    states = backend._empty(n * steps * u, gx.dtype)
    gates = backend._empty(n * steps * width, gx.dtype)
    cells = backend._empty(n * steps * u if code == LSTM else 1, gx.dtype)
    launch = backend._grid(n * u)
    for s in range(steps):
        t = steps - 1 - s if go_backwards else s
        for phase in range(2 if code == GRU else 1):
            forward_step[launch](code, phase, s, t, gx.storage, bias, U.storage, masks, act, rec, n, steps, u,
                                 states, gates, cells)
    return states, gates, cells if code == LSTM else None


def backward(backend, kind, d_states, U, masks, states, gates, cells, activations, go_backwards):
    """Host loop for base.Backend.rnn_backward (contiguous device arrays in)."""
    n, steps, u = states.shape
    width = gates.shape[2]
    code = gate_math.KIND_CODES[kind]
    act, rec = (gate_math.ACTIVATION_CODES[a] for a in activations)
    dtype = states.dtype
    dh, dh_next = backend.full(n * u, 0, dtype), backend.full(n * u, 0, dtype)
    dc = backend.full(n * u, 0, dtype)
    cells = cells.storage if cells is not None else dc
    d_gx = backend._empty(n * steps * width, dtype)
    launch = backend._grid(n * u)
    for s in range(steps - 1, -1, -1):
        t = steps - 1 - s if go_backwards else s
        backward_gates[launch](code, s, t, d_states.storage, dh, dc, states.storage, gates.storage, cells, act, rec,
                               n, steps, u, d_gx)
        if code == GRU:
            backward_reset[launch](s, t, U.storage, masks, dh, states.storage, gates.storage, rec, n, steps, u,
                                   d_gx, dh_next)
        backward_state[launch](code, t, U.storage, masks, d_gx, n, steps, u, dh_next)
        dh, dh_next = dh_next, dh
    dU = backend._empty(u * width, dtype)
    recurrent_kernel_grad[backend._grid(u * width)](code, bool(go_backwards), masks, states.storage,
                                                    gates.storage, d_gx, n, steps, u, dU)
    d_bias = backend._empty(width, dtype)
    bias_grad[backend._grid(width)](d_gx, n * steps, d_bias)
    return d_gx, dU, d_bias


@cuda.jit
def bias_grad(d_gx, rows, d_bias):
    """Thread col: d_bias[col] = sum over the rows (samples x steps) of d_gx[row, col]."""
    width = d_bias.shape[0]
    for col in range(cuda.grid(1), width, cuda.gridsize(1)):
        acc = 0.0
        for row in range(rows):
            acc += d_gx[row * width + col]
        d_bias[col] = acc


def ones_masks(backend, gates, n, u, dtype):
    """No dropout: masks of ones, so the kernels have one code path."""
    return backend.full(gates * n * u, 1, np.dtype(dtype))
