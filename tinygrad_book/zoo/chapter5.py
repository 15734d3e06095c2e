"""Chapter 5, "Deep learning for computer vision" (book lines L6492-L8320).

* 5.1: the first convnet, on MNIST (listings 5.1-5.3), and why it max-pools (5.1.2);
* 5.2: a convnet trained from scratch on 2,000 cats and dogs, read from folders with
  ``flow_from_directory`` (listings 5.4-5.10), then with data augmentation and dropout
  (listings 5.11-5.15);
* 5.3: Keras' VGG16 trained on ImageNet, as a feature extractor (listings 5.16-5.21) and
  fine-tuned (listings 5.22-5.24). These need Keras' released ImageNet weights, a download
  (tinygrad_book/applications); offline their runs stop at once and say so.

``tiny=True`` (the tests) runs every pipeline on a few synthetic images in the book's folder
layout, and the VGG16 ones on random weights at a small input size.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .checks import at_least, between
from .entry import Data, Entry
from .runner import fit_and_evaluate, history_numbers, plain_history
from .plots import figures_folder
from .shared import mnist_digits

ENTRIES: list[Entry] = []   # this chapter's experiments, in book order (the registry collects them)

IMAGE_SIZE = (150, 150)       # target_size=(150, 150) everywhere in 5.2 and 5.3
TINY_VGG_SIZE = (48, 48)      # tiny runs: the smallest input Keras allows; 1x1x512 features
NEEDS_IMAGENET = ("needs Keras' ImageNet weights for VGG16 (a download, "
                  "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, 58 MB); offline it stops with a message. "
                  "The tests run the whole pipeline on random weights.")


# --- 5.1 the MNIST convnet ---------------------------------------------------------------
def load_mnist_images(tiny=False):
    """Listing 5.3: MNIST as (n, 28, 28, 1) float32 in [0, 1], one-hot labels."""
    from ..utils import to_categorical

    (train_images, train_labels), (test_images, test_labels), source = mnist_digits(tiny)

    train_images = train_images.reshape((len(train_images), 28, 28, 1))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((len(test_images), 28, 28, 1))
    test_images = test_images.astype('float32') / 255

    train_labels = to_categorical(train_labels, 10)
    test_labels = to_categorical(test_labels, 10)
    return Data(train_images, train_labels, x_test=test_images, y_test=test_labels, source=source)


def mnist_convnet():
    """Listings 5.1-5.2 and the compile step of 5.3: 93,322 parameters."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    return model


