"""Each callback's behaviour on a tiny model."""
import csv
import os

import numpy as np
import pytest

from tinygrad_book import callbacks, layers, models, optimizers


def model_and_data(lr=0.0):
    r = np.random.default_rng(0)
    x = r.standard_normal((32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = models.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizers.SGD(lr=lr), "mse", metrics=["mae"])
    return model, x, y


class Scripted(callbacks.Callback):
    """Replaces val_loss with a scripted sequence, to make the monitored value known."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_hooks_are_called_in_order_with_model_set():
    events = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None): events.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): events.append(f"epoch_begin{epoch}")
        def on_batch_end(self, batch, logs=None): events.append(f"batch{batch}:{'loss' in logs}")
        def on_epoch_end(self, epoch, logs=None): events.append(f"epoch_end{epoch}:{sorted(logs)}")
        def on_train_end(self, logs=None): events.append(f"train_end:{self.model is model}")
    model, x, y = model_and_data()
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[Recorder()], verbose=0)
    assert events == ["train_begin", "epoch_begin0", "batch0:True", "batch1:True",
                      "epoch_end0:['loss', 'mae', 'mean_absolute_error']", "epoch_begin1", "batch0:True",
                      "batch1:True", "epoch_end1:['loss', 'mae', 'mean_absolute_error']", "train_end:True"]


def test_early_stopping_stops_at_the_right_epoch():
    """Keras 2.0: patience=2 stops at the third epoch without improvement."""
    model, x, y = model_and_data()
    values = [1.0, 0.8, 0.9, 0.85, 0.81, 0.6, 0.5]
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2)
    history = model.fit(x, y, epochs=7, callbacks=[Scripted(values), stop], verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4]       # best at epoch 1; epochs 2, 3 and 4 no better -> stop
    assert stop.stopped_epoch == 4 and model.stop_training


def test_early_stopping_patience_1_is_the_books_two_epochs():
    """'stops improving for more than one epoch (that is, two epochs)' (L12816-L12820)."""
    model, x, y = model_and_data()
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=1)
    history = model.fit(x, y, epochs=6, callbacks=[Scripted([1.0, 1.1, 0.9, 1.0, 1.0, 0.1]), stop], verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4]       # one bad epoch (1) is tolerated; two (3, 4) stop it


def test_early_stopping_counts_min_delta_as_no_improvement():
    model, x, y = model_and_data()
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=0.1)
    history = model.fit(x, y, epochs=5, callbacks=[Scripted([1.0, 0.95, 0.5, 0.3, 0.1]), stop], verbose=0)
    assert history.epoch == [0, 1]                # 0.95 is not 0.1 better than 1.0


def test_early_stopping_restores_best_weights():
    model, x, y = model_and_data(lr=0.01)
    snapshots = []

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())
    stop = callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=5, callbacks=[Scripted([1.0, 0.5, 0.9, 0.9, 0.9]), Snap(), stop], verbose=0)
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_save_best_only(tmp_path, monkeypatch):
    model, x, y = model_and_data()
    path = str(tmp_path / "ck_{epoch:02d}_{val_loss:.2f}.npz")
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((a, b)), real_replace(a, b)))
    check = callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    model.fit(x, y, epochs=4, callbacks=[Scripted([1.0, 2.0, 0.5, 0.7]), check], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["ck_01_1.00.npz", "ck_03_0.50.npz"]
    assert [os.path.basename(b) for _, b in replaced] == ["ck_01_1.00.npz", "ck_03_0.50.npz"]
    assert all(os.path.dirname(a) == str(tmp_path) for a, _ in replaced)   # temp file in the same folder
    assert models.load_model(str(tmp_path / "ck_03_0.50.npz")).count_params() == 4


def test_reduce_lr_on_plateau():
    model, x, y = model_and_data()
    model.compile(optimizers.RMSprop(lr=0.1), "mse")
    reduce = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.02)
    lrs = []

    class LR(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            lrs.append(self.model.optimizer.lr)
    model.fit(x, y, epochs=9, callbacks=[Scripted([1.0] * 9), reduce, LR()], verbose=0)
    # Keras 2.0's count: epoch 0 sets the best; the third epoch without improvement lowers lr
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02])


def test_reduce_lr_on_plateau_takes_keras_2_0s_epsilon_and_cooldown():
    model, x, y = model_and_data()
    model.compile(optimizers.RMSprop(lr=0.1), "mse")
    reduce = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, epsilon=0.2, cooldown=2)
    lrs = []

    class LR(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            lrs.append(self.model.optimizer.lr)
    # 0.9 is within epsilon of 1.0 (no improvement): lower at once. Keras counts the cooldown
    # down before it looks, so cooldown=2 pauses one epoch (cooldown=1 none)
    model.fit(x, y, epochs=4, callbacks=[Scripted([1.0, 0.9, 0.85, 0.8]), reduce, LR()], verbose=0)
    np.testing.assert_allclose(lrs, [0.1, 0.05, 0.05, 0.025])


def test_learning_rate_scheduler():
    model, x, y = model_and_data()
    seen = []

    class LR(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer.lr)
    model.fit(x, y, epochs=3, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.1 / (e + 1)), LR()], verbose=0)
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3])


def test_csv_logger(tmp_path):
    model, x, y = model_and_data()
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=2, callbacks=[callbacks.CSVLogger(str(path))], verbose=0)
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "mean_absolute_error"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    np.testing.assert_allclose(float(rows[2][1]), history.history["loss"][1])
    model.fit(x, y, epochs=1, callbacks=[callbacks.CSVLogger(str(path), append=True)], verbose=0)
    assert len(list(csv.reader(open(path)))) == 4          # appended one row, no second header


def test_terminate_on_nan(capsys):
    model, x, y = model_and_data()
    y = y.copy()
    y[20] = np.nan
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False,
                        callbacks=[callbacks.TerminateOnNaN()], verbose=0)
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert "invalid loss nan, terminating training" in capsys.readouterr().out


def test_monitoring_a_missing_key_is_a_clear_error():
    model, x, y = model_and_data()
    with pytest.raises(KeyError, match="val_acc"):
        model.fit(x, y, epochs=1, callbacks=[callbacks.EarlyStopping(monitor="val_acc")], verbose=0)
