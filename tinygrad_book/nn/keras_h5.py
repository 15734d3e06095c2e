"""Keras' HDF5 weight files: the layout Keras 2 writes, read and written here.

The layout (what `model.save_weights` writes; `model.save` puts the same under a
group `model_weights`; the released ImageNet files use it too):

    /                       attrs: layer_names = [b'input_1', b'block1_conv1', ...]
                                   (and, from Keras 2, keras_version, backend)
    /block1_conv1/          attrs: weight_names = [b'block1_conv1/kernel:0', b'block1_conv1/bias:0']
    /block1_conv1/block1_conv1/kernel:0    the dataset of each weight, at its name
    /block1_pool/           attrs: weight_names = []   (a layer without weights)

Only the attributes say which weight comes first: the datasets of a group are listed
alphabetically, and the released files name their weights `block1_conv1_W_1:0`,
`block1_conv1_b_1:0` (Keras 1), so the order is always read from `weight_names`.

Loading is all or nothing: every layer, count and shape is checked before the first
weight is assigned, and a mismatch names the file, the layer and both shapes.

This module uses only the public layer API (layer.name, layer.weights,
trainable_weights, set_weights, model.layers).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..fileio import atomic_write

# An HDF5 object header holds at most 64 KiB of attributes; Keras splits longer name
# lists into layer_names0, layer_names1, ... (a model with thousands of layers).
HDF5_OBJECT_HEADER_LIMIT = 64512
# What we write as the file's Keras version: the format is Keras 2's, so Keras reads it
# without its Keras-1 conversions.
KERAS_VERSION = "2.1.6"
# Our convolution is a cross-correlation, as TensorFlow's and CNTK's; Theano's flips the
# kernel. Keras flips kernels when the file's backend and its own disagree.
BACKEND = "tensorflow"
_CONV_LAYERS = ("Conv1D", "Conv2D")


# --- names as attributes ----------------------------------------------------------------
def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def write_name_list(group, key, names) -> None:
    """`group.attrs[key] = names` as Keras writes it: byte strings, split into key0, key1, ...
    when the list does not fit in one object header."""
    data = np.array([n.encode("utf8") for n in names]) if names else np.array([], dtype="S1")
    chunks = [data]
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        chunks = np.array_split(data, len(chunks) + 1)
    if len(chunks) == 1:
        group.attrs[key] = data
    else:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{key}{i}"] = chunk


def read_name_list(group, key) -> list:
    """The list `write_name_list` wrote (also its chunked form); [] when absent."""
    if key in group.attrs:
        return [_text(n) for n in np.atleast_1d(group.attrs[key])]
    names, i = [], 0
    while f"{key}{i}" in group.attrs:
        names += [_text(n) for n in np.atleast_1d(group.attrs[f"{key}{i}"])]
        i += 1
    return names


# --- which weights, in which order, under which names --------------------------------------
def keras_weights(layer) -> list:
    """A layer's weights in Keras' order: trainable ones first, then the others. For a plain
    layer that is its own order (kernel, bias); for a model used as a layer (a conv base
    inside a Sequential) it depends on which of its layers are frozen, as in Keras."""
    trainable = list(layer.trainable_weights)
    seen = {id(w) for w in trainable}
    return trainable + [w for w in layer.weights if id(w) not in seen]


def _leaf_layers(layer):
    if hasattr(layer, "layers"):
        return [leaf for sub in layer.layers for leaf in _leaf_layers(sub)]
    return [layer]


def weight_names(layer) -> list:
    """Keras 2's names: '<layer>/<attribute>:0' ('block1_conv1/kernel:0'), found by which
    attribute of its layer holds each weight; 'param_<i>' when none does (as Keras)."""
    owner = {}
    for leaf in _leaf_layers(layer):
        mine = {id(w) for w in leaf.weights}
        for attr, value in vars(leaf).items():
            if id(value) in mine and not attr.startswith("_"):
                owner.setdefault(id(value), f"{leaf.name}/{attr}:0")
    names = [owner.get(id(w), f"param_{i}") for i, w in enumerate(keras_weights(layer))]
    return [n if names.count(n) == 1 else f"param_{i}" for i, n in enumerate(names)]


# --- writing ------------------------------------------------------------------------------
def save_weights_to_group(group, layers) -> None:
    """Keras' `save_weights_to_hdf5_group`: one group per layer, in the given order."""
    write_name_list(group, "layer_names", [layer.name for layer in layers])
    # fixed-length byte strings, as h5py 2 wrote them for Keras 2 (which calls .decode() on
    # them); h5py 3 would store Python bytes as a variable-length string that reads back as str
    group.attrs["backend"] = np.bytes_(BACKEND.encode("utf8"))
    group.attrs["keras_version"] = np.bytes_(KERAS_VERSION.encode("utf8"))
    for layer in layers:
        g = group.create_group(layer.name)
        names = weight_names(layer)
        write_name_list(g, "weight_names", names)
        for name, w in zip(names, keras_weights(layer)):
            g.create_dataset(name, data=w.numpy())   # a '/' in the name makes a subgroup, as in Keras


def save_weights(model, path) -> None:
    """Write `model`'s weights as Keras' `model.save_weights(path)` does (atomically)."""
    import h5py

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            save_weights_to_group(f, model.layers)
    atomic_write(path, write)