def model_no_max_pool():
    """Section 5.1.2: the same convolutions without pooling (not trained in the book)."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    return model


def run_no_max_pool(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """The book's argument, computed: the last map is 22x22x64 = 30,976 numbers per digit, and
    a Dense(512) on it would need 15.8 M weights (L6878-L6881). Nothing is trained."""
    start = time.perf_counter()
    model = entry.build_model()
    final_map = model.output_shape[1:]
    coefficients = int(np.prod(final_map))
    if model_out is not None:
        model_out.append(model)
    return {"source": "none (not trained)", "final_map": list(final_map), "coefficients": coefficients,
            "params": model.count_params(), "dense_512_params": coefficients * 512 + 512,
            "history": {}, "wall_time": time.perf_counter() - start}


# --- 5.2 cats and dogs from folders -----------------------------------------------------
def cats_and_dogs_folder(tiny=False):
    """(folder with train|validation|test / cats|dogs, source). The book's subset (listing
    5.4), or for tests a few synthetic JPEGs in the same layout."""
    from ..datasets import cats_and_dogs

    if tiny:
        return synthetic_cats_and_dogs(), "synthetic"
    return cats_and_dogs.ensure_small_dataset(), "cats_and_dogs_small"


def synthetic_cats_and_dogs(per_class=4):
    """A folder in the book's layout with ``per_class`` random 40x40 JPEGs per class and subset:
    cats brighter than dogs, so that a few steps can learn something. Made once per cache."""
    from PIL import Image

    from ..data.download import cache_home

    folder = cache_home() / f"synthetic_cats_and_dogs_{per_class}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name, dir=folder.parent))
    rng = np.random.RandomState(0)
    for subset in ("train", "validation", "test"):
        for label, cls in enumerate(("cats", "dogs")):
            target = partial / subset / cls
            target.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.randint(0, 128, (40, 40, 3)) + 127 * (1 - label)
                Image.fromarray(pixels.astype(np.uint8)).save(target / f"{cls[:-1]}.{i}.jpg")
    try:
        os.rename(partial, folder)    # whole or not at all: a crash never leaves half a folder
    except OSError:                   # another process made it first
        shutil.rmtree(partial)
    return folder


AUGMENTATION = dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2,
                    shear_range=0.2, zoom_range=0.2, horizontal_flip=True)   # listings 5.11 / 5.14


def image_generators(tiny=False, batch_size=20, augment=False, fill_mode=None, target_size=IMAGE_SIZE):
    """Listing 5.7 (and 5.14 with ``augment``): rescaled images from the folders, binary labels.
    Data holds the generators: x_train the training one, x_val the validation one, x_test the test one."""
    from ..preprocessing.image import ImageDataGenerator

    base_dir, source = cats_and_dogs_folder(tiny)
    extra = dict(AUGMENTATION, **({"fill_mode": fill_mode} if fill_mode else {})) if augment else {}
    train_datagen = ImageDataGenerator(rescale=1./255, **extra)
    test_datagen = ImageDataGenerator(rescale=1./255)   # validation data is never augmented

    def flow(datagen, subset):
        return datagen.flow_from_directory(str(base_dir / subset), target_size=target_size,
                                           batch_size=batch_size, class_mode='binary')
    return Data(flow(train_datagen, "train"), None, x_val=flow(test_datagen, "validation"), y_val=None,
                x_test=flow(test_datagen, "test"), y_test=None, source=source)


def small_convnet(dropout=False):
    """Listings 5.5-5.6 (and 5.13 with ``dropout``): four conv/pool stages, 3,453,121 parameters."""
    from .. import layers, models, optimizers

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(150, 150, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(128, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(128, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    if dropout:
        model.add(layers.Dropout(0.5))
    model.add(layers.Dense(512, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.RMSprop(lr=1e-4),
                  metrics=['acc'])
    return model


def small_convnet_dropout():
    """Listing 5.13: Dropout(0.5) after Flatten."""
    return small_convnet(dropout=True)


def steps(entry, tiny):
    """(steps_per_epoch, validation_steps): the book's 100 and 50, or 2 and 1 on tiny data."""
    return (2, 1) if tiny else (entry.extra["steps_per_epoch"], entry.extra["validation_steps"])


def fit_on_generators(model, data, entry, epochs, tiny, verbose):
    """Listing 5.8: fit_generator with the validation generator; the numbers read off History."""
    steps_per_epoch, validation_steps = steps(entry, tiny)
    history = model.fit_generator(data.x_train, steps_per_epoch=steps_per_epoch, epochs=epochs,
                                  validation_data=data.x_val, validation_steps=validation_steps,
                                  verbose=verbose)
    return {"history": plain_history(history.history), **history_numbers(history.history)}


