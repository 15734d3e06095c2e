"""A whole recurrent sequence as one op: SimpleRNN, LSTM and GRU, forward and backward
through time each one backend primitive (base.Backend.rnn_forward / rnn_backward).

Built from per-step Tensor ops (nn/layers/recurrent.py's readable loop) an LSTM step is
about 17 small kernels and graph nodes; here the whole sequence is one op:

    states = Recurrence(x, W, U, b)   per step and gate: b + (x_t m_x) W + (h m_h) U and the
                                      gate arithmetic, all steps in compiled code

and backward is one primitive too: d x, d W, d U and d b, all accumulated in the loop.
The input projection x W used to be a separate MatMul over all steps at once (a
(B, T, G*u) array forward, and two more GEMMs over d gates_x backward); inside the loop,
[x_t, h] is one operand of a single product per step (docs/kernels-recurrent.md says what
that saved). The bias went into the loop a round before for the same reason.
"""
from __future__ import annotations

import numpy as np

from ..kernels.base import GATE_ACTIVATIONS, RNN_GATES
from .function import Function
from .tensor import Tensor

FUSED_ACTIVATIONS = GATE_ACTIVATIONS    # the activations the fused kernels compute (by name)


class Recurrence(Function):
    """x (B, T, F), kernel (F, G*u), recurrent_kernel (u, G*u), bias (G*u,) optional -> every
    state h_s, (B, T, u): Recurrence.apply(x, kernel, recurrent_kernel[, bias], kind=..., ...).

    kind, activations, go_backwards, input_masks (G, B, F) and state_masks (G, B, u) (constant
    Tensors or None) are parameters, not inputs: the masks get no gradient."""

    def forward(self, x, kernel, recurrent_kernel, *bias, kind, activations, go_backwards, input_masks=None,
                state_masks=None):
        masks = tuple(None if m is None else m.view for m in (input_masks, state_masks))
        states, gates, cells = x.backend.rnn_forward(kind, x.view, kernel.view, recurrent_kernel.view,
                                                     bias[0].view if bias else None, *masks, activations,
                                                     go_backwards)
        n, steps, _ = x.shape
        units, width = recurrent_kernel.shape
        out = x.from_storage(states, (n, steps, units))
        gates = x.from_storage(gates, (n, steps, width))
        cells = None if cells is None else x.from_storage(cells, (n, steps, units))
        self.save(x, kernel, recurrent_kernel, masks, out, gates, cells, kind, activations, go_backwards)
        return out

    def backward(self, g):
        x, kernel, recurrent_kernel, masks, states, gates, cells, kind, activations, go_backwards = self.saved
        grads = g.backend.rnn_backward(kind, g.view, x.view, kernel.view, recurrent_kernel.view, *masks, states.view,
                                       gates.view, None if cells is None else cells.view, activations, go_backwards,
                                       self.needs_input_grad[0])
        shapes = (x.shape, kernel.shape, recurrent_kernel.shape, (kernel.shape[1],))
        return tuple(None if d is None else g.from_storage(d, shape)
                     for d, shape in zip(grads, shapes))[:len(self.parents)]


def _constant(array, like):
    if array is None:
        return None
    t = array if isinstance(array, Tensor) else Tensor(np.asarray(array), dtype=like.dtype, device=like.device)
    return t.astype(like.dtype).detach()


def recurrent_sequence(kind, x, kernel, recurrent_kernel, bias=None, activation="tanh",
                       recurrent_activation="hard_sigmoid", go_backwards=False, return_sequences=False,
                       input_masks=None, state_masks=None):
    """A Keras 2.0 recurrent layer's computation, fused: x (B, T, F) -> (B, u), or (B, T, u)
    with return_sequences (in the order the steps were read, as Keras).

    kind: "simple_rnn", "lstm" or "gru"; kernel (F, G*u), recurrent_kernel (u, G*u), bias (G*u,)
    or None, gates side by side in Keras' order. input_masks (G, B, F) and state_masks (G, B, u):
    dropout masks, one per gate, fixed over the steps (arrays or Tensors; None: no dropout)."""
    if kind not in RNN_GATES:
        raise ValueError(f"recurrent_sequence: kind must be one of {', '.join(RNN_GATES)}, got {kind!r}")
    for name in (activation, recurrent_activation):
        if name not in GATE_ACTIVATIONS:
            raise ValueError(f"recurrent_sequence: the fused kernels know the activations "
                             f"{', '.join(GATE_ACTIVATIONS)}, got {name!r}")
    if x.ndim != 3:
        raise ValueError(f"recurrent_sequence: x must be (batch, steps, features), got shape {x.shape}")
    steps = x.shape[1]
    states = Recurrence.apply(x, kernel, recurrent_kernel, *([] if bias is None else [bias]), kind=kind,
                              activations=(activation, recurrent_activation), go_backwards=bool(go_backwards),
                              input_masks=_constant(input_masks, kernel), state_masks=_constant(state_masks, kernel))
    return states if return_sequences else states[:, steps - 1]
