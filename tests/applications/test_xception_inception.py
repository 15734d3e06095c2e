"""Xception and InceptionV3: Keras' parameter counts, layer names and order, forward passes on
small inputs, and Keras' weight files (written here with h5py in Keras' layout)."""
import h5py
import numpy as np
import pytest

from tinygrad_book.applications import InceptionV3, Xception, inception_v3, xception
from tinygrad_book.applications.keras_order import keras_layer_order
from tinygrad_book.data.download import DatasetNotFoundError
from tinygrad_book.nn import Input, Model, clear_session
from tinygrad_book.nn.layers import Dense, add


# Keras 2's model.summary() totals.
@pytest.mark.parametrize("net, include_top, params, layers", [
    (Xception, False, 20_861_480, 132), (Xception, True, 22_910_480, 134),
    (InceptionV3, False, 21_802_784, 311), (InceptionV3, True, 23_851_784, 313)])
def test_parameter_and_layer_counts(cheap_init, net, include_top, params, layers):
    model = net(include_top=include_top, weights=None)
    assert model.count_params() == params
    assert len(model.layers) == layers


def test_xception_layer_names_in_keras_order(cheap_init):
    names = [l.name for l in Xception(include_top=True, weights=None).layers]
    # the start of Keras 2's Xception summary: the shortcut conv2d_1 sits after block2's separable convs
    assert names[:16] == ["input_1", "block1_conv1", "block1_conv1_bn", "block1_conv1_act", "block1_conv2",
                          "block1_conv2_bn", "block1_conv2_act", "block2_sepconv1", "block2_sepconv1_bn",
                          "block2_sepconv2_act", "block2_sepconv2", "block2_sepconv2_bn", "conv2d_1",
                          "block2_pool", "batch_normalization_1", "add_1"]
    assert names[-8:] == ["block14_sepconv1", "block14_sepconv1_bn", "block14_sepconv1_act", "block14_sepconv2",
                          "block14_sepconv2_bn", "block14_sepconv2_act", "avg_pool", "predictions"]
    middle = [f"block{b}_sepconv{i}{s}" for b in range(5, 13) for i in (1, 2, 3) for s in ("_act", "", "_bn")]
    assert [n for n in names if n[:7] in {f"block{b}_" for b in range(5, 10)} or n[:8] in
            {"block10_", "block11_", "block12_"}] == middle
    auto = sorted(n for n in names if n.split("_")[0] in ("conv2d", "batch", "add"))
    assert auto == sorted([f"conv2d_{i}" for i in range(1, 5)] + [f"batch_normalization_{i}" for i in range(1, 5)]
                          + [f"add_{i}" for i in range(1, 13)])


def test_inception_v3_layer_names_in_keras_order(cheap_init):
    names = [l.name for l in InceptionV3(include_top=False, weights=None).layers]
    # the start of Keras 2's InceptionV3 summary: mixed0's branches interleave by depth
    assert names[:32] == [
        "input_1", "conv2d_1", "batch_normalization_1", "activation_1", "conv2d_2", "batch_normalization_2",
        "activation_2", "conv2d_3", "batch_normalization_3", "activation_3", "max_pooling2d_1", "conv2d_4",
        "batch_normalization_4", "activation_4", "conv2d_5", "batch_normalization_5", "activation_5",
        "max_pooling2d_2", "conv2d_9", "batch_normalization_9", "activation_9", "conv2d_7", "conv2d_10",
        "batch_normalization_7", "batch_normalization_10", "activation_7", "activation_10", "average_pooling2d_1",
        "conv2d_6", "conv2d_8", "conv2d_11", "conv2d_12"]
    assert [n for n in names if n.startswith(("mixed", "concatenate"))] == [f"mixed{i}" for i in range(9)] + [
        "mixed9_0", "concatenate_1", "mixed9", "mixed9_1", "concatenate_2", "mixed10"]
    assert names[-1] == "mixed10"
    assert sum(n.startswith("conv2d_") for n in names) == 94


def test_inception_batch_norms_have_no_scale(cheap_init):
    model = InceptionV3(include_top=False, weights=None)
    bn = model.get_layer("batch_normalization_1")
    assert [w.shape for w in bn.weights] == [(32,)] * 3 and bn.gamma is None
    assert len(model.non_trainable_weights) == 2 * 94


