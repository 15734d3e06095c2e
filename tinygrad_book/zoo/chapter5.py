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

ENTRIES: list[Entry] = []   # this chapter's experiments, in book order (the registry collects them)

IMAGE_SIZE = (150, 150)       # target_size=(150, 150) everywhere in 5.2 and 5.3
TINY_VGG_SIZE = (48, 48)      # tiny runs: the smallest input Keras allows; 1x1x512 features
NEEDS_IMAGENET = ("needs Keras' ImageNet weights for VGG16 (a download, "
                  "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, 58 MB); offline it stops with a message. "
                  "The tests run the whole pipeline on random weights.")


# --- 5.1 the MNIST convnet ---------------------------------------------------------------
def load_mnist_images(tiny=False):
    """Listing 5.3: MNIST as (n, 28, 28, 1) float32 in [0, 1], one-hot labels."""
    from ..datasets import mnist
    from ..utils import to_categorical

    if tiny:  # random digits of the right shape: for tests, without any file
        rng = np.random.RandomState(0)
        (train_images, train_labels), (test_images, test_labels), source = (
            (rng.randint(0, 256, (64, 28, 28), dtype=np.uint8), rng.randint(0, 10, 64)),
            (rng.randint(0, 256, (32, 28, 28), dtype=np.uint8), rng.randint(0, 10, 32)), "synthetic")
    else:
        ((train_images, train_labels), (test_images, test_labels)), source = mnist.load_data_or_sample()

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
    if model_out is not None:
        model_out.append(model)
    return result


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
       extra={"steps_per_epoch": 100, "validation_steps": 50},
       reduced=(10, "10 of the book's 30 epochs: ~4 h on 2 CPU cores"))
ENTRIES.append(Entry(
    id="ch5-augmentation-preview", chapter=5, section="5.2.5", listings="5.11-5.12", lines="L7464-L7535",
    dataset="cats_and_dogs_small", build_model=small_convnet_dropout, load_data=image_generators,
    epochs=0, batch_size=1, book_result="figure 5.11: four augmented cats (no number)",
    metric="mean_abs_change", run=run_augmentation_preview, plot=plot_augmentation_preview,
    notes="Nothing is trained: `train --plot x.png` draws the four images."))
_ch5_2("ch5-catsdogs-augment-dropout", "5.13-5.15", "L7554-L7650", small_convnet_dropout, 100, 32,
       "82 % validation accuracy (L7630-L7631)", "final_val_acc", check=at_least("final_val_acc", 0.80),
       book_value=0.82, run=run_generators, extra={"steps_per_epoch": 100, "validation_steps": 50, "augment": True},
       reduced=(20, "20 of the book's 100 epochs: the full run is ~40 h on 2 CPU cores"))
_vgg("ch5-vgg16-feature-extraction-fast", "5.16-5.19", "L7775-L7990", feature_classifier,
     run_feature_extraction, 30, "~90 % validation accuracy (L7984-L7990)", "max_val_acc", 0.90)
_vgg("ch5-vgg16-feature-extraction-augment", "5.20-5.21", "L8006-L8124", vgg16_with_classifier,
     run_vgg16_augment, 30, "~96 % validation accuracy (L8067-L8068)", "max_val_acc", 0.96,
     extra={"steps_per_epoch": 100, "validation_steps": 50})
_vgg("ch5-vgg16-finetune", "5.22-5.24", "L8211-L8320", vgg16_fine_tune, run_vgg16_augment, 30,
     "validation 96 % -> 97 %, test accuracy ~97 % (L8293, L8315)", "test_acc", 0.97, section="5.3.2",
     extra={"steps_per_epoch": 100, "validation_steps": 50, "fine_tune": True, "fine_tune_epochs": 100})
