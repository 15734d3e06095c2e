"""Keras' HDF5 weight files: our writer -> Keras' layout -> our reader, and files written
with h5py exactly as Keras 2 and the released ImageNet files lay them out."""
import h5py
import numpy as np
import pytest

from tinygrad_book.applications import VGG16
from tinygrad_book.nn import Input, Model, Sequential, keras_h5, set_seed
from tinygrad_book.nn.layers import Conv2D, Dense, Flatten, MaxPooling2D


def small_model(names=("conv", "pool", "flatten", "fc", "out"), seed=0):
    set_seed(seed)
    x = Input(shape=(8, 8, 3), name="input_1")
    y = Conv2D(4, (3, 3), activation="relu", name=names[0])(x)
    y = MaxPooling2D((2, 2), name=names[1])(y)
    y = Flatten(name=names[2])(y)
    y = Dense(5, activation="relu", name=names[3])(y)
    return Model(x, Dense(2, activation="softmax", name=names[4])(y))


def images(n=3):
    return np.random.default_rng(1).standard_normal((n, 8, 8, 3)).astype(np.float32)


def text_list(values):
    return [v.decode() for v in values]


def test_writer_writes_keras_layout(tmp_path):
    model, path = small_model(), tmp_path / "out" / "w.h5"
    keras_h5.save_weights(model, path)
    with h5py.File(path, "r") as f:
        assert text_list(f.attrs["layer_names"]) == ["input_1", "conv", "pool", "flatten", "fc", "out"]
        assert f.attrs["keras_version"] == b"2.1.6" and f.attrs["backend"] == b"tensorflow"   # bytes, as Keras reads
        assert f.attrs["layer_names"].dtype.kind == "S"
        assert text_list(f["conv"].attrs["weight_names"]) == ["conv/kernel:0", "conv/bias:0"]
        assert len(f["pool"].attrs["weight_names"]) == 0 and len(f["input_1"].attrs["weight_names"]) == 0
        np.testing.assert_array_equal(f["conv/conv/kernel:0"][()], model.get_layer("conv").get_weights()[0])
        np.testing.assert_array_equal(f["out/out/bias:0"][()], model.get_layer("out").get_weights()[1])
        assert f["fc/fc/kernel:0"].dtype == np.float32
    assert list(path.parent.iterdir()) == [path]        # written atomically: no temp file left


def test_round_trip_gives_identical_outputs(tmp_path):
    model, other = small_model(seed=0), small_model(names=("a", "b", "c", "d", "e"), seed=1)
    assert not np.array_equal(model.predict(images()), other.predict(images()))
    keras_h5.save_weights(model, tmp_path / "w.h5")
    keras_h5.load_weights(other, tmp_path / "w.h5")       # by order: the names may differ
    np.testing.assert_array_equal(other.predict(images()), model.predict(images()))


def test_sequential_round_trip(tmp_path):
    def net(seed):
        set_seed(seed)
        return Sequential([Conv2D(2, (3, 3), input_shape=(6, 6, 1)), Flatten(), Dense(3)])
    model, other = net(0), net(1)
    keras_h5.save_weights(model, tmp_path / "s.h5")
    keras_h5.load_weights(other, tmp_path / "s.h5")
    x = np.ones((2, 6, 6, 1), np.float32)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def write_released_layout(path, layers, version=None, backend=None, root=None):
    """As Keras' released files: root attribute layer_names, per layer weight_names, each
    dataset at its name. `layers`: [(layer name, [(weight name, array), ...])]. Datasets are
    created in reverse order in creation-ordered groups, so neither the alphabetical nor the
    creation order of the datasets is the weight order: only the attributes give it."""
    with h5py.File(path, "w") as f:
        g0 = f if root is None else f.create_group(root)
        g0.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        if version:
            g0.attrs["keras_version"] = version.encode()
        if backend:
            g0.attrs["backend"] = backend.encode()
        for name, weights in layers:
            g = g0.create_group(name, track_order=True)
            # Keras 1 wrote np.asarray([]) (float64) for a layer without weights
            g.attrs["weight_names"] = np.array([w.encode() for w, _ in weights]) if weights else np.array([])
            for wname, value in reversed(weights):
                g.create_dataset(wname, data=value)
        if root is not None:
            f.attrs["model_config"] = b"{}"


def random_weights(model, seed=2):
    rng = np.random.default_rng(seed)
    return {l.name: [rng.standard_normal(w.shape).astype(np.float32) for w in l.weights]
            for l in model.layers if l.weights}


