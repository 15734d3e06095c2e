"""plot_model: a picture of a model's layer graph (Keras 2's keras.utils.plot_model).

With graphviz's `dot` program on the PATH, the picture is graphviz's drawing of the DOT
source that `model_to_dot` writes (Keras goes through pydot to the same program). Without
it, we draw the graph ourselves with matplotlib: one box per layer, placed on the row of
its longest path from an input, arrows from each layer to the layers it feeds.

Boxes read as Keras' do: "name: ClassName", and with show_shapes the input and output
shapes ("multiple" for a layer called on several different shapes, like a shared layer).
"""
from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["plot_model", "model_to_dot"]


def _shape_text(shapes) -> str:
    distinct = [s for i, s in enumerate(shapes) if s not in shapes[:i]]
    if not distinct:
        return "multiple"
    return "multiple" if len(distinct) > 1 else str(distinct[0]).replace("None,)", "None)")


def _labels(vertex, show_shapes, show_layer_names):
    """(title, input shape text, output shape text) of one box."""
    title = f"{vertex.name}: {vertex.class_name}" if show_layer_names else vertex.class_name
    if not show_shapes:
        return title, None, None
    inputs = vertex.input_shapes or vertex.output_shapes     # an InputLayer: its input is its output
    return title, _shape_text(inputs), _shape_text(vertex.output_shapes)


def _graph(model):
    from ..nn.layer_graph import edges, layer_graph
    vertices = layer_graph(model)
    return vertices, edges(vertices)


def _check_rankdir(rankdir):
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' (top to bottom) or 'LR' (left to right), got {rankdir!r}")


def _dot_escape(text: str) -> str:
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB") -> str:
    """The DOT source (graphviz's language) of the model's layer graph. Keras returns a
    pydot object; this is the text such an object writes."""
    _check_rankdir(rankdir)
    vertices, arrows = _graph(model)
    lines = ["digraph G {", f"  rankdir={rankdir};", "  concentrate=true;", "  node [shape=record];"]
    for v in vertices:
        title, shape_in, shape_out = _labels(v, show_shapes, show_layer_names)
        label = _dot_escape(title)
        if show_shapes:
            label = f"{label}|{{input:|output:}}|{{{{{_dot_escape(shape_in)}}}|{{{_dot_escape(shape_out)}}}}}"
        lines.append(f'  "{v.name}" [label="{label}"];')
    lines += [f'  "{a}" -> "{b}";' for a, b in arrows]
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True, rankdir="TB"):
    """Write a picture of the layer graph to `to_file` (format from its extension, PNG
    without one): with graphviz's dot when it is installed, otherwise our own drawing."""
    _check_rankdir(rankdir)
    ext = os.path.splitext(str(to_file))[1][1:].lower() or "png"
    dot = shutil.which("dot")
    if dot:
        _run_dot(dot, model_to_dot(model, show_shapes, show_layer_names, rankdir), to_file, ext)
    else:
        draw_layer_graph(model, to_file, show_shapes, show_layer_names, rankdir, ext)


def _run_dot(dot, source, to_file, ext):
    done = subprocess.run([dot, f"-T{ext}", "-o", str(to_file)], input=source.encode("utf-8"),
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"plot_model: graphviz's dot failed ({done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")


# --- our own drawing ---------------------------------------------------------------------------
def _ranks(vertices) -> dict:
    """name -> row: 0 for inputs, else one more than the deepest layer feeding it (the
    vertices come in an order where each follows the ones that feed it)."""
    rank = {}
    for v in vertices:
        rank[v.name] = 1 + max((rank[i] for i in v.inputs), default=-1)
    return rank


def _layout(vertices):
    """name -> (column, row) and the grid's (columns, rows): each row centred."""
    rank = _ranks(vertices)
    rows = {}
    for v in vertices:
        rows.setdefault(rank[v.name], []).append(v.name)
    width = max(len(names) for names in rows.values())
    place = {name: ((width - len(names)) / 2 + i, r) for r, names in rows.items() for i, name in enumerate(names)}
    return place, width, len(rows)


def draw_layer_graph(model, to_file, show_shapes=False, show_layer_names=True, rankdir="TB", ext="png"):
    """The layer graph drawn with matplotlib: boxes on a grid, arrows between them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vertices, arrows = _graph(model)
    place, columns, rows = _layout(vertices)
    labels = {v.name: _labels(v, show_shapes, show_layer_names) for v in vertices}
    longest = max(len(t) for v in vertices for t in labels[v.name] if t)
    box_w, box_h = max(3.6, 0.1 * longest + 0.5), (1.1 if show_shapes else 0.6)   # ~0.1 per character
    step_x, step_y = box_w + 0.6, box_h + 0.7
    if rankdir == "LR":    # rows become columns
        place = {n: (r, c) for n, (c, r) in place.items()}
        columns, rows = rows, columns
        step_x, step_y = box_w + 1.0, box_h + 0.4

    def centre(name):
        c, r = place[name]
        return c * step_x + box_w / 2, -(r * step_y) - box_h / 2

    width, height = columns * step_x + 0.2, rows * step_y + 0.2
    fig = plt.figure(figsize=(width * 0.75, height * 0.75))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.2, width - 0.2)
    ax.set_ylim(-height + 0.3, 0.3)
    ax.axis("off")
    for v in vertices:
        _draw_box(ax, centre(v.name), box_w, box_h, labels[v.name])
    for a, b in arrows:
        _draw_arrow(ax, centre(a), centre(b), box_w, box_h, rankdir)
    fig.savefig(str(to_file), format=ext, dpi=100)
    plt.close(fig)


def _draw_box(ax, centre, w, h, labels):
    from matplotlib.patches import FancyBboxPatch
    (x, y), (title, shape_in, shape_out) = centre, labels
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                facecolor="#eef3fb", edgecolor="#334"))
    if shape_in is None:
        ax.text(x, y, title, ha="center", va="center", fontsize=9)
        return
    ax.text(x, y + h * 0.25, title, ha="center", va="center", fontsize=9, weight="bold")
    ax.text(x, y - h * 0.2, f"input: {shape_in}\noutput: {shape_out}", ha="center", va="center",
            fontsize=7.5, family="monospace")


def _draw_arrow(ax, start, end, w, h, rankdir):
    (x0, y0), (x1, y1) = start, end
    if rankdir == "TB":
        start, end = (x0, y0 - h / 2), (x1, y1 + h / 2)
    else:
        start, end = (x0 + w / 2, y0), (x1 - w / 2, y1)
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="#334", lw=1.2))