def test_keras_order_sorts_by_depth_then_traversal():
    x = Input(shape=(4,))
    a = Dense(3, name="a")(x)
    b = Dense(3, name="b")(a)
    c = Dense(3, name="c")(x)            # created last, one step from the add: listed with b
    model = Model(x, add([b, c], name="sum"))
    assert [l.name for l in keras_layer_order(model)] == [x.node.layer.name, "a", "b", "c", "sum"]


@pytest.mark.parametrize("net, size", [(Xception, 71), (InceptionV3, 75)])
def test_forward_on_the_smallest_input(net, size):
    model = net(include_top=True, weights=None, input_shape=(size, size, 3), classes=7)
    x = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    probs = model.predict(xception.preprocess_input(x))
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(probs).all() and not np.array_equal(probs[0], probs[1])   # the images reach the output
    with pytest.raises(ValueError, match=f"at least {size}x{size}"):
        net(include_top=False, weights=None, input_shape=(size - 1, size, 3))


def test_feature_shapes_without_top():
    assert Xception(include_top=False, weights=None, input_shape=(299, 299, 3)).output_shape == (None, 10, 10, 2048)
    assert InceptionV3(include_top=False, weights=None, input_shape=(299, 299, 3)).output_shape == (None, 8, 8, 2048)
    assert Xception(include_top=False, weights=None, input_shape=(71, 71, 3), pooling="avg").output_shape == (None, 2048)


def write_keras_file(path, model):
    """A weight file in Keras 2's layout, written by hand: layer_names in model.layers order, and
    per layer weight_names '<layer>/<attribute>:0' in Keras' order (gamma, beta, moving_mean, ...)."""
    attrs = ("kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta", "moving_mean",
             "moving_variance")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([l.name.encode() for l in model.layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for layer in model.layers:
            g = f.create_group(layer.name)
            held = [(a, getattr(layer, a)) for a in attrs if getattr(layer, a, None) is not None]
            names = [f"{layer.name}/{a}:0" for a, _ in held]
            g.attrs["weight_names"] = np.array([n.encode() for n in names]) if names else np.array([], "S1")
            for name, (_, w) in zip(names, held):
                g.create_dataset(name, data=w.numpy())


@pytest.mark.parametrize("net, size", [(Xception, 71), (InceptionV3, 75)])
def test_a_keras_weight_file_round_trip(tmp_path, net, size):
    source = net(include_top=False, weights=None, input_shape=(size, size, 3))
    rng = np.random.default_rng(1)
    source.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if w.ndim == 1 else w
                        for w in source.get_weights()])          # non-default batch-norm statistics
    path = str(tmp_path / "weights.h5")
    write_keras_file(path, source)
    clear_session()
    loaded = net(include_top=False, weights=path, input_shape=(size, size, 3))
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x), source.predict(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("net, fname, md5", [
    (Xception, "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97"),
    (InceptionV3, "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63")])
def test_imagenet_weights_offline_say_which_file(net, fname, md5):
    with pytest.raises(DatasetNotFoundError, match=fname) as info:
        net(include_top=False, weights="imagenet")
    assert md5 in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="no such file"):
        Xception(weights="missing.h5")
    with pytest.raises(ValueError, match="1000 classes"):
        InceptionV3(weights="imagenet", classes=10)


def test_preprocess_input_is_tf_mode():
    x = np.array([[[[0.0, 127.5, 255.0]]]], np.float32)
    for module in (xception, inception_v3):
        np.testing.assert_allclose(module.preprocess_input(x), [[[[-1.0, 0.0, 1.0]]]])


def test_a_conv_base_with_a_new_classifier_trains(cheap_init):
    """Chapter 5's pattern with a chapter 7 network: a frozen Xception base, a Dense on top."""
    base = Xception(include_top=False, weights=None, input_shape=(71, 71, 3), pooling="avg")
    base.trainable = False
    x = Input(shape=(71, 71, 3))
    model = Model(x, Dense(1, activation="sigmoid")(base(x)))
    model.compile("rmsprop", "binary_crossentropy")
    assert len(model.trainable_weights) == 2
    kernel = base.get_layer("block1_conv1").kernel.numpy().copy()
    x_train = np.random.default_rng(0).uniform(-1, 1, (4, 71, 71, 3)).astype(np.float32)
    model.fit(x_train, np.array([0, 1, 0, 1], np.float32), epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(base.get_layer("block1_conv1").kernel.numpy(), kernel)
    # Keras 2.0: a frozen batch norm still folds the batch into its moving averages in fit
    assert not np.allclose(base.get_layer("block1_conv1_bn").moving_variance.numpy(), 1.0)
