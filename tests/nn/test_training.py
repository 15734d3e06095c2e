"""compile / fit / evaluate / predict: learning, History keys, modes, reproducibility."""
import numpy as np
import pytest

from tinygrad_book import layers, losses, metrics, models, optimizers, regularizers
from tinygrad_book.nn import set_seed


def xor_data(n=256, seed=0):
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, (n, 2)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(np.float32)      # not linearly separable
    return x, y


def small_net(out=1, activation="sigmoid", **kw):
    return models.Sequential([layers.Dense(16, activation="tanh", input_shape=(2,), **kw),
                              layers.Dense(out, activation=activation)])


def test_learns_xor_like_problem():
    x, y = xor_data(512)
    model = small_net()
    model.compile(optimizers.Adam(lr=0.02), "binary_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert history.history["acc"][-1] > 0.9
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    xt, yt = xor_data(256, seed=1)
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc > 0.88


def test_learns_a_linear_rule_with_categorical_crossentropy():
    r = np.random.default_rng(2)
    x = r.standard_normal((300, 2)).astype(np.float32)
    labels = np.argmax(x @ np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]]), axis=1)
    model = models.Sequential([layers.Dense(3, activation="softmax", input_dim=2)])
    model.compile(optimizers.RMSprop(lr=0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, labels, verbose=0)[1] > 0.9


@pytest.mark.parametrize("asked,keys", [
    (["acc"], {"loss", "acc", "val_loss", "val_acc"}),
    (["accuracy"], {"loss", "accuracy", "val_loss", "val_accuracy"}),
    (["mae"], {"loss", "mae", "val_loss", "val_mae", "mean_absolute_error", "val_mean_absolute_error"}),
    ([metrics.binary_accuracy], {"loss", "binary_accuracy", "val_loss", "val_binary_accuracy"}),
])
def test_history_keys(asked, keys):
    x, y = xor_data(64)
    model = small_net()
    model.compile("rmsprop", losses.binary_crossentropy, metrics=asked)
    history = model.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y), verbose=0)
    assert set(history.history) == keys
    assert history.epoch == [0, 1] and all(len(v) == 2 for v in history.history.values())


def test_accuracy_flavour_follows_the_loss():
    from tinygrad_book.nn.metrics import resolve
    assert resolve("acc", losses.binary_crossentropy, (None, 1))[1] is metrics.binary_accuracy
    assert resolve("acc", losses.categorical_crossentropy, (None, 5))[1] is metrics.categorical_accuracy
    assert resolve("acc", losses.sparse_categorical_crossentropy, (None, 5))[1] is metrics.sparse_categorical_accuracy


def test_epoch_loss_is_sample_weighted_mean_and_evaluate_matches():
    x, y = xor_data(50)
    model = small_net()
    model.compile(optimizers.SGD(lr=0.0), "mse", metrics=["mae"])     # lr 0: weights stay put
    history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    pred = model.predict(x)[:, 0]
    full = np.mean((pred - y) ** 2)
    np.testing.assert_allclose(history.history["loss"][0], full, rtol=1e-5)
    loss, mae = model.evaluate(x, y, batch_size=7, verbose=0)
    np.testing.assert_allclose([loss, mae], [full, np.mean(np.abs(pred - y))], rtol=1e-5)


def test_validation_split_takes_the_last_samples():
    x, y = xor_data(100)
    model = small_net()
    model.compile(optimizers.SGD(lr=0.0), "mse")
    history = model.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    expected = model.evaluate(x[80:], y[80:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], expected, rtol=1e-6)


def test_dropout_on_in_fit_off_in_evaluate_and_predict():
    model = models.Sequential([layers.Dropout(0.5, input_shape=(100,)), layers.Dense(1, use_bias=False)])
    model.compile(optimizers.SGD(lr=0.0), "mse")
    model.set_weights([np.ones((100, 1), np.float32)])
    x, y = np.ones((4, 100), np.float32), np.full(4, 100.0, np.float32)
    assert model.evaluate(x, y, verbose=0) == 0.0                         # no dropout: output exactly 100
    np.testing.assert_allclose(model.predict(x), 100.0)
    assert model.train_on_batch(x, y) > 0.0                               # dropout: outputs move off 100


