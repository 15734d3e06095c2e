"""Section 5.4's three ways to see inside a convnet.

* what each layer makes of one image: its activations, channel by channel (listings 5.25-5.31);
* what each filter responds to: an input image grown by gradient ascent (listings 5.32-5.39);
* where the network looks for a class: a Grad-CAM heatmap (listings 5.40-5.44).

The last two are written as the book writes them, with Keras' backend ``K``
(``K.mean(layer_output[:, :, :, filter_index])``, ``K.gradients``, ``K.function``): the
symbolic code records a small graph on the model's tensors and ``K.function`` replays it on
our eager engine, the gradient by one backward pass (docs/backend.md).

The functions take a model whose layers form a chain (a ``Sequential``, or VGG16 as Keras
builds it). Images are numpy arrays; what comes back is numpy too.
"""
from __future__ import annotations

import numpy as np

from .. import backend as K


# --- the layers of a chain ----------------------------------------------------------------------
def chain_layers(model) -> list:
    """The model's layers in order, without its Input layer."""
    from ..nn.layers.base import InputLayer
    return [layer for layer in model.layers if not isinstance(layer, InputLayer)]


def split_at(model, layer_name):
    """(layers up to and including ``layer_name``, the layers after it)."""
    layers = chain_layers(model)
    names = [layer.name for layer in layers]
    if layer_name not in names:
        raise ValueError(f"no layer named {layer_name!r}; layers: {names}")
    cut = names.index(layer_name) + 1
    return layers[:cut], layers[cut:]


def any_size_model(model, layer_name):
    """The model up to ``layer_name``, taking images of any size: the book grows 64x64
    patterns with VGG16, built without an input size, but a convnet built for 150x150 (ours)
    checks its input. Such a model's layers up to ``layer_name`` are rebuilt on an input of
    any size (``Input(shape=(None, None, channels))``) with copies of their weights."""
    from ..nn.layers.base import Input
    from ..nn.model import Model

    layers, _ = split_at(model, layer_name)
    if tuple(model.input.shape[1:3]) == (None, None):
        return model
    inputs = Input(shape=(None, None, model.input.shape[-1]))
    x = inputs
    for layer in layers:
        config = {k: v for k, v in layer.get_config().items() if k != "batch_input_shape"}
        copy = type(layer).from_config(config)
        x = copy(x)
        copy.set_weights(layer.get_weights())
    return Model(inputs, x)


def conv_layer_names(model) -> list:
    """Names of the model's Conv2D layers, in order."""
    from ..nn.layers.conv import Conv2D
    return [layer.name for layer in chain_layers(model) if isinstance(layer, Conv2D)]


# --- 5.4.1 intermediate activations ------------------------------------------------------------
def layer_activations(model, img_tensor, count=8) -> list:
    """Listings 5.27-5.28: one model, one input, an output per layer of the first ``count``."""
    from ..nn.model import Model

    layer_outputs = [layer.output for layer in model.layers[:count]]
    activation_model = Model(inputs=model.input, outputs=layer_outputs)
    activations = activation_model.predict(img_tensor)
    return activations if isinstance(activations, list) else [activations]


def channel_image(channel_image) -> np.ndarray:
    """Listing 5.31, one channel made visible: standardised, x64 +128, clipped to 0..255.
    A channel that is zero everywhere stays a flat mid-grey (nothing to standardise)."""
    channel_image = channel_image - channel_image.mean()
    std = channel_image.std()
    if std > 0:                      # the book divides by std and gets NaN on blank channels
        channel_image = channel_image / std
    channel_image = channel_image * 64 + 128
    return np.clip(channel_image, 0, 255).astype('uint8')


