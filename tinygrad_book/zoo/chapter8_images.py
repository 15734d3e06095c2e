"""Chapter 8's two image generators, written with Keras' backend `K` as the book prints them:

* DeepDream (8.2.1, listings 8.8-8.13): gradient ascent on a photo, octave by octave, to
  raise the activations of InceptionV3's mixed2-mixed5;
* neural style transfer (8.3.3, listings 8.14-8.22): VGG19 on the batch (photo, painting,
  result), the content, style and total variation losses, scipy's L-BFGS on the pixels.

Only the imports are swapped (`keras.backend` -> `tinygrad_book.backend`,
`keras.applications` -> `tinygrad_book.applications`, `scipy.misc.imsave` -> Pillow through
`preprocessing.image.save_img`); docs/backend.md tells how the symbolic code runs eagerly.

Both networks need Keras' ImageNet weights, a download. With the file on disk
(<data folder>/models/) the listings run on it, as the book. Offline they run on RANDOM
weights and say so in their result, the image titles and the notes:

* InceptionV3 (DeepDream): random weights as built. Inference-mode batch norm with its
  initial statistics (mean 0, variance 1) lets the activations shrink layer by layer: the
  loss is ~1e-4 and the gradient's mean falls under the 1e-7 floor of listing 8.11's
  normalisation, so each step moves a pixel by ~0.003 instead of 0.01. (Measured: with the
  batch-norm statistics set from the photo itself, the loss starts at ~4.6 and passes
  max_loss = 10 after one step, so every octave stops at once; the ImageNet network climbs
  slowly enough for the book's 20 steps.)
* VGG19 (style transfer): random weights as built.

    python -m tinygrad_book.cli reproduce --ids ch8-deepdream-inceptionv3 ch8-neural-style-transfer-vgg19 --reduced
"""
from __future__ import annotations

import time

import numpy as np
import scipy.ndimage
from scipy.optimize import fmin_l_bfgs_b

from .. import backend as K
from ..applications import inception_v3, vgg19
from ..preprocessing import image
from ..preprocessing.image import img_to_array, load_img
from .checks import at_least, below
from .entry import Data, Entry
from .plots import figures_folder
from .runner import or_default

ENTRIES: list = []

DREAM_PHOTO = "images/chelsea.png"             # a cat, 451x300: the book's 300-400 px (L14552-L14557)
TARGET_PHOTO = "images/tuebingen.jpg"          # fig 8.7's photo, 800x600
STYLE_PAINTING = "images/starry_night.jpg"     # fig 8.7's Van Gogh, 576x448
RANDOM_DREAM = "RANDOM InceptionV3 weights (ImageNet weights not on disk)"
RANDOM_STYLE = "RANDOM VGG19 weights (ImageNet weights not on disk)"


def book_photo(relpath, tiny=False, size=(40, 48)):
    """The path of a photo in the data folder (``images/...``). Tiny runs: a smooth synthetic
    picture of ``size`` written to the figures folder (no file needed)."""
    from ..data.download import DatasetNotFoundError, data_home

    if tiny:
        yy, xx = np.mgrid[:size[0], :size[1]]
        seed = sum(map(ord, relpath))
        phase = np.random.default_rng(seed).uniform(0, 6, size=3)
        rgb = np.stack([np.sin(yy / 5 + p) * np.cos(xx / 7 - p) for p in phase], axis=-1) * 100 + 128
        path = figures_folder() / f"tiny-{relpath.replace('/', '-')}.png"
        image.save_img(str(path), rgb.astype("uint8"), scale=False)
        return str(path)
    path = data_home() / relpath
    if not path.is_file():
        raise DatasetNotFoundError(path.name, None, path, "the photo is not in the data folder")
    return str(path)


def imagenet_on_disk(weights_table, include_top=False) -> bool:
    """Whether Keras' ImageNet weight file of a network is in <data folder>/models/ (never downloads)."""
    from ..data.download import data_home
    fname = weights_table[include_top][0]
    return (data_home() / "models" / fname).is_file()


