"""Reductions. The output is computed in keepdims layout (reduced axes kept as 1),
which is also the shape backward needs to broadcast g back over the input."""
from __future__ import annotations

from .function import Function


def keepdims_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.input_shape, self.kept = x.shape, keepdims_shape(x.shape, axes)
        out = x.from_storage(x.backend.reduce("sum", x.view, axes), self.kept)
        return out if keepdims else out.reshape(tuple(d for i, d in enumerate(x.shape) if i not in axes))

    def backward(self, g):
        # every input element contributed once to its sum: broadcast g back
        return (g.reshape(self.kept).expand(self.input_shape),)


class _Extremum(Function):
    op = "max"

    def forward(self, x, axes, keepdims):
        self.kept = keepdims_shape(x.shape, axes)
        out = x.from_storage(x.backend.reduce(self.op, x.view, axes), self.kept)
        self.save(x, out, axes)
        return out if keepdims else out.reshape(tuple(d for i, d in enumerate(x.shape) if i not in axes))

    def backward(self, g):
        x, out, axes = self.saved
        winners = x == out.expand(x.shape)                # 1 where x attains the extremum
        count = winners.sum(axis=axes, keepdims=True)     # ties share the gradient evenly
        return (winners * (g.reshape(self.kept) / count).expand(x.shape),)


class Max(_Extremum):
    op = "max"


class Min(_Extremum):
    op = "min"
