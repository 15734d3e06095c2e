"""Recurrent layers as Keras 2.0 defines them: SimpleRNN, LSTM, GRU, and Bidirectional.

Input (batch, steps, features), any number of steps. The state h (batch, units) starts
at zero; each step reads one slice x_t and the previous state. Two ways to compute it:

* fused (the default): the whole sequence is one op, autograd/ops_recurrent.py: the time
  loop, each step's input projection included (and, backward, the loop through time), runs
  in one compiled backend primitive (kernels/*/recurrent.py);
* the readable loop (`layer.fused = False`, and any custom activation): one Python loop
  over the steps, each step a handful of Tensor ops (`step` below), so autograd derives
  backpropagation through time by itself. The tests use it as the fused path's oracle.

Weights are stored in Keras' layout, so `set_weights` with a Keras model's arrays gives
Keras' outputs: kernel (features, g*units), recurrent_kernel (units, g*units), bias
(g*units), the g gates side by side in Keras' order (LSTM i, f, c, o; GRU z, r, h).

Dropout as Keras 2.0 (Gal & Ghahramani): in training only, one mask per gate for the
inputs (`dropout`) and one per gate for the state (`recurrent_dropout`), drawn once per
batch and kept fixed over all the time steps.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd import functional as F
from ...autograd.ops_recurrent import FUSED_ACTIVATIONS, recurrent_sequence
from .. import activations, initializers
from ..seeding import rng
from .base import Layer, layer_class, not_implemented, positive_int
from .core import _reg_config


def _refuse(layer: str, kwargs: dict, *names) -> None:
    """Arguments the shared base takes but this Keras layer does not have."""
    given = [name for name in names if name in kwargs]
    if given:
        raise TypeError(f"{layer}: unexpected argument(s) {', '.join(given)}")


def _rate(layer: str, what: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not 0.0 <= value < 1.0:
        raise ValueError(f"{layer}: {what} must be a number in [0, 1), got {value!r}")
    return float(value)


def _initializer_name(identifier) -> str:
    return initializers.name_of(initializers.get(identifier))


class Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, weights, masks and the loop over steps.

    A subclass names its `gates` (Keras' order) and its `step(x_t, states, masks) ->
    (output, states)`, where x_t holds the already projected inputs, one (batch, units)
    Tensor per gate: (x_t * input_mask_g) @ kernel_g + bias_g.
    """
    gates: tuple = ()
    n_states = 1
    kind = ""            # the fused primitive's name for this layer (base.RNN_GATES)
    fused = True         # False: the per-step loop of Tensor ops (set it on a layer to compare)

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=False, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, implementation=0,
                 **kwargs):
        kind = type(self).__name__
        not_implemented(kind, recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                        return_state=return_state, stateful=stateful)
        if implementation not in (0, 1, 2):    # Keras' ways of computing the same numbers: all equal here
            raise ValueError(f"{kind}: implementation must be 0, 1 or 2, got {implementation!r}")
        super().__init__(**kwargs)
        self.units = positive_int(kind, "units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer, self.kernel_regularizer = bias_initializer, kernel_regularizer
        self.dropout = _rate(kind, "dropout", dropout)
        self.recurrent_dropout = _rate(kind, "recurrent_dropout", recurrent_dropout)
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.unroll, self.implementation = bool(unroll), implementation

    # --- weights ----------------------------------------------------------------------
    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: {type(self).__name__} expects (batch, steps, features) inputs "
                             f"with known features, got {tuple(input_shape)}")
        width = len(self.gates) * self.units
        self.kernel = self.add_weight((input_shape[-1], width), self.kernel_initializer,
                                      self.kernel_regularizer, "kernel")
        self.recurrent_kernel = self.add_weight((self.units, width), self.recurrent_initializer, None,
                                                "recurrent_kernel")
        self.bias = self.add_weight((width,), self._bias_initializer(), None, "bias") if self.use_bias else None

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = initializers.get(self.bias_initializer), self.units

        def forget_one(shape, dtype=np.float32):
            """Keras' unit_forget_bias: the forget gate's bias starts at 1 (remember by default)."""
            return np.concatenate([base((u,), dtype), np.ones(u, dtype), base((shape[0] - 2 * u,), dtype)])
        return forget_one

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    # --- the loop -----------------------------------------------------------------------
    def _mask_arrays(self, n, size, rate, training):
        """Inverted-dropout masks (gates, n, size), one per gate, or None when no dropout."""
        if not training or rate == 0.0:
            return None
        scale = 1.0 / (1.0 - rate)
        return np.stack([(rng().random((n, size)) >= rate) * scale for _ in self.gates])

    def _masks(self, arrays, like):
        """The per-gate masks as Tensors for the loop (None per gate when no dropout)."""
        if arrays is None:
            return [None] * len(self.gates)
        return [Tensor(m, dtype=like.dtype, device=like.device) for m in arrays]

    def _gate_slices(self, w):
        u = self.units
        return [w[..., g * u:(g + 1) * u] for g in range(len(self.gates))]

    def project_inputs(self, x, masks):
        """Per gate, (x * mask_g) @ kernel_g + bias_g for all the steps at once: (n, steps, units)."""
        kernels = self._gate_slices(self.kernel)
        biases = self._gate_slices(self.bias) if self.use_bias else [None] * len(self.gates)
        projected = []
        for k, b, m in zip(kernels, biases, masks):
            xm = x if m is None else x * m.unsqueeze(1)        # the same mask at every step
            z = xm @ k
            projected.append(z if b is None else z + b)
        return projected

    def call(self, x, training=False):
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects (batch, steps, features) inputs, got shape {x.shape}")
        n, steps, features = x.shape
        if steps == 0:
            raise ValueError(f"{self.name}: got a sequence of 0 steps, shape {x.shape}")
        # both paths draw the same masks in the same order: first the inputs', then the state's
        input_masks = self._mask_arrays(n, features, self.dropout, training)
        state_masks = self._mask_arrays(n, self.units, self.recurrent_dropout, training)
        x = x.astype(self.kernel.dtype)
        if self.fused and self._fusable():
            return recurrent_sequence(self.kind, x, self.kernel, self.recurrent_kernel, self.bias,
                                      activations.name_of(self.activation),
                                      activations.name_of(self.recurrent_activation), self.go_backwards,
                                      self.return_sequences, input_masks, state_masks)
        return self.call_stepwise(x, self._masks(input_masks, self.kernel), self._masks(state_masks, self.kernel))

    def _fusable(self) -> bool:
        """The fused kernels know the activations in FUSED_ACTIVATIONS; a custom one runs the loop."""
        return all(activations.name_of(a) in FUSED_ACTIVATIONS
                   for a in (self.activation, self.recurrent_activation))

    def call_stepwise(self, x, input_masks, state_masks):
        """The readable path: a Python loop over the steps, each `step` a few Tensor ops."""
        n, steps, _ = x.shape
        projected = self.project_inputs(x, input_masks)
        recurrent = self._gate_slices(self.recurrent_kernel)
        states = [Tensor.zeros((n, self.units), dtype=self.kernel.dtype, device=self.kernel.device)
                  for _ in range(self.n_states)]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        for t in order:
            x_t = [p[:, t, :] for p in projected]
            output, states = self.step(x_t, states, recurrent, state_masks)
            outputs.append(output)
        # As Keras: with go_backwards the sequence comes out in the order it was read (reversed).
        return F.stack(outputs, axis=1) if self.return_sequences else outputs[-1]

    def step(self, x_t, states, recurrent, masks):
        raise NotImplementedError(f"{type(self).__name__}.step")

    @staticmethod
    def _dropped(h, mask):
        return h if mask is None else h * mask

    # --- config -------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.name_of(self.activation),
                "recurrent_activation": activations.name_of(self.recurrent_activation),
                "use_bias": self.use_bias, "kernel_initializer": _initializer_name(self.kernel_initializer),
                "recurrent_initializer": _initializer_name(self.recurrent_initializer),
                "bias_initializer": _initializer_name(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias, "kernel_regularizer": _reg_config(self.kernel_regularizer),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "return_sequences": self.return_sequences, "go_backwards": self.go_backwards,
                "unroll": self.unroll, "implementation": self.implementation}


