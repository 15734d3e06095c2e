"""Keras' `models` module: `from tinygrad_book import models; models.Sequential()`.
The code lives in tinygrad_book/nn/model.py and nn/saving.py."""
from .nn.layers import Input
from .nn.model import Model, Sequential
from .nn.saving import load_model
from .nn.seeding import set_seed

__all__ = ["Model", "Sequential", "Input", "load_model", "set_seed"]
