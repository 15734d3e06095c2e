"""What a callback sees (Keras 2.0: self.model, self.params, self.validation_data), the book's
ActivationLogger, and ModelCheckpoint(save_best_only=True) into one .h5 file."""
import numpy as np
import pytest

from tinygrad_book import callbacks, layers, models, optimizers


def model_and_data(lr=0.01):
    r = np.random.default_rng(0)
    x = r.standard_normal((40, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizers.SGD(lr=lr), "mse", metrics=["mae"])
    return model, x, y


class Seen(callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.at_begin = (self.model, dict(self.params), self.validation_data)


def test_a_callback_sees_model_params_and_validation_data():
    model, x, y = model_and_data()
    seen = Seen()
    model.fit(x[:30], y[:30], batch_size=8, epochs=3, validation_data=(x[30:], y[30:]), callbacks=[seen], verbose=0)
    seen_model, params, validation = seen.at_begin
    assert seen_model is model
    assert params["epochs"] == 3 and params["steps"] == 4 and params["samples"] == 30
    assert params["batch_size"] == 8 and params["do_validation"] is True and params["verbose"] == 0
    assert params["metrics"] == ["loss", "mae", "val_loss", "val_mae"]
    # Keras 2.0's val_ins: inputs, targets, then a sample weight of ones per target
    assert len(validation) == 3
    np.testing.assert_array_equal(validation[0], x[30:])
    np.testing.assert_array_equal(validation[1], y[30:])
    np.testing.assert_array_equal(validation[2], np.ones(10))


def test_validation_split_is_what_callbacks_see():
    model, x, y = model_and_data()
    seen = Seen()
    model.fit(x, y, epochs=1, validation_split=0.25, callbacks=[seen], verbose=0)
    np.testing.assert_array_equal(seen.at_begin[2][0], x[30:])     # the last quarter, as Keras


def test_without_validation_a_callback_sees_none():
    model, x, y = model_and_data()
    seen = Seen()
    model.fit(x, y, epochs=1, callbacks=[seen], verbose=0)
    assert seen.at_begin[2] is None and seen.at_begin[1]["do_validation"] is False


def test_fit_generator_with_validation_arrays_shows_them():
    model, x, y = model_and_data()
    seen = Seen()

    def batches():
        while True:
            yield x[:8], y[:8]
    model.fit_generator(batches(), steps_per_epoch=2, epochs=1, validation_data=(x[30:], y[30:]),
                        callbacks=[seen], verbose=0)
    np.testing.assert_array_equal(seen.at_begin[2][1], y[30:])


def test_the_books_activation_logger(tmp_path, monkeypatch):
    """Listing of section 7.2.1 (L12913-L12937): activations of the first validation sample,
    one .npz per epoch. One change: np.savez(f, *activations), since numpy >= 1.24 refuses
    the book's ragged list np.savez(f, activations) (older numpy made an object array)."""
    monkeypatch.chdir(tmp_path)

    class ActivationLogger(callbacks.Callback):
        def set_model(self, model):
            self.model = model
            layer_outputs = [layer.output for layer in model.layers]
            self.activations_model = models.Model(model.input, layer_outputs)

        def on_epoch_end(self, epoch, logs=None):
            if self.validation_data is None:
                raise RuntimeError('Requires validation_data.')
            validation_sample = self.validation_data[0][0:1]
            activations = self.activations_model.predict(validation_sample)
            f = open('activations_at_epoch_' + str(epoch) + '.npz', 'wb')
            np.savez(f, *activations)
            f.close()

    model, x, y = model_and_data()
    model.fit(x[:30], y[:30], epochs=2, validation_data=(x[30:], y[30:]), callbacks=[ActivationLogger()], verbose=0)
    saved = np.load(tmp_path / "activations_at_epoch_1.npz")
    hidden, out = saved["arr_0"], saved["arr_1"]
    assert hidden.shape == (1, 4) and out.shape == (1, 1)
    np.testing.assert_allclose(out, model.predict(x[30:31]), rtol=1e-6)   # the last epoch's weights
    assert (tmp_path / "activations_at_epoch_0.npz").exists()


def test_model_checkpoint_h5_holds_the_best_epochs_weights(tmp_path):
    """The book's ModelCheckpoint(filepath='my_model.h5', monitor='val_loss',
    save_best_only=True) (L12828-L12835): one file, the weights of the epoch with the lowest
    val_loss, even when later epochs are worse."""
    model, x, y = model_and_data(lr=0.05)
    snapshots, val_losses = [], []

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [3.0, 1.0, 0.4, 2.0, 0.9][epoch]    # best at epoch 2, later ones worse
            val_losses.append(logs["val_loss"])
            snapshots.append(self.model.get_weights())
    path = tmp_path / "my_model.h5"
    check = callbacks.ModelCheckpoint(filepath=str(path), monitor='val_loss', save_best_only=True)
    model.fit(x[:30], y[:30], epochs=5, validation_data=(x[30:], y[30:]), callbacks=[Snap(), check], verbose=0)
    best = int(np.argmin(val_losses))
    assert best == 2 and check.best == 0.4
    restored = models.load_model(str(path))
    for a, b in zip(restored.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[best]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_model.h5"]   # no temp files left


def test_model_checkpoint_with_real_val_loss(tmp_path):
    model, x, y = model_and_data(lr=0.05)
    path = tmp_path / "best.h5"
    weights = []
    keep = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    history = model.fit(x[:30], y[:30], epochs=6, validation_data=(x[30:], y[30:]), verbose=0,
                        callbacks=[keep, callbacks.ModelCheckpoint(str(path), save_best_only=True,
                                                                   save_weights_only=True)])
    best = int(np.argmin(history.history["val_loss"]))
    model.load_weights(str(path))
    for a, b in zip(model.get_weights(), weights[best]):
        np.testing.assert_array_equal(a, b)


def test_lambda_callback_keeps_extra_keywords_as_attributes():
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None, losses=[])
    assert cb.losses == []


def test_learning_rate_scheduler_with_two_arguments_gets_the_lr():
    model, x, y = model_and_data(lr=0.1)
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.optimizer.lr))
    model.fit(x, y, epochs=3, callbacks=[sched, record], verbose=0)
    np.testing.assert_allclose(seen, [0.05, 0.025, 0.0125])


def test_learning_rate_scheduler_errors_inside_the_schedule_are_not_swallowed():
    model, x, y = model_and_data()

    def schedule(epoch):
        raise TypeError("bug in the schedule")
    with pytest.raises(TypeError, match="bug in the schedule"):
        model.fit(x, y, epochs=1, callbacks=[callbacks.LearningRateScheduler(schedule)], verbose=0)


def test_learning_rate_scheduler_refuses_a_non_number():
    model, x, y = model_and_data()
    with pytest.raises(ValueError, match="must return a number"):
        model.fit(x, y, epochs=1, callbacks=[callbacks.LearningRateScheduler(lambda e: "0.1")], verbose=0)
