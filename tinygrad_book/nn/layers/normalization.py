"""BatchNormalization, with Keras 2.0's semantics (the book's Keras).

Training (`fit`, or a call with training=True): each channel is normalised with the
batch's own mean and *biased* variance (Keras 2.0 uses tf.nn.moments), by the backend's
fused primitive, and the moving averages take one step:

    moving_mean     = moving_mean * momentum     + batch_mean * (1 - momentum)
    moving_variance = moving_variance * momentum + batch_variance * (1 - momentum)

Inference (`predict`, `evaluate`): the moving averages stand in for the batch's:
    y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta

Weights, in Keras' order: gamma (if scale), beta (if center) — trainable — then
moving_mean and moving_variance, non-trainable: the optimizer never sees them, and
summary() counts them under "Non-trainable params". (Keras 2.1.3 later rescaled the
variance of the moving average by M / (M - 1 - epsilon); 2.0, which the book uses, did not.)
"""
from __future__ import annotations

from ...autograd import no_grad
from ...autograd import functional as F
from .base import Layer, not_implemented


class BatchNormalization(Layer):
    """Normalise the `axis` channels of the input batch (Keras 2: axis=-1, channels last)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        not_implemented("BatchNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: axis must be one integer, got {axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = {"gamma": gamma_initializer, "beta": beta_initializer,
                             "moving_mean": moving_mean_initializer,
                             "moving_variance": moving_variance_initializer}
        self.gamma_regularizer, self.beta_regularizer = gamma_regularizer, beta_regularizer

    def _channel_axis(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or (self.axis % rank) == 0:
            raise ValueError(f"{self.name}: axis {self.axis} is not a channel axis of inputs of shape "
                             f"{tuple(input_shape)} (axis 0 is the batch)")
        return self.axis % rank

    def build(self, input_shape):
        channels = input_shape[self._channel_axis(input_shape)]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis {self.axis} of {tuple(input_shape)} must be known")
        init = self.initializers
        self.gamma = self.add_weight((channels,), init["gamma"], self.gamma_regularizer, "gamma") \
            if self.scale else None
        self.beta = self.add_weight((channels,), init["beta"], self.beta_regularizer, "beta") \
            if self.center else None
        self.moving_mean = self.add_weight((channels,), init["moving_mean"], None, "moving_mean")
        self.moving_variance = self.add_weight((channels,), init["moving_variance"], None, "moving_variance")
        self.moving_mean.requires_grad = self.moving_variance.requires_grad = False

    # --- which weights train: gamma and beta, never the moving statistics ----------------------
    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return [w for w in (self.gamma, self.beta) if w is not None]

    @property
    def non_trainable_weights(self) -> list:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    # --- computing --------------------------------------------------------------------------------
    def _affine(self, x):
        """gamma and beta as tensors: ones / zeros (outside the graph) where scale / center is off."""
        channels = self.moving_mean.shape
        gamma = self.gamma if self.scale else self.moving_mean.full_like(1.0, channels, x.dtype)
        beta = self.beta if self.center else self.moving_mean.full_like(0.0, channels, x.dtype)
        return gamma, beta

    def call(self, x, training=False):
        axis = self._channel_axis(x.shape)
        last = x.ndim - 1
        if axis != last:      # the primitive normalises the last axis: move the channels there
            x = x.permute(*[d for d in range(x.ndim) if d != axis], axis)
        y = self._train(x) if training else self._infer(x)
        if axis != last:
            order = list(range(last))
            order.insert(axis, last)
            y = y.permute(*order)
        return y

    def _train(self, x):
        gamma, beta = self._affine(x)
        stats = {}
        y = F.batch_norm(x, gamma, beta, self.epsilon, stats=stats)
        with no_grad():
            m = self.momentum
            self.moving_mean.replace_data(self.moving_mean * m + stats["mean"].astype(self.moving_mean.dtype) * (1 - m))
            self.moving_variance.replace_data(
                self.moving_variance * m + stats["var"].astype(self.moving_variance.dtype) * (1 - m))
        return y

    def _infer(self, x):
        gamma, beta = self._affine(x)
        scale = gamma * (self.moving_variance + self.epsilon).sqrt().reciprocal()   # per channel
        return (x - self.moving_mean) * scale + beta

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


__all__ = ["BatchNormalization"]
