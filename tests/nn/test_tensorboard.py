"""The TensorBoard callback's files, read back with TensorBoard's own code: its event reader
(EventAccumulator), its protobuf classes, and its projector plugin's config and TSV reader.
Our writer uses none of them (tensorboard_writer.py encodes everything by hand)."""
import os
import struct

import numpy as np
import pytest

# tensorboard is a dev dependency (pyproject.toml); the writer itself needs none
from google.protobuf import text_format  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator as ea  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked_crc32c  # noqa: E402
from tensorboard.plugins.projector import projector_config_pb2, projector_plugin  # noqa: E402

from tinygrad_book import callbacks, layers, models  # noqa: E402
from tinygrad_book.nn import tensorboard_writer as tbw  # noqa: E402


def accumulator(log_dir):
    acc = ea.EventAccumulator(str(log_dir), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    return acc


# --- the encoding, checked against TensorBoard's own ---------------------------------------
def test_crc32c_known_value_and_tensorboards_masked_crc():
    assert tbw.crc32c(b"123456789") == 0xE3069283          # the standard CRC-32C check value
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 100, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert tbw.masked_crc32c(data) == tb_masked_crc32c(data)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**35, -1, -2**40])
def test_varint_decodes_with_protobuf(value):
    parsed = event_pb2.Event.FromString(tbw.event(step=value, wall_time=1.5))
    assert parsed.step == value and parsed.wall_time == 1.5


def test_summary_and_histogram_decode_with_protobuf():
    values = np.array([-1.0, 0.0, 0.5, 0.5, 2.0, 3.0])
    data = tbw.summary(tbw.scalar_value("loss", 0.25), tbw.scalar_value("zero", 0.0),
                       tbw.histogram_value("dense_1/kernel_0", values))
    parsed = event_pb2.Event.FromString(tbw.event(step=3, summary_bytes=data))
    loss, zero, hist = parsed.summary.value
    assert (loss.tag, loss.simple_value) == ("loss", 0.25)
    assert zero.WhichOneof("value") == "simple_value" and zero.simple_value == 0.0
    h = hist.histo
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (-1.0, 3.0, 6.0, 5.0, 14.5)
    assert sum(h.bucket) == 6 and h.bucket_limit[-1] == 3.0 and len(h.bucket) == len(h.bucket_limit)
    counts, edges = np.histogram(values, bins=30, range=(-1, 3))
    np.testing.assert_array_equal(h.bucket, counts)
    np.testing.assert_allclose(h.bucket_limit, edges[1:])


def test_constant_values_make_one_bucket():
    h = summary_pb2.HistogramProto.FromString(tbw.histogram_proto(np.zeros(5)))
    assert list(h.bucket) == [5.0] and list(h.bucket_limit) == [0.0] and h.num == 5


def test_record_framing():
    record = tbw.tfrecord(b"abc")
    length, = struct.unpack("<Q", record[:8])
    assert length == 3 and record[12:15] == b"abc"
    assert struct.unpack("<I", record[8:12])[0] == tb_masked_crc32c(record[:8])
    assert struct.unpack("<I", record[15:])[0] == tb_masked_crc32c(b"abc")


# --- the callback, read back with EventAccumulator -----------------------------------------
def small_model():
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,), name="hidden"),
                               layers.Dense(1, name="out")])
    model.compile("rmsprop", "mse", metrics=["mae"])
    return model


def data():
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    return x, x.sum(axis=1, keepdims=True)


def test_scalars_per_epoch_are_the_history(tmp_path):
    model, (x, y) = small_model(), data()
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.TensorBoard(log_dir=str(tmp_path))])
    acc = accumulator(tmp_path)
    tags = acc.Tags()["scalars"]
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(tags)
    for tag in ("loss", "val_loss", "mae", "val_mae"):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [0, 1, 2]
        np.testing.assert_allclose([e.value for e in events], history.history[tag], rtol=1e-6)
    assert len(os.listdir(tmp_path)) == 1 and os.listdir(tmp_path)[0].startswith("events.out.tfevents.")


