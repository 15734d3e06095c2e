"""Image loading and augmentation: seeded, shape-keeping, exact flips, Keras-like iterators."""

import numpy as np
import pytest
from PIL import Image

from tinygrad_book.preprocessing.image import ImageDataGenerator, array_to_img, img_to_array, load_img

BOOK_AUG = dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
                zoom_range=0.2, horizontal_flip=True, fill_mode="nearest")
X = np.random.RandomState(0).rand(24, 30, 3).astype("float32")


def test_random_transform_seeded_and_shape_kept():
    gen = ImageDataGenerator(**BOOK_AUG)
    a, b = gen.random_transform(X, seed=7), gen.random_transform(X, seed=7)
    assert a.shape == X.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, gen.random_transform(X, seed=8))
    assert not np.array_equal(a, X)


def test_flips_are_exact():
    gen = ImageDataGenerator(horizontal_flip=True, vertical_flip=True)
    np.testing.assert_array_equal(gen.apply_transform(X, {"flip_horizontal": True}), X[:, ::-1])
    np.testing.assert_array_equal(gen.apply_transform(X, {"flip_vertical": True}), X[::-1])
    seen = {gen.random_transform(X, seed=s).tobytes() for s in range(20)}
    assert seen <= {X.tobytes(), X[:, ::-1].tobytes(), X[::-1].tobytes(), X[::-1, ::-1].tobytes()}
    assert len(seen) == 4


def test_identity_and_integer_shift():
    gen = ImageDataGenerator()
    np.testing.assert_array_equal(gen.random_transform(X, seed=0), X)
    shifted = gen.apply_transform(X, {"tx": 2})  # output row r reads input row r + 2
    np.testing.assert_allclose(shifted[:-2], X[2:])
    rot = ImageDataGenerator(interpolation_order=1).apply_transform(X, {"theta": 360.0})
    np.testing.assert_allclose(rot, X, atol=1e-5)


def test_flow_batches_epochs_and_seed():
    x = np.arange(10 * 4 * 4 * 1, dtype="float32").reshape(10, 4, 4, 1)
    y = np.arange(10)
    it = ImageDataGenerator(rescale=0.5).flow(x, y, batch_size=4, seed=1)
    assert len(it) == 3
    batches = [next(it) for _ in range(3)]
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))  # one epoch = all samples
    for bx, by in batches:
        np.testing.assert_array_equal(bx, x[by] * 0.5)
    it2 = ImageDataGenerator(rescale=0.5).flow(x, y, batch_size=4, seed=1)
    np.testing.assert_array_equal(next(it2)[1], batches[0][1])
    ordered = ImageDataGenerator().flow(x, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(next(ordered), x[:4])
    with pytest.raises(ValueError):
        ImageDataGenerator().flow(x[0])


def test_flow_augmented_reproducible():
    x = np.random.RandomState(1).rand(6, 16, 16, 3).astype("float32")
    a = next(ImageDataGenerator(**BOOK_AUG).flow(x, batch_size=6, seed=5))
    b = next(ImageDataGenerator(**BOOK_AUG).flow(x, batch_size=6, seed=5))
    assert a.shape == (6, 16, 16, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


@pytest.fixture
def image_folder(tmp_path):
    colors = {"dogs": (0, 0, 255), "cats": (255, 0, 0), "birds": (0, 255, 0)}
    for cls, color in colors.items():
        (tmp_path / "img" / cls).mkdir(parents=True)
        for i in range(3 if cls != "birds" else 1):
            Image.new("RGB", (20, 10), color).save(tmp_path / "img" / cls / f"{i}.png")
    (tmp_path / "img" / "cats" / "notes.txt").write_text("not an image")
    return tmp_path / "img"


def test_flow_from_directory(image_folder, capsys):
    it = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        image_folder, target_size=(8, 12), batch_size=4, class_mode="categorical", shuffle=False)
    assert "Found 7 images belonging to 3 classes." in capsys.readouterr().out
    assert it.class_indices == {"birds": 0, "cats": 1, "dogs": 2}  # alphabetical
    assert it.samples == it.n == 7 and len(it) == 2
    assert it.classes.tolist() == [0, 1, 1, 1, 2, 2, 2]
    x, y = next(it)
    assert x.shape == (4, 8, 12, 3) and y.shape == (4, 3) and y.dtype == np.float32
    np.testing.assert_allclose(x[0, 0, 0], [0, 1, 0])  # a green bird, rescaled to [0, 1]
    np.testing.assert_allclose(x[1, 0, 0], [1, 0, 0])
    x, y = next(it)
    assert x.shape == (3, 8, 12, 3) and y.argmax(1).tolist() == [2, 2, 2]
    x, _ = next(it)  # endless: a new epoch
    assert x.shape[0] == 4


def test_flow_from_directory_modes(image_folder):
    gen = ImageDataGenerator()
    kw = dict(target_size=(5, 5), batch_size=7, shuffle=False)
    _, y = next(gen.flow_from_directory(image_folder, class_mode="binary", classes=["cats", "dogs"], **kw))
    assert y.dtype == np.float32 and y.tolist() == [0, 0, 0, 1, 1, 1]
    _, y = next(gen.flow_from_directory(image_folder, class_mode="sparse", **kw))
    assert y.tolist() == [0, 1, 1, 1, 2, 2, 2]
    x = next(gen.flow_from_directory(image_folder, class_mode=None, color_mode="grayscale", **kw))
    assert x.shape == (7, 5, 5, 1)
    a = next(gen.flow_from_directory(image_folder, class_mode="sparse", target_size=(5, 5), batch_size=7, seed=3))
    b = next(gen.flow_from_directory(image_folder, class_mode="sparse", target_size=(5, 5), batch_size=7, seed=3))
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(FileNotFoundError):
        gen.flow_from_directory(image_folder / "nope")


def test_load_img_and_arrays(tmp_path):
    Image.new("RGB", (20, 10), (10, 20, 30)).save(tmp_path / "a.png")
    img = load_img(tmp_path / "a.png")
    assert img.size == (20, 10) and img.mode == "RGB"
    x = img_to_array(load_img(tmp_path / "a.png", target_size=(5, 8)))
    assert x.shape == (5, 8, 3) and x.dtype == np.float32 and x[0, 0].tolist() == [10, 20, 30]
    assert img_to_array(load_img(tmp_path / "a.png", grayscale=True)).shape == (10, 20, 1)
    back = array_to_img(np.stack([np.zeros((2, 2)), np.full((2, 2), 0.5), np.ones((2, 2))], axis=2))
    assert np.asarray(back)[0, 0].tolist() == [0, 127, 255]
    assert array_to_img(np.full((2, 2, 1), 7.0), scale=False).mode == "L"
