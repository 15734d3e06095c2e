"""A whole recurrent sequence as one op: SimpleRNN, LSTM and GRU, forward and backward
through time each one backend primitive (base.Backend.rnn_forward / rnn_backward).

Built from per-step Tensor ops (nn/layers/recurrent.py's readable loop) an LSTM step is
about 17 small kernels and graph nodes; here the work splits into what is one big
matrix product and what is inherently sequential:

    gates_x = x W                         all T steps at once: one GEMM (an ordinary MatMul)
    states  = Recurrence(gates_x, U, b)   the time loop, in compiled code: per step the bias,
                                          one small product h U and the gate arithmetic
and backward mirrors it: the time loop gives d gates_x, d U and d b (the sum of d gates_x,
accumulated in the loop); MatMul's own backward then gives d x = d gates_x W^T and
d W = x^T d gates_x, one GEMM each. The bias goes into the loop because, added to gates_x
as an op of its own, it cost a pass over the (B, T, G*u) array forward and a column sum
of d gates_x backward: ~5 % of the IMDB LSTM step.
"""
from __future__ import annotations

import numpy as np

from ..kernels.base import GATE_ACTIVATIONS, RNN_GATES
from . import functional as F
from .function import Function
from .tensor import Tensor

FUSED_ACTIVATIONS = GATE_ACTIVATIONS    # the activations the fused kernels compute (by name)


class Recurrence(Function):
    """gates_x (B, T, G*u), recurrent_kernel (u, G*u), bias (G*u,) optional -> every state
    h_s, (B, T, u): Recurrence.apply(gates_x, recurrent_kernel[, bias], kind=..., ...).

    kind, activations, go_backwards and state_masks (a constant (G, B, u) Tensor or None)
    are parameters, not inputs: the masks get no gradient."""

    def forward(self, gates_x, recurrent_kernel, *bias, kind, activations, go_backwards, state_masks=None):
        be = gates_x.backend
        masks = None if state_masks is None else state_masks.view
        states, gates, cells = be.rnn_forward(kind, gates_x.view, recurrent_kernel.view,
                                              bias[0].view if bias else None, masks, activations, go_backwards)
        n, steps, width = gates_x.shape
        units = recurrent_kernel.shape[0]
        out = gates_x.from_storage(states, (n, steps, units))
        gates = gates_x.from_storage(gates, (n, steps, width))
        cells = None if cells is None else gates_x.from_storage(cells, (n, steps, units))
        self.save(recurrent_kernel, masks, out, gates, cells, kind, activations, go_backwards)
        return out

    def backward(self, g):
        recurrent_kernel, masks, states, gates, cells, kind, activations, go_backwards = self.saved
        d_gates_x, d_kernel, d_bias = g.backend.rnn_backward(
            kind, g.view, recurrent_kernel.view, masks, states.view, gates.view,
            None if cells is None else cells.view, activations, go_backwards)
        grads = g.from_storage(d_gates_x, gates.shape), g.from_storage(d_kernel, recurrent_kernel.shape)
        return grads + (g.from_storage(d_bias, (gates.shape[2],)),) if len(self.parents) == 3 else grads


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
    n, steps, features = x.shape
    gates = RNN_GATES[kind]
    if input_masks is None:
        gates_x = x @ kernel                                # all steps and gates: one GEMM
    else:
        masks = _constant(input_masks, kernel)
        units = kernel.shape[1] // gates
        gates_x = F.concatenate([(x * masks[g].unsqueeze(1)) @ kernel[:, g * units:(g + 1) * units]
                                 for g in range(gates)], axis=2)
    states = Recurrence.apply(gates_x, recurrent_kernel, *([] if bias is None else [bias]), kind=kind,
                              activations=(activation, recurrent_activation), go_backwards=bool(go_backwards),
                              state_masks=_constant(state_masks, kernel))
    return states if return_sequences else states[:, steps - 1]
