"""Images to float tensors, with random augmentation (Keras 2 ``keras.preprocessing.image``; book 5.2).

Everything is channels-last, as Keras' default: one image is (height, width, channels), a batch
(n, height, width, channels). Pillow reads and resizes files; scipy's ``ndimage.affine_transform``
applies rotations, shifts, shears and zooms, as Keras does.

The randomness is a ``np.random.RandomState`` owned by each iterator (seeded by ``seed``), never
the global ``np.random``: two iterators with the same seed give the same batches, whatever else
runs in between. The random streams therefore differ from Keras', not the distributions.
Parameter meanings follow Keras 2.0.x, the book's version (see ``ImageDataGenerator``).
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator",
           "load_img", "img_to_array", "array_to_img", "save_img"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")


def _pil():
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - pillow is a dependency
        raise ImportError("image loading needs Pillow: pip install pillow") from e
    return Image


def _resample(name):
    Image = _pil()
    methods = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
               "bicubic": Image.Resampling.BICUBIC}
    if name not in methods:
        raise ValueError(f"interpolation must be one of {sorted(methods)}, got {name!r}")
    return methods[name]


# --------------------------------------------------------------------------- files <-> arrays

def load_img(path, grayscale=False, target_size=None, interpolation="nearest"):
    """Open an image file as a PIL image in RGB (or 'L' with ``grayscale=True``).

    ``target_size=(height, width)`` resizes it; the default ``'nearest'`` resampling is what
    Keras 2 uses. The file is read and closed at once (no open handles left behind).
    """
    Image = _pil()
    with open(path, "rb") as f:
        img = Image.open(io.BytesIO(f.read()))
    img = img.convert("L" if grayscale else "RGB")
    if target_size is not None:
        height, width = target_size
        if img.size != (width, height):  # PIL sizes are (width, height)
            img = img.resize((width, height), _resample(interpolation))
    return img


def img_to_array(img, dtype="float32"):
    """PIL image -> array (height, width, channels); a grayscale image gets channels = 1."""
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"unsupported image shape {x.shape}")
    return x


def array_to_img(x, scale=True):
    """Array (height, width, 1 or 3 channels) -> PIL image.

    With ``scale`` (Keras' default) the values are shifted to be >= 0 and stretched to [0, 255],
    so a float image in [0, 1] (or a filter visualisation of any range) displays correctly.
    """
    Image = _pil()
    x = np.asarray(x, dtype="float64")
    if x.ndim != 3 or x.shape[2] not in (1, 3):
        raise ValueError(f"expected an array (height, width, 1 or 3), got shape {x.shape}")
    if scale:
        x = x + max(-np.min(x), 0)
        if np.max(x) != 0:
            x = x / np.max(x)
        x = x * 255
    x = np.clip(x, 0, 255).astype("uint8")
    return Image.fromarray(x[:, :, 0], "L") if x.shape[2] == 1 else Image.fromarray(x, "RGB")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write an array (height, width, 1 or 3) as an image file: array_to_img, then save
    (Keras 2.2's save_img; the book's GAN saves its generated frogs with it). The format
    comes from the file name unless `file_format` says it."""
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"save_img: data_format={data_format!r} not implemented (channels_last only)")
    array_to_img(x, scale=scale).save(path, format=file_format, **kwargs)


# --------------------------------------------------------------------------- augmentation

def _offset_center(matrix, height, width):
    # Move the origin to the image centre, apply the matrix, move it back: rotations and zooms
    # then turn around the centre instead of the top-left corner. (Keras' exact offsets.)
    oy, ox = height / 2 + 0.5, width / 2 + 0.5
    to_center = np.array([[1, 0, oy], [0, 1, ox], [0, 0, 1]])
    back = np.array([[1, 0, -oy], [0, 1, -ox], [0, 0, 1]])
    return to_center @ matrix @ back