# --- 8.2 DeepDream (listings 8.8-8.13) ---------------------------------------------------------
def tiny_mixed_model():
    """Tests: four small convolutions named as InceptionV3's mixed2-mixed5, any image size."""
    from .. import layers, models
    inputs = layers.Input(shape=(None, None, 3))
    x = inputs
    for name in ('mixed2', 'mixed3', 'mixed4', 'mixed5'):
        x = layers.Conv2D(4, 3, activation='relu', padding='same', name=name)(x)
    return models.Model(inputs, x)


def inception_model(tiny=False):
    """Listing 8.8 (K.set_learning_phase(0) is set by the caller); (model, what it is)."""
    if tiny:
        return tiny_mixed_model(), "a tiny stand-in of four convolutions named mixed2-mixed5"
    if imagenet_on_disk(inception_v3.IMAGENET_WEIGHTS):
        return inception_v3.InceptionV3(weights='imagenet', include_top=False), "InceptionV3 (ImageNet weights)"
    model = inception_v3.InceptionV3(weights=None, include_top=False)
    return model, RANDOM_DREAM


def dream_loss(model, layer_contributions):
    """Listing 8.10: the weighted sum of the L2 norms of the layers' activations (borders cut)."""
    layer_dict = dict([(layer.name, layer) for layer in model.layers])
    loss = K.variable(0.)
    for layer_name in layer_contributions:
        coeff = layer_contributions[layer_name]
        activation = layer_dict[layer_name].output
        scaling = K.prod(K.cast(K.shape(activation), 'float32'))
        loss += coeff * K.sum(K.square(activation[:, 2: -2, 2: -2, :])) / scaling
    return loss


def dream_function(model, loss):
    """Listing 8.11, first half: the gradient of the loss w.r.t. the image, normalised."""
    dream = model.input
    grads = K.gradients(loss, dream)[0]
    grads /= K.maximum(K.mean(K.abs(grads)), 1e-7)
    outputs = [loss, grads]
    fetch_loss_and_grads = K.function([dream], outputs)
    return fetch_loss_and_grads


def gradient_ascent_with(fetch_loss_and_grads, log=None):
    """Listing 8.11, second half, as printed; ``log`` collects (iteration, loss) pairs."""
    def eval_loss_and_grads(x):
        outs = fetch_loss_and_grads([x])
        loss_value = outs[0]
        grad_values = outs[1]
        return loss_value, grad_values

    def gradient_ascent(x, iterations, step, max_loss=None):
        for i in range(iterations):
            loss_value, grad_values = eval_loss_and_grads(x)
            if max_loss is not None and loss_value > max_loss:
                break
            print('...Loss value at', i, ':', loss_value)
            if log is not None:
                log.append(float(loss_value))
            x += step * grad_values
        return x
    return gradient_ascent


def resize_img(img, size):
    """Listing 8.13: a batch of one image zoomed to ``size`` (height, width), bilinear."""
    img = np.copy(img)
    factors = (1,
               float(size[0]) / img.shape[1],
               float(size[1]) / img.shape[2],
               1)
    return scipy.ndimage.zoom(img, factors, order=1)


def preprocess_dream_image(image_path):
    """Listing 8.13: a photo as a (1, h, w, 3) batch scaled to -1..1 (InceptionV3's input)."""
    img = load_img(image_path)
    img = img_to_array(img)
    img = np.expand_dims(img, axis=0)
    img = inception_v3.preprocess_input(img)
    return img


def deprocess_dream_image(x):
    """Listing 8.13: undo inception_v3.preprocess_input, to uint8 (h, w, 3)."""
    if K.image_data_format() == 'channels_first':
        x = x.reshape((3, x.shape[2], x.shape[3]))
        x = x.transpose((1, 2, 0))
    else:
        x = x.reshape((x.shape[1], x.shape[2], 3))
    x /= 2.
    x += 0.5
    x *= 255.
    x = np.clip(x, 0, 255).astype('uint8')
    return x


