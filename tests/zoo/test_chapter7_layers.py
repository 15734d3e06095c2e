"""Chapter 7's layer entries (zoo/chapter7.py): parameter counts by arithmetic, one
training step the same on the numpy reference device as on the cpu one, every pipeline end
to end on tiny data, and checks that fail on a wrong result.

Parameter counts:
  ch7-batchnorm             93,322 (chapter 5's convnet, L6570) + 4 * (32 + 64 + 64 + 64) = 94,218;
                            non-trainable: the moving mean and variance, 2 * 224 = 448
  ch7-separable-conv-small  sum of 9*in + in*out + out over (3, 32), (32, 64), (64, 64), (64, 128),
                            (128, 64), (64, 128), then 128*32+32 + 32*10+10 = 38,949
  ch7-siamese-xception      one Xception without top, shared: 20,861,480
"""
import numpy as np
import pytest

from tests.zoo.steps import assert_same_start_and_loss, one_step
from tinygrad_book import Input, applications, layers, zoo
from tinygrad_book.nn import clear_session
from tinygrad_book.nn.model import Model
from tinygrad_book.zoo import chapter7, runner

IDS = ["ch7-siamese-xception-vision", "ch7-batchnorm", "ch7-separable-conv-small"]
SEPARABLE = [(3, 32), (32, 64), (64, 64), (64, 128), (128, 64), (64, 128)]
PARAMS = {"ch7-batchnorm": 93_322 + 4 * (32 + 64 + 64 + 64),
          "ch7-separable-conv-small": sum(9 * i + i * o + o for i, o in SEPARABLE) + 128 * 32 + 32 + 32 * 10 + 10,
          "ch7-siamese-xception-vision": 20_861_480}


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    clear_session()


def test_the_entries_are_in_the_zoo():
    assert [e.id for e in zoo.entries([7]) if e.id in IDS] == IDS
    assert PARAMS["ch7-separable-conv-small"] == 38_949 and PARAMS["ch7-batchnorm"] == 94_218


@pytest.mark.parametrize("entry_id", IDS)
def test_parameter_counts(entry_id):
    entry = zoo.get(entry_id)
    model = entry.build_model(chapter7.TINY_STEREO_SIZE) if entry_id.startswith("ch7-siamese") \
        else entry.build_model()
    assert model.count_params() == PARAMS[entry_id]
    if entry_id == "ch7-batchnorm":
        assert sum(w.size for w in model.non_trainable_weights) == 448


def test_separable_convnet_output_shapes():
    model = chapter7.separable_convnet()
    assert [l.output_shape[1:3] for l in model.layers[:8]] == [(62, 62), (60, 60), (30, 30), (28, 28), (26, 26),
                                                               (13, 13), (11, 11), (9, 9)]


def biases_feeding_a_batch_norm(model):
    """Indices (in model.get_weights()) of the biases of layers right before a BatchNormalization."""
    ids = [id(w) for w in model.weights]
    return [ids.index(id(layer.bias)) for layer, after in zip(model.layers, model.layers[1:])
            if isinstance(after, layers.BatchNormalization) and getattr(layer, "bias", None) is not None]


@pytest.mark.parametrize("entry_id", ["ch7-batchnorm", "ch7-separable-conv-small"])
def test_one_training_step_matches_the_numpy_device(entry_id):
    entry = zoo.get(entry_id)
    data = entry.load_data(tiny=True)
    x, y = data.x_train[:8], data.y_train[:8]
    ref, step = one_step(entry.build_model, x, y, "numpy"), one_step(entry.build_model, x, y, "cpu")
    assert_same_start_and_loss(ref, step, entry_id, loss_rtol=1e-5, rtol=1e-4, atol=1e-4)
    feeding_bn = biases_feeding_a_batch_norm(ref.model)
    for i, (r, c) in enumerate(zip(ref.end, step.end)):
        if i in feeding_bn:
            # a bias right before a batch norm has gradient 0 (the norm subtracts the mean): what
            # autograd gets is rounding noise, and RMSprop's first step, lr * g / sqrt(0.1 g^2),
            # turns any g into +-lr*sqrt(10). Only the size of that step is the same everywhere.
            assert np.abs(c - ref.start[i]).max() <= 1e-3 * np.sqrt(10) * 1.001
            continue
        # atol: RMSprop's first step is lr * g / sqrt(0.1 g^2), +-3.2e-3 for any g not tiny; float32
        # rounding of a near-cancelling gradient moves it by a few 1e-5, a wrong gradient by ~3e-3
        np.testing.assert_allclose(c, r, rtol=1e-4, atol=1e-4, err_msg=f"{entry_id}: weight {i}")