def activation_grid(layer_activation, images_per_row=16) -> np.ndarray:
    """Listing 5.31: every channel of one layer's activation (1, size, size, n_features)
    tiled ``images_per_row`` to a row: (rows * size, images_per_row * size) uint8."""
    n_features = layer_activation.shape[-1]
    size = layer_activation.shape[1]
    n_cols = -(-n_features // images_per_row)      # the book's n_features // images_per_row, rounded up
    display_grid = np.zeros((size * n_cols, images_per_row * size), dtype='uint8')
    for col in range(n_cols):
        for row in range(images_per_row):
            index = col * images_per_row + row
            if index < n_features:
                display_grid[col * size: (col + 1) * size,
                             row * size: (row + 1) * size] = channel_image(layer_activation[0, :, :, index])
    return display_grid


def blank_channels(layer_activation) -> int:
    """How many channels are zero everywhere: the book's "deeper layers are sparser" (L8583)."""
    return int(np.sum(np.abs(layer_activation[0]).max(axis=(0, 1)) == 0))


# --- 5.4.2 filter patterns by gradient ascent -------------------------------------------------
def pattern_iterate(model, layer_name, filter_index):
    """Listings 5.32-5.35 as printed: the mean activation of one filter, its gradient with
    respect to the input image divided by its root mean square (+1e-5, "gradient
    normalisation"), as one K.function: image batch -> [loss, normalised gradient]."""
    layer_output = model.get_layer(layer_name).output
    loss = K.mean(layer_output[:, :, :, filter_index])
    grads = K.gradients(loss, model.input)[0]
    grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    iterate = K.function([model.input], [loss, grads])
    return iterate


def deprocess_image(x) -> np.ndarray:
    """Listing 5.37: zero mean, std 0.1, +0.5, clipped to [0, 1], then 0..255 uint8."""
    x = x - x.mean()
    x /= (x.std() + 1e-5)
    x *= 0.1
    x += 0.5
    x = np.clip(x, 0, 1)
    x *= 255
    return np.clip(x, 0, 255).astype('uint8')


def grey_noise(n, size, seed=0) -> np.ndarray:
    """Listing 5.36's start: ``np.random.random((1, size, size, 3)) * 20 + 128``, n of them."""
    rng = np.random.RandomState(seed)
    return (rng.random_sample((n, size, size, 3)) * 20 + 128.).astype('float32')


def layer_means(model, layer_name, images) -> np.ndarray:
    """Each filter's mean activation over each image: (n, filters)."""
    model = any_size_model(model, layer_name)
    activation = K.function([model.input], [model.get_layer(layer_name).output])([images])[0]
    return activation.mean(axis=(1, 2))


def responding_filters(model, layer_name, size=150, seed=0) -> list:
    """The filters of ``layer_name`` whose mean activation on the starting grey noise is above
    zero. A filter that is zero there (a ReLU below its threshold everywhere) has a zero
    gradient: its pattern never leaves the noise."""
    means = layer_means(model, layer_name, grey_noise(1, size, seed))[0]
    return [int(i) for i in np.flatnonzero(means > 0)]


def generate_pattern(model, layer_name, filter_index, size=150, steps=40, step=1., input_img_data=None,
                     losses=None):
    """Listing 5.38 as printed (its 40 steps: ``steps``): the image that maximally activates
    one filter, as uint8 (size, size, 3). ``input_img_data``: the starting image (default the
    book's grey noise); ``losses`` (a list, optional) gets the loss before each step and after
    the last. As in the book, the noise goes to the network without the network's own input
    scaling (VGG16's mean subtraction, our convnet's /255): the gradient of a filter's mean
    activation is then large beside the 1e-5 of the normalisation, and every step moves the
    image by about ``step``."""
    model = any_size_model(model, layer_name)
    iterate = pattern_iterate(model, layer_name, filter_index)
    if input_img_data is None:
        input_img_data = np.random.random((1, size, size, 3)) * 20 + 128.
    for i in range(steps):
        loss_value, grads_value = iterate([input_img_data])
        input_img_data += grads_value * step
        if losses is not None:
            losses.append(float(loss_value))
    if losses is not None:
        losses.append(float(iterate([input_img_data])[0]))
    img = input_img_data[0]
    return deprocess_image(img)


def generate_patterns(model, layer_name, filter_indices, size=150, steps=40, step=1., seed=0):
    """Listing 5.38 for several filters, each from its own grey noise (drawn together,
    ``grey_noise``, so a seed gives the same starts). Returns (patterns (n, size, size, 3)
    uint8, losses (steps + 1, n): each filter's mean activation before every step and after
    the last)."""
    starts = grey_noise(len(filter_indices), size, seed)
    patterns, history = [], []
    for start, filter_index in zip(starts, filter_indices):
        losses = []
        patterns.append(generate_pattern(model, layer_name, filter_index, size, steps, step,
                                         input_img_data=start[None].copy(), losses=losses))
        history.append(losses)
    return np.stack(patterns), np.array(history).T


def pattern_grid(patterns, per_row=8, margin=5) -> np.ndarray:
    """Listing 5.39: the patterns in a grid, ``margin`` black pixels between them."""
    n, size = len(patterns), patterns.shape[1]
    rows = -(-n // per_row)
    results = np.zeros((rows * size + (rows - 1) * margin, per_row * size + (per_row - 1) * margin, 3),
                       dtype='uint8')
    for index, pattern in enumerate(patterns):
        i, j = divmod(index, per_row)
        top, left = i * (size + margin), j * (size + margin)
        results[top: top + size, left: left + size, :] = pattern
    return results


# --- 5.4.3 Grad-CAM --------------------------------------------------------------------------
def grad_cam(model, x, class_score, last_conv_layer_name) -> np.ndarray:
    """Listings 5.42-5.43 as printed: a class activation map of one image ``x`` (1, h, w, 3).

    ``class_score(model.output)`` picks the class's output (the book: ``model.output[:, 386]``,
    African elephant; it may be any K expression, e.g. ``1 - model.output[:, 0]``). Its
    gradient with respect to the last convolution's output (an intermediate activation), averaged
    per channel, weights each channel of that output; the channels are averaged, and the map is
    kept positive and scaled to a maximum of 1. Returns the heatmap (h', w') of the feature map's size."""
    class_output = class_score(model.output)
    last_conv_layer = model.get_layer(last_conv_layer_name)
    grads = K.gradients(class_output, last_conv_layer.output)[0]
    pooled_grads = K.mean(grads, axis=(0, 1, 2))
    iterate = K.function([model.input],
                         [pooled_grads, last_conv_layer.output[0]])
    pooled_grads_value, conv_layer_output_value = iterate([x])
    for i in range(pooled_grads_value.shape[0]):       # the book: range(512), block5_conv3's channels
        conv_layer_output_value[:, :, i] *= pooled_grads_value[i]
    heatmap = np.mean(conv_layer_output_value, axis=-1)
    heatmap = np.maximum(heatmap, 0)
    peak = np.max(heatmap)
    return heatmap / peak if peak > 0 else heatmap       # the book divides by the max (NaN if 0)


def superimpose(heatmap, img, intensity=0.4) -> np.ndarray:
    """Listing 5.44 as printed, on arrays: the heatmap resized to the image, made 8-bit,
    coloured with the jet map, times 0.4, added to the image and saturated to uint8 as
    ``cv2.imwrite`` does. ``img`` is RGB (h, w, 3); OpenCV works in BGR, so the photo is
    flipped on the way in and the result on the way out."""
    from ..preprocessing import opencv as cv2

    img = np.asarray(img)[..., ::-1]                                     # cv2.imread gives BGR
    heatmap = cv2.resize(heatmap, (img.shape[1], img.shape[0]))
    heatmap = np.uint8(255 * heatmap)
    heatmap = cv2.applyColorMap(heatmap, cv2.COLORMAP_JET)
    superimposed_img = heatmap * intensity + img
    return cv2.saturate_uint8(superimposed_img)[..., ::-1]               # what cv2.imwrite stores, as RGB


# --- files -----------------------------------------------------------------------------------
def save_png(path, image, title=None, cmap="viridis"):
    """One image as a PNG with a title above it (the book's plt.imshow / plt.title)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = image.shape[:2]
    scale = 1 / 100 * max(1.0, 400 / max(width, 1))          # at least 400 px wide
    fig = plt.figure(figsize=(width * scale, height * scale + 0.8))
    ax = fig.add_axes([0, 0, 1, height * scale / (height * scale + 0.8)])   # 0.8 in for the title
    ax.imshow(image, aspect="equal", cmap=None if image.ndim == 3 else cmap)
    ax.axis("off")
    if title:
        fig.suptitle(_wrapped(title, width * scale * 100), fontsize=9, y=0.995, va="top")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_grids(path, grids, titles, title=None, cmap="viridis", width=10.0):
    """Several images stacked in one PNG, each with its title (listing 5.31 draws one figure
    per layer; one file holds them all here)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [width * g.shape[0] / g.shape[1] for g in grids]
    fig, axes = plt.subplots(len(grids), 1, figsize=(width, sum(heights) + 0.35 * len(grids) + 0.6),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, grid, name in zip(axes[:, 0], grids, titles):
        ax.imshow(grid, aspect="auto", cmap=None if grid.ndim == 3 else cmap)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(_wrapped(title, width * 100), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))   # room for the suptitle
    fig.savefig(path, dpi=80)
    plt.close(fig)
    _to_palette(path)
    return path


def _to_palette(path):
    """Rewrite a PNG with 256 colours: a tall page of viridis grids shrinks about fourfold."""
    from PIL import Image
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(256)
    small.save(path, optimize=True)


def _wrapped(title, width_px, char_px=7.5):
    """The title broken into lines that fit ``width_px`` (about 7.5 px a character at 9 pt)."""
    import textwrap
    return "\n".join(textwrap.fill(line, max(20, int(width_px / char_px))) for line in title.split("\n"))