def test_regularization_penalty_is_in_the_reported_loss():
    x, y = xor_data(32)
    model = models.Sequential([layers.Dense(1, input_dim=2, kernel_regularizer=regularizers.l2(0.5))])
    model.compile(optimizers.SGD(lr=0.0), "mse")
    k, b = model.get_weights()
    data_loss = np.mean(((x @ k + b)[:, 0] - y) ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), data_loss + 0.5 * np.sum(k ** 2), rtol=1e-5)


def test_frozen_layer_gets_no_updates_and_compile_snapshots_trainability():
    x, y = xor_data(64)
    model = small_net()
    model.layers[0].trainable = False
    model.compile("rmsprop", "binary_crossentropy")
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    after = model.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])


def test_seeded_runs_are_reproducible():
    def run():
        set_seed(42)
        x, y = xor_data(64)
        model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(2,)), layers.Dropout(0.3),
                                   layers.Dense(1, activation="sigmoid")])
        model.compile("rmsprop", "binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return model.get_weights()
    for a, b in zip(run(), run()):
        assert np.array_equal(a, b)


def test_multi_output_losses_weights_and_keys():
    inp = layers.Input(shape=(2,))
    h = layers.Dense(8, activation="relu")(inp)
    reg = layers.Dense(1, name="age")(h)
    cls = layers.Dense(3, activation="softmax", name="kind")(h)
    model = models.Model(inp, [reg, cls])
    model.compile("rmsprop", loss={"age": "mse", "kind": "categorical_crossentropy"},
                  loss_weights={"age": 0.25, "kind": 1.0}, metrics={"kind": ["acc"]})
    x, _ = xor_data(40)
    onehot = np.eye(3, dtype=np.float32)[np.arange(40) % 3]
    history = model.fit(x, {"age": x[:, :1], "kind": onehot}, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "age_loss", "kind_loss", "kind_acc"}
    logs = model.evaluate(x, [x[:, :1], onehot], verbose=0)
    assert model.metrics_names == ["loss", "age_loss", "kind_loss", "kind_acc"]
    np.testing.assert_allclose(logs[0], 0.25 * logs[1] + logs[2], rtol=1e-5)


def test_fit_generator_and_friends():
    x, y = xor_data(64)

    def batches():
        while True:
            for s in range(0, 64, 16):
                yield x[s:s + 16], y[s:s + 16]
    model = small_net()
    model.compile("rmsprop", "binary_crossentropy", metrics=["acc"])
    history = model.fit_generator(batches(), steps_per_epoch=4, epochs=2, validation_data=batches(),
                                  validation_steps=2, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    loss, acc = model.evaluate_generator(batches(), steps=4)
    np.testing.assert_allclose(loss, model.evaluate(x, y, verbose=0)[0], rtol=1e-5)
    assert model.predict_generator(batches(), steps=2).shape == (32, 1)
    assert len(model.test_on_batch(x, y)) == 2


def test_progress_output(capsys):
    x, y = xor_data(64)
    model = small_net()
    model.compile("rmsprop", "binary_crossentropy", metrics=["acc"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2 [==============================]" in out and "ms/step - loss: " in out and " - acc: " in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l]
    assert len(lines) == 4 and lines[1].startswith(" - ") and "loss:" in lines[1]


def test_unknown_names_list_the_valid_ones():
    model = small_net()
    with pytest.raises(ValueError, match="valid names: .*rmsprop"):
        model.compile("rmsprob", "mse")
    with pytest.raises(ValueError, match="valid names: .*binary_crossentropy"):
        model.compile("rmsprop", "binary_crossentropi")
    with pytest.raises(ValueError, match="valid names"):
        model.compile("rmsprop", "mse", metrics=["acuracy"])


def test_mismatched_sample_counts_and_missing_compile():
    model = small_net()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="samples"):
        model.fit(np.zeros((4, 2)), np.zeros(5), verbose=0)