def test_weight_histograms_every_histogram_freq_epochs(tmp_path):
    model, (x, y) = small_model(), data()
    sums = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: sums.append(model.layers[0].get_weights()[0]))
    model.fit(x, y, epochs=5, batch_size=8, verbose=0,
              callbacks=[record, callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=2)])
    acc = accumulator(tmp_path)
    assert set(acc.Tags()["histograms"]) == {"hidden/kernel_0", "hidden/bias_0", "out/kernel_0", "out/bias_0"}
    events = acc.Histograms("hidden/kernel_0")
    assert [e.step for e in events] == [0, 2, 4]
    for e in events:
        kernel = sums[e.step]
        h = e.histogram_value
        assert h.num == 12 and h.min == pytest.approx(kernel.min()) and h.max == pytest.approx(kernel.max())
        assert h.sum == pytest.approx(float(kernel.astype(np.float64).sum()), rel=1e-6)
        assert sum(h.bucket) == 12


def test_graph_has_every_layer_and_edge(tmp_path):
    a, b = layers.Input(shape=(3,), name="left"), layers.Input(shape=(3,), name="right")
    shared = layers.Dense(2, name="shared")
    merged = layers.concatenate([shared(a), shared(b)], name="merged")
    model = models.Model([a, b], layers.Dense(1, name="head")(merged))
    model.compile("rmsprop", "mse")
    x = np.ones((4, 3), np.float32)
    model.fit([x, x], np.ones((4, 1), np.float32), epochs=1, verbose=0,
              callbacks=[callbacks.TensorBoard(log_dir=str(tmp_path))])
    graph = accumulator(tmp_path).Graph()
    nodes = {n.name: (n.op, list(n.input)) for n in graph.node}
    assert nodes == {"left": ("InputLayer", []), "right": ("InputLayer", []),
                     "shared": ("Dense", ["left", "right"]), "merged": ("Concatenate", ["shared"]),
                     "head": ("Dense", ["merged"])}


def test_embeddings_for_the_projector(tmp_path):
    model = models.Sequential([layers.Embedding(20, 4, input_length=5, name="embed"), layers.Flatten(),
                               layers.Dense(1, activation="sigmoid")])
    model.compile("rmsprop", "binary_crossentropy")
    x = np.random.default_rng(0).integers(0, 20, (16, 5))
    model.fit(x, np.ones((16, 1), np.float32), epochs=2, verbose=0,
              callbacks=[callbacks.TensorBoard(log_dir=str(tmp_path), embeddings_freq=1,
                                               embeddings_metadata={"embed": "words.tsv"})])
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), config)
    embedding, = config.embeddings
    assert embedding.tensor_name == "embed/embeddings:0" and list(embedding.tensor_shape) == [20, 4]
    assert embedding.metadata_path == "words.tsv"
    tensor = projector_plugin._read_tensor_tsv_file(str(tmp_path / embedding.tensor_path))
    np.testing.assert_allclose(tensor, model.get_layer("embed").get_weights()[0], rtol=1e-5)


def test_embeddings_freq_without_an_embedding_layer_says_so(tmp_path):
    model, (x, y) = small_model(), data()
    with pytest.raises(ValueError, match="needs Embedding layers"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.TensorBoard(str(tmp_path), embeddings_freq=1)])


@pytest.mark.parametrize("kwargs, error", [({"write_grads": True}, NotImplementedError),
                                           ({"write_images": True}, NotImplementedError),
                                           ({"histogram_freq": -1}, ValueError),
                                           ({"embeddings_freq": 0.5}, ValueError)])
def test_unsupported_or_bad_settings_are_refused(kwargs, error):
    with pytest.raises(error):
        callbacks.TensorBoard("logs", **kwargs)
