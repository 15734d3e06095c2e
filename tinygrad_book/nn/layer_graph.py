"""A model's layers as a graph: what plot_model draws and TensorBoard's Graphs tab shows.

Each layer is one vertex (a layer called twice, like the siamese LSTM, is still one); an
edge goes from a layer to each layer that consumes its output. A Sequential's implicit
Input is a vertex too, as in Keras' plot_model.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Vertex:
    name: str
    class_name: str
    inputs: list = field(default_factory=list)          # names of the layers feeding it, in order
    input_shapes: list = field(default_factory=list)    # one shape per call's inputs
    output_shapes: list = field(default_factory=list)   # one shape per call


def layer_graph(model) -> list:
    """The vertices of `model`'s graph, each after the ones that feed it."""
    if not model.built:
        raise ValueError(f"model {model.name} is not built yet: give its first layer input_shape=(...), "
                         f"or call build / fit first")
    vertices = {}

    def vertex(layer):
        if layer.name not in vertices:
            vertices[layer.name] = Vertex(layer.name, type(layer).__name__)
        return vertices[layer.name]

    for t in model.inputs:
        vertex(t.node.layer).output_shapes.append(t.shape)
    for node in model.graph_nodes:
        v = vertex(node.layer)
        for t in node.inputs:
            if t.node.layer.name not in v.inputs:
                v.inputs.append(t.node.layer.name)
        shapes = [t.shape for t in node.inputs]
        v.input_shapes.append(shapes[0] if len(shapes) == 1 else shapes)
        outs = [t.shape for t in node.outputs]
        v.output_shapes.append(outs[0] if len(outs) == 1 else outs)
    return list(vertices.values())


def edges(vertices) -> list:
    """(source name, target name) pairs."""
    return [(source, v.name) for v in vertices for source in v.inputs]