class SimpleRNN(Recurrent):
    """h_t = activation(x_t W + b + (h_{t-1} * m) U): the output is the state."""
    gates = ("h",)
    kind = "simple_rnn"

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        _refuse("SimpleRNN", kwargs, "recurrent_activation", "unit_forget_bias")
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         **kwargs)

    def step(self, x_t, states, recurrent, masks):
        (h,), (u,), (m,) = states, recurrent, masks
        h = self.activation(x_t[0] + self._dropped(h, m) @ u)
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        config.pop("unit_forget_bias")
        return config


class LSTM(Recurrent):
    """Gates i, f, c, o (Keras' order); a = recurrent_activation (hard_sigmoid), g = activation (tanh):

        i = a(x_i + h U_i)    f = a(x_f + h U_f)    o = a(x_o + h U_o)
        c_t = f * c_{t-1} + i * g(x_c + h U_c)       h_t = o * g(c_t)

    (each h is h_{t-1} times its gate's recurrent dropout mask).
    """
    gates = ("i", "f", "c", "o")
    n_states = 2
    kind = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, **kwargs)

    def step(self, x_t, states, recurrent, masks):
        h, c = states
        x_i, x_f, x_c, x_o = x_t
        u_i, u_f, u_c, u_o = recurrent
        m_i, m_f, m_c, m_o = masks
        a, g, d = self.recurrent_activation, self.activation, self._dropped
        i = a(x_i + d(h, m_i) @ u_i)
        f = a(x_f + d(h, m_f) @ u_f)
        c = f * c + i * g(x_c + d(h, m_c) @ u_c)
        o = a(x_o + d(h, m_o) @ u_o)
        h = o * g(c)
        return h, [h, c]


