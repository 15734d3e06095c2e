"""Pretrained networks, as Keras' `keras.applications`: `from tinygrad_book.applications import VGG16`.

    vgg.py             VGG16, VGG19 (Keras' layer names, so Keras' ImageNet weight files load)
    imagenet_utils.py  preprocess_input (caffe / tf / torch modes), decode_predictions
    vgg16.py vgg19.py  the per-network modules the book imports from
    xception.py        Xception (separable convolutions, batch normalisation)
    inception_v3.py    InceptionV3
    keras_order.py     Keras 2's order of a branching model's layers (its weight files follow it)

The weights are read from Keras' own HDF5 files by tinygrad_book/nn/keras_h5.py.
"""
from . import imagenet_utils, inception_v3, vgg16, vgg19, xception
from .imagenet_utils import decode_predictions, preprocess_input
from .inception_v3 import InceptionV3
from .vgg import VGG16, VGG19
from .xception import Xception

__all__ = ["VGG16", "VGG19", "Xception", "InceptionV3", "preprocess_input", "decode_predictions",
           "imagenet_utils", "vgg16", "vgg19", "xception", "inception_v3"]
