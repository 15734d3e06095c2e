"""Merging several tensors: Add (element-wise sum) and Concatenate (along an axis)."""
from __future__ import annotations

from ...autograd import functional as F
from .base import Layer


class Add(Layer):
    """The element-wise sum of inputs of one shape (residual connections)."""

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        for s in input_shape[1:]:
            if tuple(s[1:]) != tuple(first[1:]):
                raise ValueError(f"{self.name}: Add needs inputs of one shape, got {input_shape}")
        return first

    def _check_input(self, input_shape):
        pass

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Concatenate(Layer):
    """Inputs joined along `axis` (default: the last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        axis = self.axis % rank
        for s in input_shape[1:]:      # Keras: every axis but the joined one must agree
            if len(s) != rank or any(a != b and None not in (a, b)
                                     for i, (a, b) in enumerate(zip(s, input_shape[0])) if i != axis):
                raise ValueError(f"{self.name}: Concatenate needs inputs whose shapes match except on "
                                 f"axis {self.axis}, got {list(input_shape)}")
        sizes = [s[axis] for s in input_shape]
        out = list(input_shape[0])
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def _check_input(self, input_shape):
        pass

    def call(self, inputs, training=False):
        return F.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    """Functional form: layers.add([a, b])."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form: layers.concatenate([a, b, c], axis=-1)."""
    return Concatenate(axis=axis, **kwargs)(inputs)
