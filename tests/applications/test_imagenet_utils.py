"""preprocess_input (caffe / tf / torch) by hand, and decode_predictions on a local class index."""
import json

import numpy as np
import pytest

from tinygrad_book.applications import decode_predictions, preprocess_input
from tinygrad_book.applications import imagenet_utils
from tinygrad_book.applications.vgg16 import decode_predictions as vgg16_decode
from tinygrad_book.applications.vgg16 import preprocess_input as vgg16_preprocess
from tinygrad_book.data.download import DatasetNotFoundError


def test_caffe_mode_by_hand():
    pixel = np.array([[[10.0, 20.0, 30.0]]], np.float32)            # one RGB pixel, R=10 G=20 B=30
    out = preprocess_input(pixel)
    # BGR order, minus the BGR mean (103.939, 116.779, 123.68)
    np.testing.assert_allclose(out, [[[30 - 103.939, 20 - 116.779, 10 - 123.68]]], rtol=1e-6)
    assert out.dtype == np.float32


def test_caffe_mode_on_a_batch_and_keeps_the_input():
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    before = x.copy()
    out = vgg16_preprocess(x)
    np.testing.assert_allclose(out[1, 0, 2], [x[1, 0, 2, 2] - 103.939, x[1, 0, 2, 1] - 116.779,
                                              x[1, 0, 2, 0] - 123.68], rtol=1e-6)
    np.testing.assert_array_equal(x, before)
    ints = preprocess_input(np.full((1, 1, 3), 200, np.uint8))       # uint8 images work too
    np.testing.assert_allclose(ints, [[[200 - 103.939, 200 - 116.779, 200 - 123.68]]], rtol=1e-6)


def test_channels_first_and_other_modes():
    x = np.array([10.0, 20.0, 30.0], np.float32).reshape(3, 1, 1)
    np.testing.assert_allclose(preprocess_input(x, data_format="channels_first").ravel(),
                               [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6)
    np.testing.assert_allclose(preprocess_input(np.full((1, 1, 3), 255.0), mode="tf"), np.ones((1, 1, 3)))
    torch = preprocess_input(np.full((1, 1, 3), 255.0), mode="torch").ravel()
    np.testing.assert_allclose(torch, [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225], rtol=1e-6)


@pytest.mark.parametrize("x, kwargs, message", [
    (np.zeros((4, 4, 4)), {}, "3 colour channels"), (np.zeros((4, 3)), {}, "3 axes"),
    (np.zeros((2, 2, 3)), {"mode": "keras"}, "unknown mode"),
    (np.zeros((2, 2, 3)), {"data_format": "nhwc"}, "unknown data_format")])
def test_preprocess_bad_input(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        preprocess_input(x, **kwargs)


def write_index(folder):
    """A class index in Keras' format, written locally: {'i': ['n<8 digits>', 'class_i']}."""
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "imagenet_class_index.json").write_text(json.dumps(index))


def test_decode_predictions_from_the_cached_index(fresh_session):
    write_index(fresh_session)
    preds = np.full((2, 1000), 1e-4, np.float32)
    preds[0, [386, 101, 385]] = [0.925, 0.07, 0.004]
    preds[1, 7] = 0.9
    decoded = decode_predictions(preds, top=3)
    assert [(wnid, name) for wnid, name, _ in decoded[0]] == [
        ("n00000386", "class_386"), ("n00000101", "class_101"), ("n00000385", "class_385")]
    assert [p for _, _, p in decoded[0]] == pytest.approx([0.925, 0.07, 0.004])
    assert decoded[1][0][:2] == ("n00000007", "class_7") and len(vgg16_decode(preds)[1]) == 5


def test_decode_predictions_needs_1000_classes():
    with pytest.raises(ValueError, match=r"\(samples, 1000\); got shape \(1000,\)"):
        decode_predictions(np.zeros(1000))


def test_decode_predictions_offline_says_where_the_index_goes(fresh_session):
    with pytest.raises(DatasetNotFoundError) as err:
        decode_predictions(np.zeros((1, 1000)))
    message = str(err.value)
    assert imagenet_utils.CLASS_INDEX_URL in message
    assert str(fresh_session / "models" / "imagenet_class_index.json") in message
