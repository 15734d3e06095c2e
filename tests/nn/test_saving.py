"""save / load_model / save_weights round trips, npz and h5."""
import numpy as np
import pytest

from tinygrad_book import layers, models, optimizers, regularizers


def convnet():
    model = models.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(5, activation="relu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizers.RMSprop(lr=1e-4), "binary_crossentropy", metrics=["acc"])
    return model


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_model_round_trip(tmp_path, suffix):
    model = convnet()
    x = np.random.default_rng(0).standard_normal((6, 8, 8, 1)).astype(np.float32)
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    assert loaded.optimizer.lr == 1e-4 and loaded.metrics_names == ["loss", "acc"]
    loaded.fit(x, np.ones(6), epochs=1, verbose=0)                       # compiled and trainable
    assert list(tmp_path.iterdir()) == [tmp_path / f"model{suffix}"]      # no temp files left


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_weights_round_trip(tmp_path, suffix):
    model, other = convnet(), convnet()
    path = str(tmp_path / f"w{suffix}")
    model.save_weights(path)
    other.load_weights(path)
    x = np.ones((2, 8, 8, 1), np.float32)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_functional_model_with_shared_layer_round_trip(tmp_path):
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    shared = layers.Dense(4, activation="tanh")
    merged = layers.concatenate([shared(a), shared(b)])
    out = layers.Dense(2, activation="softmax")(layers.add([merged, merged]))
    model = models.Model([a, b], out)
    path = str(tmp_path / "f.npz")
    model.save(path)
    loaded = models.load_model(path)
    x = [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.count_params() == model.count_params()


def test_weights_only_file_is_not_a_model(tmp_path):
    model = convnet()
    path = str(tmp_path / "w.npz")
    model.save_weights(path)
    with pytest.raises(ValueError, match="weights only"):
        models.load_model(path)