class GRU(Recurrent):
    """Gates z, r, h (Keras' order, Keras 2.0's GRU: the reset gate acts before U_h):

        z = a(x_z + h U_z)    r = a(x_r + h U_r)    hh = g(x_h + (r * h) U_h)
        h_t = z * h_{t-1} + (1 - z) * hh
    """
    gates = ("z", "r", "h")
    kind = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=False, **kwargs):
        kind = "GRU"
        not_implemented(kind, reset_after=reset_after)   # Keras 2.1.5's CuDNN-compatible variant
        _refuse(kind, kwargs, "unit_forget_bias")
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, False, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, **kwargs)

    def step(self, x_t, states, recurrent, masks):
        (h,) = states
        x_z, x_r, x_h = x_t
        u_z, u_r, u_h = recurrent
        m_z, m_r, m_h = masks
        a, d = self.recurrent_activation, self._dropped
        z = a(x_z + d(h, m_z) @ u_z)
        r = a(x_r + d(h, m_r) @ u_r)
        hh = self.activation(x_h + (r * d(h, m_h)) @ u_h)
        h = z * h + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.pop("unit_forget_bias")
        return config


_MERGES = {"concat": lambda a, b: F.concatenate([a, b], axis=-1), "sum": lambda a, b: a + b,
           "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) * 0.5}


class Bidirectional(Layer):
    """A recurrent layer run forwards and a copy of it run backwards, outputs merged.

    As Keras 2.0: the backward copy has the opposite go_backwards; with return_sequences
    its output is reversed again, so that step t of both halves belongs to input step t.
    Weights: the forward layer's, then the backward layer's.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, **kwargs):
        if merge_mode is None:
            raise NotImplementedError("Bidirectional: merge_mode=None (two separate outputs) not implemented")
        if merge_mode not in _MERGES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {', '.join(_MERGES)}, got {merge_mode!r}")
        if not isinstance(layer, Recurrent):
            raise TypeError(f"Bidirectional: wraps a recurrent layer (SimpleRNN, LSTM, GRU), got {layer!r}")
        if layer.batch_input_shape is not None and "input_shape" not in kwargs \
                and "batch_input_shape" not in kwargs:
            kwargs["batch_input_shape"] = layer.batch_input_shape
        super().__init__(weights=weights, **kwargs)
        self.merge_mode = merge_mode
        config = layer.get_config()
        config.pop("batch_input_shape", None)
        self.forward_layer = type(layer).from_config({**config, "name": "forward_" + layer.name})
        self.backward_layer = type(layer).from_config({**config, "name": "backward_" + layer.name,
                                                       "go_backwards": not layer.go_backwards})

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            sub.device = self.device
            sub._ensure_built(input_shape)

    @property
    def weights(self):
        return self.forward_layer.weights + self.backward_layer.weights

    def penalties(self):
        return self.forward_layer.penalties() + self.backward_layer.penalties()

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            return shape[:-1] + (2 * shape[-1],)
        return shape

    def call(self, x, training=False):
        y = self.forward_layer.call(x, training)
        y_rev = self.backward_layer.call(x, training)
        if self.forward_layer.return_sequences:
            y_rev = y_rev[:, ::-1, :]
        return _MERGES[self.merge_mode](y, y_rev)

    def get_config(self):
        inner = self.forward_layer.get_config()
        inner["name"] = inner["name"][len("forward_"):]
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": {"class_name": type(self.forward_layer).__name__, "config": inner}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        inner = config.pop("layer")
        return cls(layer_class(inner["class_name"]).from_config(inner["config"]), **config)
