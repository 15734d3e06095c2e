"""The tensor engine: an n-dimensional array that records how it was computed.

A Tensor is a `View` (storage + shape + strides + offset, see kernels/base.py) on
a device, plus what autograd needs: `requires_grad`, `grad`, and `_ctx`, the
Function that produced it. Every method below is either

  * a view (reshape, permute, expand, slicing: new metadata, same storage),
  * a differentiable op (a Function from ops_*.py, forward and backward together),
  * or plumbing (creation, devices, dtypes, backward).
"""
from __future__ import annotations

import numpy as np

from ..kernels import default_device, get_backend
from ..kernels.base import View, full_view, is_contiguous, prod
from . import ops_elementwise, ops_movement, ops_nn, ops_reduce
from . import views
from .function import no_grad
from .graph import topological_order

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_dtype(data: np.ndarray, dtype) -> np.dtype:
    """The dtype a new tensor gets: as asked, else int64 for integer data, else
    float32 (Keras' floatx: float64 input is narrowed unless you ask for float64)."""
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt not in FLOAT_DTYPES + (np.dtype(np.int64),):
            raise TypeError(f"Tensor: unsupported dtype {dt}; use float32, float64 or int64")
        return dt
    if np.issubdtype(data.dtype, np.integer):
        return np.dtype(np.int64)
    return np.dtype(np.float32)


