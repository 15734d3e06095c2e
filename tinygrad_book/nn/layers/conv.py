"""Convolution and pooling layers (NHWC images, NLC sequences, as Keras' channels_last)."""
from __future__ import annotations

from ...autograd import functional as F
from .base import Layer, not_implemented, positive_int, positive_ints
from .core import ActivatedLayer, _reg_config


def _channels_last(layer, data_format, dilation_rate, rank):
    """Only Keras' defaults: channels_last data, no dilation."""
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"{layer}: data_format={data_format!r} not implemented (channels_last only)")
    if positive_ints(layer, "dilation_rate", dilation_rate, rank) != (1,) * rank:
        raise NotImplementedError(f"{layer}: dilation_rate={dilation_rate!r} not implemented (1 only)")


class Conv2D(ActivatedLayer):
    """activation(conv2d(x, kernel) + bias); kernel (KH, KW, C, filters) as Keras stores it."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        _channels_last("Conv2D", data_format, dilation_rate, 2)
        not_implemented("Conv2D", bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                        kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        super().__init__(activation=activation, **kwargs)
        if padding not in ("valid", "same"):
            raise ValueError(f"{self.name}: padding must be 'valid' or 'same', got {padding!r}")
        self.filters = positive_int("Conv2D", "filters", filters)
        self.kernel_size = positive_ints("Conv2D", "kernel_size", kernel_size, 2)
        self.strides = positive_ints("Conv2D", "strides", strides, 2)
        self.padding, self.use_bias = padding, use_bias
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, kernel_regularizer
        self.bias_initializer = bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: Conv2D expects (batch, height, width, channels) inputs, got {input_shape}")
        kh, kw = self.kernel_size
        self.kernel = self.add_weight((kh, kw, input_shape[-1], self.filters), self.kernel_initializer,
                                      self.kernel_regularizer, "kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, None, "bias") if self.use_bias else None

    def compute_output_shape(self, input_shape):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (input_shape[0], F.conv_output_length(input_shape[1], kh, sh, self.padding),
                F.conv_output_length(input_shape[2], kw, sw, self.padding), self.filters)

    def call(self, x, training=False):
        act = self.fused_activation(x)
        if act is None:
            return super().call(x, training)
        return F.conv2d(x, self.kernel, self.strides, self.padding, self.bias, act)   # bias + act fused

    def pre_activation(self, x, training=False):
        if self.fusable(x):
            return F.conv2d(x, self.kernel, self.strides, self.padding, self.bias)
        z = F.conv2d(x, self.kernel, stride=self.strides, padding=self.padding)
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "use_bias": self.use_bias,
                "kernel_regularizer": _reg_config(self.kernel_regularizer)}


class Conv1D(ActivatedLayer):
    """activation(conv1d(x, kernel) + bias) over (batch, steps, channels); kernel (K, C, filters)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        _channels_last("Conv1D", data_format, dilation_rate, 1)
        not_implemented("Conv1D", bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                        kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        super().__init__(activation=activation, **kwargs)
        self.filters = positive_int("Conv1D", "filters", filters)
        self.kernel_size, = positive_ints("Conv1D", "kernel_size", kernel_size, 1)
        self.strides, = positive_ints("Conv1D", "strides", strides, 1)
        self.padding, self.use_bias, self.kernel_initializer = padding, use_bias, kernel_initializer
        self.bias_initializer, self.kernel_regularizer = bias_initializer, kernel_regularizer

    def build(self, input_shape):
        self.kernel = self.add_weight((self.kernel_size, input_shape[-1], self.filters),
                                      self.kernel_initializer, self.kernel_regularizer, "kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, None, "bias") if self.use_bias else None

    def compute_output_shape(self, input_shape):
        length = F.conv_output_length(input_shape[1], self.kernel_size, self.strides, self.padding)
        return (input_shape[0], length, self.filters)

    def pre_activation(self, x, training=False):
        z = F.conv1d(x, self.kernel, stride=self.strides, padding=self.padding)
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "use_bias": self.use_bias}


class _Pooling2D(Layer):
    """padding 'valid' (windows inside the image) or 'same' (ceil(size / stride) windows,
    padded as a 'same' convolution, the padding never counted: see F.max_pool2d, F.avg_pool2d)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        _channels_last(type(self).__name__, data_format, 1, 1)
        super().__init__(**kwargs)
        if padding not in ("valid", "same"):
            raise ValueError(f"{self.name}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        self.pool_size = positive_ints(type(self).__name__, "pool_size", pool_size, 2)
        self.strides = self.pool_size if strides is None else positive_ints(type(self).__name__, "strides",
                                                                            strides, 2)

    def compute_output_shape(self, input_shape):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return (input_shape[0], F.conv_output_length(input_shape[1], ph, sh, self.padding),
                F.conv_output_length(input_shape[2], pw, sw, self.padding), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Max over each pool_size window (stride = pool_size unless given)."""

    def call(self, x, training=False):
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AveragePooling2D(_Pooling2D):
    """Mean over each pool_size window (stride = pool_size unless given)."""

    def call(self, x, training=False):
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)