class ImageDataGenerator:
    """Batches of images, optionally rescaled and randomly transformed (book listings 5.7, 5.11, 5.14).

    * ``rescale``: multiply every value (``1./255`` maps bytes to [0, 1]); applied after the
      random transform, as Keras does.
    * ``rotation_range``: degrees, rotation drawn from [-r, r].
    * ``width_shift_range`` / ``height_shift_range``: shift drawn from [-s, s], a fraction of the
      width/height when s < 1, else pixels.
    * ``shear_range``: shear angle drawn from [-s, s] **in radians**, as in Keras 2.0-2.1 (the
      book's 0.2 is about 11.5 degrees; Keras >= 2.2 reads the same number as degrees).
    * ``zoom_range``: float z means zoom factors drawn from [1 - z, 1 + z]; or a pair [lo, hi].
      Factors > 1 show a smaller part of the image (zoom out), as in Keras.
    * ``horizontal_flip`` / ``vertical_flip``: flip with probability 1/2.
    * ``fill_mode`` ('nearest', 'constant', 'reflect', 'wrap') and ``cval``: how points outside
      the input are filled.
    * ``interpolation_order``: spline order of the affine resampling; 0 (nearest pixel) as in
      Keras 2.0-2.1, 1 for bilinear as in later Keras.
    """

    def __init__(self, rescale=None, rotation_range=0.0, width_shift_range=0.0,
                 height_shift_range=0.0, shear_range=0.0, zoom_range=0.0, horizontal_flip=False,
                 vertical_flip=False, fill_mode="nearest", cval=0.0, interpolation_order=0):
        if fill_mode not in ("nearest", "constant", "reflect", "wrap"):
            raise ValueError(f"fill_mode must be nearest, constant, reflect or wrap, got {fill_mode!r}")
        if np.isscalar(zoom_range):
            zoom_range = (1 - zoom_range, 1 + zoom_range)
        elif len(zoom_range) != 2:
            raise ValueError(f"zoom_range must be a float or a pair, got {zoom_range!r}")
        self.rescale = rescale
        self.rotation_range = rotation_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.shear_range = shear_range
        self.zoom_range = tuple(float(z) for z in zoom_range)
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.fill_mode, self.cval = fill_mode, cval
        self.interpolation_order = interpolation_order

    # -- one image ----------------------------------------------------------------------------

    def get_random_transform(self, img_shape, seed=None, rng=None) -> dict:
        """Draw the parameters of one random transform for an image of shape (h, w, c).

        Keys: theta (degrees), tx (rows), ty (columns), shear (radians), zx, zy,
        flip_horizontal, flip_vertical. Randomness: ``rng``, else ``RandomState(seed)``.
        """
        if rng is None:
            rng = np.random.RandomState(seed)
        h, w = img_shape[0], img_shape[1]

        def shift(s, size):
            if not s:
                return 0.0
            d = rng.uniform(-s, s)
            return d * size if s < 1 else d

        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0
        tx = shift(self.height_shift_range, h)
        ty = shift(self.width_shift_range, w)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0
        if self.zoom_range == (1.0, 1.0):
            zx = zy = 1.0
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": bool(self.horizontal_flip and rng.random_sample() < 0.5),
                "flip_vertical": bool(self.vertical_flip and rng.random_sample() < 0.5)}

    def apply_transform(self, x, params) -> np.ndarray:
        """Apply the transform ``params`` (see ``get_random_transform``) to one image (h, w, c).

        The matrices compose as Keras': rotation @ shift @ shear @ zoom, about the image centre.
        The matrix maps *output* pixel coordinates to *input* ones (what ndimage expects), so a
        shift of +tx shows the content moved up by tx rows. Flips are exact index reversals:
        a horizontal flip gives ``x[:, ::-1]``.
        """
        x = np.asarray(x)
        matrix = np.eye(3)
        if params.get("theta", 0):
            t = np.deg2rad(params["theta"])
            matrix = matrix @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        if params.get("tx", 0) or params.get("ty", 0):
            matrix = matrix @ np.array([[1, 0, params.get("tx", 0)], [0, 1, params.get("ty", 0)], [0, 0, 1]])
        if params.get("shear", 0):
            s = params["shear"]
            matrix = matrix @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
        if params.get("zx", 1) != 1 or params.get("zy", 1) != 1:
            matrix = matrix @ np.array([[params["zx"], 0, 0], [0, params["zy"], 0], [0, 0, 1]])
        if not np.array_equal(matrix, np.eye(3)):
            from scipy import ndimage
            matrix = _offset_center(matrix, x.shape[0], x.shape[1])
            x = np.stack([ndimage.affine_transform(x[:, :, c], matrix[:2, :2], matrix[:2, 2],
                                                   order=self.interpolation_order,
                                                   mode=self.fill_mode, cval=self.cval)
                          for c in range(x.shape[2])], axis=2)
        if params.get("flip_horizontal"):
            x = x[:, ::-1]
        if params.get("flip_vertical"):
            x = x[::-1]
        return np.ascontiguousarray(x)

    def random_transform(self, x, seed=None, rng=None) -> np.ndarray:
        """One image (h, w, c), randomly transformed; the same ``seed`` gives the same result."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed=seed, rng=rng))

    def standardize(self, x):
        """Apply ``rescale`` (the only normalisation the book uses)."""
        return x * self.rescale if self.rescale else x

    # -- batches ------------------------------------------------------------------------------

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None):
        """An endless iterator over batches of the array ``x`` (n, h, w, c) and labels ``y``."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                            interpolation="nearest"):
        """An endless iterator over batches of image files, one sub-folder per class.

        Classes are the sub-folder names in alphabetical order (``class_indices``), images are
        found recursively. ``class_mode``: 'categorical' (one-hot float32), 'binary' (float32 0/1),
        'sparse' (int labels), 'input' (the images themselves), or None (images only).
        """
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode,
                                 classes=classes, class_mode=class_mode, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, interpolation=interpolation)


