"""The gate activations of the fused recurrent kernels, one number at a time.

Written once as plain Python (like vocabulary.py's index math); kernels/cpu/recurrent.py
compiles these functions with numba's `njit`, kernels/cuda/recurrent.py with
`cuda.jit(device=True)`. A kernel takes an activation as its index in
base.GATE_ACTIVATIONS and tests it against the named codes below.

`slope(code, y)` is the derivative written with the activation's *output* y = f(x): the
forward pass saves outputs only, and every activation here has its slope as a function
of its output (tanh' = 1 - y^2, sigmoid' = y (1 - y), hard_sigmoid' = 0.2 inside (0, 1),
relu' = [y > 0]).
"""
from __future__ import annotations

import math

from .base import GATE_ACTIVATIONS

LINEAR, TANH, SIGMOID, HARD_SIGMOID, RELU = range(5)
ACTIVATION_CODES = {name: code for code, name in enumerate(GATE_ACTIVATIONS)}
assert [ACTIVATION_CODES[n] for n in ("linear", "tanh", "sigmoid", "hard_sigmoid", "relu")] == \
    [LINEAR, TANH, SIGMOID, HARD_SIGMOID, RELU]

SIMPLE_RNN, LSTM, GRU = range(3)
KIND_CODES = {"simple_rnn": SIMPLE_RNN, "lstm": LSTM, "gru": GRU}


def activate(code, x):
    """f(x) for the activation `code`."""
    if code == TANH:
        return math.tanh(x)
    if code == SIGMOID:      # 0.5 (1 + tanh(x/2)): equal to 1 / (1 + e^-x), and no overflow in either tail
        return 0.5 + 0.5 * math.tanh(0.5 * x)
    if code == HARD_SIGMOID:
        return min(max(0.2 * x + 0.5, 0.0), 1.0)
    if code == RELU:
        return max(x, 0.0)
    return x


def slope(code, y):
    """f'(x), written with y = f(x)."""
    if code == TANH:
        return 1.0 - y * y
    if code == SIGMOID:
        return y * (1.0 - y)
    if code == HARD_SIGMOID:
        return 0.2 if 0.0 < y < 1.0 else 0.0
    if code == RELU:
        return 1.0 if y > 0.0 else 0.0
    return 1.0
