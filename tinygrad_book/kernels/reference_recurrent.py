"""The fused recurrent sequences in numpy: the equations, to be read (and the oracle).

Contract: base.Backend.rnn_forward / rnn_backward. The inputs x (B, T, F) are projected
per gate, x_g = (x * mx_g) W_g (mx_g: the gate's input-dropout mask, ones without dropout),
for all steps at once here (`project_inputs`: the reference is read, not timed). Each step s
then reads the projected inputs of one time step plus the bias, x = gates_x[:, t] + b
(t = s, or T-1-s going backwards), the previous state h (zero at the start) and, per gate
g, its recurrent-dropout mask m_g:

    SimpleRNN   h = act(x + (h*m) U)
    LSTM        i = rec(x_i + (h*m_i) U_i)    f = rec(x_f + (h*m_f) U_f)
                g = act(x_c + (h*m_c) U_c)    o = rec(x_o + (h*m_o) U_o)
                c = f * c + i * g             h = o * act(c)
    GRU         z = rec(x_z + (h*m_z) U_z)    r = rec(x_r + (h*m_r) U_r)
                hh = act(x_h + (r * h*m_h) U_h)
                h = z * h + (1 - z) * hh

(act = activation, rec = recurrent_activation). Backward runs the steps in reverse with
the chain rule, one step at a time; every derivative is taken from a saved *output*
(tanh' = 1 - y^2, sigmoid' = y (1 - y), ...), so forward saves only the gate activations,
the states and the LSTM's cells. The pre-activation gradient of gate g at step s, da_g, is
also the gradient of gates_x there (gates_x enters each pre-activation with slope 1), the
bias's gradient is the sum of da over samples and steps, and U_g's gradient is the sum
over steps of (what multiplied U_g)^T @ da_g. Through the projection, d x = sum_g
(d gates_x_g W_g^T) * mx_g and d W_g = sum over samples and steps of (x * mx_g)^T d gates_x_g.
"""
from __future__ import annotations

import numpy as np

# activation name -> (f(x), f'(x) written with y = f(x))
ACTIVATIONS = {
    "linear": (lambda x: x, lambda y: np.ones_like(y)),
    "tanh": (np.tanh, lambda y: 1 - y * y),
    "sigmoid": (lambda x: 0.5 * (1 + np.tanh(0.5 * x)), lambda y: y * (1 - y)),   # stable in both tails
    "hard_sigmoid": (lambda x: np.clip(0.2 * x + 0.5, 0, 1), lambda y: np.where((y > 0) & (y < 1), 0.2, 0.0)),
    "relu": (lambda x: np.maximum(x, 0), lambda y: (y > 0).astype(y.dtype)),
}


def _split(a, gates):
    """(..., G*u) -> G arrays (..., u), one per gate."""
    return np.split(a, gates, axis=-1)


def _input_step(s, steps, go_backwards):
    return steps - 1 - s if go_backwards else s


def project_inputs(x, kernel, input_masks):
    """gates_x (B, T, G*u): gate g's columns are (x * mx_g) @ W_g, every step at once."""
    if input_masks is None:
        return x @ kernel
    G = len(input_masks)
    W = _split(kernel, G)
    return np.concatenate([(x * input_masks[g][:, None]) @ W[g] for g in range(G)], axis=-1)


def project_inputs_backward(x, kernel, input_masks, d_gates_x):
    """(d x, d kernel) of project_inputs, given d gates_x."""
    if input_masks is None:
        return d_gates_x @ kernel.T, np.einsum("btf,btw->fw", x, d_gates_x)
    G = len(input_masks)
    W, d_gx = _split(kernel, G), _split(d_gates_x, G)
    dx = sum((d_gx[g] @ W[g].T) * input_masks[g][:, None] for g in range(G))
    dW = [np.einsum("btf,btw->fw", x * input_masks[g][:, None], d_gx[g]) for g in range(G)]
    return dx, np.concatenate(dW, axis=-1)


def rnn_forward(kind, x, kernel, recurrent_kernel, bias, input_masks, state_masks, activations, go_backwards):
    """numpy arrays in (bias (G*u,) or None, masks or None); (states, gates, cells) arrays
    out, as base.Backend.rnn_forward."""
    gates_x = project_inputs(x, kernel, input_masks)
    return run_steps(kind, gates_x if bias is None else gates_x + bias, recurrent_kernel, state_masks, activations,
                     go_backwards)


def rnn_backward(kind, d_states, x, kernel, recurrent_kernel, input_masks, state_masks, states, gates, cells,
                 activations, go_backwards):
    """numpy arrays in; (d x, d kernel, d recurrent_kernel, d bias) out, as base.Backend.rnn_backward."""
    d_gates_x, d_recurrent_kernel = run_steps_backward(kind, d_states, recurrent_kernel, state_masks, states, gates,
                                                       cells, activations, go_backwards)
    dx, d_kernel = project_inputs_backward(x, kernel, input_masks, d_gates_x)
    return dx, d_kernel, d_recurrent_kernel, d_gates_x.sum(axis=(0, 1))


