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
    arrays, attrs = read_weights_file(path, _read)
    if "model_config" not in attrs:
        raise ValueError(f"{path}: holds weights only (save_weights); rebuild the model and use load_weights")
    model = from_config(json.loads(attrs["model_config"]))
    model.set_weights(arrays)
    if compile and attrs.get("training_config"):
        _compile_from(model, attrs["training_config"])
    return model
