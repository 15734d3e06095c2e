"""Saving: weights, or the whole model (architecture as JSON + weights + compile
settings), in .npz (default) or .h5 (when the path ends in .h5, via h5py).

Every file is written to a temporary name in the same folder and then renamed
over the target with os.replace, which is atomic: a reader (or a crash) never sees
half a file.
"""
from __future__ import annotations

import json

import numpy as np

from . import losses as L
from . import optimizers
from ..fileio import atomic_write
from . import keras_h5
from .layers.base import layer_class
from .weights_check import check_weights, read_weights_file


# --- architecture as a config ----------------------------------------------------------
def layer_config(layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def sequential_config(model) -> dict:
    config = {"name": model.name, "layers": [layer_config(l) for l in model.layers]}
    if model.built and model.layers and model.layers[0].batch_input_shape is None:
        config["build_input_shape"] = list(model.input_shape)   # built from data: keep the shape
    return config


def _node_ids(model):
    """(id(node) -> index of that node among its layer's nodes *in this model*)."""
    counts, ids = {}, {}
    for t in model.inputs:
        ids[id(t.node)] = 0
    for node in model.graph_nodes:
        ids[id(node)] = counts.get(id(node.layer), 0)
        counts[id(node.layer)] = ids[id(node)] + 1
    return ids


def functional_config(model) -> dict:
    ids = _node_ids(model)
    ref = lambda t: [t.node.layer.name, ids[id(t.node)], t.index]  # noqa: E731
    entries = []
    for layer in model.layers:
        nodes = [n for n in model.graph_nodes if n.layer is layer]
        entries.append({**layer_config(layer), "name": layer.name,
                        "inbound_nodes": [[ref(t) for t in n.inputs] + [bool(n.multi_input)] for n in nodes]})
    return {"name": model.name, "layers": entries,
            "input_layers": [ref(t) for t in model.inputs], "output_layers": [ref(t) for t in model.outputs],
            "single_input": model.single_input, "single_output": model.single_output}


def from_config(spec):
    """A model or layer from {'class_name': ..., 'config': ...} (inverse of layer_config).
    Every Layer subclass, Model and Sequential included, registers itself by class name
    (layers/base.py), and each class knows how to rebuild itself from its config."""
    return layer_class(spec["class_name"]).from_config(dict(spec["config"]))


def functional_graph(config):
    """The (input, output) symbolic tensors of a functional model's config: each layer
    rebuilt, then called on its inbound tensors, as when the model was first made."""
    layers, outputs = {}, {}
    pending = []
    for entry in config["layers"]:
        layer = from_config(entry)
        layers[entry["name"]] = layer
        if entry["class_name"] == "InputLayer":
            outputs[(entry["name"], 0)] = [layer.output]
        pending += [(entry["name"], k, node) for k, node in enumerate(entry["inbound_nodes"])]
    while pending:   # create nodes once all of their inputs exist (shared layers may wait a round)
        waiting = []
        for name, k, node in pending:
            refs, multi = node[:-1], node[-1]
            if not all((r[0], r[1]) in outputs for r in refs):
                waiting.append((name, k, node))
                continue
            ins = [outputs[(r[0], r[1])][r[2]] for r in refs]
            out = layers[name](ins if multi else ins[0])
            outputs[(name, k)] = out if isinstance(out, list) else [out]
        if len(waiting) == len(pending):
            raise ValueError("model config: some layers' inputs can never be computed")
        pending = waiting
    pick = lambda refs: [outputs[(r[0], r[1])][r[2]] for r in refs]  # noqa: E731
    return pick(config["input_layers"]), pick(config["output_layers"])


# --- compile settings -------------------------------------------------------------------
def _compile_config(model):
    if model.compile_settings is None or model.optimizer is None:
        return None
    loss, metrics, loss_weights = model.compile_settings

    def as_name(x):
        if isinstance(x, str) or x is None:
            return x
        if isinstance(x, (list, tuple)):
            return [as_name(v) for v in x]
        if isinstance(x, dict):
            return {k: as_name(v) for k, v in x.items()}
        return L.name_of(x)

    try:
        return json.dumps({"optimizer": {"class_name": type(model.optimizer).__name__,
                                         "config": model.optimizer.get_config()},
                           "loss": as_name(loss), "metrics": as_name(metrics), "loss_weights": loss_weights})
    except TypeError:
        return None   # something not expressible in JSON: the model is saved uncompiled


def _compile_from(model, text):
    info = json.loads(text)
    opt = getattr(optimizers, info["optimizer"]["class_name"])
    config = {k: v for k, v in info["optimizer"]["config"].items() if v is not None}
    model.compile(opt(**config), info["loss"], info["metrics"], info["loss_weights"])


# --- files ---------------------------------------------------------------------------------
def _is_h5(path) -> bool:
    return str(path).endswith((".h5", ".hdf5"))


def _write(path, arrays, attrs):
    def write(tmp):
        if _is_h5(path):
            import h5py
            with h5py.File(tmp, "w") as f:
                group = f.create_group("weights")
                for i, a in enumerate(arrays):
                    group.create_dataset(f"{i:04d}", data=a)
                for k, v in attrs.items():
                    if v is not None:
                        f.attrs[k] = v
        else:
            payload = {f"w{i:04d}": a for i, a in enumerate(arrays)}
            payload.update({f"__{k}__": np.array(v) for k, v in attrs.items() if v is not None})
            with open(tmp, "wb") as f:
                np.savez(f, **payload)
    atomic_write(path, write)


def _read(path):
    """(list of weight arrays, dict of attributes)."""
    if _is_h5(path):
        import h5py
        with h5py.File(path, "r") as f:
            group = f["weights"]
            arrays = [group[k][()] for k in sorted(group)]
            attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
        return arrays, attrs
    with np.load(path, allow_pickle=False) as data:
        arrays = [data[k] for k in sorted(k for k in data.files if k.startswith("w"))]
        attrs = {k[2:-2]: str(data[k]) for k in data.files if k.startswith("__")}
    return arrays, attrs


def save_weights(model, path):
    _write(path, model.get_weights(), {"layer_names": json.dumps([l.name for l in model.layers])})


def load_weights(model, path):
    """All or nothing: the file is read and checked against the model before any weight changes."""
    arrays, _ = read_weights_file(path, _read)
    if not model.built:
        raise RuntimeError(f"load_weights: build model {model.name} first (give input_shape or call it on data)")
    check_weights(model, arrays, source=path)
    model.set_weights(arrays)


def save_model(model, path):
    """Architecture (JSON), weights and compile settings in one file."""
    config = json.dumps(layer_config(model))
    _write(path, model.get_weights(), {"model_config": config, "training_config": _compile_config(model)})


def load_model(path, compile=True):
    """A model saved by `model.save`: ours (.npz, or .h5 with a group `weights`), or a
    Keras 2 `.h5` file (a group `model_weights` in Keras' layout, keras_h5.py)."""
    if _is_h5(path) and _is_keras_model_file(path):
        return _load_keras_model(path, compile)
    arrays, attrs = read_weights_file(path, _read)
    if "model_config" not in attrs:
        raise ValueError(f"{path}: holds weights only (save_weights); rebuild the model and use load_weights")
    model = from_config(json.loads(attrs["model_config"]))
    model.set_weights(arrays)
    if compile and attrs.get("training_config"):
        _compile_from(model, attrs["training_config"])
    return model


# --- Keras 2's whole-model .h5 files ------------------------------------------------------------
# Keras' `model.save('m.h5')` writes: root attributes `model_config` (the architecture as JSON,
# {"class_name": ..., "config": ...}) and `training_config`; the weights in a group
# `model_weights`, in the layout of keras_h5.py. Keras' layer configs carry a few settings
# in a form ours does not: initializers and regularizers as {"class_name", "config"}
# objects, `data_format` on every spatial layer, `sparse` on inputs.
_KERAS_INITIALIZERS = {"Zeros": "zeros", "Ones": "ones", "RandomUniform": "random_uniform",
                       "RandomNormal": "random_normal", "GlorotUniform": "glorot_uniform",
                       "HeNormal": "he_normal"}
# VarianceScaling(scale, mode, distribution) is how Keras 2 writes glorot_uniform and he_normal
_VARIANCE_SCALING = {(1.0, "fan_avg", "uniform"): "glorot_uniform", (2.0, "fan_in", "normal"): "he_normal"}


def _decoded(value) -> str:
    """An attribute as text: Keras 2 (h5py 2) stored fixed-length bytes."""
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _is_keras_model_file(path) -> bool:
    """True for a readable HDF5 file in Keras' layout; a missing or broken file is left to
    read_weights_file, whose error names what is wrong with it."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            return "model_weights" in f and "model_config" in f.attrs
    except OSError:
        return False


def _keras_initializer(spec):
    if not isinstance(spec, dict):
        return spec
    name, config = spec["class_name"], spec.get("config", {})
    if name == "VarianceScaling":
        key = (float(config.get("scale", 1.0)), config.get("mode"), config.get("distribution"))
        name = _VARIANCE_SCALING.get(key, name)
    name = _KERAS_INITIALIZERS.get(name, name)
    if name == spec["class_name"]:
        raise ValueError(f"Keras model file: initializer {spec} has no counterpart here")
    return name


def _accepts(cls, key) -> bool:
    import inspect
    return any(key in inspect.signature(c.__init__).parameters for c in cls.__mro__ if "__init__" in vars(c))


def keras_layer_config(class_name, config) -> dict:
    """A Keras 2 layer config rewritten in our layers' terms (same argument names)."""
    cls = layer_class(class_name)
    out = {}
    for key, value in config.items():
        if key.endswith("_initializer"):
            value = _keras_initializer(value)
        elif key.endswith("_regularizer") and isinstance(value, dict):
            value = value.get("config", value)           # L1L2 {"l1": .., "l2": ..}
        elif (key, value) in (("data_format", "channels_last"), ("sparse", False)) and not _accepts(cls, key):
            continue                                      # our only layout / dense inputs: nothing to say
        out[key] = value
    return out


def keras_model_config(spec) -> dict:
    """Keras 2's model config -> ours: Sequential as a list of layers (Keras <= 2.2.2) or a
    dict with "layers"; a functional Model's inbound nodes [[name, node, index, kwargs], ...]."""
    name, config = spec["class_name"], spec["config"]
    if name == "Sequential":
        layers = config if isinstance(config, list) else config["layers"]
        return {"class_name": "Sequential",
                "config": {"name": config.get("name", "sequential") if isinstance(config, dict) else "sequential",
                           "layers": [keras_model_config(l) if l["class_name"] in ("Sequential", "Model")
                                      else {"class_name": l["class_name"],
                                            "config": keras_layer_config(l["class_name"], l["config"])}
                                      for l in layers]}}
    if name == "Model":
        entries = []
        for layer in config["layers"]:
            inner = (keras_model_config(layer)["config"] if layer["class_name"] in ("Sequential", "Model")
                     else keras_layer_config(layer["class_name"], layer["config"]))
            nodes = [[ref[:3] for ref in node] + [len(node) > 1] for node in layer["inbound_nodes"]]
            entries.append({"class_name": layer["class_name"], "config": inner, "name": layer["name"],
                            "inbound_nodes": nodes})
        return {"class_name": "Model",
                "config": {"name": config["name"], "layers": entries,
                           "input_layers": config["input_layers"], "output_layers": config["output_layers"],
                           "single_input": len(config["input_layers"]) == 1,
                           "single_output": len(config["output_layers"]) == 1}}
    return {"class_name": name, "config": keras_layer_config(name, config)}


def _load_keras_model(path, compile):
    import h5py
    with h5py.File(path, "r") as f:
        model = from_config(keras_model_config(json.loads(_decoded(f.attrs["model_config"]))))
        keras_h5.load_weights_from_group(f["model_weights"], model.layers, source=str(path))
        training = f.attrs.get("training_config")
    if compile and training is not None:
        _compile_from_keras(model, json.loads(_decoded(training)))
    return model


def _compile_from_keras(model, info):
    """Keras' training_config: {"optimizer_config": {"class_name", "config"}, "loss", "metrics", ...}."""
    spec = info["optimizer_config"]
    opt = getattr(optimizers, spec["class_name"])
    config = {k: v for k, v in spec["config"].items() if v is not None and k != "name"}
    model.compile(opt(**config), info["loss"], info.get("metrics"), info.get("loss_weights"))