def test_released_layout_with_keras1_names(tmp_path):
    model = small_model()
    values = random_weights(model)
    layers = [("input_1", [])] + [
        (name, [(f"{name}_W_1:0", values[name][0]), (f"{name}_b_1:0", values[name][1])]) if name in values
        else (name, []) for name in ("conv", "pool", "flatten", "fc", "out")]
    write_released_layout(tmp_path / "released.h5", layers)            # no keras_version, no backend
    keras_h5.load_weights(model, tmp_path / "released.h5")
    for name, arrays in values.items():
        for got, want in zip(model.get_layer(name).get_weights(), arrays):
            np.testing.assert_array_equal(got, want)


def test_weight_order_comes_from_the_attribute_not_the_datasets(tmp_path):
    model = Sequential([Dense(4, input_shape=(4,), name="dense_1")])   # kernel (4, 4), bias (4,)
    kernel, bias = np.arange(16, dtype=np.float32).reshape(4, 4), np.full(4, -1.0, np.float32)
    # Keras 2 names: alphabetically 'bias:0' < 'kernel:0', the opposite of the weight order
    write_released_layout(tmp_path / "k2.h5", [("dense_1", [("dense_1/kernel:0", kernel), ("dense_1/bias:0", bias)])],
                          version="2.1.6", backend="tensorflow")
    with h5py.File(tmp_path / "k2.h5", "r") as f:
        assert list(f["dense_1"]["dense_1"]) == ["bias:0", "kernel:0"]
    keras_h5.load_weights(model, tmp_path / "k2.h5")
    np.testing.assert_array_equal(model.get_layer("dense_1").get_weights()[0], kernel)
    np.testing.assert_array_equal(model.get_layer("dense_1").get_weights()[1], bias)


def test_whole_model_file_reads_model_weights_group(tmp_path):
    model, other = small_model(seed=0), small_model(seed=3)
    with h5py.File(tmp_path / "model.h5", "w") as f:           # what Keras' model.save writes
        f.attrs["model_config"] = b"{}"
        keras_h5.save_weights_to_group(f.create_group("model_weights"), model.layers)
    assert keras_h5.is_keras_weight_file(tmp_path / "model.h5")
    keras_h5.load_weights(other, tmp_path / "model.h5")
    np.testing.assert_array_equal(other.predict(images()), model.predict(images()))


def test_by_name_loads_only_layers_of_the_same_name(tmp_path):
    model = small_model(seed=0)
    keras_h5.save_weights(model, tmp_path / "w.h5")
    other = small_model(names=("conv", "pool", "flatten", "fc_new", "out_new"), seed=4)
    fc_before = other.get_layer("fc_new").get_weights()
    keras_h5.load_weights(other, tmp_path / "w.h5", by_name=True)
    np.testing.assert_array_equal(other.get_layer("conv").get_weights()[0], model.get_layer("conv").get_weights()[0])
    np.testing.assert_array_equal(other.get_layer("fc_new").get_weights()[0], fc_before[0])


def test_shape_mismatch_names_file_layer_and_both_shapes_and_assigns_nothing(tmp_path):
    model = small_model()
    keras_h5.save_weights(model, tmp_path / "w.h5")
    set_seed(5)
    x = Input(shape=(8, 8, 3))
    y = Flatten()(MaxPooling2D((2, 2))(Conv2D(4, (3, 3), activation="relu")(x)))
    other = Model(x, Dense(3)(Dense(5)(y)))                       # the last layer has 3 units, not 2
    before = other.get_weights()
    with pytest.raises(ValueError) as err:
        keras_h5.load_weights(other, tmp_path / "w.h5")
    message = str(err.value)
    assert str(tmp_path / "w.h5") in message and "'out'" in message and other.layers[-1].name in message
    assert "(5, 3)" in message and "(5, 2)" in message
    for got, want in zip(other.get_weights(), before):             # all or nothing: the conv is untouched
        np.testing.assert_array_equal(got, want)


