"""Dense, Activation, Dropout, Flatten, Reshape, LeakyReLU, Lambda."""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd import functional as F
from .. import activations, initializers
from ..seeding import rng
from .base import Layer, SymbolicTensor, not_implemented, positive_int


class ActivatedLayer(Layer):
    """A layer whose output is activation(pre_activation(x)). Keeping the two apart
    lets the loss use the logits directly (stable fused cross-entropy)."""

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.activation_name = activations.name_of(self.activation)

    def pre_activation(self, x, training=False):
        raise NotImplementedError

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x, training))

    def fusable(self, x) -> bool:
        """True when x can go through the fused op (F.dense / F.conv2d with a bias): a
        Tensor of the weights' dtype and device (else `x @ kernel` promotes dtypes)."""
        kernel = getattr(self, "kernel", None)
        return isinstance(x, Tensor) and kernel is not None and x.dtype == kernel.dtype and x.device == kernel.device

    def fused_activation(self, x):
        """The activation's name when the fused kernels can apply it together with the
        bias (a built-in relu/sigmoid/tanh/linear, x fusable), else None (the layer then
        runs pre_activation and the activation apart: softmax, custom functions)."""
        name = self.activation_name
        if name not in F.FUSED_ACTIVATIONS or activations.get(name) is not self.activation:
            return None
        return name if self.fusable(x) else None

    def get_config(self):
        return {**super().get_config(), "activation": self.activation_name}


class Dense(ActivatedLayer):
    """activation(x @ kernel + bias); kernel (input_dim, units). Acts on the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        not_implemented("Dense", activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(activation=activation, **kwargs)
        self.units, self.use_bias = positive_int("Dense", "units", units), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known, got shape {input_shape}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer,
                                      self.kernel_regularizer, "kernel")
        self.bias = self.add_weight((self.units,), self.bias_initializer, self.bias_regularizer,
                                    "bias") if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x, training=False):
        act = self.fused_activation(x)
        if act is None:
            return super().call(x, training)
        return F.dense(x, self.kernel, self.bias, act)       # one Function, one pass after the matmul

    def pre_activation(self, x, training=False):
        if self.fusable(x):                                   # e.g. the logits of a fused loss
            return F.dense(x, self.kernel, self.bias)
        z = x @ self.kernel
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(initializers.get(self.kernel_initializer)),
                "kernel_regularizer": _reg_config(self.kernel_regularizer),
                "bias_regularizer": _reg_config(self.bias_regularizer)}


def _reg_config(reg):
    return reg.get_config() if reg is not None and hasattr(reg, "get_config") else None


class Activation(ActivatedLayer):
    """Only an activation: Activation('relu')."""

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def pre_activation(self, x, training=False):
        return x


class LeakyReLU(Layer):
    """x if x > 0 else alpha * x (Keras' default alpha = 0.3)."""

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, x, training=False):
        return x.leaky_relu(self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability `rate` and
    scale the survivors by 1/(1 - rate), so evaluation needs no change (identity)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        keep = rng().random(x.shape) >= self.rate          # drawn on the host from the seeded generator
        mask = keep.astype(np.float32) * np.float32(1.0 / (1.0 - self.rate))
        return x * Tensor(mask, dtype=x.dtype, device=x.device)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class Flatten(Layer):
    """(n, d1, d2, ...) -> (n, d1*d2*...)."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"{self.name}: Flatten needs a fully known input shape, got {input_shape}")
        return (input_shape[0], int(np.prod(rest)))

    def call(self, x, training=False):
        return x.reshape((x.shape[0], -1))


class Reshape(Layer):
    """(n, ...) -> (n, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def compute_output_shape(self, input_shape):
        target = self.target_shape
        if -1 in target:
            size = int(np.prod(input_shape[1:]))
            known = int(np.prod([d for d in target if d != -1]))
            target = tuple(size // known if d == -1 else d for d in target)
        if int(np.prod(target)) != int(np.prod(input_shape[1:])):
            raise ValueError(f"{self.name}: cannot reshape {input_shape} to (None, {', '.join(map(str, target))})")
        return (input_shape[0],) + target

    def call(self, x, training=False):
        return x.reshape((x.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Lambda(Layer):
    """Any function of Tensors as a layer (not saved in configs: Python code).

    Without `output_shape`, the output shape(s) are inferred as Keras does: the function
    is traced once on the symbolic inputs (K functions record what they would do), so a
    function returning a list gives a layer with several outputs. A function that needs
    real Tensors (a Tensor method) cannot be traced: its output keeps the input's shape."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        not_implemented("Lambda", mask=mask)
        super().__init__(**kwargs)
        self.function, self._out_shape, self.arguments = function, output_shape, dict(arguments or {})
        self._traced_shape = None

    def _call_symbolic(self, inputs):
        if self._out_shape is None:
            self._traced_shape = self._trace_shape(inputs)
        return super()._call_symbolic(inputs)

    def _trace_shape(self, inputs):
        try:
            out = self.function(inputs, **self.arguments)
        except (AttributeError, TypeError, NotImplementedError):
            return None
        outs = out if isinstance(out, (list, tuple)) else [out]
        if not all(isinstance(o, SymbolicTensor) for o in outs):
            return None
        return [o.shape for o in outs] if isinstance(out, (list, tuple)) else out.shape

    def compute_output_shape(self, input_shape):
        if self._out_shape is None:
            return self._traced_shape if self._traced_shape is not None else input_shape
        out = self._out_shape(input_shape) if callable(self._out_shape) else (input_shape[0],) + tuple(self._out_shape)
        return tuple(out)

    def call(self, x, training=False):
        out = self.function(x, **self.arguments)
        return list(out) if isinstance(out, tuple) else out

    def get_config(self):
        raise NotImplementedError(f"{self.name}: a Lambda layer holds Python code and cannot be saved "
                                  "in a model file; use save_weights and rebuild the model in code")
