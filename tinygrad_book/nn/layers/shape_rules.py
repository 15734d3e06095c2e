"""Static shapes of the operations recorded on symbolic tensors (see `backend`).

A symbolic shape is a tuple whose entries are ints or None (unknown: the batch
axis, or a size that only the data will tell). Each rule returns the output shape
of one operation, or raises ValueError naming the operation and the shapes, so a
listing with a shape mistake fails where it is written, not when it is replayed.
"""
from __future__ import annotations

import numpy as np


def broadcast(op: str, a: tuple, b: tuple) -> tuple:
    """numpy broadcasting with unknown sizes: 1 stretches; None meets n -> n (unknown if n is 1)."""
    shape_a, shape_b = tuple(a), tuple(b)
    n = max(len(shape_a), len(shape_b))
    a, b = (1,) * (n - len(shape_a)) + shape_a, (1,) * (n - len(shape_b)) + shape_b
    out = []
    for x, y in zip(a, b):
        if x == 1 or x == y:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"{op}: shapes {shape_a} and {shape_b} cannot be broadcast together")
    return tuple(out)


def axes_of(op: str, axis, ndim: int) -> tuple:
    """`axis` (None, an int or a tuple; negative counts from the end) as sorted axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a {ndim}-d tensor")
        out.append(int(a) % ndim)
    return tuple(sorted(set(out)))


def reduce(op: str, shape: tuple, axis, keepdims: bool) -> tuple:
    axes = axes_of(op, axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def getitem(shape: tuple, index) -> tuple:
    """Basic indexing (ints, slices, None, one Ellipsis), as Tensor.__getitem__ allows."""
    index = index if isinstance(index, tuple) else (index,)
    used = sum(1 for i in index if i is not None and i is not Ellipsis)
    if used > len(shape):
        raise ValueError(f"getitem: {used} indices for a tensor of shape {shape}")
    if Ellipsis in index:
        k = index.index(Ellipsis)
        index = index[:k] + (slice(None),) * (len(shape) - used) + index[k + 1:]
    out, axis = [], 0
    for i in index:
        if i is None:
            out.append(1)
            continue
        size = shape[axis]
        axis += 1
        if isinstance(i, slice):
            out.append(size if size is None and i == slice(None) else
                       None if size is None else len(range(*i.indices(size))))
        elif isinstance(i, (int, np.integer)):
            if size is not None and not -size <= i < size:
                raise ValueError(f"getitem: index {i} is out of bounds for an axis of size {size} (shape {shape})")
        else:
            raise TypeError(f"getitem: only ints, slices, None and ... index a symbolic tensor, got {i!r}")
    return tuple(out) + tuple(shape[axis:])


def reshape(shape: tuple, target) -> tuple:
    """Keras' K.reshape: one -1 takes the rest; it is unknown when the input has an unknown size."""
    target = tuple(int(d) for d in target)
    if target.count(-1) > 1:
        raise ValueError(f"reshape: only one size can be -1, got {target}")
    if None in shape:
        if -1 not in target:
            raise ValueError(f"reshape: input shape {shape} has an unknown size; give -1 for it in {target}")
        return tuple(None if d == -1 else d for d in target)
    size = int(np.prod(shape, dtype=np.int64))
    known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
    if -1 in target:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {shape} into {target}")
        target = tuple(size // known if d == -1 else d for d in target)
    elif known != size:
        raise ValueError(f"reshape: cannot reshape {shape} ({size} elements) into {target}")
    return target


def permute(shape: tuple, pattern) -> tuple:
    pattern = tuple(pattern)
    if sorted(pattern) != list(range(len(shape))):
        raise ValueError(f"permute_dimensions: {pattern} is not a permutation of the axes of shape {shape}")
    return tuple(shape[i] for i in pattern)


def dot(a: tuple, b: tuple) -> tuple:
    """Keras' K.dot with a 2-d right operand: (..., k) . (k, m) -> (..., m)."""
    if len(b) != 2 or len(a) < 1:
        raise ValueError(f"dot: supported shapes are (..., k) . (k, m), got {a} and {b}")
    if a[-1] is not None and b[0] is not None and a[-1] != b[0]:
        raise ValueError(f"dot: inner sizes differ: {a} . {b}")
    return tuple(a[:-1]) + (b[1],)


def concatenate(shapes: list, axis: int) -> tuple:
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes):
        raise ValueError(f"concatenate: tensors of different ranks {shapes}")
    axis = axes_of("concatenate", axis, ndim)[0]
    out = []
    for i in range(ndim):
        sizes = [s[i] for s in shapes]
        if i == axis:
            out.append(None if None in sizes else sum(sizes))
            continue
        known = {d for d in sizes if d is not None}
        if len(known) > 1:
            raise ValueError(f"concatenate: shapes {shapes} differ on axis {i}, not only on the joined axis {axis}")
        out.append(known.pop() if known else None)
    return tuple(out)


def flat_size(shape: tuple):
    """The product of sizes, None if any is unknown."""
    return None if None in shape else int(np.prod(shape, dtype=np.int64))
