"""model.summary() in Keras 2's table format."""
from __future__ import annotations

from .layers.base import InputLayer


def _row(fields, positions):
    line = ""
    for i, (field, end) in enumerate(zip(fields, positions)):
        if i > 0:
            line = line[:-1] + " "    # Keras keeps one space between columns
        line = (line + str(field))[:end]
        line += " " * (end - len(line))
    return line


def _shape_text(layer, node=None):
    shape = node.outputs[0].shape if node is not None and len(node.outputs) == 1 else \
        [t.shape for t in node.outputs] if node is not None else layer.output_shape
    return str(shape).replace("None,)", "None)")


def _is_chain(model) -> bool:
    """True when each layer is called once on one input: print the 3-column table."""
    nodes = getattr(model, "graph_nodes", [])
    return all(len(n.inputs) <= 1 and len(n.layer.inbound_nodes) == 1 for n in nodes) and len(model.outputs) == 1


def summary_text(model, line_length=None) -> str:
    chain = _is_chain(model)
    line_length = line_length or (65 if chain else 98)
    fractions = [.45, .85, 1.0] if chain else [.33, .55, .67, 1.0]
    positions = [int(line_length * f) for f in fractions]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    lines = ["_" * line_length, _row(header, positions), "=" * line_length]
    node_of = {id(n.layer): n for n in reversed(getattr(model, "graph_nodes", []))}
    rows = []
    for layer in model.layers:
        if chain and isinstance(layer, InputLayer) and type(model).__name__ == "Sequential":
            continue
        node = node_of.get(id(layer))
        if node is None and layer.inbound_nodes:
            node = layer.inbound_nodes[0]
        fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer, node), f"{layer.count_params()}"]
        if not chain:
            sources = [f"{t.node.layer.name}[{t.node.layer.inbound_nodes.index(t.node)}][{t.index}]"
                       for t in (node.inputs if node else [])]
            fields.append(sources[0] if sources else "")
            rows.append([_row(fields, positions)] + [_row(["", "", "", s], positions) for s in sources[1:]])
        else:
            rows.append([_row(fields, positions)])
    for i, block in enumerate(rows):
        lines.extend(block)
        lines.append("=" * line_length if i == len(rows) - 1 else "_" * line_length)
    total = model.count_params()
    trainable = int(sum(w.size for w in model.trainable_weights))
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    return "\n".join(lines)
