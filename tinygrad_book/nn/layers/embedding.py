"""Embedding: integer ids (n, steps) -> vectors (n, steps, output_dim)."""
from __future__ import annotations

import numpy as np

from ...autograd import functional as F
from .base import Layer, not_implemented, positive_int


class Embedding(Layer):
    """A (input_dim, output_dim) table looked up by integer ids; init U(-0.05, 0.05) as Keras."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="random_uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 **kwargs):
        not_implemented("Embedding", embeddings_regularizer=embeddings_regularizer,
                        activity_regularizer=activity_regularizer, embeddings_constraint=embeddings_constraint,
                        mask_zero=mask_zero)
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # as Keras: a sequence of any length when input_length is not given, so that
            # summary() shows (None, None, output_dim) and the parameters before any data
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        self.input_length = input_length if input_length is None else positive_int("Embedding", "input_length",
                                                                                   input_length)
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          None, "embeddings")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def call(self, x, training=False):
        return F.embedding(self.embeddings, x.astype(np.int64) if x.dtype != np.int64 else x)

    def get_config(self):
        config = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                  "input_length": self.input_length}
        config.pop("batch_input_shape", None)
        return config
