"""ImageNet helpers shared by the pretrained networks: `preprocess_input` (what the
network saw in training) and `decode_predictions` (class index -> WordNet id and name).

As Keras 2 (keras/applications/imagenet_utils.py), images are channels_last unless said.
"""
from __future__ import annotations

import json

import numpy as np

from ..data.download import get_file

CLASS_INDEX_URL = "https://s3.amazonaws.com/deep-learning-models/image-models/imagenet_class_index.json"
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"   # Keras' published hash
# Files of pretrained models live in <data folder>/models/ (Keras: ~/.keras/models/), so
# TINYGRAD_BOOK_DATA relocates them as it relocates every dataset.
MODELS_SUBDIR = "datasets/models"

# The mean pixel of ImageNet's training images, in BGR order (the Caffe models' convention).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN_RGB, TORCH_STD_RGB = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

_CLASS_INDEX = {}   # path -> the loaded index, read once per file


def _channel_axis(x, data_format):
    if data_format == "channels_last":
        return x.ndim - 1
    if data_format == "channels_first":
        return 0 if x.ndim == 3 else 1
    raise ValueError(f"unknown data_format {data_format!r}; use 'channels_last' or 'channels_first'")


def preprocess_input(x, data_format="channels_last", mode="caffe"):
    """Images (one (h, w, 3) or a batch (n, h, w, 3), RGB, 0..255) -> the network's input.

    mode 'caffe' (VGG16, VGG19, ResNet50): RGB -> BGR, then subtract ImageNet's mean pixel
    (B 103.939, G 116.779, R 123.68); no scaling. 'tf': x / 127.5 - 1. 'torch': x / 255,
    then (x - mean) / std per RGB channel.
    Returns a new float32 array (Keras 2.1 changes a float input array in place).
    """
    x = np.array(x, dtype=np.float32)
    if x.ndim not in (3, 4):
        raise ValueError(f"preprocess_input: expected an image (3 axes) or a batch (4 axes), got shape {x.shape}")
    axis = _channel_axis(x, data_format)
    if x.shape[axis] != 3:
        raise ValueError(f"preprocess_input: expected 3 colour channels on axis {axis}, got shape {x.shape}")
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "tf":
        return x / np.float32(127.5) - np.float32(1.0)
    if mode == "torch":
        mean, std = (np.array(v, np.float32).reshape(shape) for v in (TORCH_MEAN_RGB, TORCH_STD_RGB))
        return (x / np.float32(255.0) - mean) / std
    if mode == "caffe":
        return np.flip(x, axis) - np.array(CAFFE_MEAN_BGR, np.float32).reshape(shape)
    raise ValueError(f"preprocess_input: unknown mode {mode!r}; use 'caffe', 'tf' or 'torch'")


def class_index() -> dict:
    """{'0': ['n01440764', 'tench'], ...}: Keras' ImageNet class index, fetched once into
    the data folder (<data>/models/imagenet_class_index.json) and checked against its md5."""
    path = get_file("imagenet_class_index.json", CLASS_INDEX_URL, cache_subdir=MODELS_SUBDIR,
                    file_hash=CLASS_INDEX_MD5)
    if path not in _CLASS_INDEX:
        with open(path) as f:
            _CLASS_INDEX[path] = json.load(f)
    return _CLASS_INDEX[path]


def decode_predictions(preds, top=5):
    """(samples, 1000) class probabilities -> per sample, the `top` best as
    (WordNet id, class name, probability), best first."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("decode_predictions expects a batch of ImageNet predictions, "
                         f"an array of shape (samples, 1000); got shape {preds.shape}")
    index = class_index()
    results = []
    for pred in preds:
        best = np.argsort(pred, kind="stable")[::-1][:top]
        results.append([(*index[str(i)], pred[i]) for i in best])
    return results


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights):
    """The input shape (h, w, channels) a network is built for, checked (Keras'
    `_obtain_input_shape`, channels_last): the default (224, 224, 3) with the classifier
    and ImageNet weights; (None, None, 3) when nothing fixes the size."""
    default = (default_size, default_size, 3)
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}")
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default:
            raise ValueError(f"with include_top=True and weights='imagenet', input_shape must be {default}, "
                             f"got {input_shape}")
        return default
    if input_shape is None:
        return default if require_flatten else (None, None, 3)
    if weights == "imagenet" and input_shape[-1] != 3:
        raise ValueError(f"the ImageNet weights need 3 input channels; got input_shape={input_shape}")
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(f"input size must be at least {min_size}x{min_size}; got input_shape={input_shape}")
    if require_flatten and None in input_shape:
        raise ValueError(f"with include_top=True the input_shape must be fully known, got {input_shape}")
    return input_shape


__all__ = ["preprocess_input", "decode_predictions", "class_index"]
