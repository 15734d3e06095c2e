"""VGG16 and VGG19 (Simonyan & Zisserman, arXiv 1409.1556) as Keras 2 builds them.

Five blocks of 3x3 'same' convolutions with ReLU, each closed by a 2x2 max pooling;
VGG16 has 2, 2, 3, 3, 3 convolutions per block, VGG19 2, 2, 4, 4, 4. On top, optionally,
the classifier: Flatten -> fc1 (4096) -> fc2 (4096) -> predictions (softmax).
Layer names and weight order are Keras' (block1_conv1 ... block5_pool, flatten, fc1,
fc2, predictions), so Keras' released ImageNet weight files load by layer order.
"""
from __future__ import annotations

from ..data.download import DatasetNotFoundError, data_home, get_file
from ..nn.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from .common import check_arguments, finish_application, global_pooling
from .imagenet_utils import MODELS_SUBDIR, obtain_input_shape

_RELEASES = "https://github.com/fchollet/deep-learning-models/releases/download/v0.1/"
# (file name, md5) of Keras' released weights: keras/applications/vgg16.py, vgg19.py (2.1).
IMAGENET_WEIGHTS = {
    ("vgg16", True): ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): ("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"),
}
FILTERS = (64, 128, 256, 512, 512)
CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802 - Keras' name
          pooling=None, classes=1000):
    """VGG16; 138,357,544 parameters, 14,714,688 without the classifier (include_top=False).

    weights: None (random), 'imagenet' (Keras' released file, downloaded once into the data
    folder), or the path of a Keras weight file. input_shape: (h, w, 3), default (224, 224, 3)
    with the classifier, (None, None, 3) without. pooling (without the classifier):
    None (the 4D output of block5_pool), 'avg' or 'max' (global pooling to (n, 512)).
    input_tensor: a symbolic tensor (from Input or layers) to build the network on.
    """
    return build_vgg("vgg16", include_top, weights, input_tensor, input_shape, pooling, classes)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802 - Keras' name
          pooling=None, classes=1000):
    """VGG19; 143,667,240 parameters, 20,024,384 without the classifier. Arguments as VGG16."""
    return build_vgg("vgg19", include_top, weights, input_tensor, input_shape, pooling, classes)


def build_vgg(name, include_top, weights, input_tensor, input_shape, pooling, classes):
    check_arguments(weights, include_top, classes, pooling, input_tensor)
    input_shape = obtain_input_shape(input_shape, default_size=224, min_size=48,
                                     require_flatten=include_top, weights=weights)
    # the file first: offline, say so before spending seconds on 138 M random weights
    weights_path = imagenet_weights_path(name, include_top) if weights == "imagenet" else weights
    img_input = Input(shape=input_shape) if input_tensor is None else input_tensor
    x = img_input
    for block, (filters, convs) in enumerate(zip(FILTERS, CONVS_PER_BLOCK[name]), start=1):
        for conv in range(1, convs + 1):
            x = Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{conv}")(x)
        x = MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = Flatten(name="flatten")(x)
        x = Dense(4096, activation="relu", name="fc1")(x)
        x = Dense(4096, activation="relu", name="fc2")(x)
        x = Dense(classes, activation="softmax", name="predictions")(x)
    else:
        x = global_pooling(x, pooling)
    return finish_application(img_input, input_tensor, x, name, weights_path, keras_order=False)


def imagenet_weights_on_disk(name, include_top):
    """The path of Keras' ImageNet weights for this network if the file is on disk already
    (where ``imagenet_weights_path`` puts it: <data folder>/models/), else None. Never downloads."""
    fname, _ = IMAGENET_WEIGHTS[(name, include_top)]
    path = data_home() / "models" / fname      # MODELS_SUBDIR is datasets/models: the data folder's models/
    return path if path.is_file() else None


def imagenet_weights_path(name, include_top) -> str:
    """The local path of Keras' ImageNet weights for this network, downloaded (md5 checked)
    into <data folder>/models/ if missing. Offline, the error says which file, from where,
    and where to put it."""
    fname, md5 = IMAGENET_WEIGHTS[(name, include_top)]
    try:
        return get_file(fname, _RELEASES + fname, cache_subdir=MODELS_SUBDIR, file_hash=md5)
    except DatasetNotFoundError as e:
        e.args = (f"{e.args[0]}\n  These are Keras' ImageNet weights for {name} "
                  f"({'with' if include_top else 'without'} the classifier), md5 {md5}. Without them, "
                  f"build the network with weights=None (random) or weights='<path of a Keras weight file>'.",)
        raise
