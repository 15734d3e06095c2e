"""`Layer`: weights + a forward `call`, and `SymbolicTensor`: what flows through
layers when a model is being *described* (the functional API) instead of run.

Calling a layer on a real Tensor runs it. Calling it on a SymbolicTensor (from
`Input(...)`) runs nothing: it records a `Node` (this layer, these inputs) and
returns new SymbolicTensors whose shapes come from `compute_output_shape`.
A Model is then just the graph of Nodes between its inputs and outputs.
"""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ...autograd import Tensor, default_device
from .. import initializers, regularizers

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
    """A placeholder: a shape (batch axis None), a dtype, and the Node that makes it."""

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


class Node:
    """One call of a layer in a graph: inbound tensors -> outbound tensors."""

    def __init__(self, layer, inputs, output_shapes, dtype):
        self.layer = layer
        self.inputs = list(inputs)
        self.multi_input = None
        index = len(layer.inbound_nodes)
        self.outputs = [SymbolicTensor(s, dtype, self, i, f"{layer.name}/{index}:{i}")
                        for i, s in enumerate(output_shapes)]
        layer.inbound_nodes.append(self)


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
        return self.call(inputs, training=training)

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
        out_shape = self.compute_output_shape(input_shape)
        multi_out = isinstance(out_shape, list)
        node = Node(self, tensors, out_shape if multi_out else [out_shape], self.output_dtype(tensors))
        node.multi_input = many
        return list(node.outputs) if multi_out else node.outputs[0]

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
