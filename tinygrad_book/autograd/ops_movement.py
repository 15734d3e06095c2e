"""Movement ops. Most are views (no data moves); their backward moves g back.

    reshape  <->  reshape back          permute  <->  inverse permute
    expand   <->  sum over the expanded axes       (broadcasting, in reverse)
    slice    <->  pad g with zeros into the input's shape
    pad      <->  slice
    concat   <->  slices
"""
from __future__ import annotations

from . import views
from .function import Function


class Reshape(Function):
    def forward(self, x, shape):
        self.input_shape = x.shape
        strides = views.reshape_strides(x.shape, x.strides, shape)
        if strides is None:                      # not contiguous: one copy, then a view
            x = x.contiguous_copy()
            strides = views.reshape_strides(x.shape, x.strides, shape)
        return x.with_view(shape, strides, x.offset)

    def backward(self, g):
        return (g.reshape(self.input_shape),)


class Permute(Function):
    def forward(self, x, axes):
        self.inverse = tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
        shape, strides = views.permute(x.shape, x.strides, axes)
        return x.with_view(shape, strides, x.offset)

    def backward(self, g):
        return (g.permute(self.inverse),)


class Expand(Function):
    def forward(self, x, shape):
        self.input_shape = x.shape
        new_shape, strides = views.expand(x.shape, x.strides, shape)
        return x.with_view(new_shape, strides, x.offset)

    def backward(self, g):
        # every input element was seen once per broadcast copy: add the copies up
        lead = len(g.shape) - len(self.input_shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(self.input_shape) if d == 1 and g.shape[lead + i] != 1)
        summed = g.sum(axis=axes, keepdims=True) if axes else g
        return (summed.reshape(self.input_shape),)


class Slice(Function):
    """Basic indexing (ints, slices, None) as a view."""

    def forward(self, x, index):
        self.input, self.index = x, index
        shape, strides, offset = views.slice_view(x.shape, x.strides, x.offset, index)
        return x.with_view(shape, strides, offset)

    def backward(self, g):
        x = self.input
        out = x.full_like(0.0, dtype=g.dtype)
        shape, strides, offset = views.slice_view(out.shape, out.strides, out.offset, self.index)
        out.backend.assign(out.view._replace(shape=shape, strides=strides, offset=offset), g.view)
        return (out,)


class Pad(Function):
    """pads: ((before, after), ...) per axis, filled with `value`."""

    def forward(self, x, pads, value):
        self.pads = pads
        shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads))
        out = x.full_like(value, shape=shape)
        out.backend.assign(out[self.interior(x.shape)].view, x.view)
        return out

    def interior(self, shape):
        return tuple(slice(lo, lo + d) for d, (lo, hi) in zip(shape, self.pads))

    def backward(self, g):
        shape = tuple(d - lo - hi for d, (lo, hi) in zip(g.shape, self.pads))
        return (g[self.interior(shape)],)


class Concatenate(Function):
    def forward(self, *tensors, axis):
        self.axis, self.sizes = axis, [t.shape[axis] for t in tensors]
        shape = list(tensors[0].shape)
        shape[axis] = sum(self.sizes)
        out = tensors[0].full_like(0.0, shape=tuple(shape))
        for t, region in zip(tensors, self.regions(len(shape))):
            out.backend.assign(out[region].view, t.view)
        return out

    def regions(self, ndim):
        start = 0
        for size in self.sizes:
            yield (slice(None),) * self.axis + (slice(start, start + size),) + (slice(None),) * (ndim - self.axis - 1)
            start += size

    def backward(self, g):
        return tuple(g[region] for region in self.regions(len(g.shape)))
