"""`Layer`: weights + a forward `call`, and `SymbolicTensor`: what flows through
layers when a model is being *described* (the functional API) instead of run.

Calling a layer on a real Tensor runs it. Calling it on a SymbolicTensor (from
`Input(...)`) runs nothing: it records a `Node` (this layer, these inputs) and
returns new SymbolicTensors whose shapes come from `compute_output_shape`.
A Model is then just the graph of Nodes between its inputs and outputs.
"""
from __future__ import annotations

import inspect
import re
from collections import defaultdict

import numpy as np

from ...autograd import Tensor, default_device
from .. import initializers, regularizers
from . import shape_rules

_NAME_COUNTS: defaultdict = defaultdict(int)
_CLASSES: dict = {}   # class name -> class, filled by Layer.__init_subclass__


def layer_class(name: str) -> type:
    """The layer (or model) class called `name`: every subclass of Layer registers itself
    when it is defined, so rebuilding a saved model needs no list of imports."""
    if name not in _CLASSES:
        raise ValueError(f"cannot rebuild unknown layer class {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return _CLASSES[name]


def unique_name(prefix: str) -> str:
    """Keras' automatic names: dense_1, dense_2, conv2d_1, ..."""
    _NAME_COUNTS[prefix] += 1
    return f"{prefix}_{_NAME_COUNTS[prefix]}"


def clear_session() -> None:
    """Restart automatic layer names from _1 (Keras' K.clear_session)."""
    _NAME_COUNTS.clear()


def snake_case(name: str) -> str:
    """Dense -> dense, Conv2D -> conv2d, MaxPooling2D -> max_pooling2d (as Keras)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class SymbolicTensor:
    """A placeholder: a shape (batch axis None), a dtype, and the Node that makes it.

    Operations on it run nothing: each records a Node of a `KOp` (see `apply_op`), so
    `K.mean(layer.output[:, :, :, 0]) + 1` is a small graph that `K.function` or a Model
    replays on real Tensors. Numbers, arrays and Tensors mixed in are kept as constants.
    """
    __array_ufunc__ = None   # numpy defers to us: array + symbolic -> symbolic.__radd__(array)

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node      # the Node whose layer outputs this tensor
        self.index = index    # which of that node's outputs it is
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor {self.name} shape={self.shape} dtype={self.dtype.name}>"

    # --- recorded operations (the K functions add the rest: backend.py) ---------------
    def __add__(self, other):
        return binary_op("add", lambda a, b: a + b, self, other)

    def __radd__(self, other):
        return binary_op("add", lambda a, b: a + b, other, self)

    def __sub__(self, other):
        return binary_op("sub", lambda a, b: a - b, self, other)

    def __rsub__(self, other):
        return binary_op("sub", lambda a, b: a - b, other, self)

    def __mul__(self, other):
        return binary_op("mul", lambda a, b: a * b, self, other)

    def __rmul__(self, other):
        return binary_op("mul", lambda a, b: a * b, other, self)

    def __truediv__(self, other):
        return binary_op("div", lambda a, b: a / b, self, other)

    def __rtruediv__(self, other):
        return binary_op("div", lambda a, b: a / b, other, self)

    def __pow__(self, other):
        return binary_op("pow", lambda a, b: a ** b, self, other)

    def __rpow__(self, other):
        return binary_op("pow", lambda a, b: a ** b, other, self)

    def __neg__(self):
        return apply_op("neg", lambda a: -a, [self], self.shape, self.dtype)

    def __abs__(self):
        return apply_op("abs", abs, [self], self.shape, self.dtype)

    def __getitem__(self, index):
        return apply_op("getitem", lambda a: a[index], [self], shape_rules.getitem(self.shape, index), self.dtype)


class KOp:
    """One recorded operation on symbolic tensors. It sits in a graph as a layer does (a
    Node's `layer`), so a Model or K.function evaluates it the same way, but it is no
    Layer: no weights, no name counter, not listed in `model.layers`."""

    is_op = True
    trainable = False
    weights: list = []
    trainable_weights: list = []

    def __init__(self, name, fn, shapes):
        self.name, self.fn, self.shapes = name, fn, [tuple(s) for s in shapes]
        self.inbound_nodes: list = []

    def __call__(self, args, training=False):
        return self.fn(*args)

    def compute_output_shape(self, input_shape):
        return self.shapes[0] if len(self.shapes) == 1 else list(self.shapes)

    def penalties(self):
        return []

    def __repr__(self):
        return f"<KOp {self.name}>"


def apply_op(name, fn, args, shape, dtype, shapes=None):
    """Record `fn(*args)`: the symbolic arguments become the Node's inputs, the others
    (numbers, arrays, Tensors such as a layer's kernel) are kept and passed as they are.
    Returns the output SymbolicTensor (a list of them when `shapes` lists several)."""
    slots = [i for i, a in enumerate(args) if isinstance(a, SymbolicTensor)]

    def run(*values):
        full = list(args)
        for i, v in zip(slots, values):
            full[i] = v
        return fn(*full)

    many = shapes is not None
    node = Node(KOp(name, run, shapes if many else [shape]), [args[i] for i in slots],
                shapes if many else [shape], dtype)
    node.multi_input = True
    return list(node.outputs) if many else node.outputs[0]


def dtype_of(x):
    """The dtype an operand brings; None for a Python number (it adapts, as in numpy)."""
    if isinstance(x, (SymbolicTensor, Tensor, np.ndarray, np.generic)):
        return np.dtype(x.dtype)
    return None


def shape_of(x) -> tuple:
    return tuple(x.shape) if isinstance(x, (SymbolicTensor, Tensor)) else np.shape(x)


def result_dtype(a, b):
    da, db = dtype_of(a), dtype_of(b)
    if da is None or db is None:
        known = da or db or np.dtype(np.float32)
        weak = b if da is not None else a
        return np.dtype(np.float32) if isinstance(weak, float) and known.kind in "biu" else known
    return np.result_type(da, db)


def binary_op(name, fn, a, b):
    return apply_op(name, fn, [a, b], shape_rules.broadcast(name, shape_of(a), shape_of(b)), result_dtype(a, b))


class Node:
    """One call of a layer in a graph: inbound tensors -> outbound tensors."""

    def __init__(self, layer, inputs, output_shapes, dtype):
        self.layer = layer
        self.inputs = list(inputs)
        self.multi_input = None
        self.traced = False   # True: the layer's call was traced, its inputs are the traced outputs
        index = len(layer.inbound_nodes)
        self.outputs = [SymbolicTensor(s, dtype, self, i, f"{layer.name}/{index}:{i}")
                        for i, s in enumerate(output_shapes)]
        layer.inbound_nodes.append(self)

    def run(self, arg, training=False):
        """This node's value from its inputs' values: the layer's call, or, for a traced
        call, the inputs themselves (they are already the traced outputs)."""
        return arg if self.traced else self.layer(arg, training=training)


def positive_int(layer: str, what: str, value) -> int:
    """A layer size (units, filters, a kernel, pool or stride edge) checked: a positive
    integer, not a float, a string or a bool. The error names the layer and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: {what} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)


def positive_ints(layer: str, what: str, value, count: int) -> tuple:
    """An int or a `count`-tuple of them (Keras' kernel_size=3 or (3, 3)), each positive."""
    values = (value,) * count if not isinstance(value, (tuple, list)) else tuple(value)
    if len(values) != count:
        raise ValueError(f"{layer}: {what} must be one integer or {count} of them, got {value!r}")
    return tuple(positive_int(layer, what, v) for v in values)


def not_implemented(layer: str, **given) -> None:
    """Keras 2 arguments a layer accepts by name but does not implement: each must be left
    at Keras' default, None (or False). Anything else is refused, never silently ignored."""
    used = sorted(name for name, value in given.items() if value is not None and value is not False)
    if used:
        raise NotImplementedError(f"{layer}: {', '.join(used)} not implemented (leave at the default)")


def is_symbolic(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(isinstance(t, SymbolicTensor) for t in x)
    return isinstance(x, SymbolicTensor)


def shapes_match(expected, actual) -> bool:
    """Equal ranks and equal sizes wherever `expected` is not None."""
    return len(expected) == len(actual) and all(e is None or e == a for e, a in zip(expected, actual))


class Layer:
    """Base of every layer. Subclasses set up arguments in __init__, create weights in
    `build(input_shape)`, compute in `call(inputs, training)` and say their output
    shape in `compute_output_shape(input_shape)`. Shapes include the batch axis (None).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls
        # A layer written the Keras 2 way (`call(self, inputs)` with K functions, or any
        # layer defined outside this package) is traced on symbolic inputs, as Keras runs
        # call on placeholders; our own layers say their shapes (compute_output_shape).
        cls._call_takes_training = "training" in inspect.signature(cls.call).parameters
        if "trace_call" not in cls.__dict__:
            cls.trace_call = "call" in cls.__dict__ and (
                not cls._call_takes_training or not cls.__module__.startswith("tinygrad_book."))

    trace_call = False
    _call_takes_training = True

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, dtype=None, weights=None, **unknown):
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {', '.join(sorted(unknown))}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = trainable
        self.built = False
        self.device = None            # set at build: where this layer's weights live
        self._weights: list = []      # Tensors in creation order (Keras order: kernel, bias)
        self._penalties: list = []    # (regularizer, weight) pairs added to the training loss
        self._added_losses: list = []  # symbolic loss tensors from add_loss
        self.inbound_nodes: list = []
        if input_shape is not None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            batch_input_shape = (batch_size, int(input_dim))
        self._initial_weights = weights   # Keras' weights=[...]: set once the layer is built
        self.batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self.input_dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
        self.input_shape = None
        self.output_shape = None

    # --- weights --------------------------------------------------------------------
    def add_weight(self, shape, initializer="glorot_uniform", regularizer=None, name="kernel"):
        """A new trainable Tensor on this layer's device, initialized from nn's seeded generator."""
        values = initializers.get(initializer)(tuple(shape))
        w = Tensor(values, requires_grad=True, dtype=np.float32, device=self.device)
        self._weights.append(w)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._penalties.append((reg, w))
        return w

    @property
    def weights(self) -> list:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list:
        return self.weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        return [] if self.trainable else self.weights

    def penalties(self) -> list:
        """(regularizer, weight) pairs of this layer (and of sublayers, for models)."""
        return list(self._penalties)

    def get_weights(self) -> list:
        """Host copies of the weights, Keras order (kernel, bias)."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, arrays) -> None:
        weights = self.weights
        if len(arrays) != len(weights):
            raise ValueError(f"{self.name}: set_weights got {len(arrays)} arrays, the layer has {len(weights)} weights")
        for w, a in zip(weights, arrays):
            a = np.asarray(a)
            if a.shape != w.shape:
                raise ValueError(f"{self.name}: weight shape {w.shape} cannot take an array of shape {a.shape}")
            w.replace_data(a)   # same Tensor object, new values

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    # --- losses added by the layer (Keras' add_loss) ----------------------------------
    def add_loss(self, losses, inputs=None):
        """Add loss tensors to the model's training loss. Called inside `call` on symbolic
        inputs (a traced call), they are tensors of the graph: every training step
        evaluates them with the outputs and adds them (a non-scalar one summed)."""
        for loss in losses if isinstance(losses, (list, tuple)) else [losses]:
            if not isinstance(loss, SymbolicTensor):
                raise TypeError(f"{self.name}: add_loss takes symbolic tensors (call it inside call() on the "
                                f"layer's symbolic inputs), got {type(loss).__name__}")
            self._added_losses.append(loss)

    @property
    def losses(self) -> list:
        return list(getattr(self, "_added_losses", []))

    # --- shapes ---------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create weights for inputs of this shape (batch axis included). Default: none."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def _ensure_built(self, input_shape):
        if not self.built:
            self.device = self.device or default_device()
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
            self.input_shape = input_shape
            self.output_shape = self.compute_output_shape(input_shape)
        else:
            self._check_input(input_shape)

    def _check_input(self, input_shape):
        expected = self.input_shape
        if expected is None or isinstance(expected, list):
            return
        if not shapes_match(expected[1:], tuple(input_shape)[1:]):
            raise ValueError(f"layer {self.name} ({type(self).__name__}) expected input shape "
                             f"{expected} but got shape {tuple(input_shape)}")

    # --- calling ----------------------------------------------------------------------
    def call(self, inputs, training=False):
        raise NotImplementedError(f"{type(self).__name__}.call")

    def __call__(self, inputs, training=False):
        """On SymbolicTensors: record a Node. On Tensors (or arrays): compute."""
        if is_symbolic(inputs):
            return self._call_symbolic(inputs)
        inputs = self._as_tensors(inputs)
        self._ensure_built(_shape_of(inputs))
        return self._run_call(inputs, training)

    def _run_call(self, inputs, training):
        """call(inputs, training) or, for Keras 2 layers written without it, call(inputs)."""
        return self.call(inputs, training=training) if self._call_takes_training else self.call(inputs)

    def _as_tensors(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return [self._as_tensors(x) for x in inputs]
        if isinstance(inputs, Tensor):
            return inputs
        return Tensor(inputs, device=self.device or default_device())

    def _call_symbolic(self, inputs):
        many = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if many else [inputs]
        input_shape = [t.shape for t in tensors] if many else tensors[0].shape
        self._ensure_built(input_shape)
        traced = self._trace(tensors if many else inputs) if self.trace_call else None
        if traced is not None:
            return traced
        out_shape = self.compute_output_shape(input_shape)
        multi_out = isinstance(out_shape, list)
        node = Node(self, tensors, out_shape if multi_out else [out_shape], self.output_dtype(tensors))
        node.multi_input = many
        return list(node.outputs) if multi_out else node.outputs[0]

    def _trace(self, inputs):
        """Run `call` on the symbolic inputs themselves: its K operations record their
        nodes, and one identity Node of this layer marks the result (the layer stays in
        the model, its add_loss tensors with it). None if call needs real Tensors (a
        Tensor method a symbolic tensor lacks): then the layer runs eagerly, as ours do."""
        before = len(self._added_losses)
        try:
            out = self._run_call(inputs, False)
        except (AttributeError, TypeError, NotImplementedError):
            del self._added_losses[before:]
            return None
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if not all(isinstance(o, SymbolicTensor) for o in outs):
            del self._added_losses[before:]
            return None
        node = Node(self, outs, [o.shape for o in outs], outs[0].dtype)
        node.multi_input, node.traced = isinstance(out, (list, tuple)), True
        self.output_shape = [o.shape for o in outs] if node.multi_input else outs[0].shape
        return list(node.outputs) if node.multi_input else node.outputs[0]

    def output_dtype(self, inputs):
        return np.float32

    # --- graph attributes (as Keras) ---------------------------------------------------
    def _single_node(self, what):
        if not self.inbound_nodes:
            raise AttributeError(f"layer {self.name} has not been called on a symbolic input, so it has no {what}")
        return self.inbound_nodes[0]

    @property
    def output(self):
        outs = self._single_node("output").outputs
        return outs if len(outs) > 1 else outs[0]

    @property
    def input(self):
        node = self._single_node("input")
        return node.inputs if node.multi_input else node.inputs[0]

    # --- config (for model.save) --------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = list(self.batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


def _shape_of(x):
    return [t.shape for t in x] if isinstance(x, list) else x.shape


class InputLayer(Layer):
    """The layer behind `Input(...)`: it has no weights and one node with no inputs."""

    def __init__(self, batch_input_shape=None, dtype=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("input"), batch_input_shape=batch_input_shape,
                         dtype=dtype, **kwargs)
        self.built = True
        self.input_shape = self.output_shape = self.batch_input_shape
        node = Node(self, [], [self.batch_input_shape], self.input_dtype)
        node.multi_input = False

    def call(self, inputs, training=False):
        return inputs

    @property
    def input(self):
        """An input layer's input is its output, the placeholder itself (as Keras)."""
        return self.output

    def get_config(self):
        return {"name": self.name, "batch_input_shape": list(self.batch_input_shape),
                "dtype": self.input_dtype.name}


def Input(shape=None, dtype=None, name=None, batch_shape=None):  # noqa: N802 - Keras' name
    """A symbolic input of per-sample `shape` (the batch axis is added as None)."""
    if shape is None and batch_shape is None:
        raise ValueError("Input: give shape=(...) (per sample, without the batch axis)")
    if isinstance(shape, int):
        shape = (shape,)
    batch_input_shape = tuple(batch_shape) if batch_shape is not None else (None,) + tuple(shape)
    dtype = {"int32": np.int64, "int64": np.int64}.get(dtype, dtype)
    return InputLayer(batch_input_shape=batch_input_shape, dtype=dtype, name=name).output
