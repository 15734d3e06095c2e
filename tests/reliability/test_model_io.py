"""Weights load all or nothing; inputs are typed as Keras types them; fit checks its arguments
(issue 11, items 1, 3, 4, 7, 9, 10)."""
import io

import numpy as np
import pytest

from tinygrad_book import callbacks, layers, models
from tinygrad_book.nn.callback_scope import callbacks_for_every_fit
from tinygrad_book.nn.inputs import model_inputs
from tinygrad_book.nn.weights_check import WeightsFileError


def dense_net(units, name):
    model = models.Sequential([layers.Dense(8, input_shape=(4,)), layers.Dense(units)], name=name)
    model.compile("rmsprop", "mse")
    return model


@pytest.mark.parametrize("suffix", ["npz", "h5"])
def test_a_failed_load_weights_leaves_the_model_untouched(tmp_path, suffix):
    path = tmp_path / f"five.{suffix}"
    dense_net(5, "five").save_weights(path)
    model = dense_net(3, "three")
    before = model.get_weights()
    with pytest.raises(WeightsFileError) as e:
        model.load_weights(path)
    # the message names the file, the model, the first layer that does not fit and both shapes
    assert str(e.value) == (f"{path}: layer '{model.layers[1].name}' of model 'three': weight 0 has shape "
                            "(8, 3), the array given has shape (8, 5)")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)     # the first layer was not overwritten either


def test_set_weights_checks_count_and_shapes_before_assigning():
    model = dense_net(3, "three")
    before = model.get_weights()
    good_first = [np.ones((4, 8), np.float32), np.ones(8, np.float32)]
    with pytest.raises(WeightsFileError, match=r"^layer '.*' of model 'three': weight 1 has shape \(3,\)"):
        model.set_weights(good_first + [np.ones((8, 3)), np.ones(5)])
    with pytest.raises(WeightsFileError, match=r"^6 weight arrays for model 'three', which has 4 weights"):
        model.set_weights(good_first * 3)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_model_of_a_text_file_names_the_file(tmp_path):
    from tinygrad_book.nn import load_model
    path = tmp_path / "model.npz"
    path.write_text("hello")
    with pytest.raises(WeightsFileError, match="not a weights file"):
        load_model(path)


def test_uint8_inputs_run_in_float32_as_in_keras():
    model = models.Sequential([layers.Dense(3, activation="relu", input_shape=(4,)), layers.Dense(2)])
    model.compile("rmsprop", "mse")
    images = np.random.RandomState(0).randint(0, 256, (5, 4)).astype(np.uint8)
    out = model.predict(images)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, model.predict(images.astype(np.float32)))
    history = model.fit(images, np.zeros((5, 2), np.float32), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_integer_ids_stay_integers_for_an_embedding():
    seq = models.Sequential([layers.Embedding(50, 3, input_length=4), layers.Flatten(), layers.Dense(1)])
    seq.build((None, 4))
    ids = np.array([[1, 2, 3, 49]], dtype=np.int32)
    assert model_inputs(seq, [ids])[0].dtype == np.int32
    x = layers.Input(shape=(4,))
    functional = models.Model(x, layers.Dense(1)(x))
    assert model_inputs(functional, [ids])[0].dtype == np.float32
    assert model_inputs(functional, [ids.astype(bool)])[0].dtype == np.float32


@pytest.mark.parametrize("kwargs, says", [
    (dict(epochs=0), "epochs must be a positive integer, got 0"),
    (dict(epochs=-3), "epochs must be a positive integer, got -3"),
    (dict(epochs=1.5), "epochs must be a positive integer, got 1.5"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(batch_size=-5), "batch_size must be a positive integer"),
])
def test_fit_refuses_epochs_and_batch_sizes_below_one(kwargs, says):
    model = dense_net(1, "m")
    with pytest.raises(ValueError, match=says):
        model.fit(np.zeros((4, 4)), np.zeros((4, 1)), verbose=0, **{"epochs": 1, **kwargs})


def test_fit_refuses_empty_data():
    model = dense_net(1, "m")
    with pytest.raises(ValueError, match="x holds no samples"):
        model.fit(np.zeros((0, 4)), np.zeros((0, 1)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_split took them all"):
        model.fit(np.zeros((3, 4)), np.zeros((3, 1)), epochs=1, verbose=0, validation_split=1.0)


def test_the_runner_refuses_zero_epochs_before_loading_data():
    from tinygrad_book.zoo import registry, runner
    entry = registry.get("ch2-mnist-dense")
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        runner.run(entry, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        runner.run(entry, batch_size=-5)


def nan_fit(**kw):
    model = dense_net(1, "m")
    x = np.full((16, 4), np.nan, np.float32)
    return model.fit(x, np.zeros((16, 1)), batch_size=4, epochs=3, verbose=0, **kw)


def test_terminate_on_nan_stays_opt_in_and_names_epoch_and_batch(capsys):
    assert len(nan_fit().history["loss"]) == 3           # Keras: without the callback, all epochs run
    stop = callbacks.TerminateOnNaN()
    history = nan_fit(callbacks=[stop])
    assert len(history.history["loss"]) == 1
    assert stop.message.startswith("Epoch 1, batch 1: invalid loss nan, terminating training")
    assert stop.message in capsys.readouterr().out


def test_callbacks_for_every_fit_reach_fits_the_caller_does_not_see():
    from tinygrad_book.zoo.runner import InvalidLossError, StopOnInvalidLoss
    with callbacks_for_every_fit(StopOnInvalidLoss):
        with pytest.raises(InvalidLossError, match="^Epoch 1, batch 1: invalid loss nan"):
            nan_fit()
    assert len(nan_fit().history["loss"]) == 3           # and only inside the block


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, live", [(io.StringIO(), False), (Terminal(), True)])
def test_the_progress_bar_redraws_on_a_terminal_and_writes_one_line_per_epoch_elsewhere(stream, live):
    from tinygrad_book.nn.progbar import ProgbarLogger
    bar = ProgbarLogger(verbose=1, stream=stream)
    bar.set_params({"epochs": 2, "steps": 3, "running_logs": {"loss": 0.5}})
    for epoch in range(2):
        bar.on_epoch_begin(epoch)
        for batch in range(3):
            bar.last_draw = -1.0            # as if 0.1 s had passed: a terminal redraws now
            bar.on_batch_end(batch, {"loss": 0.5})
        bar.on_epoch_end(epoch, {"loss": 0.5})
    text = stream.getvalue()
    assert ("\r" in text) == live
    if not live:
        assert text.splitlines() == ["Epoch 1/2", text.splitlines()[1], "Epoch 2/2", text.splitlines()[3]]
        assert text.splitlines()[1].startswith("3/3 [==============================] - ")
