"""Keras 2's order of a functional model's layers, and the released weight files that
depend on it.

Keras' released weight files list their layers in Keras' `model.layers` order, and
loading pairs the file's layers with the model's *by position*. For a chain (VGG) that
is simply the order of creation, but for branching networks (Xception's residual
shortcuts, Inception's parallel branches) Keras 2 sorts the layers by depth:

    1. walk the graph from the outputs, depth first, inputs in order, numbering each
       layer when it is first reached (its traversal index);
    2. the depth of a node is the longest path from it to an output (an output is 0);
       a layer's depth is the largest depth of its nodes;
    3. the layers, deepest first; within a depth, by traversal index.

(keras/engine/topology.py, Container.__init__, Keras 2.0.8.) So Xception's first
shortcut convolution `conv2d_1`, created before block2's separable convolutions, comes
after them: it sits one step from the `add` as block2_pool does.
"""
from __future__ import annotations

import os

from ..data.download import DatasetNotFoundError, get_file
from ..nn import keras_h5
from .imagenet_utils import MODELS_SUBDIR


def _traversal(outputs):
    """(layer traversal index by id, nodes in post-order) of Keras' build_map_of_graph."""
    index, post_order, finished = {}, [], set()
    for output in outputs:
        stack = [(output.node, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                finished.add(id(node))
                post_order.append(node)
                continue
            if id(node) in finished:
                continue
            index.setdefault(id(node.layer), len(index))
            stack.append((node, True))
            for t in reversed(node.inputs):      # the first input is walked first
                if id(t.node) not in finished:
                    stack.append((t.node, False))
    return index, post_order


def keras_layer_order(model) -> list:
    """model.layers in the order Keras 2 gives them (see the module docstring)."""
    index, post_order = _traversal(model.outputs)
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(post_order):            # every consumer before its producers
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for t in node.inputs:
            node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)], index[id(layer)]))


def use_keras_layer_order(model):
    """Put model.layers in Keras' order, so that save_weights / load_weights, summary() and
    Keras' own files agree on it. Only the listing changes: the graph runs as before."""
    order = keras_layer_order(model)
    assert {id(layer) for layer in order} == {id(layer) for layer in model.layers}
    model._layers = order
    return model


def released_weights(network, fname, url, md5, include_top) -> str:
    """The local path of one of Keras' released weight files, downloaded (md5 checked) into
    <data folder>/models/ if missing. Offline, the error says which file, from where, and
    what to do without it."""
    try:
        return get_file(fname, url, cache_subdir=MODELS_SUBDIR, file_hash=md5)
    except DatasetNotFoundError as e:
        e.args = (f"{e.args[0]}\n  These are Keras' ImageNet weights for {network} "
                  f"({'with' if include_top else 'without'} the classifier), md5 {md5}. Without them, "
                  f"build the network with weights=None (random) or weights='<path of a Keras weight file>'.",)
        raise


def load_keras_weights(model, weights_path) -> None:
    """Keras' model.load_weights(path): the file's layers, in order, into model.layers."""
    if not os.path.exists(weights_path):
        raise FileNotFoundError(f"no weight file at {weights_path!r}")
    keras_h5.load_weights(model, weights_path)
