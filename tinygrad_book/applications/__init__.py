"""Pretrained networks, as Keras' `keras.applications`: `from tinygrad_book.applications import VGG16`.

    vgg.py             VGG16, VGG19 (Keras' layer names, so Keras' ImageNet weight files load)
    imagenet_utils.py  preprocess_input (caffe / tf / torch modes), decode_predictions
    vgg16.py vgg19.py  the per-network modules the book imports from

The weights are read from Keras' own HDF5 files by tinygrad_book/nn/keras_h5.py.
"""
from . import imagenet_utils, vgg16, vgg19
from .imagenet_utils import decode_predictions, preprocess_input
from .vgg import VGG16, VGG19

__all__ = ["VGG16", "VGG19", "preprocess_input", "decode_predictions", "imagenet_utils", "vgg16", "vgg19"]
