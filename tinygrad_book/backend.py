"""Keras' backend, `K`, on an eager engine: `from tinygrad_book import backend as K`.

Keras 2 builds a symbolic graph and runs it later; our engine computes as soon as it
is asked. The two meet through the functional API's SymbolicTensors (`Input`, a
layer's `.output`, `model.input`): every K function here, and Python's operators
on a SymbolicTensor, record one Node (a `KOp`) instead of computing. Then

  * `K.function(inputs, outputs)` replays the recorded nodes in graph order on real
    Tensors, each node by the same call a Model's forward makes, and returns numpy;
  * `K.gradients(loss, xs)` is one more node: its value is one reverse pass from the
    loss value to the values of `xs` (inputs or intermediate activations) during that
    replay, with no weight's `.grad` touched;
  * a Keras-style layer (`call(self, inputs)` written with K) is traced: its call runs
    once on the symbolic inputs, so its `add_loss` tensors are part of the graph.

Called on real Tensors (inside a layer's call, at run time), the same functions
compute at once. One mechanism, no second engine: docs/backend.md tells the story.
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, default_device, enable_grad, no_grad
from .autograd import functional as F
from .autograd.gradients import grad as _grad
from .nn.layers.base import Input, SymbolicTensor, apply_op, clear_session  # noqa: F401 - K.clear_session
from .nn.layers import shape_rules as S
from .nn.model import _graph_order
from .nn.seeding import rng

_EPSILON = 1e-7
_STATE = {"learning_phase": None, "placeholder": None}


def _is_symbolic(*xs) -> bool:
    return any(isinstance(x, SymbolicTensor) for x in xs)


def _t(x) -> Tensor:
    """A value as a Tensor: numbers and arrays (e.g. what K.shape gives) become constants."""
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x)
    return Tensor(a.astype(np.float32) if a.dtype == np.float64 else a, device=default_device())


def _dtype(x):
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.dtype(np.float32)


def _unary(name, fn, x, shape=None, dtype=None):
    """fn(x) now for a real value; a recorded node for a symbolic one."""
    if isinstance(x, SymbolicTensor):
        return apply_op(name, fn, [x], x.shape if shape is None else shape(x.shape), dtype or x.dtype)
    return fn(x)


# --- settings --------------------------------------------------------------------------
def epsilon() -> float:
    return _EPSILON


def floatx() -> str:
    return "float32"


def image_data_format() -> str:
    return "channels_last"


def learning_phase():
    """0 (inference) or 1 (training) once set; else a placeholder K.function may be fed."""
    if _STATE["learning_phase"] is not None:
        return _STATE["learning_phase"]
    if _STATE["placeholder"] is None:
        _STATE["placeholder"] = Input(batch_shape=(), name="keras_learning_phase")
    return _STATE["placeholder"]


def set_learning_phase(value) -> None:
    """Fix the phase K.function runs layers in: 0 inference (dropout off), 1 training."""
    if value not in (0, 1):
        raise ValueError(f"set_learning_phase: expected 0 or 1, got {value!r}")
    _STATE["learning_phase"] = int(value)


# --- tensors -----------------------------------------------------------------------------
class Variable(Tensor):
    """K.variable: a Tensor that steps aside for symbolic operands, so `K.variable(0.) +
    symbolic` records a node (Python then asks the symbolic tensor's __radd__)."""
    __slots__ = ()

    def _binary(self, other, fn, op):
        return NotImplemented if isinstance(other, SymbolicTensor) else super()._binary(other, fn, op)


def variable(value, dtype=None, name=None, constraint=None) -> Variable:
    a = np.asarray(value, dtype=dtype or np.float32)
    return Variable(a, requires_grad=a.dtype.kind == "f")


def constant(value, dtype=None, shape=None, name=None) -> np.ndarray:
    """A constant is a numpy array: it mixes with Tensors and with symbolic tensors alike."""
    a = np.asarray(value, dtype=dtype or np.float32)
    return np.broadcast_to(a, shape).copy() if shape is not None else a


def placeholder(shape=None, ndim=None, dtype=None, name=None) -> SymbolicTensor:
    """A symbolic input of this full shape (batch axis included; None: unknown)."""
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder: give shape=(...) or ndim=")
        shape = (None,) * ndim
    return Input(batch_shape=tuple(shape), dtype=dtype, name=name)


def get_value(x) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def set_value(x: Tensor, value) -> None:
    x.replace_data(np.asarray(value))


def eval(x):  # noqa: A001 - Keras' name
    """The value of a tensor: a symbolic one must not need any fed input."""
    return function([], [x])([])[0] if isinstance(x, SymbolicTensor) else get_value(x)


def int_shape(x) -> tuple:
    return tuple(x.shape)


def ndim(x) -> int:
    return len(x.shape)


def shape(x):
    """The runtime shape as an int array (symbolic: a node; its entries may be indexed)."""
    return _unary("shape", lambda v: np.array(v.shape, dtype=np.int64), x, lambda s: (len(s),), np.int64)


def cast(x, dtype):
    dtype = np.dtype(dtype)
    return _unary("cast", lambda v: v.astype(dtype) if isinstance(v, Tensor) else np.asarray(v).astype(dtype),
                  x, dtype=dtype)


def _random(name, draw, shape, dtype):
    dims = list(shape)
    static = tuple(None if isinstance(d, SymbolicTensor) else int(d) for d in dims)

    def make(*values):
        return Tensor(draw(tuple(int(v) for v in values)).astype(dtype), device=default_device())
    if _is_symbolic(*dims):
        return apply_op(name, make, dims, static, dtype)
    return make(*dims)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws from the seeded generator (or from `seed`); a symbolic size draws anew at each run."""
    gen = np.random.default_rng(seed) if seed is not None else None
    return _random("random_normal", lambda s: (gen or rng()).normal(mean, stddev, size=s), shape,
                   np.dtype(dtype or np.float32))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    gen = np.random.default_rng(seed) if seed is not None else None
    return _random("random_uniform", lambda s: (gen or rng()).uniform(minval, maxval, size=s), shape,
                   np.dtype(dtype or np.float32))


# --- element-wise ------------------------------------------------------------------------
def square(x):
    return _unary("square", lambda v: _t(v).square(), x)


def sqrt(x):
    return _unary("sqrt", lambda v: _t(v).sqrt(), x)


def abs(x):  # noqa: A001 - Keras' name
    return _unary("abs", lambda v: _t(v).abs(), x)


def exp(x):
    return _unary("exp", lambda v: _t(v).exp(), x)


def log(x):
    return _unary("log", lambda v: _t(v).log(), x)


def relu(x):
    return _unary("relu", lambda v: _t(v).relu(), x)


def sigmoid(x):
    return _unary("sigmoid", lambda v: _t(v).sigmoid(), x)


def tanh(x):
    return _unary("tanh", lambda v: _t(v).tanh(), x)


def softmax(x, axis=-1):
    return _unary("softmax", lambda v: _t(v).softmax(axis), x)


def clip(x, min_value, max_value):
    return _unary("clip", lambda v: _t(v).clip(min_value, max_value), x)


def pow(x, a):  # noqa: A001 - Keras' name
    return x ** a


def _binary(name, fn, a, b):
    if _is_symbolic(a, b):
        from .nn.layers.base import binary_op
        return binary_op(name, fn, a, b)
    return fn(a, b)


def maximum(x, y):
    return _binary("maximum", lambda a, b: F.maximum(_t(a), b if isinstance(b, Tensor) else _t(b)), x, y)


def minimum(x, y):
    return _binary("minimum", lambda a, b: F.minimum(_t(a), b if isinstance(b, Tensor) else _t(b)), x, y)


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise -(t log o + (1 - t) log(1 - o)), o clipped to [eps, 1 - eps] (Keras)."""
    if from_logits:
        output = sigmoid(output)
    output = clip(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * log(output) + (1.0 - target) * log(1.0 - output))


# --- reductions ------------------------------------------------------------------------------
def _reduce(name, method, x, axis, keepdims):
    return _unary(name, lambda v: getattr(_t(v), method)(axis=axis, keepdims=keepdims), x,
                  lambda s: S.reduce(name, s, axis, keepdims))


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", "mean", x, axis, keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return _reduce("sum", "sum", x, axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return _reduce("max", "max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return _reduce("min", "min", x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    """Product of sizes and other constants (no gradient: DeepDream's K.prod(K.shape(a)))."""
    def run(v):
        if isinstance(v, Tensor) and v.requires_grad:
            raise NotImplementedError("K.prod: no gradient through a product; use it on shapes and constants")
        return np.prod(v.numpy() if isinstance(v, Tensor) else np.asarray(v), axis=axis, keepdims=keepdims)
    return _unary("prod", run, x, lambda s: S.reduce("prod", s, axis, keepdims))


# --- shapes and linear algebra ------------------------------------------------------------
def reshape(x, shape):
    shape = tuple(int(d) for d in shape)
    return _unary("reshape", lambda v: _t(v).reshape(shape), x, lambda s: S.reshape(s, shape))


def flatten(x):
    """All axes into one (the batch axis too)."""
    return _unary("flatten", lambda v: _t(v).reshape((-1,)), x, lambda s: (S.flat_size(s),))


def batch_flatten(x):
    """(n, ...) -> (n, everything else)."""
    return _unary("batch_flatten", lambda v: _t(v).reshape((v.shape[0], -1)), x,
                  lambda s: (s[0], S.flat_size(s[1:])))


def permute_dimensions(x, pattern):
    pattern = tuple(int(p) for p in pattern)
    return _unary("permute_dimensions", lambda v: _t(v).permute(pattern), x, lambda s: S.permute(s, pattern))


def transpose(x):
    """All axes reversed (a matrix's transpose)."""
    return _unary("transpose", lambda v: _t(v).transpose(), x, lambda s: tuple(reversed(s)))


def expand_dims(x, axis=-1):
    def rule(s):
        a = axis if axis >= 0 else len(s) + 1 + axis
        return s[:a] + (1,) + s[a:]
    return _unary("expand_dims", lambda v: _t(v).unsqueeze(axis if axis >= 0 else v.ndim + 1 + axis), x, rule)


def dot(x, y):
    """(..., k) . (k, m) -> (..., m), as Keras' K.dot with a matrix on the right."""
    def run(a, b):
        a, b = _t(a), _t(b)
        if b.ndim != 2:
            raise ValueError(f"K.dot: the right operand must be a matrix, got shape {b.shape}")
        return (a.reshape((-1, a.shape[-1])) @ b).reshape(a.shape[:-1] + (b.shape[1],))
    if _is_symbolic(x, y):
        from .nn.layers.base import result_dtype, shape_of
        return apply_op("dot", run, [x, y], S.dot(shape_of(x), shape_of(y)), result_dtype(x, y))
    return run(x, y)


def concatenate(tensors, axis=-1):
    tensors = list(tensors)
    run = lambda *vs: F.concatenate([_t(v) for v in vs], axis=axis)  # noqa: E731
    if _is_symbolic(*tensors):
        from .nn.layers.base import shape_of
        return apply_op("concatenate", run, tensors, S.concatenate([shape_of(t) for t in tensors], axis),
                        np.result_type(*[_dtype(t) for t in tensors]))
    return run(*tensors)


def resize_images(x, height_factor, width_factor, data_format="channels_last", interpolation="nearest"):
    """Nearest-neighbour upsampling of (n, h, w, c) by whole factors (Keras' UpSampling2D)."""
    if data_format != "channels_last" or interpolation != "nearest":
        raise NotImplementedError("K.resize_images: only channels_last and nearest are implemented")
    fh, fw = int(height_factor), int(width_factor)

    def run(v):
        n, h, w, c = v.shape
        grid = _t(v).reshape((n, h, 1, w, 1, c)).expand((n, h, fh, w, fw, c))
        return grid.reshape((n, h * fh, w * fw, c))

    def rule(s):
        return (s[0], None if s[1] is None else s[1] * fh, None if s[2] is None else s[2] * fw, s[3])
    return _unary("resize_images", run, x, rule)


# --- gradients and functions ------------------------------------------------------------------
def gradients(loss, variables):
    """[d loss / d v for v in variables] (a non-scalar loss counts as its sum, as in Keras).

    Symbolic: one node with one output per variable, evaluated by K.function with one
    reverse pass. Eager (a real loss Tensor and real Tensors): computed at once."""
    variables = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    if not isinstance(loss, SymbolicTensor):
        if _is_symbolic(*variables):
            raise TypeError("K.gradients: a real loss Tensor cannot be differentiated w.r.t. symbolic tensors")
        return _grad(loss, variables)
    from .nn.layers.base import shape_of
    outs = apply_op("gradients", lambda l, *vs: _grad(l, list(vs)), [loss] + variables, None, loss.dtype,
                    shapes=[shape_of(v) for v in variables])
    outs[0].node.layer.wrt = variables
    return outs


class Function:
    """K.function(inputs, outputs): call it with one array per input; get numpy arrays back.

    The nodes between the inputs and the outputs are replayed in order on real Tensors.
    When the graph holds K.gradients nodes, the replay records the autograd graph and
    the tensors they differentiate w.r.t. are made to require gradients; the weights of
    the layers involved are set not to for the call, so no weight's .grad is touched
    (and their gradients are not even computed)."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        if updates:
            raise NotImplementedError("K.function: updates are not implemented")
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        for t in self.inputs:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"K.function: inputs must be symbolic tensors (placeholders, model.input), got {t!r}")
        symbolic = [t for t in self.outputs if isinstance(t, SymbolicTensor)]
        self.nodes = _graph_order(self.inputs, symbolic)
        grad_nodes = [n for n in self.nodes if getattr(n.layer, "wrt", None) is not None]
        self.targets = {id(v) for n in grad_nodes for v in n.layer.wrt}
        self.differentiates = bool(grad_nodes)
        self.weights = _weights_of(self.nodes)

    def __call__(self, values):
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if len(values) != len(self.inputs):
            raise ValueError(f"K.function: {len(self.inputs)} input(s) expected, got {len(values)} values")
        env, training = {}, bool(_STATE["learning_phase"] or 0)
        for t, v in zip(self.inputs, values):
            if t is _STATE["placeholder"]:
                training = bool(np.asarray(v))
            env[id(t)] = self._track(t, _feed(t, v))
        frozen = [w for w in self.weights if w.requires_grad and id(w) not in self.targets]
        try:
            for w in frozen:
                w.requires_grad = False
            with (enable_grad() if self.differentiates else no_grad()):
                for node in self.nodes:
                    args = [env[id(t)] for t in node.inputs]
                    out = node.run(args if node.multi_input else args[0], training)
                    for t, v in zip(node.outputs, out if isinstance(out, list) else [out]):
                        env[id(t)] = self._track(t, v)
        finally:
            for w in frozen:
                w.requires_grad = True
        results = [_numpy(env[id(t)] if isinstance(t, SymbolicTensor) else t) for t in self.outputs]
        return results[0] if self.single else results

    def _track(self, t, v):
        """A tensor we differentiate w.r.t. must be in the autograd graph: a value that is
        not (an input, or an activation computed from frozen weights) starts it, as a leaf."""
        if id(t) in self.targets and isinstance(v, Tensor) and not v.requires_grad and v.dtype.kind == "f":
            v = v.detach()
            v.requires_grad = True
        return v


def function(inputs, outputs, updates=None, name=None, **kwargs) -> Function:
    return Function(inputs, outputs, updates, name)


def _feed(t, v):
    """A fed value as a Tensor of the placeholder's dtype (Keras casts feeds the same way)."""
    if isinstance(v, Tensor):
        return v
    return Tensor(np.asarray(v).astype(t.dtype, copy=False), dtype=t.dtype, device=default_device())


def _numpy(v):
    return v.numpy() if isinstance(v, Tensor) else np.asarray(v)


def _weights_of(nodes) -> list:
    seen, out = set(), []
    for node in nodes:
        for w in getattr(node.layer, "weights", []):
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
    return out