def save_dream_img(img, fname):
    """Listing 8.13's save_img (scipy.misc.imsave is gone from SciPy: Pillow writes it)."""
    pil_img = deprocess_dream_image(np.copy(img))
    image.save_img(fname, pil_img, scale=False)


def deep_dream(base_image_path, gradient_ascent, step=0.01, num_octave=3, octave_scale=1.4, iterations=20,
               max_loss=10., prefix='', on_octave=None):
    """Listing 8.12 as printed: ascent on successively larger scales, the lost detail
    re-injected after each. Files: ``prefix`` + 'dream_at_scale_(h, w).png', 'final_dream.png'.
    ``on_octave(shape)`` (optional) hears when an octave's ascent ends. Returns the image."""
    img = preprocess_dream_image(base_image_path)
    original_shape = img.shape[1:3]
    successive_shapes = [original_shape]
    for i in range(1, num_octave):
        shape = tuple([int(dim / (octave_scale ** i))
                       for dim in original_shape])
        successive_shapes.append(shape)
    successive_shapes = successive_shapes[::-1]
    original_img = np.copy(img)
    shrunk_original_img = resize_img(img, successive_shapes[0])
    for shape in successive_shapes:
        print('Processing image shape', shape)
        img = resize_img(img, shape)
        img = gradient_ascent(img,
                              iterations=iterations,
                              step=step,
                              max_loss=max_loss)
        if on_octave is not None:
            on_octave(shape)
        upscaled_shrunk_original_img = resize_img(shrunk_original_img, shape)
        same_size_original = resize_img(original_img, shape)
        lost_detail = same_size_original - upscaled_shrunk_original_img
        img += lost_detail
        shrunk_original_img = resize_img(original_img, shape)
        save_dream_img(img, fname=prefix + 'dream_at_scale_' + str(shape) + '.png')
    save_dream_img(img, fname=prefix + 'final_dream.png')
    return img


LAYER_CONTRIBUTIONS = {'mixed2': 0.2, 'mixed3': 3., 'mixed4': 2., 'mixed5': 1.5}   # listing 8.9