def test_layer_count_mismatch(tmp_path):
    keras_h5.save_weights(small_model(), tmp_path / "w.h5")
    model = Sequential([Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match=r"w\.h5: the file has weights for 3 layers .* 1 layers with weights"):
        keras_h5.load_weights(model, tmp_path / "w.h5")


def test_weight_count_mismatch(tmp_path):
    write_released_layout(tmp_path / "w.h5", [("d", [("d_W:0", np.zeros((4, 3), np.float32))])])
    with pytest.raises(ValueError, match="has 2 weight\\(s\\), the file has 1"):
        keras_h5.load_weights(Sequential([Dense(3, input_shape=(4,))]), tmp_path / "w.h5")


def test_by_name_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    model = small_model(seed=0)
    keras_h5.save_weights(model, tmp_path / "w.h5")
    set_seed(6)
    x = Input(shape=(8, 8, 3))
    y = Flatten(name="flatten")(MaxPooling2D((2, 2), name="pool")(Conv2D(4, (3, 3), name="conv")(x)))
    other = Model(x, Dense(7, name="fc")(y))                     # fc: (36, 7), the file's (36, 5)
    with pytest.raises(ValueError, match="'fc'"):
        keras_h5.load_weights(other, tmp_path / "w.h5", by_name=True)
    with pytest.warns(UserWarning, match="skipping .*'fc'"):
        keras_h5.load_weights(other, tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("conv").get_weights()[1], model.get_layer("conv").get_weights()[1])


def test_long_name_lists_are_split_as_keras_does(tmp_path):
    names = [f"layer_with_a_long_name_{i:05d}" for i in range(3000)]      # 87 kB > one object header
    with h5py.File(tmp_path / "a.h5", "w") as f:
        keras_h5.write_name_list(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs and "layer_names1" in f.attrs
        assert keras_h5.read_name_list(f, "layer_names") == names


def test_theano_file_kernels_are_flipped_and_channels_first_kernels_transposed(tmp_path):
    model = Sequential([Conv2D(2, (3, 2), input_shape=(5, 5, 3), name="c")])
    stored = np.random.default_rng(0).standard_normal((2, 3, 3, 2)).astype(np.float32)   # (filters, in, rows, cols)
    write_released_layout(tmp_path / "th.h5", [("c", [("c_W:0", stored), ("c_b:0", np.zeros(2, np.float32))])],
                          backend="theano")
    keras_h5.load_weights(model, tmp_path / "th.h5")
    expected = stored[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)       # Theano convolves: flip rows and cols
    np.testing.assert_array_equal(model.get_layer("c").get_weights()[0], expected)


def test_nested_model_keeps_keras_order_trainable_first(tmp_path):
    def net(seed):
        set_seed(seed)
        x = Input(shape=(8, 8, 3))
        base_out = Conv2D(3, (3, 3), name="b2")(Conv2D(2, (3, 3), name="b1")(x))
        base = Model(x, base_out, name="conv_base")
        base.get_layer("b1").trainable = False                   # as the book's fine-tuning freezes block1-4
        return Sequential([base, Flatten(), Dense(1, name="head")])
    model, other = net(0), net(1)
    keras_h5.save_weights(model, tmp_path / "n.h5")
    with h5py.File(tmp_path / "n.h5", "r") as f:
        assert text_list(f["conv_base"].attrs["weight_names"]) == [
            "b2/kernel:0", "b2/bias:0", "b1/kernel:0", "b1/bias:0"]
        assert f["conv_base/b1/kernel:0"].shape == (3, 3, 3, 2)
    keras_h5.load_weights(other, tmp_path / "n.h5")
    x = images(2)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_vgg16_loads_a_file_in_the_released_notop_layout(tmp_path):
    reference = VGG16(include_top=False, weights=None, input_shape=(48, 48, 3))
    values = random_weights(reference, seed=7)
    names = ["input_1"] + [l.name for l in reference.layers[1:]]
    layers = [(n, [(f"{n}_W_1:0", values[n][0]), (f"{n}_b_1:0", values[n][1])] if n in values else [])
              for n in names]
    write_released_layout(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", layers)
    model = VGG16(include_top=False, weights=str(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    for name in ("block1_conv1", "block3_conv2", "block5_conv3"):
        for got, want in zip(model.get_layer(name).get_weights(), values[name]):
            np.testing.assert_array_equal(got, want)


def test_imagenet_weights_come_from_the_data_folder(fresh_session):
    model = VGG16(include_top=False, weights=None)
    folder = fresh_session / "models"
    folder.mkdir()
    keras_h5.save_weights(model, folder / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    loaded = VGG16(include_top=False, weights="imagenet")        # found there: no download
    np.testing.assert_array_equal(loaded.get_layer("block2_conv1").get_weights()[0],
                                  model.get_layer("block2_conv1").get_weights()[0])


def test_not_a_keras_file_and_unbuilt_model(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("weights")
    assert not keras_h5.is_keras_weight_file(tmp_path / "other.h5")
    with pytest.raises(ValueError, match="other.h5: no attribute 'layer_names'"):
        keras_h5.load_weights(small_model(), tmp_path / "other.h5")
    with pytest.raises(RuntimeError, match="build model"):
        keras_h5.load_weights(Sequential([Dense(2)]), tmp_path / "other.h5")
