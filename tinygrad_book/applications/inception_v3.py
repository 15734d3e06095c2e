"""Inception V3 (Szegedy et al., arXiv 1512.00567) as Keras 2 builds it
(keras/applications/inception_v3.py).

A stem of plain convolutions, then eleven Inception modules (mixed0 ... mixed10): parallel
branches of 1x1, 3x3 (or factorised 1x7 + 7x1) convolutions and a pooling, concatenated on
the channel axis. Every convolution is `conv2d_bn`: Conv2D without bias, BatchNormalization
without scale (gamma), ReLU. Only the concatenations (mixed0 ... mixed10, mixed9_0,
mixed9_1), the classifier and its pooling carry names; every other layer takes Keras'
automatic name (conv2d_1, batch_normalization_1, activation_1, ...) as in a fresh Keras
session, and model.layers is in Keras' order, so Keras' released weight files load.
"""
from __future__ import annotations

from ..nn.layers import Activation, AveragePooling2D, BatchNormalization, Conv2D, Input, MaxPooling2D, concatenate
from . import imagenet_utils
from .imagenet_utils import obtain_input_shape
from .common import check_arguments, finish_application, pooled_classifier_or_pooling
from .keras_order import released_weights

_RELEASES = "https://github.com/fchollet/deep-learning-models/releases/download/v0.5/"
# (file name, md5) of Keras' released weights (keras/applications/inception_v3.py, Keras 2.0.8).
IMAGENET_WEIGHTS = {
    True: ("inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564"),
    False: ("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63"),
}
# Keras 2.0 asked for 139x139; 75x75 is the smallest input every 'valid' layer still fits
# (and what later Keras versions ask for).
MIN_SIZE = 75
CHANNELS = 3   # the channel axis of (batch, height, width, channels)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes=1000):
    """Inception V3; 23,851,784 parameters, 21,802,784 without the classifier.

    Arguments as Xception: weights None, 'imagenet' or a path; input_shape (h, w, 3) of at
    least 75x75, default (299, 299, 3) with the classifier; pooling None, 'avg' or 'max'.
    Inputs are preprocessed with `preprocess_input` (x / 127.5 - 1).
    """
    check_arguments(weights, include_top, classes, pooling, input_tensor)
    input_shape = obtain_input_shape(input_shape, default_size=299, min_size=MIN_SIZE,
                                     require_flatten=include_top, weights=weights)
    weights_path = _imagenet_path(include_top) if weights == "imagenet" else weights
    img_input = Input(shape=input_shape) if input_tensor is None else input_tensor
    x = _stem(img_input)
    x = _modules_35x35(x)
    x = _modules_17x17(x)
    x = _modules_8x8(x)
    x = pooled_classifier_or_pooling(x, include_top, pooling, classes)
    return finish_application(img_input, input_tensor, x, "inception_v3", weights_path, keras_order=True)


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Conv2D (no bias) -> BatchNormalization (no scale) -> ReLU; named name_conv, name_bn, name."""
    x = Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
               name=None if name is None else f"{name}_conv")(x)
    x = BatchNormalization(axis=CHANNELS, scale=False, name=None if name is None else f"{name}_bn")(x)
    return Activation("relu", name=name)(x)


def _avg_pool_branch(x, filters):
    branch = AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(branch, filters, 1, 1)


def _stem(img_input):
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    return MaxPooling2D((3, 3), strides=(2, 2))(x)


def _modules_35x35(x):
    """mixed0-2: 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg pool, 1x1; then mixed3 halves the size."""
    for i, pool_filters in enumerate((32, 64, 64)):
        branch1x1 = conv2d_bn(x, 64, 1, 1)
        branch5x5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
        branch3x3dbl = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        branch_pool = _avg_pool_branch(x, pool_filters)
        x = concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=CHANNELS, name=f"mixed{i}")
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = MaxPooling2D((3, 3), strides=(2, 2))(x)
    return concatenate([branch3x3, branch3x3dbl, branch_pool], axis=CHANNELS, name="mixed3")


def _modules_17x17(x):
    """mixed4-7: factorised 7x7 convolutions (1x7 then 7x1) with c channels inside; then
    mixed8 halves the size."""
    for i, c in enumerate((128, 160, 160, 192), start=4):
        branch1x1 = conv2d_bn(x, 192, 1, 1)
        branch7x7 = conv2d_bn(conv2d_bn(conv2d_bn(x, c, 1, 1), c, 1, 7), 192, 7, 1)
        branch7x7dbl = conv2d_bn(x, c, 1, 1)
        for rows, cols, filters in ((7, 1, c), (1, 7, c), (7, 1, c), (1, 7, 192)):
            branch7x7dbl = conv2d_bn(branch7x7dbl, filters, rows, cols)
        branch_pool = _avg_pool_branch(x, 192)
        x = concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=CHANNELS, name=f"mixed{i}")
    branch3x3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = MaxPooling2D((3, 3), strides=(2, 2))(x)
    return concatenate([branch3x3, branch7x7x3, branch_pool], axis=CHANNELS, name="mixed8")


def _modules_8x8(x):
    """mixed9-10: the 3x3 branches split into parallel 1x3 and 3x1 convolutions."""
    for i in range(2):
        branch1x1 = conv2d_bn(x, 320, 1, 1)
        branch3x3 = conv2d_bn(x, 384, 1, 1)
        branch3x3 = concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)],
                                axis=CHANNELS, name=f"mixed9_{i}")
        branch3x3dbl = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
        branch3x3dbl = concatenate([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)],
                                   axis=CHANNELS)
        branch_pool = _avg_pool_branch(x, 192)
        x = concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=CHANNELS, name=f"mixed{9 + i}")
    return x


def _imagenet_path(include_top):
    fname, md5 = IMAGENET_WEIGHTS[include_top]
    return released_weights("inception_v3", fname, _RELEASES + fname, md5, include_top)


def preprocess_input(x):
    """Inception V3's preprocessing ('tf' mode): pixels 0..255 -> -1..1 (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, mode="tf")


__all__ = ["InceptionV3", "conv2d_bn", "preprocess_input"]