def run_deepdream(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 8.8-8.13 on ``DREAM_PHOTO``: ``epochs`` = iterations per octave (book: 20).
    ``entry.extra['max_side']``: the photo shrunk to this longest side first (None: as it is)."""
    start = time.perf_counter()
    iterations = or_default(epochs, entry.epochs)
    extra = entry.extra
    photo = book_photo(DREAM_PHOTO, tiny)
    if extra.get("max_side") and not tiny:
        photo = shrunk_copy(photo, extra["max_side"])
    folder = figures_folder()
    previous = K._STATE["learning_phase"]
    K.set_learning_phase(0)
    try:
        model, what = inception_model(tiny)
        if model_out is not None:
            model_out.append(model)
        losses, octaves = [], []
        fetch_loss_and_grads = dream_function(model, dream_loss(model, LAYER_CONTRIBUTIONS))
        ascent = gradient_ascent_with(fetch_loss_and_grads, log=losses)

        def on_octave(shape):       # the losses logged since the previous octave
            done = sum(len(o["losses"]) for o in octaves)
            octaves.append({"shape": list(shape), "losses": losses[done:]})
        dream = deep_dream(photo, ascent, step=extra["step"], num_octave=extra["num_octave"],
                           octave_scale=extra["octave_scale"], iterations=iterations, max_loss=extra["max_loss"],
                           prefix=str(folder / "ch8-dream-"), on_octave=on_octave)
    finally:
        K._STATE["learning_phase"] = previous
    figures = rename_dream_files(folder, [o["shape"] for o in octaves])
    before = deprocess_dream_image(preprocess_dream_image(photo))
    after = deprocess_dream_image(np.copy(dream))
    from .visualize import save_png
    side_by_side = np.concatenate([before, np.zeros((before.shape[0], 8, 3), 'uint8'), after], axis=1)
    save_png(folder / "ch8-dream.png", side_by_side,
             title=f"DeepDream (listings 8.8-8.13), {iterations} iterations x {len(octaves)} octaves on "
                   f"{'a synthetic picture' if tiny else DREAM_PHOTO.split('/')[-1]}: photo | dream. Network: {what}")
    first = [o["losses"][0] if o["losses"] else None for o in octaves]
    last = [o["losses"][-1] if o["losses"] else None for o in octaves]
    rises = all(len(o["losses"]) > 1 and o["losses"][-1] > o["losses"][0] for o in octaves)
    return {"source": "synthetic" if tiny else "images", "model": what, "history": {}, "epochs": iterations,
            "batch_size": 1, "octaves": octaves, "image_shape": list(after.shape),
            "octave_loss_rises": float(rises), "first_losses": first, "final_loss": last[-1],
            "figures": ["ch8-dream.png"] + figures, "wall_time": time.perf_counter() - start}


def rename_dream_files(folder, shapes):
    """The book's file names -> ours: ch8-dream-at-scale-HxW.png, ch8-dream-final.png."""
    names = []
    for shape in shapes:
        new = folder / f"ch8-dream-at-scale-{shape[0]}x{shape[1]}.png"
        (folder / f"ch8-dream-dream_at_scale_{tuple(shape)}.png").replace(new)
        names.append(new.name)
    (folder / "ch8-dream-final_dream.png").replace(folder / "ch8-dream-final.png")
    return names + ["ch8-dream-final.png"]


def shrunk_copy(path, max_side):
    """A copy of a photo with its longest side ``max_side`` (a REDUCED run: fewer pixels)."""
    from PIL import Image
    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = max_side / max(img.size)
        if scale < 1:
            img = img.resize((round(img.size[0] * scale), round(img.size[1] * scale)), Image.BILINEAR)
        out = figures_folder() / f"shrunk-{max_side}-{path.split('/')[-1].rsplit('.', 1)[0]}.png"
        img.save(out)
    return str(out)


ENTRIES.append(Entry(
    id="ch8-deepdream-inceptionv3", chapter=8, section="8.2.1", listings="8.8-8.13", lines="L14269-L14570",
    dataset=f"images ({DREAM_PHOTO.split('/')[-1]})", build_model=tiny_mixed_model,
    load_data=lambda tiny=False: Data(x_train=np.zeros(0), y_train=None, source="images"),
    epochs=20, batch_size=1, book_result="images only (figs 8.5-8.6)", metric="octave_loss_rises",
    run=run_deepdream, check=at_least("octave_loss_rises", 1.0),
    extra={"step": 0.01, "num_octave": 3, "octave_scale": 1.4, "max_loss": 10., "max_side": None},
    notes=("epochs = iterations per octave. Offline: " + RANDOM_DREAM + "; with Keras' "
           "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 in <data>/models/ it runs on the "
           "ImageNet weights as the book. Images: docs/img/ch8-dream*.png.")))


# --- 8.3 neural style transfer (listings 8.14-8.22) ----------------------------------------------
def style_transfer(target_image_path, style_reference_image_path, result_prefix='my_result', img_height=400,
                   iterations=20, weights='imagenet', maxfun=20, log=None):
    """Listings 8.14-8.22 as printed, the book's globals made arguments. Saves
    ``result_prefix`` + '_at_iteration_%d.png' after each L-BFGS run; returns the last image
    (uint8) and the model. ``log`` (a dict, optional) gets the loss after each iteration."""
    width, height = load_img(target_image_path).size
    img_width = int(width * img_height / height)

    def preprocess_image(image_path):
        img = load_img(image_path, target_size=(img_height, img_width))
        img = img_to_array(img)
        img = np.expand_dims(img, axis=0)
        img = vgg19.preprocess_input(img)
        return img

    def deprocess_image(x):
        x[:, :, 0] += 103.939
        x[:, :, 1] += 116.779
        x[:, :, 2] += 123.68
        x = x[:, :, ::-1]
        x = np.clip(x, 0, 255).astype('uint8')
        return x

    target_image = K.constant(preprocess_image(target_image_path))
    style_reference_image = K.constant(preprocess_image(style_reference_image_path))
    combination_image = K.placeholder((1, img_height, img_width, 3))
    input_tensor = K.concatenate([target_image,
                                  style_reference_image,
                                  combination_image], axis=0)
    model = vgg19.VGG19(input_tensor=input_tensor,
                        weights=weights,
                        include_top=False)
    print('Model loaded.')

    def content_loss(base, combination):
        return K.sum(K.square(combination - base))

    def gram_matrix(x):
        features = K.batch_flatten(K.permute_dimensions(x, (2, 0, 1)))
        gram = K.dot(features, K.transpose(features))
        return gram

    def style_loss(style, combination):
        S = gram_matrix(style)
        C = gram_matrix(combination)
        channels = 3
        size = img_height * img_width
        return K.sum(K.square(S - C)) / (4. * (channels ** 2) * (size ** 2))

    def total_variation_loss(x):
        a = K.square(
            x[:, :img_height - 1, :img_width - 1, :] -
            x[:, 1:, :img_width - 1, :])
        b = K.square(
            x[:, :img_height - 1, :img_width - 1, :] -
            x[:, :img_height - 1, 1:, :])
        return K.sum(K.pow(a + b, 1.25))

    outputs_dict = dict([(layer.name, layer.output) for layer in model.layers])
    content_layer = 'block5_conv2'
    style_layers = ['block1_conv1',
                    'block2_conv1',
                    'block3_conv1',
                    'block4_conv1',
                    'block5_conv1']
    total_variation_weight = 1e-4
    style_weight = 1.
    content_weight = 0.025

    loss = K.variable(0.)
    layer_features = outputs_dict[content_layer]
    target_image_features = layer_features[0, :, :, :]
    combination_features = layer_features[2, :, :, :]
    loss += content_weight * content_loss(target_image_features,
                                          combination_features)
    for layer_name in style_layers:
        layer_features = outputs_dict[layer_name]
        style_reference_features = layer_features[1, :, :, :]
        combination_features = layer_features[2, :, :, :]
        sl = style_loss(style_reference_features, combination_features)
        loss += (style_weight / len(style_layers)) * sl
    loss += total_variation_weight * total_variation_loss(combination_image)

    grads = K.gradients(loss, combination_image)[0]
    fetch_loss_and_grads = K.function([combination_image], [loss, grads])

    class Evaluator(object):

        def __init__(self):
            self.loss_value = None
            self.grads_values = None

        def loss(self, x):
            assert self.loss_value is None
            x = x.reshape((1, img_height, img_width, 3))
            outs = fetch_loss_and_grads([x])
            loss_value = outs[0]
            grad_values = outs[1].flatten().astype('float64')
            self.loss_value = loss_value
            self.grad_values = grad_values
            return self.loss_value

        def grads(self, x):
            assert self.loss_value is not None
            grad_values = np.copy(self.grad_values)
            self.loss_value = None
            self.grad_values = None
            return grad_values

    evaluator = Evaluator()

    x = preprocess_image(target_image_path)
    x = x.flatten()
    if log is not None:
        log["start_loss"] = float(fetch_loss_and_grads([x.reshape((1, img_height, img_width, 3))])[0])
    for i in range(iterations):
        print('Start of iteration', i)
        start_time = time.time()
        x, min_val, info = fmin_l_bfgs_b(evaluator.loss,
                                         x,
                                         fprime=evaluator.grads,
                                         maxfun=maxfun)
        print('Current loss value:', min_val)
        img = x.copy().reshape((img_height, img_width, 3))
        img = deprocess_image(img)
        fname = result_prefix + '_at_iteration_%d.png' % i
        image.save_img(fname, img, scale=False)
        print('Image saved as', fname)
        end_time = time.time()
        print('Iteration %d completed in %ds' % (i, end_time - start_time))
        if log is not None:
            log.setdefault("loss", []).append(float(min_val))
            log.setdefault("seconds", []).append(end_time - start_time)
    return img, model


def run_style_transfer(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 8.14-8.22: the Tübingen photo in the style of The Starry Night. ``epochs`` =
    L-BFGS iterations (book: 20 of maxfun=20); ``entry.extra['img_height']`` (book: 400)."""
    start = time.perf_counter()
    iterations = or_default(epochs, entry.epochs)
    img_height = 16 if tiny else entry.extra["img_height"]
    maxfun = 3 if tiny else entry.extra["maxfun"]
    target = book_photo(TARGET_PHOTO, tiny, size=(24, 32))
    style = book_photo(STYLE_PAINTING, tiny, size=(28, 36))
    on_disk = not tiny and imagenet_on_disk({False: vgg19_notop()})
    what = "VGG19 (ImageNet weights)" if on_disk else RANDOM_STYLE
    folder = figures_folder()
    log = {}
    result_img, model = style_transfer(target, style, result_prefix=str(folder / "ch8-style"), img_height=img_height,
                                       iterations=iterations, weights='imagenet' if on_disk else None,
                                       maxfun=maxfun, log=log)
    if model_out is not None:
        model_out.append(model)
    figures = [f"ch8-style_at_iteration_{i}.png" for i in sorted({0, iterations // 2, iterations - 1})]
    for name in figures:
        (folder / name).replace(folder / name.replace("_at_iteration_", "-at-iteration-"))
    figures = [name.replace("_at_iteration_", "-at-iteration-") for name in figures]
    h, w = result_img.shape[:2]
    panels = [np.asarray(load_img(p, target_size=(h, w))) for p in (target, style)] + [result_img]
    gap = np.zeros((h, 8, 3), 'uint8')
    from .visualize import save_png
    save_png(folder / "ch8-style.png", np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1),
             title=f"Style transfer (listings 8.14-8.22), img_height {img_height}, {iterations} L-BFGS iterations "
                   f"(maxfun={maxfun}): photo | style | result. Network: {what}")
    losses = log.get("loss", [])
    return {"source": "synthetic" if tiny else "images", "model": what, "history": {"loss": losses},
            "epochs": iterations, "batch_size": 3, "img_height": img_height, "image_shape": [h, w, 3],
            "start_loss": log.get("start_loss"), "final_loss": losses[-1] if losses else None,
            "seconds_per_iteration": float(np.median(log["seconds"])) if log.get("seconds") else None,
                    "figures": ["ch8-style.png"] + figures, "wall_time": time.perf_counter() - start}


def vgg19_notop():
    from ..applications.vgg import IMAGENET_WEIGHTS
    return IMAGENET_WEIGHTS[("vgg19", False)]


ENTRIES.append(Entry(
    id="ch8-neural-style-transfer-vgg19", chapter=8, section="8.3.3", listings="8.14-8.22", lines="L14698-L15024",
    dataset="images (tuebingen.jpg, starry_night.jpg)", build_model=lambda: vgg19.VGG19(weights=None, include_top=False),
    load_data=lambda tiny=False: Data(x_train=np.zeros(0), y_train=None, source="images"),
    epochs=20, batch_size=3, book_result="images only (fig 8.8)", metric="final_loss",
    run=run_style_transfer, check=below("final_loss", "start_loss"),
    extra={"img_height": 400, "maxfun": 20},
    reduced=(1, "img_height 64 (85x64 pixels, the book 400) and 1 of the book's 20 L-BFGS iterations (maxfun=20): "
                "at height 100 one evaluation of loss and gradient took ~43 s on 2 CPU cores under a load average "
                "of 9-14 (iteration 0: 897 s for ~21 evaluations); the book's 20 x ~21 evaluations at height 400 "
                "(16x the pixels of height 100) would take days here"),
    reduced_extra={"img_height": 64},
    notes=("epochs = L-BFGS iterations (maxfun=20 each). Offline: " + RANDOM_STYLE + "; with Keras' "
           "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 in <data>/models/ it runs on the ImageNet "
           "weights as the book. Images: docs/img/ch8-style*.png.")))
