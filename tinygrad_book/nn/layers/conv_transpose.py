"""Conv2DTranspose: the upsampling convolution of decoders and GAN generators (chapter 8)."""
from __future__ import annotations

from ...autograd import functional as F
from .base import not_implemented, positive_int, positive_ints
from .conv import _channels_last
from .core import ActivatedLayer, _reg_config


class Conv2DTranspose(ActivatedLayer):
    """activation(conv2d_transpose(x, kernel) + bias); kernel (KH, KW, filters, C) as Keras
    stores it. Output size per axis (Keras 2): size * stride for 'same', size * stride +
    max(kernel - stride, 0) for 'valid'."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        _channels_last("Conv2DTranspose", data_format, dilation_rate, 2)
        not_implemented("Conv2DTranspose", output_padding=output_padding, bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(activation=activation, **kwargs)
        if padding not in ("valid", "same"):
            raise ValueError(f"{self.name}: padding must be 'valid' or 'same', got {padding!r}")
        self.filters = positive_int("Conv2DTranspose", "filters", filters)
        self.kernel_size = positive_ints("Conv2DTranspose", "kernel_size", kernel_size, 2)
        self.strides = positive_ints("Conv2DTranspose", "strides", strides, 2)
        self.padding, self.use_bias = padding, use_bias
        self.kernel_initializer, self.kernel_regularizer = kernel_initializer, kernel_regularizer
        self.bias_initializer = bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: Conv2DTranspose expects (batch, height, width, channels) inputs, "
                             f"got {input_shape}")
        kh, kw = self.kernel_size
        self.kernel = self.add_weight((kh, kw, self.filters, input_shape[-1]), self.kernel_initializer,
                                      self.kernel_regularizer, "kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, None, "bias") if self.use_bias else None

    def compute_output_shape(self, input_shape):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (input_shape[0], F.conv_transpose_length(input_shape[1], kh, sh, self.padding),
                F.conv_transpose_length(input_shape[2], kw, sw, self.padding), self.filters)

    def pre_activation(self, x, training=False):
        z = F.conv2d_transpose(x, self.kernel, stride=self.strides, padding=self.padding)
        return z + self.bias if self.use_bias else z

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "use_bias": self.use_bias,
                "kernel_regularizer": _reg_config(self.kernel_regularizer)}
