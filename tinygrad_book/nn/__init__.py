"""Keras-style neural networks on the autograd engine (the book's `keras` package).

    layers.py (layers/)   Dense, Conv2D, Dropout, ..., Input, add, concatenate
    model.py              Model (functional), Sequential
    training.py           compile, fit, evaluate, predict (the training loop)
    losses.py metrics.py optimizers.py callbacks.py regularizers.py activations.py initializers.py
    saving.py             save / load_model / save_weights / load_weights (.npz or .h5)
"""
from . import activations, callbacks, initializers, layers, losses, metrics, optimizers, regularizers
from .layers import Input, clear_session
from .model import Model, Sequential
from .saving import load_model
from .seeding import set_seed

__all__ = ["activations", "callbacks", "initializers", "layers", "losses", "metrics", "optimizers",
           "regularizers", "Input", "Model", "Sequential", "load_model", "set_seed", "clear_session"]