class Iterator:
    """Endless batches of indices into n samples, as Keras' ``Iterator``.

    Each epoch visits every sample once, in a new random order if ``shuffle``, in
    ``len(self) = ceil(n / batch_size)`` batches (the last may be smaller); then the next epoch
    starts. Subclasses turn a batch of indices into arrays in ``_batch``.
    """

    def __init__(self, n, batch_size, shuffle, seed):
        if n == 0:
            raise ValueError("no samples to iterate over")
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.reset()

    def reset(self):
        """Start again from the first batch of a fresh epoch, with the random state reseeded."""
        self.rng = np.random.RandomState(self.seed)
        self.batch_index, self.total_batches_seen, self.index_array = 0, 0, None

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_index == 0:
            self.index_array = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        start = self.batch_index * self.batch_size
        idx = self.index_array[start:start + self.batch_size]
        self.batch_index = (self.batch_index + 1) % len(self)
        self.total_batches_seen += 1
        return self._batch(idx)

    next = __next__  # Keras 2 code calls generator.next()

    def _batch(self, index_array):
        raise NotImplementedError


class NumpyArrayIterator(Iterator):
    """Batches from arrays already in memory: ``(batch_x, batch_y)``, or ``batch_x`` if y is None."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=True, seed=None):
        self.x = np.asarray(x, dtype="float32")
        if self.x.ndim != 4:
            raise ValueError(f"x must have rank 4 (n, height, width, channels), got shape {self.x.shape}")
        if y is not None and len(y) != len(self.x):
            raise ValueError(f"x and y must have the same length, got {len(self.x)} and {len(y)}")
        self.y = np.asarray(y) if y is not None else None
        self.image_data_generator = image_data_generator
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _batch(self, index_array):
        gen = self.image_data_generator
        batch_x = np.stack([gen.standardize(gen.random_transform(self.x[j], rng=self.rng))
                            for j in index_array]).astype("float32")
        return batch_x if self.y is None else (batch_x, self.y[index_array])


class DirectoryIterator(Iterator):
    """Batches read from ``directory/<class>/.../*.jpg``; see ``ImageDataGenerator.flow_from_directory``.

    Attributes: ``classes`` (label of each file), ``filenames`` (relative paths), ``class_indices``
    (name -> label), ``samples`` = ``n`` (number of files), ``num_classes``.
    """

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb",
                 classes=None, class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                 interpolation="nearest"):
        if color_mode not in ("rgb", "grayscale"):
            raise ValueError(f"color_mode must be 'rgb' or 'grayscale', got {color_mode!r}")
        if class_mode not in ("categorical", "binary", "sparse", "input", None):
            raise ValueError(f"class_mode must be categorical, binary, sparse, input or None, got {class_mode!r}")
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"image folder {self.directory} does not exist")
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.grayscale = color_mode == "grayscale"
        self.image_shape = self.target_size + ((1,) if self.grayscale else (3,))
        self.class_mode, self.interpolation = class_mode, interpolation
        if classes is None:
            classes = sorted(p.name for p in self.directory.iterdir() if p.is_dir())
        self.class_indices = {name: i for i, name in enumerate(classes)}
        self.num_classes = len(classes)
        self.filenames, labels = [], []
        for name in classes:
            folder = self.directory / name
            if not folder.is_dir():
                raise FileNotFoundError(f"class folder {folder} does not exist")
            for root, dirs, files in os.walk(folder):
                dirs.sort()  # a fixed walk order, whatever the file system returns
                for f in sorted(files):
                    if f.lower().endswith(IMAGE_EXTENSIONS):
                        self.filenames.append(os.path.relpath(os.path.join(root, f), self.directory))
                        labels.append(self.class_indices[name])
        self.classes = np.asarray(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _batch(self, index_array):
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype="float32")
        for i, j in enumerate(index_array):
            img = load_img(self.directory / self.filenames[j], grayscale=self.grayscale,
                           target_size=self.target_size, interpolation=self.interpolation)
            batch_x[i] = gen.standardize(gen.random_transform(img_to_array(img), rng=self.rng))
        labels = self.classes[index_array]
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode == "sparse":
            return batch_x, labels
        if self.class_mode == "binary":
            return batch_x, labels.astype("float32")
        batch_y = np.zeros((len(index_array), self.num_classes), dtype="float32")
        batch_y[np.arange(len(index_array)), labels] = 1.0
        return batch_x, batch_y
