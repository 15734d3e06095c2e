"""Xception (Chollet, arXiv 1610.02357) as Keras 2 builds it (keras/applications/xception.py).

Depthwise separable convolutions throughout: an entry flow (two plain convolutions, then
three blocks that halve the image, each with a strided 1x1 convolution as its residual
shortcut), a middle flow of eight identical residual blocks of three separable
convolutions at 728 channels, and an exit flow. Every convolution is followed by
BatchNormalization; none has a bias. Layer names are Keras' (block1_conv1,
block2_sepconv1_bn, ...; the shortcut convolutions, their batch norms and the additions
take automatic names, conv2d_1, batch_normalization_1, add_1, as in a fresh Keras
session), and model.layers is in Keras' order, so Keras' released weight files load.
"""
from __future__ import annotations

from ..nn.layers import Activation, BatchNormalization, Conv2D, Input, MaxPooling2D, SeparableConv2D, add
from . import imagenet_utils
from .imagenet_utils import obtain_input_shape
from .common import check_arguments, finish_application, pooled_classifier_or_pooling
from .keras_order import released_weights

_RELEASES = "https://github.com/fchollet/deep-learning-models/releases/download/v0.4/"
# (file name, md5) of Keras' released weights (keras/applications/xception.py, Keras 2.1).
IMAGENET_WEIGHTS = {
    True: ("xception_weights_tf_dim_ordering_tf_kernels.h5", "0a58e3b7378bc2990ea3b43d5981f1f6"),
    False: ("xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97"),
}
MIN_SIZE = 71


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802 - Keras' name
             pooling=None, classes=1000):
    """Xception; 22,910,480 parameters, 20,861,480 without the classifier (include_top=False).

    weights: None (random), 'imagenet' (Keras' released file, downloaded once into the data
    folder) or the path of a Keras weight file. input_shape: (h, w, 3), at least 71x71;
    default (299, 299, 3) with the classifier, (None, None, 3) without. pooling (without the
    classifier): None (the 4D output of block14_sepconv2_act), 'avg' or 'max'.
    Inputs are preprocessed with `preprocess_input` (x / 127.5 - 1).
    """
    check_arguments(weights, include_top, classes, pooling, input_tensor)
    input_shape = obtain_input_shape(input_shape, default_size=299, min_size=MIN_SIZE,
                                     require_flatten=include_top, weights=weights)
    weights_path = _imagenet_path(include_top) if weights == "imagenet" else weights
    img_input = Input(shape=input_shape) if input_tensor is None else input_tensor
    x = _entry_flow(img_input)
    for block in range(5, 13):
        x = _middle_block(x, f"block{block}")
    x = _exit_flow(x)
    x = pooled_classifier_or_pooling(x, include_top, pooling, classes)
    return finish_application(img_input, input_tensor, x, "xception", weights_path, keras_order=True)


def _conv_bn(x, filters, kernel, name, strides=(1, 1)):
    x = Conv2D(filters, kernel, strides=strides, use_bias=False, name=name)(x)
    return BatchNormalization(name=f"{name}_bn")(x)


def _sepconv_bn(x, filters, name):
    x = SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return BatchNormalization(name=f"{name}_bn")(x)


def _shortcut(x, filters):
    """The residual branch of a downsampling block: a strided 1x1 convolution (auto-named)."""
    residual = Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return BatchNormalization()(residual)


def _downsampling_block(x, filters, prefix, first_relu=True, second_filters=None):
    """[relu] sepconv, bn, relu, sepconv, bn, 3x3/2 max pooling, + shortcut."""
    residual = _shortcut(x, second_filters or filters)
    if first_relu:
        x = Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _sepconv_bn(x, filters, f"{prefix}_sepconv1")
    x = Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _sepconv_bn(x, second_filters or filters, f"{prefix}_sepconv2")
    x = MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return add([x, residual])


def _entry_flow(img_input):
    x = _conv_bn(img_input, 32, (3, 3), "block1_conv1", strides=(2, 2))
    x = Activation("relu", name="block1_conv1_act")(x)
    x = _conv_bn(x, 64, (3, 3), "block1_conv2")
    x = Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, 128, "block2", first_relu=False)   # Keras: no relu before block2
    x = _downsampling_block(x, 256, "block3")
    return _downsampling_block(x, 728, "block4")


def _middle_block(x, prefix):
    residual = x
    for i in (1, 2, 3):
        x = Activation("relu", name=f"{prefix}_sepconv{i}_act")(x)
        x = _sepconv_bn(x, 728, f"{prefix}_sepconv{i}")
    return add([x, residual])


def _exit_flow(x):
    x = _downsampling_block(x, 728, "block13", second_filters=1024)
    for i, filters in ((1, 1536), (2, 2048)):
        x = _sepconv_bn(x, filters, f"block14_sepconv{i}")
        x = Activation("relu", name=f"block14_sepconv{i}_act")(x)
    return x


def _imagenet_path(include_top):
    fname, md5 = IMAGENET_WEIGHTS[include_top]
    return released_weights("xception", fname, _RELEASES + fname, md5, include_top)


def preprocess_input(x):
    """Xception's preprocessing ('tf' mode): pixels 0..255 -> -1..1 (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, mode="tf")


__all__ = ["Xception", "preprocess_input"]
