"""`from tinygrad_book.applications.vgg16 import VGG16, preprocess_input, decode_predictions`
(the book's `keras.applications.vgg16`)."""
from .imagenet_utils import decode_predictions, preprocess_input
from .vgg import VGG16

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]