def run_steps(kind, gates_x, recurrent_kernel, state_masks, activations, go_backwards):
    """The time loop on inputs already projected (bias included): (states, gates, cells)."""
    n, steps, width = gates_x.shape
    units = recurrent_kernel.shape[0]
    G = width // units
    act, rec = ACTIVATIONS[activations[0]][0], ACTIVATIONS[activations[1]][0]
    U = _split(recurrent_kernel, G)
    m = np.ones((G, n, units), gates_x.dtype) if state_masks is None else state_masks
    h, c = np.zeros((n, units), gates_x.dtype), np.zeros((n, units), gates_x.dtype)
    states, gates = np.empty((n, steps, units), gates_x.dtype), np.empty((n, steps, width), gates_x.dtype)
    cells = np.empty((n, steps, units), gates_x.dtype) if kind == "lstm" else None
    for s in range(steps):
        x = _split(gates_x[:, _input_step(s, steps, go_backwards)], G)
        if kind == "simple_rnn":
            h = act(x[0] + (h * m[0]) @ U[0])
            acts = [h]
        elif kind == "lstm":
            i = rec(x[0] + (h * m[0]) @ U[0])
            f = rec(x[1] + (h * m[1]) @ U[1])
            g = act(x[2] + (h * m[2]) @ U[2])
            o = rec(x[3] + (h * m[3]) @ U[3])
            c = f * c + i * g
            h = o * act(c)
            acts = [i, f, g, o]
            cells[:, s] = c
        else:
            z = rec(x[0] + (h * m[0]) @ U[0])
            r = rec(x[1] + (h * m[1]) @ U[1])
            hh = act(x[2] + (r * h * m[2]) @ U[2])
            h = z * h + (1 - z) * hh
            acts = [z, r, hh]
        states[:, s] = h
        gates[:, s] = np.concatenate(acts, axis=-1)
    return states, gates, cells


def run_steps_backward(kind, d_states, recurrent_kernel, state_masks, states, gates, cells, activations,
                       go_backwards):
    """The mirror loop of run_steps: (d gates_x, d recurrent_kernel)."""
    n, steps, units = states.shape
    G = gates.shape[2] // units
    d_act, d_rec = ACTIVATIONS[activations[0]][1], ACTIVATIONS[activations[1]][1]
    act = ACTIVATIONS[activations[0]][0]
    U = _split(recurrent_kernel, G)
    m = np.ones((G, n, units), states.dtype) if state_masks is None else state_masks
    d_gates_x = np.empty(gates.shape, states.dtype)
    dU = [np.zeros_like(u) for u in U]
    dh, dc = np.zeros((n, units), states.dtype), np.zeros((n, units), states.dtype)
    zeros = np.zeros((n, units), states.dtype)
    for s in reversed(range(steps)):
        h_prev = states[:, s - 1] if s > 0 else zeros
        dh = dh + d_states[:, s]
        if kind == "simple_rnn":
            da = [dh * d_act(gates[:, s])]
            recurrent_in = [h_prev * m[0]]
        elif kind == "lstm":
            i, f, g, o = _split(gates[:, s], G)
            c_prev = cells[:, s - 1] if s > 0 else zeros
            tc = act(cells[:, s])
            dc = dc + dh * o * d_act(tc)                 # h = o * act(c)
            da = [dc * g * d_rec(i), dc * c_prev * d_rec(f), dc * i * d_act(g), dh * tc * d_rec(o)]
            dc = dc * f                                   # c = f * c_prev + ...
            recurrent_in = [h_prev * m[k] for k in range(4)]
        else:
            z, r, hh = _split(gates[:, s], G)
            da_h = dh * (1 - z) * d_act(hh)
            d_rh = da_h @ U[2].T                          # gradient of (r * h*m_h)
            da = [dh * (h_prev - hh) * d_rec(z), d_rh * h_prev * m[2] * d_rec(r), da_h]
            recurrent_in = [h_prev * m[0], h_prev * m[1], r * h_prev * m[2]]
        d_gates_x[:, _input_step(s, steps, go_backwards)] = np.concatenate(da, axis=-1)
        for k in range(G):
            dU[k] += recurrent_in[k].T @ da[k]
        # what flows back into h_prev: through each gate's recurrent product (and, in the GRU,
        # through z * h_prev and through r * h_prev)
        dh_prev = sum((da[k] @ U[k].T) * m[k] for k in range(G) if not (kind == "gru" and k == 2))
        if kind == "gru":
            dh_prev = dh_prev + dh * z + d_rh * r * m[2]
        dh = dh_prev
    return d_gates_x, np.concatenate(dU, axis=-1)
