"""What every application network shares: checking the arguments, the head on top of the
convolutional base (classifier or global pooling), and turning the graph into a Model
with Keras' weights loaded."""
from __future__ import annotations

import os

from ..nn.layers import Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, InputLayer, SymbolicTensor
from ..nn.model import Model
from .keras_order import load_keras_weights, use_keras_layer_order


def check_arguments(weights, include_top, classes, pooling, input_tensor):
    """Keras' argument checks of keras.applications, with messages that say what to pass."""
    if not (weights in (None, "imagenet") or os.path.exists(weights)):
        raise ValueError(f"weights must be None (random initialisation), 'imagenet' or the path of a "
                         f"weight file; {weights!r} is none of these (no such file)")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"the ImageNet classifier has 1000 classes; got classes={classes} "
                         "(use include_top=False, or weights=None)")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    if input_tensor is not None and not isinstance(input_tensor, SymbolicTensor):
        raise TypeError("input_tensor must be a symbolic tensor (from Input or a layer), "
                        f"got {type(input_tensor).__name__}")


def source_inputs(tensor) -> list:
    """The Input tensors a symbolic tensor is computed from (Keras' get_source_inputs)."""
    found, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if id(t.node) in seen:
            continue
        seen.add(id(t.node))
        if isinstance(t.node.layer, InputLayer):
            found.append(t)
        stack.extend(reversed(t.node.inputs))
    return found if len(found) > 1 else found[0]


def global_pooling(x, pooling):
    """The head without the classifier: the 4D feature map (None), or pooled to (n, channels)."""
    if pooling == "avg":
        return GlobalAveragePooling2D()(x)
    if pooling == "max":
        return GlobalMaxPooling2D()(x)
    return x


def pooled_classifier_or_pooling(x, include_top, pooling, classes):
    """Xception's and InceptionV3's head: global average pooling + softmax classifier, or
    (include_top=False) the optional global pooling."""
    if not include_top:
        return global_pooling(x, pooling)
    x = GlobalAveragePooling2D(name="avg_pool")(x)
    return Dense(classes, activation="softmax", name="predictions")(x)


def finish_application(img_input, input_tensor, outputs, name, weights_path, keras_order):
    """The Model from the network's input (or, given input_tensor, the Inputs it came from)
    to `outputs`, with the weight file loaded. keras_order: list the layers in Keras'
    depth order (branching networks), so a released file's layers pair up by position."""
    inputs = img_input if input_tensor is None else source_inputs(input_tensor)
    model = Model(inputs, outputs, name=name)
    if keras_order:
        model = use_keras_layer_order(model)
    if weights_path is not None:
        load_keras_weights(model, weights_path)
    return model