# --- reading ------------------------------------------------------------------------------
def read_layers(group) -> list:
    """[(layer name, [weight arrays in the order of its weight_names])] in file order."""
    layers = []
    for name in read_name_list(group, "layer_names"):
        g = group[name]
        layers.append((name, [np.asarray(g[w]) for w in read_name_list(g, "weight_names")]))
    return layers


def weights_group(f):
    """The group holding the layers: the root of a weights file, `model_weights` of a model file."""
    if "layer_names" not in f.attrs and "layer_names0" not in f.attrs and "model_weights" in f:
        return f["model_weights"]
    if "layer_names" not in f.attrs and "layer_names0" not in f.attrs:
        raise ValueError("no attribute 'layer_names' and no group 'model_weights': not a Keras weight file")
    return f


def is_keras_weight_file(path) -> bool:
    """True for an HDF5 file in Keras' layout (weights or whole model)."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            weights_group(f)
        return True
    except (OSError, ValueError):
        return False


def convert_kernel(layer, arrays, backend):
    """Keras' conversions of convolution kernels (preprocess_weights_for_loading): a kernel
    stored as (filters, channels, rows, cols) (Keras 1, channels_first) is transposed to our
    (rows, cols, channels, filters); then a Theano file's kernel is flipped along every
    spatial axis (Theano convolves, we correlate, as TensorFlow does)."""
    if type(layer).__name__ not in _CONV_LAYERS or not arrays:
        return arrays
    kernel, expected = arrays[0], tuple(layer.weights[0].shape)
    if kernel.shape != expected and kernel.ndim == 4 and kernel.transpose(2, 3, 1, 0).shape == expected:
        kernel = kernel.transpose(2, 3, 1, 0)
    if backend == "theano":
        kernel = kernel[(slice(None, None, -1),) * (kernel.ndim - 2)]
    return [np.ascontiguousarray(kernel)] + list(arrays[1:])


def _mismatch(source, layer, file_layer, arrays, expected):
    """None if the arrays fit the layer, else the message that says why not."""
    where = f"{source}: layer {file_layer!r} of the file -> layer {layer.name!r} of the model"
    if len(arrays) != len(expected):
        return (f"{where}: the model's layer has {len(expected)} weight(s), "
                f"the file has {len(arrays)}")
    for i, (a, w) in enumerate(zip(arrays, expected)):
        if tuple(a.shape) != tuple(w.shape):
            return f"{where}: weight {i} has shape {tuple(w.shape)} in the model, {tuple(a.shape)} in the file"
    return None


def _pairs_by_order(file_layers, layers, source):
    """Keras' default: the i-th layer with weights in the file -> the i-th in the model."""
    in_file = [(name, arrays) for name, arrays in file_layers if arrays]
    in_model = [layer for layer in layers if layer.weights]
    if len(in_file) != len(in_model):
        raise ValueError(f"{source}: the file has weights for {len(in_file)} layers "
                         f"{[n for n, _ in in_file]}, the model has {len(in_model)} layers with weights "
                         f"{[layer.name for layer in in_model]}")
    return [(layer, name, arrays) for layer, (name, arrays) in zip(in_model, in_file)]


def _pairs_by_name(file_layers, layers):
    """by_name=True: each file layer -> the model's layers of that name; others are left alone."""
    index = {}
    for layer in layers:
        index.setdefault(layer.name, []).append(layer)
    return [(layer, name, arrays) for name, arrays in file_layers for layer in index.get(name, [])]


def load_weights_from_group(group, layers, by_name=False, skip_mismatch=False, source="weights file"):
    """Check every (layer, arrays) pair, then assign them all. `skip_mismatch` (with by_name)
    warns and skips a layer that does not fit instead of raising."""
    backend = _text(group.attrs["backend"]) if "backend" in group.attrs else None
    file_layers = read_layers(group)
    pairs = _pairs_by_name(file_layers, layers) if by_name else _pairs_by_order(file_layers, layers, source)
    checked = []
    for layer, file_layer, arrays in pairs:
        arrays = convert_kernel(layer, arrays, backend)
        expected = keras_weights(layer)
        problem = _mismatch(source, layer, file_layer, arrays, expected)
        if problem and by_name and skip_mismatch:
            warnings.warn(f"skipping {problem}", stacklevel=2)
            continue
        if problem:
            raise ValueError(problem)
        checked.append((layer, dict(zip(map(id, expected), arrays))))
    for layer, by_id in checked:   # all fit: now assign, in the layer's own order
        layer.set_weights([by_id[id(w)] for w in layer.weights])


def load_weights(model, path, by_name=False, skip_mismatch=False) -> None:
    """Keras' `model.load_weights(path, by_name=...)` for a Keras HDF5 file (weights only, or
    a whole saved model). By default layer by layer in order (layers without weights do not
    count); with by_name=True into the layers of the same name."""
    import h5py
    if not getattr(model, "built", True):
        raise RuntimeError(f"load_weights: build model {model.name} first (give input_shape or call it on data)")
    with h5py.File(path, "r") as f:
        try:
            group = weights_group(f)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        load_weights_from_group(group, model.layers, by_name, skip_mismatch, source=str(path))


__all__ = ["save_weights", "load_weights", "save_weights_to_group", "load_weights_from_group",
           "read_layers", "read_name_list", "write_name_list", "weight_names", "keras_weights",
           "is_keras_weight_file", "convert_kernel"]
