"""`from tinygrad_book.applications.vgg19 import VGG19, preprocess_input, decode_predictions`
(Keras' `keras.applications.vgg19`)."""
from .imagenet_utils import decode_predictions, preprocess_input
from .vgg import VGG19

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]