def run_generators(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Sections 5.2.4-5.2.5: a convnet trained from the folders, as the book does it."""
    data = image_generators(tiny, batch_size or entry.batch_size, augment=entry.extra.get("augment", False))
    model = entry.build_model()
    start = time.perf_counter()
    result = fit_on_generators(model, data, entry, epochs or entry.epochs, tiny, verbose)
    result.update(wall_time=time.perf_counter() - start, source=data.source)
    if not tiny:   # listings 5.9 / 5.15: model.save('cats_and_dogs_small_1.h5'); the 5.4 visualisations load it
        result["saved_model"] = str(save_trained(model, entry.extra["save_as"]))
    if model_out is not None:
        model_out.append(model)
    return result


def trained_models_folder():
    """Where the cats-vs-dogs runs save their models (as the book's ``model.save``): the cache."""
    from ..data.download import cache_home
    return cache_home() / "models"


def save_trained(model, filename):
    """``model.save(filename)`` into ``trained_models_folder()``, whole or not at all."""
    folder = trained_models_folder()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (filename + ".partial.h5")
    model.save(str(partial))
    os.replace(partial, folder / filename)
    return folder / filename


def augmentation_preview(tiny=False, count=4, seed=0):
    """Listings 5.11-5.12: one training cat, 150x150, and ``count`` random augmentations of it."""
    from ..preprocessing import image
    from ..preprocessing.image import ImageDataGenerator

    base_dir, source = cats_and_dogs_folder(tiny)
    fnames = sorted((base_dir / "train" / "cats").iterdir())
    img_path = fnames[3 % len(fnames)]   # the book takes fnames[3]
    img = image.load_img(str(img_path), target_size=IMAGE_SIZE)
    x = image.img_to_array(img)          # (150, 150, 3)
    x = x.reshape((1,) + x.shape)        # (1, 150, 150, 3)
    datagen = ImageDataGenerator(fill_mode='nearest', **AUGMENTATION)
    flow = datagen.flow(x, batch_size=1, seed=seed)
    return x[0], [next(flow)[0] for _ in range(count)], source


def run_augmentation_preview(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """How far each augmented image is from the original (mean absolute pixel change)."""
    start = time.perf_counter()
    original, augmented, source = augmentation_preview(tiny)
    changes = [float(np.mean(np.abs(a - original))) for a in augmented]
    return {"source": source, "images": len(augmented), "shape": list(augmented[0].shape),
            "mean_abs_change": float(np.mean(changes)), "history": {}, "wall_time": time.perf_counter() - start}


def plot_augmentation_preview(history, path, title=""):
    """Figure 5.11: the four augmented cats side by side (``train --plot``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..preprocessing import image

    _, augmented, _ = augmentation_preview()
    fig, axes = plt.subplots(1, len(augmented), figsize=(3 * len(augmented), 3))
    for ax, x in zip(axes, augmented):
        ax.imshow(image.array_to_img(x))
        ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _ch5_2(id, listings, lines, build, epochs, batch_size, book_result, metric, check=None, **kw):
    ENTRIES.append(Entry(id=id, chapter=5, section=kw.pop("section", "5.2"), listings=listings, lines=lines,
                         dataset="cats_and_dogs_small", build_model=build, load_data=image_generators,
                         epochs=epochs, batch_size=batch_size, book_result=book_result, metric=metric,
                         check=check, **kw))


# --- 5.3 VGG16 ---------------------------------------------------------------------------
def conv_base(weights=None, input_shape=(150, 150, 3)):
    """Listing 5.16: VGG16 without its classifier, 14,714,688 parameters. The book passes
    weights='imagenet'; the runs below load that file first (``imagenet_conv_base``)."""
    from ..applications import VGG16
    return VGG16(weights=weights, include_top=False, input_shape=input_shape)


def imagenet_conv_base(entry, tiny, input_shape=(150, 150, 3)):
    """The book's conv base: ImageNet weights; on tiny runs random ones at 32x32. Offline
    without the file: one line that says which file and why."""
    from ..applications.vgg import imagenet_weights_path
    from ..data.download import DatasetNotFoundError

    if tiny:
        return conv_base(None, TINY_VGG_SIZE + (3,))
    try:
        path = imagenet_weights_path("vgg16", include_top=False)
    except DatasetNotFoundError as e:
        first = e.args[0].splitlines()[0]
        e.args = (f"{entry.id} needs Keras' ImageNet weights for VGG16, a download: {first}",)
        e.needs = f"the ImageNet weights of VGG16, {e.fname}"    # what `reproduce` writes in the row
        raise
    return conv_base(path, input_shape)


def feature_classifier(input_dim=4 * 4 * 512):
    """Listing 5.18: the densely connected classifier trained on VGG16's features."""
    from .. import layers, models, optimizers

    model = models.Sequential()
    model.add(layers.Dense(256, activation='relu', input_dim=input_dim))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer=optimizers.RMSprop(lr=2e-5),
                  loss='binary_crossentropy',
                  metrics=['acc'])
    return model


def extract_features(base, generator, sample_count, batch_size):
    """Listing 5.17: run the conv base over ``sample_count`` images, batch by batch."""
    shape = base.output_shape[1:]
    features = np.zeros(shape=(sample_count,) + tuple(shape), dtype='float32')
    labels = np.zeros(shape=(sample_count,), dtype='float32')
    i = 0
    for inputs_batch, labels_batch in generator:
        n = min(len(inputs_batch), sample_count - i * batch_size)
        features_batch = base.predict(inputs_batch[:n])
        features[i * batch_size: i * batch_size + n] = features_batch
        labels[i * batch_size: i * batch_size + n] = labels_batch[:n]
        i += 1
        if i * batch_size >= sample_count:
            break   # generators loop forever
    return features, labels


def run_feature_extraction(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 5.17-5.19: features of 2,000 / 1,000 / 1,000 images, a small classifier on them."""
    base = imagenet_conv_base(entry, tiny)
    batch_size = batch_size or entry.batch_size
    size = TINY_VGG_SIZE if tiny else IMAGE_SIZE
    data = image_generators(tiny, batch_size, target_size=size)
    counts = [len(g.filenames) for g in (data.x_train, data.x_val, data.x_test)] if tiny else [2000, 1000, 1000]
    start = time.perf_counter()
    (train_features, train_labels), (validation_features, validation_labels), (test_features, test_labels) = [
        extract_features(base, g, n, batch_size) for g, n in zip((data.x_train, data.x_val, data.x_test), counts)]
    dim = int(np.prod(base.output_shape[1:]))          # 4 * 4 * 512 = 8192 at 150x150
    features = Data(train_features.reshape((counts[0], dim)), train_labels,
                    x_val=validation_features.reshape((counts[1], dim)), y_val=validation_labels,
                    x_test=test_features.reshape((counts[2], dim)), y_test=test_labels, source=data.source)
    model = feature_classifier(dim)
    result = fit_and_evaluate(model, features, epochs or entry.epochs, batch_size, verbose)
    result.update(wall_time=time.perf_counter() - start, source=data.source, conv_base_params=base.count_params())
    if model_out is not None:
        model_out.append(model)
    return result


def vgg16_with_classifier(base=None, lr=2e-5):
    """Listing 5.20: the conv base as the first layer of a Sequential, then frozen: 30 -> 4
    trainable weight tensors (L8048-L8054). 16,812,353 parameters at 150x150."""
    from .. import layers, models, optimizers

    base = base or conv_base()
    model = models.Sequential()
    model.add(base)
    model.add(layers.Flatten())
    model.add(layers.Dense(256, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    base.trainable = False
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.RMSprop(lr=lr),
                  metrics=['acc'])
    return model


def fine_tune(model, lr=1e-5):
    """Listings 5.22-5.23: block5 of the conv base trains again (10 trainable weight tensors),
    then compile again, with a smaller learning rate."""
    from .. import optimizers

    conv_base = model.layers[0]
    conv_base.trainable = True
    set_trainable = False
    for layer in conv_base.layers:
        if layer.name == 'block5_conv1':
            set_trainable = True
        layer.trainable = set_trainable
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.RMSprop(lr=lr),
                  metrics=['acc'])
    return model


def vgg16_fine_tune():
    """The model of listing 5.20 as it is fine-tuned in 5.22-5.23."""
    return fine_tune(vgg16_with_classifier())


def run_vgg16_augment(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listing 5.21: the whole model end to end on augmented images, the base frozen. For
    fine-tuning (5.22-5.24) the same model then trains again with block5 unfrozen, and is
    evaluated on the test folder (L8306-L8313)."""
    base = imagenet_conv_base(entry, tiny)
    size = TINY_VGG_SIZE if tiny else IMAGE_SIZE
    data = image_generators(tiny, batch_size or entry.batch_size, augment=True, fill_mode='nearest',
                            target_size=size)
    start = time.perf_counter()
    model = vgg16_with_classifier(base)
    result = fit_on_generators(model, data, entry, epochs or entry.epochs, tiny, verbose)
    if entry.extra.get("fine_tune"):
        head = result
        fine_tune(model)
        result = fit_on_generators(model, data, entry, epochs or entry.extra["fine_tune_epochs"], tiny, verbose)
        result["head_history"] = head["history"]
        scores = model.evaluate_generator(data.x_test, steps=1 if tiny else 50)
        result["test_loss"], result["test_acc"] = (float(s) for s in np.atleast_1d(scores)[:2])
    result["trainable_weights"] = len(model.trainable_weights)
    result.update(wall_time=time.perf_counter() - start, source=data.source)
    if model_out is not None:
        model_out.append(model)
    return result


def _vgg(id, listings, lines, build, run, epochs, book_result, metric, book_value, **kw):
    ENTRIES.append(Entry(id=id, chapter=5, section=kw.pop("section", "5.3.1"), listings=listings, lines=lines,
                         dataset="cats_and_dogs_small + ImageNet weights", build_model=build,
                         load_data=image_generators, epochs=epochs, batch_size=20, book_result=book_result,
                         metric=metric, book_value=book_value, run=run, notes=NEEDS_IMAGENET, **kw))


# --- 5.4 what convnets learn, made visible -------------------------------------------------
# The code of the three figures is in visualize.py; here: which network and image they see.
# Offline they see our own cats-vs-dogs convnet: the model the ch5-catsdogs-small-convnet run
# saved (trained_models_folder()/cats_and_dogs_small_1.h5; the book loads its
# cats_and_dogs_small_2.h5), else one trained here for the entry's short declared schedule.
# With Keras' ImageNet weights for VGG16 on disk, filters and Grad-CAM see VGG16, as the book.
TEST_CAT = "test/cats/cat.1700.jpg"                  # listing 5.25
ELEPHANT = "images/creative_commons_elephant.jpg"    # listing 5.41, in the data folder
CHECKPOINT = "cats_and_dogs_small_1.h5"              # saved by the ch5-catsdogs-small-convnet run
SHORT_CHECKPOINT = "cats_and_dogs_small_short.h5"    # saved by a visualisation that trained its own
TINY_VIZ = dict(size=48, steps=3, filters=2)         # tests: small patterns (48: the smallest that passes 4 convs), a few steps


def trained_convnet(entry, tiny, verbose):
    """(model, what it is, the history of its training here). The model the
    ch5-catsdogs-small-convnet run saved if there is one; else the one a previous visualisation
    trained; else listings 5.5-5.8 for the short schedule ``entry.extra['fallback_steps']``
    (steps of 20 images; 2 steps of 4 on tiny data), saved for the next visualisation."""
    from .. import models

    for name, made_by in ((CHECKPOINT, "saved by ch5-catsdogs-small-convnet"),
                          (SHORT_CHECKPOINT, f"trained for {entry.extra['fallback_steps']} steps of 20 images")):
        path = trained_models_folder() / name
        if not tiny and path.is_file():
            return models.load_model(str(path)), f"our cats-vs-dogs convnet ({name}, {made_by})", {}
    steps_per_epoch = 2 if tiny else entry.extra["fallback_steps"]
    data = image_generators(tiny, 4 if tiny else 20)
    model = small_convnet()
    history = model.fit_generator(data.x_train, steps_per_epoch=steps_per_epoch, epochs=1, verbose=verbose)
    if not tiny:
        save_trained(model, SHORT_CHECKPOINT)
    return model, (f"our cats-vs-dogs convnet, trained here for {steps_per_epoch} steps of "
                   f"{data.x_train.batch_size} images ({data.source})"), plain_history(history.history)


def book_image(relpath, target_size, tiny):
    """A photo of the data folder (``images/...``, ``cats_and_dogs_small/...``) as a float32
    (1, h, w, 3) batch of pixels 0..255 (listing 5.25). Tiny runs: a synthetic cat."""
    from ..data.download import DatasetNotFoundError, data_home
    from ..preprocessing import image

    if tiny:
        path = synthetic_cats_and_dogs() / "test" / "cats" / "cat.0.jpg"
    elif relpath.startswith("test/"):
        path = cats_and_dogs_folder()[0] / relpath
    else:
        path = data_home() / relpath
        if not path.is_file():
            raise DatasetNotFoundError(path.name, None, path, "the book's photo is not in the data folder")
    img = image.load_img(str(path), target_size=target_size)
    img_tensor = image.img_to_array(img)
    return np.expand_dims(img_tensor, axis=0)


def imagenet_vgg16(include_top):
    """VGG16 with Keras' ImageNet weights if the file is on disk, else None (nothing is downloaded)."""
    from ..applications import VGG16
    from ..applications.vgg import imagenet_weights_on_disk

    if imagenet_weights_on_disk("vgg16", include_top) is None:
        return None
    return VGG16(weights='imagenet', include_top=include_top)


def run_activations(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 5.25-5.31: the test cat through the first 8 layers, every channel of each."""
    from . import visualize

    start = time.perf_counter()
    model, what, history = trained_convnet(entry, tiny, verbose)
    img_tensor = book_image(TEST_CAT, IMAGE_SIZE, tiny) / 255.      # the model's input scale
    activations = visualize.layer_activations(model, img_tensor, count=8)
    names = [layer.name for layer in model.layers[:8]]
    grids = [visualize.activation_grid(a, images_per_row=16) for a in activations]
    blank = [visualize.blank_channels(a) for a in activations]
    titles = [f"{n} {a.shape[1:]}: {b} of {a.shape[-1]} channels blank" for n, a, b in zip(names, activations, blank)]
    path = visualize.save_grids(figures_folder() / f"{entry.id}.png", grids, titles,
                                title=f"Activations of the test cat ({'synthetic' if tiny else 'cat.1700.jpg'}) "
                                      f"in {what}")
    return {"source": "synthetic" if tiny else "cats_and_dogs_small", "model": what, "history": history,
            "epochs": len(history.get("loss", [])), "layers": names,
            "first_layer_shape": list(activations[0].shape), "blank_channels": blank,
            "blank_fraction_last": blank[-1] / activations[-1].shape[-1],
            "grid_shapes": [list(g.shape) for g in grids], "figures": [path.name],
            "wall_time": time.perf_counter() - start}


def run_filter_patterns(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 5.32-5.39: the book's one pattern (block3_conv1, filter 0, 150x150; ours: the
    third convolution), then the first filters of each convolution at 64x64 in a grid (the book
    draws 64 of each; ``entry.extra['filters_per_layer']``: fewer, for the time it takes here)."""
    from . import visualize

    start = time.perf_counter()
    vgg = None if tiny else imagenet_vgg16(include_top=False)
    if vgg is not None:
        model, what, history = vgg, "VGG16 (ImageNet weights)", {}
        layer_names = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1']
    else:
        model, what, history = trained_convnet(entry, tiny, verbose)
        layer_names = visualize.conv_layer_names(model)
    size, steps, count, grid_size = ((TINY_VIZ["size"], TINY_VIZ["steps"], TINY_VIZ["filters"], TINY_VIZ["size"])
                                     if tiny else (150, 40, entry.extra["filters_per_layer"], 64))
    figures = []
    # the book's filter 0, or the first after it that responds to grey noise (one that does not
    # has a zero gradient: its pattern stays noise; the book's VGG16 filter 0 responds)
    first = (visualize.responding_filters(model, layer_names[2], size) or [0])[0]
    one, losses = visualize.generate_patterns(model, layer_names[2], [first], size=size, steps=steps)
    path = visualize.save_png(figures_folder() / f"{entry.id}.png", one[0],
                              title=f"{layer_names[2]}, filter {first}, {steps} steps of gradient ascent "
                                    f"in {what}")
    figures.append(path.name)
    for name in layer_names:
        n_filters = min(count, model.get_layer(name).filters)
        patterns, _ = visualize.generate_patterns(model, name, list(range(n_filters)), size=grid_size,
                                                  steps=steps)
        path = visualize.save_png(figures_folder() / f"{entry.id}-{name}.png", visualize.pattern_grid(patterns),
                                  title=f"{name}: filters 0-{n_filters - 1} ({what})")
        figures.append(path.name)
    return {"source": "synthetic" if tiny else ("ImageNet" if vgg is not None else "cats_and_dogs_small"),
            "model": what, "history": history, "epochs": len(history.get("loss", [])), "layers": layer_names,
            "filter": first, "ascent": [float(v) for v in losses[:, 0]], "activation_start": float(losses[0, 0]),
            "activation_end": float(losses[-1, 0]), "activation_gain": float(losses[-1, 0] - losses[0, 0]),
            "pattern_shape": list(one[0].shape), "figures": figures, "wall_time": time.perf_counter() - start}


def run_grad_cam(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 5.40-5.44: where the network looks in the elephant photo. VGG16: class 386
    (the predicted one), heatmap over block5_conv3 (14x14). Our convnet: the score of the class
    it predicts (cat: 1 - p, dog: p), over its last convolution (15x15)."""
    from ..applications.vgg16 import decode_predictions, preprocess_input
    from . import visualize

    start = time.perf_counter()
    vgg = None if tiny else imagenet_vgg16(include_top=True)
    if vgg is not None:
        model, what, history = vgg, "VGG16 (ImageNet weights)", {}
        x = preprocess_input(book_image(ELEPHANT, (224, 224), tiny))
        preds = model.predict(x)
        class_index = int(np.argmax(preds[0]))                        # 386, African elephant
        label, score = decode_predictions(preds, top=1)[0][0][1], float(preds[0, class_index])
        class_score = lambda predictions: predictions[:, class_index]   # noqa: E731 - model.output[:, 386]
        last_conv = 'block5_conv3'
    else:
        model, what, history = trained_convnet(entry, tiny, verbose)
        x = book_image(ELEPHANT, IMAGE_SIZE, tiny) / 255.
        p = float(model.predict(x)[0, 0])
        label, score = ("dog", p) if p >= 0.5 else ("cat", 1 - p)
        class_score = (lambda predictions: predictions[:, 0]) if p >= 0.5 else (lambda predictions: 1 - predictions[:, 0])
        last_conv = visualize.conv_layer_names(model)[-1]
    heatmap = visualize.grad_cam(model, x, class_score, last_conv)
    photo = book_image(ELEPHANT, None, tiny)[0].astype('uint8')         # cv2.imread: the full-size photo
    superimposed = visualize.superimpose(heatmap, photo)
    folder = figures_folder()
    path = visualize.save_png(folder / f"{entry.id}.png", superimposed,
                              title=f"Grad-CAM of '{label}' ({score:.3f}) over {last_conv} in {what}")
    heat = visualize.save_png(folder / f"{entry.id}-heatmap.png", heatmap,
                              title=f"heatmap {heatmap.shape[0]}x{heatmap.shape[1]}", cmap="viridis")
    return {"source": "synthetic" if tiny else "images", "model": what, "history": history,
            "epochs": len(history.get("loss", [])), "predicted": label, "top_score": score,
            "heatmap_shape": list(heatmap.shape), "image_shape": list(superimposed.shape),
            "figures": [path.name, heat.name], "wall_time": time.perf_counter() - start}


def _ch5_4(id, listings, lines, run, book_result, metric, **kw):
    ENTRIES.append(Entry(id=id, chapter=5, section=kw.pop("section"), listings=listings, lines=lines,
                         dataset=kw.pop("dataset", "cats_and_dogs_small"), build_model=small_convnet,
                         load_data=image_generators, epochs=0, batch_size=20, book_result=book_result,
                         metric=metric, run=run, extra={"fallback_steps": 10, **kw.pop("extra", {})}, **kw))


# --- the entries, in book order ------------------------------------------------------------
ENTRIES.append(Entry(
    id="ch5-mnist-convnet", chapter=5, section="5.1", listings="5.1-5.3", lines="L6492-L6615",
    dataset="mnist", build_model=mnist_convnet, load_data=load_mnist_images,
    epochs=5, batch_size=64,   # model.fit(train_images, train_labels, epochs=5, batch_size=64)
    book_result="test_acc 0.9908 (L6610); the text says 99.3 % (L6612)",
    metric="test_acc", book_value=0.9908, check=at_least("test_acc", 0.989),
    notes="The dense network of chapter 2 reached 97.8 %."))
ENTRIES.append(Entry(
    id="ch5-mnist-convnet-nomaxpool", chapter=5, section="5.1.2", listings="(unnumbered)", lines="L6843-L6885",
    dataset="none", build_model=model_no_max_pool, load_data=load_mnist_images, epochs=0, batch_size=0,
    book_result="final map 22x22x64 = 30,976 coefficients; a Dense(512) on it: 15.8 M params (L6878-L6881)",
    metric="coefficients", book_value=30976, run=run_no_max_pool,
    notes="An argument, not an experiment: the book trains nothing here; we compute its numbers."))
_ch5_2("ch5-catsdogs-small-convnet", "5.4-5.10", "L7009-L7446", small_convnet, 30, 20,
       "validation accuracy plateaus at 70-72 %, training accuracy near 100 % (L7434-L7435)",
       "final_val_acc", check=between("final_val_acc", 0.68, 0.76), book_value=0.71, run=run_generators,
       extra={"steps_per_epoch": 100, "validation_steps": 50, "save_as": "cats_and_dogs_small_1.h5"},
       reduced=(15, "15 of the book's 30 epochs; an epoch took 176-370 s on 2 CPU cores shared with "
                   "other runs, ~180 s on a quiet core (the full run ~1.5 h)"))
ENTRIES.append(Entry(
    id="ch5-augmentation-preview", chapter=5, section="5.2.5", listings="5.11-5.12", lines="L7464-L7535",
    dataset="cats_and_dogs_small", build_model=small_convnet_dropout, load_data=image_generators,
    epochs=0, batch_size=1, book_result="figure 5.11: four augmented cats (no number)",
    metric="mean_abs_change", run=run_augmentation_preview, plot=plot_augmentation_preview,
    notes="Nothing is trained: `train --plot x.png` draws the four images."))
_ch5_2("ch5-catsdogs-augment-dropout", "5.13-5.15", "L7554-L7650", small_convnet_dropout, 100, 32,
       "82 % validation accuracy (L7630-L7631)", "final_val_acc", check=at_least("final_val_acc", 0.80),
       book_value=0.82, run=run_generators, extra={"steps_per_epoch": 100, "validation_steps": 50, "augment": True,
              "save_as": "cats_and_dogs_small_2.h5"},
       reduced=(1, "1 of the book's 100 epochs; an epoch took 276 s on 2 CPU cores shared with "
                  "one other run (the full run ~8 h)"))
_vgg("ch5-vgg16-feature-extraction-fast", "5.16-5.19", "L7775-L7990", feature_classifier,
     run_feature_extraction, 30, "~90 % validation accuracy (L7984-L7990)", "max_val_acc", 0.90)
_vgg("ch5-vgg16-feature-extraction-augment", "5.20-5.21", "L8006-L8124", vgg16_with_classifier,
     run_vgg16_augment, 30, "~96 % validation accuracy (L8067-L8068)", "max_val_acc", 0.96,
     extra={"steps_per_epoch": 100, "validation_steps": 50})
_vgg("ch5-vgg16-finetune", "5.22-5.24", "L8211-L8320", vgg16_fine_tune, run_vgg16_augment, 30,
     "validation 96 % -> 97 %, test accuracy ~97 % (L8293, L8315)", "test_acc", 0.97, section="5.3.2",
     extra={"steps_per_epoch": 100, "validation_steps": 50, "fine_tune": True, "fine_tune_epochs": 100})

VIZ_NOTES = ("Offline: our cats-vs-dogs convnet (the model saved by ch5-catsdogs-small-convnet in "
             "<cache>/models/cats_and_dogs_small_1.h5, else one trained here for 10 steps of 20 images, "
             "saved as cats_and_dogs_small_short.h5), not the book's model; "
             "the title of each image says which network it shows. PNGs: <cache>/figures/ (reproduce: docs/img/).")
_ch5_4("ch5-viz-intermediate-activations", "5.25-5.31", "L8375-L8615", run_activations,
       "first layer (1, 148, 148, 32); deeper layers more abstract and sparser (L8489, L8569-L8592)",
       "blank_fraction_last", section="5.4.1", notes=VIZ_NOTES)
_ch5_4("ch5-viz-filters-gradient-ascent", "5.32-5.39", "L8617-L8830", run_filter_patterns,
       "block3_conv1 filter 0: polka dots; grids of 64 filters per block (L8772, L8818-L8832)",
       "activation_gain", section="5.4.2", extra={"filters_per_layer": 16},
       notes=VIZ_NOTES + " With VGG16's ImageNet weights on disk it shows VGG16's block1-4_conv1, as the book.")
_ch5_4("ch5-gradcam-elephant", "5.40-5.44", "L8834-L9040", run_grad_cam,
       "African_elephant 0.925 (class 386), 14x14 heatmap, the calf's ears light up (L8927-L9041)",
       "top_score", section="5.4.3", dataset="images (creative_commons_elephant.jpg)",
       notes=VIZ_NOTES + " With VGG16's ImageNet weights (with the top) on disk: VGG16, class 386, as the book.")
