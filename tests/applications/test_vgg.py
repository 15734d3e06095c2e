"""VGG16 / VGG19: Keras' parameter counts, layer names, weight shapes and order, output shapes."""
import numpy as np
import pytest

from tinygrad_book.applications import VGG16, VGG19
from tinygrad_book.applications.vgg import IMAGENET_WEIGHTS
from tinygrad_book.data.download import DatasetNotFoundError
from tinygrad_book.nn import Input, Model
from tinygrad_book.nn.layers import Conv2D, Dense

VGG16_NAMES = ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
               "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool",
               "block4_conv1", "block4_conv2", "block4_conv3", "block4_pool",
               "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool"]
TOP = ["flatten", "fc1", "fc2", "predictions"]


# Keras 2.1's model.summary() totals (the book prints 14,714,688 for the VGG16 conv base, L7822).
@pytest.mark.parametrize("net, include_top, params", [
    (VGG16, False, 14_714_688), (VGG16, True, 138_357_544),
    (VGG19, False, 20_024_384), (VGG19, True, 143_667_240)])
def test_parameter_counts(cheap_init, net, include_top, params):
    model = net(include_top=include_top, weights=None)
    assert model.count_params() == params


def test_vgg16_layer_names_and_weight_order(cheap_init):
    model = VGG16(include_top=True, weights=None)
    assert [l.name for l in model.layers][1:] == VGG16_NAMES + TOP
    assert model.name == "vgg16"
    shapes = {l.name: [w.shape for w in l.weights] for l in model.layers if l.weights}
    assert shapes["block1_conv1"] == [(3, 3, 3, 64), (64,)]          # kernel (rows, cols, in, out), then bias
    assert shapes["block4_conv1"] == [(3, 3, 256, 512), (512,)]
    assert shapes["fc1"] == [(7 * 7 * 512, 4096), (4096,)]
    assert shapes["predictions"] == [(4096, 1000), (1000,)]
    assert model.output_shape == (None, 1000) and model.input_shape == (None, 224, 224, 3)


def test_vgg19_has_four_convolutions_in_blocks_3_to_5(cheap_init):
    names = [l.name for l in VGG19(include_top=False, weights=None).layers]
    for block in (3, 4, 5):
        convs = [n for n in names if n.startswith(f"block{block}_conv")]
        assert convs == [f"block{block}_conv{i}" for i in range(1, 5)]
    assert sum(n.startswith("block1_conv") for n in names) == 2


def test_book_conv_base_shapes():
    base = VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))   # listing 5.16
    assert base.get_layer("block5_pool").output_shape == (None, 4, 4, 512)
    assert base.get_layer("block3_conv3").output_shape == (None, 37, 37, 256)


@pytest.mark.parametrize("pooling, shape", [(None, (None, 2, 3, 512)), ("avg", (None, 512)), ("max", (None, 512))])
def test_pooling_output_shapes(pooling, shape):
    model = VGG16(include_top=False, weights=None, input_shape=(64, 96, 3), pooling=pooling)
    assert model.output_shape == shape


def test_no_input_shape_without_top_takes_any_size():
    model = VGG16(include_top=False, weights=None)
    assert model.input_shape == (None, None, None, 3)
    assert model.predict(np.zeros((1, 48, 64, 3), np.float32)).shape == (1, 1, 2, 512)


def test_global_pooling_is_the_mean_and_max_of_the_feature_map():
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    outs = {}
    for pooling in (None, "avg", "max"):
        model = VGG16(include_top=False, weights=None, input_shape=(64, 64, 3), pooling=pooling)
        if pooling is None:
            weights = model.get_weights()
        model.set_weights(weights)
        outs[pooling] = model.predict(x)
    assert outs[None].shape == (2, 2, 2, 512) and outs[None].max() > 0
    np.testing.assert_allclose(outs["avg"], outs[None].mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(outs["max"], outs[None].max(axis=(1, 2)))


def test_custom_input_shape_with_top_and_classes(cheap_init):
    model = VGG16(include_top=True, weights=None, input_shape=(64, 64, 3), classes=10)
    assert model.get_layer("fc1").weights[0].shape == (2 * 2 * 512, 4096)
    assert model.output_shape == (None, 10)


def test_input_tensor_builds_on_it():
    image = Input(shape=(48, 48, 3), name="image")
    model = VGG16(include_top=False, weights=None, input_tensor=image, pooling="avg")
    assert model.inputs == [image] and model.output_shape == (None, 512)
    head = Dense(1, activation="sigmoid")(model.outputs[0])
    assert Model(image, head).count_params() == 14_714_688 + 513


def test_input_tensor_from_a_layer_keeps_the_graph_before_it():
    image = Input(shape=(48, 48, 3))
    mixed = Conv2D(3, (1, 1), name="mix")(image)                  # any layers before the network
    model = VGG16(include_top=False, weights=None, input_tensor=mixed)
    assert model.inputs == [image] and "mix" in [l.name for l in model.layers]
    assert model.count_params() == 14_714_688 + 3 * 3 + 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="no/such/file.h5"), "weights must be None"),
    (dict(weights="imagenet", classes=10), "1000 classes"),
    (dict(weights=None, include_top=False, pooling="sum"), "pooling"),
    (dict(weights=None, include_top=False, input_shape=(32, 32, 3)), "at least 48x48"),
    (dict(weights=None, include_top=False, input_shape=(64, 64)), r"\(height, width, channels\)"),
    (dict(weights=None, include_top=True, input_shape=(None, None, 3)), "fully known"),
    (dict(weights="imagenet", include_top=True, input_shape=(150, 150, 3)), r"\(224, 224, 3\)"),
    (dict(weights=None, input_tensor=np.zeros((1, 48, 48, 3))), "symbolic tensor"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        VGG16(**kwargs)


@pytest.mark.parametrize("net, include_top", [(VGG16, False), (VGG19, True)])
def test_imagenet_weights_offline_name_the_file_and_the_way_out(fresh_session, net, include_top):
    fname, md5 = IMAGENET_WEIGHTS[(net.__name__.lower(), include_top)]
    with pytest.raises(DatasetNotFoundError) as err:
        net(include_top=include_top, weights="imagenet")
    message = str(err.value)
    assert fname in message and md5 in message and "weights=None" in message
    assert f"https://github.com/fchollet/deep-learning-models/releases/download/v0.1/{fname}" in message
    assert str(fresh_session / "models" / fname) in message        # where to put it
    assert not (fresh_session / "models" / fname).exists()
