"""Views: reshape, permute, expand and slice as arithmetic on (shape, strides, offset).

None of these functions touch data. Each takes the metadata of a view and returns
the metadata of a new view onto the *same* storage. This is why `x.T` or
`x[1:5, :, 2]` costs nothing, and why writing through a view would change the
original (we never do: every op writes a new storage).
"""
from __future__ import annotations

from ..kernels.base import contiguous_strides, is_contiguous


def reshape_strides(shape, strides, new_shape):
    """Strides that show the same elements in `new_shape`, or None if no view can.

    A view can be reshaped without a copy when it is contiguous (then any shape of
    the same size works). Otherwise the caller must copy to contiguous first.
    """
    if is_contiguous(shape, strides):
        return contiguous_strides(new_shape)
    return None


def permute(shape, strides, axes):
    """Reorder axes: the view's axis i is the old axis axes[i]."""
    return tuple(shape[a] for a in axes), tuple(strides[a] for a in axes)


def expand(shape, strides, new_shape):
    """Broadcast size-1 axes (and new leading axes) to `new_shape` with stride 0.

    Stride 0 means: stepping along this axis stays on the same element, so one
    value is seen many times without being copied.
    """
    lead = len(new_shape) - len(shape)
    shape, strides = (1,) * lead + tuple(shape), (0,) * lead + tuple(strides)
    out = []
    for old, new, st in zip(shape, new_shape, strides):
        out.append(st if old == new else 0)
    return tuple(new_shape), tuple(out)


def slice_view(shape, strides, offset, index):
    """Apply a tuple of ints / slices / None to a view (numpy basic indexing).

    An int picks one position and drops the axis; a slice keeps the axis with a new
    start (moves the offset), length and step (multiplies the stride); None inserts
    a new axis of size 1.
    """
    new_shape, new_strides, axis = [], [], 0
    for item in index:
        if item is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        size, stride = shape[axis], strides[axis]
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            length = len(range(start, stop, step))
            offset += start * stride if length else 0
            new_shape.append(length)
            new_strides.append(stride * step)
        else:
            i = item + size if item < 0 else item
            offset += i * stride
        axis += 1
    new_shape += shape[axis:]
    new_strides += strides[axis:]
    return tuple(new_shape), tuple(new_strides), offset


def broadcast_shape(a, b, op="broadcast"):
    """numpy's rule: align shapes on the right; sizes must match or be 1."""
    if a == b:                       # the common case (x + y of one shape): nothing to check
        return tuple(a)
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            raise ValueError(f"{op}: shapes {tuple(a)} and {tuple(b)} cannot be broadcast together "
                             f"(axis -{i}: {da} vs {db})")
        out.append(max(da, db) if 0 not in (da, db) else 0)
    return tuple(reversed(out))


def normalize_axes(axis, ndim, op):
    """`axis` (None, int or tuple, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))
