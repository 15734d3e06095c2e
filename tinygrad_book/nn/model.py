"""Models: the functional `Model(inputs, outputs)` and `Sequential`.

A Model is a Layer whose `call` runs a recorded graph: the Nodes between its input
SymbolicTensors and its outputs, in an order where every Node comes after the Nodes
that feed it. Training (compile/fit/evaluate/predict) lives in training.py, the file
formats in saving.py; the methods that save and load are here, on the model.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad

from . import saving
from .weights_check import check_weights
from .layers.base import Input, InputLayer, Layer, SymbolicTensor, is_symbolic, unique_name
from .training import Training


def _graph_order(inputs, outputs):
    """Nodes needed for `outputs`, each after its producers (iterative DFS, no recursion).
    Raises if an output depends on an Input that is not among `inputs`."""
    known = {id(t) for t in inputs}
    order, done, visiting = [], set(), set()
    stack = [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        if isinstance(node.layer, InputLayer):
            if id(node.outputs[0]) not in known:
                raise ValueError(
                    f"Graph disconnected: cannot obtain the value of input {node.layer.name!r} "
                    f"(shape {node.outputs[0].shape}); it is not one of the model's inputs "
                    f"{[t.node.layer.name for t in inputs]}")
            done.add(id(node))
            continue
        if id(node) in visiting:
            continue
        visiting.add(id(node))
        stack.append((node, True))
        for t in reversed(node.inputs):
            if id(t) not in known and id(t.node) not in done:
                stack.append((t.node, False))
    return order


class Model(Training, Layer):
    """Model(inputs, outputs): the layers between symbolic inputs and outputs."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        Layer.__init__(self, name=name or unique_name("model"), **kwargs)
        Training.__init__(self)
        if inputs is not None:
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        self.inputs = [inputs] if self._single_input else list(inputs)
        self.outputs = [outputs] if self._single_output else list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors (from Input / layers), got {t!r}")
        self._nodes = _graph_order(self.inputs, self.outputs)
        self._layers = _layers_of(self.inputs, self._nodes)
        if self.losses:    # add_loss tensors are computed with the outputs
            self._nodes = _graph_order(self.inputs, self.outputs + self.losses)
            self._layers = _layers_of(self.inputs, self._nodes)
        self.built = True
        self.input_shape = self._unwrap_in([t.shape for t in self.inputs])
        self.output_shape = self._unwrap_out([t.shape for t in self.outputs])
        self.batch_input_shape = self.inputs[0].shape if self._single_input else None
        self.device = next((l.device for l in self._layers if l.device), None)

    def _unwrap_in(self, values):
        return values[0] if self._single_input else values

    def _unwrap_out(self, values):
        return values[0] if self._single_output else values

    # --- layers and weights ---------------------------------------------------------
    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def graph_nodes(self) -> list:
        """The Nodes of the graph, each after the Nodes that feed it."""
        return list(getattr(self, "_nodes", []))

    @property
    def single_input(self) -> bool:
        """True when the model was made with one input (not a list of them)."""
        return self._single_input

    @property
    def single_output(self) -> bool:
        return self._single_output

    @property
    def input(self):
        """The model's own input tensor (a list for several): what `Model(inputs=...)` was
        given, or the Input a Sequential made. Build a model of intermediate activations
        from it: `Model(inputs=model.input, outputs=[l.output for l in model.layers[:8]])`."""
        return self._unwrap_in(self._own("inputs"))

    @property
    def output(self):
        """The model's own output tensor (a list for several)."""
        return self._unwrap_out(self._own("outputs"))

    def _own(self, which) -> list:
        if not getattr(self, which, None):
            raise AttributeError(f"model {self.name} is not built yet, so it has no {which[:-1]}: give its "
                                 f"first layer input_shape=(...), or call build / fit first")
        return list(getattr(self, which))

    @property
    def output_names(self) -> list:
        return [t.node.layer.name for t in self.outputs]

    @property
    def input_names(self) -> list:
        return [t.node.layer.name for t in self.inputs]

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    @property
    def weights(self) -> list:
        return _unique(w for layer in self.layers for w in layer.weights)

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return _unique(w for layer in self.layers for w in layer.trainable_weights)

    @property
    def non_trainable_weights(self) -> list:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def penalties(self):
        return [p for layer in self.layers for p in layer.penalties()]

    @property
    def losses(self) -> list:
        """The loss tensors its layers added with add_loss (symbolic, each once). A nested
        model's own losses live in its graph, not in this one: they are not collected."""
        return _unique(t for layer in self.layers if not isinstance(layer, Model) for t in layer.losses)

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    # --- running the graph -----------------------------------------------------------
    def compute_output_shape(self, input_shape):
        shapes = dict(zip(map(id, self.inputs), [input_shape] if self._single_input else input_shape))
        for node in self._nodes:
            ins = [shapes[id(t)] for t in node.inputs]
            out = node.layer.compute_output_shape(ins if node.multi_input else ins[0])
            for t, s in zip(node.outputs, out if isinstance(out, list) else [out]):
                shapes[id(t)] = s
        return self._unwrap_out([shapes[id(t)] for t in self.outputs])

    def _check_input(self, input_shape):
        pass   # each inner layer checks its own input

    def call(self, inputs, training=False):
        return self._unwrap_out(self.forward(inputs, training)[0])

    def forward(self, inputs, training=False, logits_for=(), with_losses=False):
        """Run the graph on real Tensors. Returns (outputs, logits): for each output index
        in `logits_for` whose layer has a softmax/sigmoid, logits[i] is that layer's
        pre-activation (the loss uses it); otherwise logits[i] is None. With
        `with_losses`, also the values of the add_loss tensors (a third list)."""
        inputs = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
        if len(inputs) != len(self.inputs):
            raise ValueError(f"model {self.name} expects {len(self.inputs)} input(s), got {len(inputs)}")
        values = dict(zip(map(id, self.inputs), inputs))
        wanted = {id(self.outputs[i]): i for i in logits_for}
        logits = [None] * len(self.outputs)
        for node in self._nodes:
            args = [values[id(t)] for t in node.inputs]
            arg = args if node.multi_input else args[0]
            index = wanted.get(id(node.outputs[0]))
            if index is not None and getattr(node.layer, "activation_name", None) in ("softmax", "sigmoid"):
                node.layer._ensure_built(arg.shape)
                logits[index] = node.layer.pre_activation(arg, training)
                out = node.layer.activation(logits[index])
            else:
                out = node.run(arg, training)
            for t, v in zip(node.outputs, out if isinstance(out, list) else [out]):
                values[id(t)] = v
        outs = [values[id(t)] for t in self.outputs]
        return (outs, logits, [values[id(t)] for t in self.losses]) if with_losses else (outs, logits)

    def __call__(self, inputs, training=False):
        if is_symbolic(inputs):
            return self._call_symbolic(inputs)
        return self.call(self._as_tensors(inputs), training=training)

    def _call_symbolic(self, inputs):
        return Layer._call_symbolic(self, inputs)

    def _ensure_built(self, input_shape):
        pass

    # --- weights in and out, files ------------------------------------------------------------
    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, arrays):
        check_weights(self, arrays)      # all checked before the first is assigned
        for w, a in zip(self.weights, arrays):
            w.replace_data(np.asarray(a))

    def save_weights(self, filepath):
        """The weights only (rebuild the same model, then load_weights)."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        saving.load_weights(self, filepath)

    def save(self, filepath, include_optimizer=True):
        """Architecture, weights and compile settings in one file (read it with load_model)."""
        saving.save_model(self, filepath)

    # --- summary and config --------------------------------------------------------------
    def summary(self, line_length=None, print_fn=print):
        from .summary import summary_text
        print_fn(summary_text(self, line_length))

    def get_config(self):
        return saving.functional_config(self)

    @classmethod
    def from_config(cls, config):
        inputs, outputs = saving.functional_graph(config)
        return cls(inputs[0] if config.get("single_input", True) else inputs,
                   outputs[0] if config.get("single_output", True) else outputs, name=config["name"])


class Sequential(Model):
    """A linear stack: each layer's output is the next layer's input.

    If the first layer knows its input (input_shape= / input_dim=), the graph is built
    as layers are added; otherwise on the first call, from the data's shape."""

    def __init__(self, layers=None, name=None):
        Layer.__init__(self, name=name or unique_name("sequential"))
        Training.__init__(self)
        self._layers = []
        self.inputs, self.outputs = [], []
        self._single_input = self._single_output = True
        self.built = False
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if isinstance(layer, Model) and len(getattr(layer, "outputs", [])) > 1:
            raise ValueError("Sequential.add: a model with several outputs cannot be one step of a Sequential")
        self._layers.append(layer)
        if self.outputs:
            self._set_output(layer(self.outputs[0]))
        elif len(self._layers) == 1 and layer.batch_input_shape is not None:
            x = Input(batch_shape=layer.batch_input_shape, dtype=layer.input_dtype,
                      name=f"{layer.name}_input")
            self.inputs = [x]
            self._set_output(layer(x))

    def _set_output(self, output):
        self.outputs = [output]
        self._nodes = _graph_order(self.inputs, self.outputs + self.losses)
        self.built = True
        self.input_shape = self.inputs[0].shape
        self.output_shape = output.shape
        self.batch_input_shape = self.input_shape
        self.device = next((l.device for l in self._layers if l.device), None)

    def pop(self):
        self._layers.pop()
        layers, self._layers, self.inputs, self.outputs = self._layers, [], [], []
        for layer in layers:
            layer.inbound_nodes.clear()
            self.add(layer)

    def build(self, input_shape=None):
        """Build from a batch shape (batch axis first), if not built yet."""
        if self.built or not self._layers:
            return
        x = Input(batch_shape=(None,) + tuple(input_shape[1:]), name=f"{self._layers[0].name}_input")
        self.inputs = [x]
        out = x
        for layer in self._layers:
            out = layer(out)
        self._set_output(out)

    def forward(self, inputs, training=False, logits_for=(), with_losses=False):
        """Layer after layer. The last layer gives its logits too when asked."""
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if not self.built:
            self.build(x.shape)
        if with_losses:
            return Model.forward(self, inputs, training, logits_for, with_losses)
        for layer in self._layers[:-1]:
            x = layer(x, training=training)
        last, logits = self._layers[-1], None
        if logits_for and getattr(last, "activation_name", None) in ("softmax", "sigmoid"):
            last._ensure_built(x.shape)
            logits = last.pre_activation(x, training)
            with no_grad():   # the loss reads the logits; the probabilities only feed the metrics:
                probs = last.activation(logits)   # no graph (softmax: 7 Functions and their backward per step)
            return [probs], [logits]
        return [last(x, training=training)], [logits]

    def get_config(self):
        return saving.sequential_config(self)

    @classmethod
    def from_config(cls, config):
        model = cls([saving.from_config(layer) for layer in config["layers"]], name=config["name"])
        if "build_input_shape" in config:
            model.build(tuple(config["build_input_shape"]))
        return model


def _layers_of(inputs, nodes) -> list:
    """The layers of a graph, inputs first; recorded K operations are not layers."""
    layers = [t.node.layer for t in inputs]
    for node in nodes:
        if node.layer not in layers and not getattr(node.layer, "is_op", False):
            layers.append(node.layer)
    return layers


def _unique(weights) -> list:
    """Each weight once, in first-seen order (a shared layer appears in several places)."""
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out
