"""Section 5.4's three ways to see inside a convnet, written with the eager autograd engine.

* what each layer makes of one image: its activations, channel by channel (listings 5.25-5.31);
* what each filter responds to: an input image grown by gradient ascent (listings 5.32-5.39);
* where the network looks for a class: a Grad-CAM heatmap (listings 5.40-5.44).

The book writes the last two with Keras' backend ``K`` (``K.gradients``, ``K.function``).
Here a gradient is what it is in the engine: make a Tensor that requires a gradient, run the
layers on it, call ``backward()`` on a scalar, read ``.grad``. For Grad-CAM the model runs in
two parts, the convolutions and then the classifier, so the gradient is taken with respect to
the last convolution's output, a leaf of the second part.

The functions take a model whose layers form a chain (a ``Sequential``, or VGG16 as Keras
builds it). Images are numpy arrays; what comes back is numpy too.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad


# --- running a chain of layers on a Tensor ----------------------------------------------------
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


def run_layers(layers, x: Tensor) -> Tensor:
    """Apply ``layers`` in turn, in inference mode; autograd records every step.

    ``layer.call`` is the computation without the check of the input shape the layer was built
    for: a convolution slides over an image of any size (the book grows 64x64 patterns with
    VGG16, built without an input size)."""
    for layer in layers:
        x = layer.call(x, training=False)
    return x


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
def filter_means(layers, images: Tensor, filter_indices) -> Tensor:
    """Listing 5.32 for a batch: image i's loss is the mean of filter ``filter_indices[i]``'s
    activation over its own output map, ``K.mean(layer_output[:, :, :, filter_index])``.
    Returns the (n,) losses; their sum is a scalar whose gradient, for image i, is image i's
    own gradient (the images never meet in a convnet in inference mode)."""
    activation = run_layers(layers, images)             # (n, h, w, channels)
    n, h, w, channels = activation.shape
    pick = np.zeros((n, 1, 1, channels), dtype=np.float32)
    pick[np.arange(n), 0, 0, list(filter_indices)] = 1.0 / (h * w)   # one filter per image, averaged
    return (activation * Tensor(pick, device=activation.device)).sum(axis=(1, 2, 3))


def ascent_step(layers, input_img_data, filter_indices, step=1.):
    """One step of listings 5.33-5.36: the gradient of each image's loss with respect to the
    image, divided by its root mean square (+1e-5, "gradient normalisation"), times ``step``,
    added to the image. Returns (new images, the losses before the step)."""
    images = Tensor(input_img_data, requires_grad=True)
    losses = filter_means(layers, images, filter_indices)
    losses.sum().backward()
    grads = images.grad.numpy()
    rms = np.sqrt(np.mean(np.square(grads), axis=(1, 2, 3), keepdims=True))
    grads = grads / (rms + 1e-5)
    return input_img_data + grads * step, losses.numpy()


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


def responding_filters(model, layer_name, size=150, seed=0) -> list:
    """The filters of ``layer_name`` whose mean activation on the starting grey noise is above
    zero. A filter that is zero there (a ReLU below its threshold everywhere) has a zero
    gradient: its pattern never leaves the noise."""
    layers, _ = split_at(model, layer_name)
    with no_grad():
        activation = run_layers(layers, Tensor(grey_noise(1, size, seed))).numpy()
    return [int(i) for i in np.flatnonzero(activation[0].mean(axis=(0, 1)) > 0)]


def generate_patterns(model, layer_name, filter_indices, size=150, steps=40, step=1., seed=0):
    """Listings 5.36 and 5.38 for several filters at once, one image per filter: from grey
    noise, ``steps`` gradient-ascent steps of ``step``. As in the book, the noise goes to the
    network as it is, without the network's own input scaling (VGG16's mean subtraction there,
    our convnet's /255 here): the gradient of a filter's mean activation is then large beside
    the 1e-5 of the normalisation, and every step moves the image by about ``step``. Returns (patterns (n, size, size, 3)
    uint8, losses (steps + 1, n): each filter's mean activation before every step and after
    the last)."""
    layers, _ = split_at(model, layer_name)
    input_img_data = grey_noise(len(filter_indices), size, seed)
    history = []
    for _ in range(steps):
        input_img_data, losses = ascent_step(layers, input_img_data, filter_indices, step)
        history.append(losses)
    with no_grad():
        history.append(filter_means(layers, Tensor(input_img_data), filter_indices).numpy())
    patterns = np.stack([deprocess_image(img) for img in input_img_data])
    return patterns, np.array(history)


def generate_pattern(model, layer_name, filter_index, size=150, steps=40, step=1., seed=0):
    """Listing 5.38: the image that maximally activates one filter, as uint8 (size, size, 3)."""
    patterns, _ = generate_patterns(model, layer_name, [filter_index], size, steps, step, seed)
    return patterns[0]


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
    """Listings 5.42-5.43: a class activation map of one image ``x`` (1, h, w, 3).

    ``class_score(predictions) -> Tensor`` picks the score of the class from the model's output
    (the book: ``model.output[:, 386]``, African elephant). The model runs in two parts: the
    layers up to ``last_conv_layer_name``, then the rest, started from that layer's output as a
    leaf Tensor, so that ``backward`` gives the gradient of the class score with respect to each
    channel of the feature map. Each channel is weighted by the mean of its gradient, the
    channels are averaged, and the map is kept positive and scaled to a maximum of 1.
    Returns the heatmap (h', w') of the feature map's size."""
    features, classifier = split_at(model, last_conv_layer_name)
    with no_grad():
        conv_layer_output = run_layers(features, Tensor(x)).numpy()
    conv_output = Tensor(conv_layer_output, requires_grad=True)
    class_score(run_layers(classifier, conv_output)).sum().backward()
    grads = conv_output.grad.numpy()
    pooled_grads = grads.mean(axis=(0, 1, 2))            # (channels,): K.mean(grads, axis=(0, 1, 2))
    heatmap = np.mean(conv_layer_output[0] * pooled_grads, axis=-1)
    heatmap = np.maximum(heatmap, 0)
    peak = np.max(heatmap)
    return heatmap / peak if peak > 0 else heatmap       # the book divides by the max (NaN if 0)


def superimpose(heatmap, img, intensity=0.4) -> np.ndarray:
    """Listing 5.44: the heatmap resized to the image, coloured with the jet map, times 0.4,
    added to the image (uint8 RGB (h, w, 3)). The book does it with OpenCV (BGR); here Pillow
    resizes and matplotlib colours, in RGB."""
    from matplotlib import colormaps
    from PIL import Image

    h, w = img.shape[:2]
    heatmap = np.uint8(255 * heatmap)
    heatmap = np.asarray(Image.fromarray(heatmap).resize((w, h), Image.BILINEAR))
    coloured = colormaps["jet"](heatmap)[..., :3] * 255         # cv2.applyColorMap(..., COLORMAP_JET)
    superimposed_img = coloured * intensity + img
    return np.clip(superimposed_img, 0, 255).astype('uint8')     # cv2.imwrite saturates the same way


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
