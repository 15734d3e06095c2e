"""Keras-style preprocessing: ``sequence`` (pad_sequences), ``text`` (Tokenizer), ``image``
(ImageDataGenerator, load_img), ``timeseries`` (the book's chapter-6 generator)."""

from . import image, sequence, text, timeseries

__all__ = ["sequence", "text", "image", "timeseries"]