class DepthwiseConv2D(ActivatedLayer):
    """activation(depthwise_conv2d(x, depthwise_kernel) + bias): each input channel convolved
    on its own with depth_multiplier kernels; depthwise_kernel (KH, KW, C, depth_multiplier),
    output channels C * depth_multiplier (channel c's outputs side by side, as Keras)."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        _channels_last("DepthwiseConv2D", data_format, 1, 1)
        not_implemented("DepthwiseConv2D", bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(activation=activation, **kwargs)
        self._set_depthwise("DepthwiseConv2D", kernel_size, strides, padding, depth_multiplier, use_bias,
                            depthwise_initializer, depthwise_regularizer, bias_initializer)

    def _set_depthwise(self, layer, kernel_size, strides, padding, depth_multiplier, use_bias, initializer,
                       regularizer, bias_initializer):
        if padding not in ("valid", "same"):
            raise ValueError(f"{self.name}: padding must be 'valid' or 'same', got {padding!r}")
        self.kernel_size = positive_ints(layer, "kernel_size", kernel_size, 2)
        self.strides = positive_ints(layer, "strides", strides, 2)
        self.depth_multiplier = positive_int(layer, "depth_multiplier", depth_multiplier)
        self.padding, self.use_bias = padding, use_bias
        self.depthwise_initializer, self.depthwise_regularizer = initializer, regularizer
        self.bias_initializer = bias_initializer

    def _check_image(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: {type(self).__name__} expects (batch, height, width, channels) "
                             f"inputs with known channels, got {input_shape}")

    def _add_depthwise_kernel(self, input_shape):
        self._check_image(input_shape)
        kh, kw = self.kernel_size
        self.depthwise_kernel = self.add_weight((kh, kw, input_shape[-1], self.depth_multiplier),
                                                self.depthwise_initializer, self.depthwise_regularizer,
                                                "depthwise_kernel")

    def build(self, input_shape):
        self._add_depthwise_kernel(input_shape)
        channels = input_shape[-1] * self.depth_multiplier
        self.bias = self.add_weight((channels,), self.bias_initializer, None, "bias") if self.use_bias else None

    def _output_size(self, input_shape):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (input_shape[0], F.conv_output_length(input_shape[1], kh, sh, self.padding),
                F.conv_output_length(input_shape[2], kw, sw, self.padding))

    def compute_output_shape(self, input_shape):
        return self._output_size(input_shape) + (input_shape[3] * self.depth_multiplier,)

    def pre_activation(self, x, training=False):
        z = F.depthwise_conv2d(x, self.depthwise_kernel, stride=self.strides, padding=self.padding)
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "depth_multiplier": self.depth_multiplier, "use_bias": self.use_bias}


class SeparableConv2D(DepthwiseConv2D):
    """Depthwise separable convolution (Xception's building block): a depthwise convolution
    (each channel on its own, depthwise_kernel (KH, KW, C, depth_multiplier)), then a 1x1
    convolution mixing the channels (pointwise_kernel (1, 1, C * depth_multiplier, filters)),
    then bias and activation. Weights in Keras' order: depthwise_kernel, pointwise_kernel, bias."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, depth_multiplier=1,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 dilation_rate=(1, 1), **kwargs):
        _channels_last("SeparableConv2D", data_format, dilation_rate, 2)
        not_implemented("SeparableConv2D", bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                        pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        ActivatedLayer.__init__(self, activation=activation, **kwargs)
        self._set_depthwise("SeparableConv2D", kernel_size, strides, padding, depth_multiplier, use_bias,
                            depthwise_initializer, depthwise_regularizer, bias_initializer)
        self.filters = positive_int("SeparableConv2D", "filters", filters)
        self.pointwise_initializer, self.pointwise_regularizer = pointwise_initializer, pointwise_regularizer

    def build(self, input_shape):
        self._add_depthwise_kernel(input_shape)
        self.pointwise_kernel = self.add_weight((1, 1, input_shape[-1] * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, self.pointwise_regularizer,
                                                "pointwise_kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, None, "bias") if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return self._output_size(input_shape) + (self.filters,)

    def pre_activation(self, x, training=False):
        z = F.depthwise_conv2d(x, self.depthwise_kernel, stride=self.strides, padding=self.padding)
        z = F.conv2d(z, self.pointwise_kernel)
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


class GlobalAveragePooling2D(Layer):
    """(n, h, w, c) -> (n, c): the mean over all positions."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])

    def call(self, x, training=False):
        return x.mean(axis=(1, 2))


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    """(n, h, w, c) -> (n, c): the max over all positions."""

    def call(self, x, training=False):
        return x.max(axis=(1, 2))


class MaxPooling1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        _channels_last("MaxPooling1D", data_format, 1, 1)
        if padding != "valid":
            raise NotImplementedError(f"MaxPooling1D: only padding='valid' pooling is implemented, got {padding!r}")
        super().__init__(**kwargs)
        self.pool_size, = positive_ints("MaxPooling1D", "pool_size", pool_size, 1)
        self.strides = self.pool_size if strides is None else positive_ints("MaxPooling1D", "strides", strides, 1)[0]

    def compute_output_shape(self, input_shape):
        length = F.conv_output_length(input_shape[1], self.pool_size, self.strides, "valid")
        return (input_shape[0], length, input_shape[2])

    def call(self, x, training=False):
        return F.max_pool1d(x, self.pool_size, self.strides)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


class GlobalMaxPooling1D(Layer):
    """(n, steps, c) -> (n, c): the max over steps."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def call(self, x, training=False):
        return x.max(axis=1)


__all__ = ["Conv2D", "Conv1D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "MaxPooling1D", "GlobalMaxPooling1D"]
