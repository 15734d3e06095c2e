"""plot_model both ways: our own matplotlib drawing (graphviz is not installed here) and
graphviz's dot, played by a fake `dot` on the PATH that records the DOT source it is given."""
import os
import re
import stat
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tinygrad_book import layers, models
from tinygrad_book.nn import clear_session
from tinygrad_book.utils import model_to_dot, plot_model


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH without graphviz (the fake dot's folder is not on it)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def imdb_conv1d():
    """The book's TensorBoard model (L13023-L13031), with its fig 7.15 shapes."""
    model = models.Sequential()
    model.add(layers.Embedding(2000, 128, input_length=500, name='embed'))
    model.add(layers.Conv1D(32, 7, activation='relu'))
    model.add(layers.MaxPooling1D(5))
    model.add(layers.Conv1D(32, 7, activation='relu'))
    model.add(layers.GlobalMaxPooling1D())
    model.add(layers.Dense(1))
    return model


def qa_model():
    """Listing 7.1's two inputs, merged (smaller sizes)."""
    text_input = layers.Input(shape=(None,), dtype='int32', name='text')
    embedded_text = layers.Embedding(100, 8)(text_input)
    encoded_text = layers.LSTM(4)(embedded_text)
    question_input = layers.Input(shape=(None,), dtype='int32', name='question')
    embedded_question = layers.Embedding(100, 4)(question_input)
    encoded_question = layers.LSTM(2)(embedded_question)
    concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
    answer = layers.Dense(5, activation='softmax')(concatenated)
    return models.Model([text_input, question_input], answer)


def dense_stack(n):
    model = models.Sequential([layers.Dense(4, input_shape=(3,))] + [layers.Dense(4) for _ in range(n - 1)])
    return model


def png_size(path):
    with Image.open(path) as img:
        assert img.format == "PNG"
        img.load()
        return img.size


# --- our own drawing ----------------------------------------------------------------------
def test_own_drawing_is_a_png_that_grows_with_the_layers(tmp_path, no_dot):
    plot_model(dense_stack(2), to_file=str(tmp_path / "two.png"))
    plot_model(dense_stack(6), to_file=str(tmp_path / "six.png"))
    (w2, h2), (w6, h6) = png_size(tmp_path / "two.png"), png_size(tmp_path / "six.png")
    assert h6 > h2 * 2 and w6 == w2                       # top to bottom: one row per layer


def test_own_drawing_left_to_right_and_with_shapes(tmp_path, no_dot):
    plot_model(dense_stack(4), to_file=str(tmp_path / "lr.png"), rankdir="LR")
    w, h = png_size(tmp_path / "lr.png")
    assert w > 2 * h
    plot_model(imdb_conv1d(), to_file=str(tmp_path / "shapes.png"), show_shapes=True)
    plot_model(imdb_conv1d(), to_file=str(tmp_path / "plain.png"))
    assert png_size(tmp_path / "shapes.png")[1] > png_size(tmp_path / "plain.png")[1]   # taller boxes


def test_own_drawing_places_two_inputs_side_by_side(tmp_path, no_dot):
    plot_model(qa_model(), to_file=str(tmp_path / "qa.png"))
    plot_model(dense_stack(4), to_file=str(tmp_path / "chain.png"))   # input + 4 layers
    (w_qa, h_qa), (w_chain, h_chain) = png_size(tmp_path / "qa.png"), png_size(tmp_path / "chain.png")
    assert w_qa > 1.5 * w_chain                          # two branches wide
    assert h_qa == pytest.approx(h_chain, rel=0.05)     # 5 rows: inputs, embeddings, LSTMs, concat, dense


def test_the_drawing_is_not_blank(tmp_path, no_dot):
    plot_model(dense_stack(2), to_file=str(tmp_path / "m.png"))
    pixels = np.asarray(Image.open(tmp_path / "m.png").convert("L"))
    assert (pixels < 128).mean() > 0.005               # dark strokes: box edges, text, arrows


# --- DOT source and the dot program ----------------------------------------------------------
def test_model_to_dot_has_every_layer_and_edge_with_the_books_shapes():
    source = model_to_dot(imdb_conv1d(), show_shapes=True)
    nodes = dict(re.findall(r'^  "([^"]+)" \[label="(.*)"\];$', source, re.M))
    assert list(nodes) == ["embed_input", "embed", "conv1d_1", "max_pooling1d_1", "conv1d_2",
                           "global_max_pooling1d_1", "dense_1"]
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)";$', source, re.M)
    names = list(nodes)
    assert edges == list(zip(names, names[1:]))
    # figure 7.15's output shapes, one per layer
    outputs = [label.rsplit("|{", 1)[1][:-2] for label in nodes.values()]    # ...|{in}|{out}}
    assert outputs == ["(None, 500)", "(None, 500, 128)", "(None, 494, 32)", "(None, 98, 32)",
                       "(None, 92, 32)", "(None, 32)", "(None, 1)"]
    assert nodes["embed"].startswith("embed: Embedding|{input:|output:}")


def test_a_shared_layer_is_one_node_with_two_inputs():
    a, b = layers.Input(shape=(None, 6), name="left"), layers.Input(shape=(None, 6), name="right")
    lstm = layers.LSTM(3, name="lstm")
    merged = layers.concatenate([lstm(a), lstm(b)], name="merged")
    model = models.Model([a, b], layers.Dense(1, activation="sigmoid", name="out")(merged))
    source = model_to_dot(model)
    assert source.count('"lstm" [') == 1
    assert set(re.findall(r'"(\w+)" -> "(\w+)"', source)) == {
        ("left", "lstm"), ("right", "lstm"), ("lstm", "merged"), ("merged", "out")}


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """An executable named dot, first on the PATH: saves its stdin and arguments, writes a
    1x1 PNG where -o says."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(f"""
        import json, sys
        from PIL import Image
        source = sys.stdin.read()
        with open({str(tmp_path / 'dot-call.json')!r}, 'w') as f:
            json.dump({{'argv': sys.argv[1:], 'source': source}}, f)
        Image.new('RGB', (1, 1)).save(sys.argv[sys.argv.index('-o') + 1], format='PNG')
    """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    return tmp_path / "dot-call.json"


def test_plot_model_runs_dot_on_the_source(tmp_path, fake_dot):
    import json
    model = qa_model()
    out = tmp_path / "model.png"
    plot_model(model, to_file=str(out), show_shapes=True, rankdir="LR")
    call = json.loads(fake_dot.read_text())
    assert call["argv"] == ["-Tpng", "-o", str(out)]
    assert call["source"] == model_to_dot(model, show_shapes=True, rankdir="LR")
    assert "rankdir=LR;" in call["source"]
    for layer in model.layers:
        assert f'"{layer.name}" [label="{layer.name}: {type(layer).__name__}' in call["source"]
    for name in ("text", "question"):
        assert re.search(rf'"{name}" -> "embedding_\d+";', call["source"])
    assert png_size(out) == (1, 1)                      # the fake's picture, not ours


def test_a_failing_dot_is_an_error_with_its_message(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(RuntimeError, match="dot failed.*syntax error"):
        plot_model(dense_stack(2), to_file=str(tmp_path / "m.png"))


def test_bad_rankdir_and_unbuilt_model_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="rankdir"):
        model_to_dot(dense_stack(2), rankdir="BT")
    with pytest.raises(ValueError, match="not built"):
        model_to_dot(models.Sequential([layers.Dense(2)]))