def test_batchnorm_entry_trains_and_evaluates_on_the_moving_averages():
    entry = zoo.get("ch7-batchnorm")
    models = []
    result = runner.run(entry, epochs=3, batch_size=16, verbose=0, tiny=True, model_out=models)
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]
    assert 0.0 <= result["test_acc"] <= 1.0 and result["source"] == "synthetic"
    bn = models[0].layers[1]
    assert not np.allclose(bn.moving_mean.numpy(), 0.0)          # fit moved the averages
    passed, rule = entry.check(result, {})
    assert rule == "test_acc >= 0.985" and passed is (result["test_acc"] >= 0.985)
    assert entry.check({"test_acc": 0.5}, {})[0] is False


def test_separable_entry_runs_end_to_end():
    entry = next(e for e in chapter7.ENTRIES if e.id == "ch7-separable-conv-small")
    result = runner.run(entry, epochs=2, batch_size=16, verbose=0, tiny=True)
    assert len(result["history"]["val_acc"]) == 2 and result["params"] == 38_949
    data = entry.load_data(tiny=True)
    assert data.x_train.shape[1:] == (64, 64, 3) and data.y_train.shape[1] == 10
    np.testing.assert_array_equal(data.x_train[:, 0, 0], data.x_train[:, 1, 1])   # 2x upscaled pixels
    assert entry.check({"max_val_acc": 0.1}, {})[0] is False                     # chance fails


def test_the_siamese_entry_shares_one_xception():
    entry = zoo.get("ch7-siamese-xception-vision")
    result = runner.run(entry, verbose=0, tiny=True)
    assert result["feature_shape"] == [3, 3, 4096] and result["params"] == 20_861_480
    assert result["swap_error"] <= 1e-5 and entry.check(result, {})[0] is True
    assert entry.check({"swap_error": 0.3}, {})[0] is False


def test_the_printed_siamese_listing_loses_its_right_input():
    """The book's code as printed: `right_input` is overwritten by the features."""
    xception_base = applications.Xception(weights=None, include_top=False)
    left_input = Input(shape=(71, 71, 3))
    right_input = Input(shape=(71, 71, 3))
    left_features = xception_base(left_input)
    right_input = xception_base(right_input)
    merged_features = layers.concatenate([left_features, right_input], axis=-1)
    model = Model([left_input, right_input], merged_features)
    assert model.input_shape[1] == (None, 3, 3, 2048)          # not an image any more
    fixed = chapter7.siamese_xception((71, 71))
    assert fixed.input_shape == [(None, 71, 71, 3), (None, 71, 71, 3)]


def test_the_reduced_separable_run_trains_on_the_declared_subset():
    entry = next(e for e in chapter7.ENTRIES if e.id == "ch7-separable-conv-small")
    reduced = entry.with_reduced_schedule()
    assert (entry.extra.get("train"), reduced.extra["train"], reduced.extra["test"]) == (None, 2000, 500)
    asked = []

    def load_data(tiny=False, **sizes):
        asked.append(sizes)
        return chapter7.load_cifar_64(tiny=True)

    from dataclasses import replace
    result = chapter7.run_separable(replace(reduced, load_data=load_data), epochs=1, batch_size=16, verbose=0)
    assert asked == [{"train": 2000, "test": 500}]
    assert 0.0 <= result["max_val_acc"] <= 1.0 and result["params"] == 38_949