class Tensor:
    __slots__ = ("view", "device", "requires_grad", "grad", "_ctx", "__weakref__")
    __array_priority__ = 1000  # numpy scalar * Tensor uses Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.numpy()
        array = np.asarray(data)
        if array.dtype == object:
            raise TypeError("Tensor: data must be numeric (a number, nested lists or a numpy array)")
        array = array.astype(_as_dtype(array, dtype), copy=False)
        self.device = device or default_device()
        self.view = full_view(get_backend(self.device).from_numpy(array), array.shape)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._ctx = None
        if self.requires_grad and self.dtype not in FLOAT_DTYPES:
            raise TypeError(f"Tensor: only float tensors can require gradients, not {self.dtype}")

    # --- building tensors from storages and views (used by the ops) -----------------
    @classmethod
    def _wrap(cls, view: View, device: str) -> "Tensor":
        t = cls.__new__(cls)
        t.view, t.device, t.requires_grad, t.grad, t._ctx = view, device, False, None, None
        return t

    def from_storage(self, storage, shape) -> "Tensor":
        """A new tensor on this tensor's device over a fresh contiguous storage."""
        return Tensor._wrap(full_view(storage, tuple(shape)), self.device)

    def with_view(self, shape, strides, offset) -> "Tensor":
        """A new tensor sharing this tensor's storage through other metadata."""
        return Tensor._wrap(View(self.view.storage, tuple(shape), tuple(strides), offset), self.device)

    def full_like(self, value, shape=None, dtype=None) -> "Tensor":
        shape = self.shape if shape is None else tuple(shape)
        size = prod(shape)
        storage = self.backend.full(size, value, np.dtype(dtype or self.dtype))
        return self.from_storage(storage, shape)

    # --- creation -------------------------------------------------------------------
    @staticmethod
    def zeros(shape, dtype=np.float32, device=None, requires_grad=False):
        return Tensor(np.zeros(shape, dtype), requires_grad, dtype, device)

    @staticmethod
    def ones(shape, dtype=np.float32, device=None, requires_grad=False):
        return Tensor(np.ones(shape, dtype), requires_grad, dtype, device)

    @staticmethod
    def full(shape, value, dtype=np.float32, device=None, requires_grad=False):
        return Tensor(np.full(shape, value, dtype), requires_grad, dtype, device)

    @staticmethod
    def randn(*shape, dtype=np.float32, device=None, requires_grad=False, seed=None):
        rng = np.random.default_rng(seed)
        return Tensor(rng.standard_normal(shape), requires_grad, dtype, device)

    # --- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.view.shape

    @property
    def strides(self) -> tuple:
        return self.view.strides

    @property
    def offset(self) -> int:
        return self.view.offset

    @property
    def dtype(self) -> np.dtype:
        return self.view.dtype

    @property
    def ndim(self) -> int:
        return len(self.view.shape)

    @property
    def size(self) -> int:
        return self.view.size

    @property
    def backend(self):
        return get_backend(self.device)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def is_contiguous(self) -> bool:
        return is_contiguous(self.view)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any()-style reductions")
        return bool(self.item())

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype.name}, device={self.device!r}{grad})"

    # --- leaving the graph / the device ---------------------------------------------
    def numpy(self) -> np.ndarray:
        """A host copy of the elements, shape self.shape."""
        return self.backend.to_numpy(self.view)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item(): only a tensor with one element has an item, this one has shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor._wrap(self.view, self.device)

    def to(self, device: str) -> "Tensor":
        """A copy on another device (gradients do not flow across devices)."""
        if device == self.device:
            return self
        return Tensor(self.numpy(), requires_grad=self.requires_grad and self.is_leaf,
                      dtype=self.dtype, device=device)

    def contiguous_copy(self) -> "Tensor":
        """A copy in a fresh row-major storage (not recorded in the graph)."""
        return self.from_storage(self.backend.contiguous(self.view), self.shape)

    def contiguous(self) -> "Tensor":
        """This tensor if already row-major, else a differentiable copy."""
        if self.is_contiguous():
            return self
        return self.reshape((-1,)).reshape(self.shape) if self.size else self

    def astype(self, dtype) -> "Tensor":
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype else ops_elementwise.Cast.apply(self, dtype=dtype)

    # --- replacing a weight's values (optimizers, set_weights) ---------------------------
    def replace_data(self, value) -> None:
        """Give this tensor new values of the same shape, keeping the Tensor object (the
        layers that hold it see the change). The old storage is left as it was, so views
        taken before stay valid. Not recorded in the graph."""
        new = value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype, device=self.device)
        if new.shape != self.shape:
            raise ValueError(f"replace_data: tensor of shape {self.shape} cannot take values of shape {new.shape}")
        if new.device != self.device or new.dtype != self.dtype:
            new = Tensor(new.numpy(), dtype=self.dtype, device=self.device)
        self.view = new.view

    def fused_update(self, rule: str, grad: "Tensor", slots: list, **hyper) -> bool:
        """One optimizer step (`rule` in kernels.base.OPTIMIZER_RULES) written in place
        into this tensor and its state `slots`, by one fused backend kernel. Returns False,
        changing nothing, when the backend lacks that kernel or the tensors do not fit it
        (other device or dtype, a non-contiguous weight or slot): the caller then takes
        the Tensor-op path."""
        backend = self.backend
        tensors = [self, grad, *slots]
        if rule not in backend.optimizer_rules or self.dtype.kind != "f":
            return False
        if any(t.device != self.device or t.dtype != self.dtype or t.shape != self.shape for t in tensors):
            return False
        if not all(t.is_contiguous() for t in [self, *slots]):
            return False
        backend.optimizer_update(rule, self.view, grad.view, [s.view for s in slots], hyper)
        return True

    # --- backward -------------------------------------------------------------------
    def backward(self, grad=None):
        """Backpropagate from this tensor: add d(self)/d(leaf) . grad to each leaf's .grad.

        `grad` defaults to 1 for a one-element tensor; any other output needs an
        explicit gradient of its own shape. Leaves accumulate across calls (reset
        with zero_grad()); gradients of intermediate tensors are not kept.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad "
                               "(no input had requires_grad=True, or it was made under no_grad())")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward(): output has shape {self.shape}; a non-scalar output "
                                   "needs an explicit grad= of the same shape")
            grad = self.full_like(1.0)
        grad = grad if isinstance(grad, Tensor) else Tensor(grad, dtype=self.dtype, device=self.device)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, output has shape {self.shape}")
        order = topological_order(self, lambda t: t._ctx.parents if t._ctx else ())
        grads = {id(self): grad}
        with no_grad():
            for node in order:                 # outputs first: every node's grad is complete
                g = grads.pop(id(node), None)  # before it is passed on
                if g is None:
                    continue
                if node._ctx is None:
                    if node.requires_grad:
                        node.grad = g.detach() if node.grad is None else node.grad + g
                    continue
                for parent, pg in zip(node._ctx.parents, node._ctx.backward(g)):
                    if pg is None or not parent.requires_grad:
                        continue
                    if pg.shape != parent.shape:
                        raise RuntimeError(f"{node._ctx.name}.backward returned a gradient of shape "
                                           f"{pg.shape} for an input of shape {parent.shape}")
                    grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg

    def zero_grad(self):
        """Forget the accumulated gradient (set .grad to None)."""
        self.grad = None

    # --- broadcasting binary ops ----------------------------------------------------
    def _operands(self, other, op):
        """Both operands as tensors of one dtype, one device and one (broadcast) shape."""
        if not isinstance(other, Tensor):
            other = Tensor(other, dtype=self.dtype if self.dtype in FLOAT_DTYPES else None,
                           device=self.device)
        if other.device != self.device:
            raise ValueError(f"{op}: tensors are on different devices: {self.device!r} and {other.device!r}")
        a, b = self, other
        if a.dtype != b.dtype:
            common = np.result_type(a.dtype, b.dtype)
            common = common if common in FLOAT_DTYPES else np.dtype(np.float64)
            a, b = a.astype(common), b.astype(common)
        shape = views.broadcast_shape(a.shape, b.shape, op)
        return a.expand(shape), b.expand(shape)

    def _binary(self, other, fn, op):
        a, b = self._operands(other, op)
        return fn.apply(a, b)

    def __add__(self, other):
        return self._binary(other, ops_elementwise.Add, "add")

    def __sub__(self, other):
        return self._binary(other, ops_elementwise.Sub, "sub")

    def __mul__(self, other):
        return self._binary(other, ops_elementwise.Mul, "mul")

    def __truediv__(self, other):
        return self._binary(other, ops_elementwise.Div, "div")

    def __pow__(self, other):
        return self._binary(other, ops_elementwise.Pow, "pow")

    def __radd__(self, other):
        return self._operands(other, "add")[1] + self

    def __rsub__(self, other):
        return self._operands(other, "sub")[1] - self

    def __rmul__(self, other):
        return self._operands(other, "mul")[1] * self

    def __rtruediv__(self, other):
        return self._operands(other, "div")[1] / self

    def __rpow__(self, other):
        return self._operands(other, "pow")[1] ** self

    def __neg__(self):
        return ops_elementwise.Neg.apply(self)

    def maximum(self, other):
        return self._binary(other, ops_elementwise.Maximum, "maximum")

    def minimum(self, other):
        return self._binary(other, ops_elementwise.Minimum, "minimum")

    def _compare(self, other, op):
        a, b = self._operands(other, op)
        return ops_elementwise.compare(a, b, op)

    def __eq__(self, other):  # noqa: D105 - element-wise, as in numpy
        return self._compare(other, "eq")

    def __ne__(self, other):
        return self._compare(other, "ne")

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    __hash__ = object.__hash__

    def where(self, a, b):
        """Element-wise `a if self != 0 else b` (self is the condition)."""
        if not isinstance(a, Tensor):
            a = Tensor(a, dtype=b.dtype if isinstance(b, Tensor) else None, device=self.device)
        a, b = a._operands(b, "where")
        shape = views.broadcast_shape(self.shape, a.shape, "where")
        return ops_elementwise.Where.apply(self.expand(shape).detach(), a.expand(shape), b.expand(shape))

    # --- matmul ---------------------------------------------------------------------
    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._operands(other, "matmul")[1].matmul(self)

    def matmul(self, other):
        """numpy's matmul: (..., M, K) @ (..., K, N), batch axes broadcast; 1-D operands
        are treated as a row (left) or a column (right) and that axis is dropped."""
        other = other if isinstance(other, Tensor) else Tensor(other, dtype=self.dtype, device=self.device)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.device != b.device:
            raise ValueError(f"matmul: tensors are on different devices: {a.device!r} and {b.device!r}")
        a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
        b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
        if a2.shape[-1] != b2.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"({a2.shape[-1]} != {b2.shape[-2]})")
        if a2.dtype != b2.dtype:
            common = np.result_type(a2.dtype, b2.dtype)
            a2, b2 = a2.astype(common), b2.astype(common)
        batch = views.broadcast_shape(a2.shape[:-2], b2.shape[:-2], "matmul")
        m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
        count = prod(batch)
        a3 = a2.expand(batch + (m, k)).reshape((count, m, k))
        b3 = b2.expand(batch + (k, n)).reshape((count, k, n))
        out = ops_nn.MatMul.apply(a3, b3).reshape(batch + (m, n))
        if a.ndim == 1:
            out = out.reshape(out.shape[:-2] + (n,))
        if b.ndim == 1:
            out = out.reshape(out.shape[:-1])
        return out

    def raw_matmul(self, other):
        """(B, M, K) @ (B, K, N) with no shape handling (used inside other ops)."""
        return ops_nn.MatMul.apply(self, other)

    # --- unary ----------------------------------------------------------------------
    def exp(self):
        return ops_elementwise.Exp.apply(self)

    def log(self):
        return ops_elementwise.Log.apply(self)

    def sqrt(self):
        return ops_elementwise.Sqrt.apply(self)

    def tanh(self):
        return ops_elementwise.Tanh.apply(self)

    def sigmoid(self):
        return ops_elementwise.Sigmoid.apply(self)

    def relu(self):
        return ops_elementwise.Relu.apply(self)

    def abs(self):
        return ops_elementwise.Abs.apply(self)

    def reciprocal(self):
        return ops_elementwise.Reciprocal.apply(self)

    def sign(self):
        """-1, 0 or 1 (no gradient: the derivative is 0 almost everywhere)."""
        return self.from_storage(self.backend.unary("sign", self.view), self.shape)

    def square(self):
        return self * self

    def leaky_relu(self, alpha=0.3):
        """x if x > 0 else alpha * x (Keras' default alpha is 0.3)."""
        return (self > 0).where(self, self * alpha)

    def clip(self, low, high):
        return self.maximum(low).minimum(high)

    # --- reductions -----------------------------------------------------------------
    def softmax(self, axis=-1):
        """exp(x) / sum exp(x) along `axis`, computed on x - max(x): exp never overflows,
        and the shift does not change the result (so it needs no gradient). Over the last
        axis of a non-empty float tensor (a classifier's output) one fused primitive,
        ops_nn.Softmax; along another axis, the composed form below."""
        if axis in (-1, self.ndim - 1) and self.ndim and self.size and self.dtype in FLOAT_DTYPES:
            return ops_nn.Softmax.apply(self)
        shifted = self - self.max(axis=axis, keepdims=True).detach()
        e = shifted.exp()
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, axis=-1):
        """x - log(sum exp(x)) along `axis`, with the same shift as softmax."""
        shifted = self - self.max(axis=axis, keepdims=True).detach()
        return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()

    def sum(self, axis=None, keepdims=False):
        axes = views.normalize_axes(axis, self.ndim, "sum")
        if not axes:
            return self
        return ops_reduce.Sum.apply(self, axes=axes, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        axes = views.normalize_axes(axis, self.ndim, "mean")
        count = prod(self.shape[a] for a in axes)
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / max(count, 1))

    def max(self, axis=None, keepdims=False):
        axes = views.normalize_axes(axis, self.ndim, "max")
        if not axes:
            return self
        self._check_not_empty("max")
        return ops_reduce.Max.apply(self, axes=axes, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        axes = views.normalize_axes(axis, self.ndim, "min")
        if not axes:
            return self
        self._check_not_empty("min")
        return ops_reduce.Min.apply(self, axes=axes, keepdims=keepdims)

    def _check_not_empty(self, op):
        if self.size == 0:
            raise ValueError(f"{op}: zero-size tensor of shape {self.shape} has no {op}imum")

    def argmax(self, axis=None):
        """Index of the first maximum (int64, no gradient); axis=None flattens first."""
        x = self.reshape((self.size,)) if axis is None else self
        self._check_not_empty("argmax")
        axis = 0 if axis is None else views.normalize_axes(axis, self.ndim, "argmax")[0]
        shape = tuple(d for i, d in enumerate(x.shape) if i != axis)
        return x.from_storage(x.backend.argmax(x.view, axis), shape)

    # --- movement -------------------------------------------------------------------
    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = _resolve_shape(self.shape, self.size, tuple(int(d) for d in shape))
        return self if shape == self.shape else ops_movement.Reshape.apply(self, shape=shape)

    def flatten(self):
        return self.reshape((self.size,))

    def permute(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: axes {axes} are not a permutation of a {self.ndim}-d tensor's axes")
        return ops_movement.Permute.apply(self, axes=tuple(a % self.ndim for a in axes))

    def transpose(self, axes=None):
        """Reverse the axes (default), or permute them as numpy.transpose does."""
        return self.permute(tuple(reversed(range(self.ndim))) if axes is None else axes)

    @property
    def T(self):
        return self.transpose()

    def expand(self, shape):
        shape = tuple(shape)
        if shape == self.shape:
            return self
        views.broadcast_shape(self.shape, shape, "expand")
        if len(shape) < self.ndim or views.broadcast_shape(self.shape, shape) != shape:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}")
        return ops_movement.Expand.apply(self, shape=shape)

    def squeeze(self, axis=None):
        axes = views.normalize_axes(axis, self.ndim, "squeeze") if axis is not None else \
            tuple(i for i, d in enumerate(self.shape) if d == 1)
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {self.shape[a]}, not 1 (shape {self.shape})")
        return self.reshape(tuple(d for i, d in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis):
        axis = axis if axis >= 0 else axis + self.ndim + 1
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    expand_dims = unsqueeze

    def __getitem__(self, index):
        index = _normalize_index(index, self.shape)
        return ops_movement.Slice.apply(self, index=index)

    def pad(self, pads, value=0.0):
        """pads: one (before, after) pair per axis, as numpy.pad."""
        pads = tuple((int(lo), int(hi)) for lo, hi in pads)
        if len(pads) != self.ndim or any(lo < 0 or hi < 0 for lo, hi in pads):
            raise ValueError(f"pad: need one non-negative (before, after) pair per axis of shape {self.shape}, got {pads}")
        return ops_movement.Pad.apply(self, pads=pads, value=value)


def _resolve_shape(old_shape, size, shape):
    """Fill in one -1 and check that the element count is unchanged."""
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = prod(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {old_shape} into {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if prod(shape) != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old_shape} ({size} elements) into {shape}")
    return shape


def _normalize_index(index, shape):
    """Basic indexing only: ints, slices, None and one Ellipsis, with bounds checked."""
    if not isinstance(index, tuple):
        index = (index,)
    if any(isinstance(i, (Tensor, np.ndarray, list)) for i in index):
        raise TypeError("getitem: only basic indexing (ints, slices, None, ...) is supported; "
                        "use functional.embedding / gather for integer-array indexing")
    n_axes = sum(1 for i in index if i is not None and i is not Ellipsis)
    if index.count(Ellipsis) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis")
    if Ellipsis in index:
        k = index.index(Ellipsis)
        index = index[:k] + (slice(None),) * (len(shape) - n_axes) + index[k + 1:]
    if n_axes > len(shape):
        raise IndexError(f"getitem: too many indices ({n_axes}) for a tensor of shape {shape}")
    axis = 0
    for i in index:
        if i is None:
            continue
        if not isinstance(i, slice):
            if not isinstance(i, (int, np.integer)):
                raise TypeError(f"getitem: unsupported index {i!r}")
            if not -shape[axis] <= i < shape[axis]:
                raise IndexError(f"getitem: index {i} is out of bounds for axis {axis} with size {shape[axis]}")
        axis += 1
    return tuple(int(i) if isinstance(i, np.integer) else i for i in index)


def as_tensor(x, device=None, dtype=None) -> Tensor:
    """x itself if it is a Tensor, else a new constant Tensor of x's values."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype, device=device)


__all__ = ["Tensor", "as_tensor"]
