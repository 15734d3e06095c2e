"""The loaders on the real data copies, checked against the values the book prints.

Runs when TINYGRAD_BOOK_DATA names the project's data folder (CI: ../shared/datasets);
skips with the reason otherwise. TINYGRAD_BOOK_OFFLINE=1: nothing is downloaded.
"""

import numpy as np
import pytest

from tinygrad_book.datasets import (aclimdb, boston_housing, cats_and_dogs, cifar10, glove, imdb,
                                    jena_climate, mnist, nietzsche, reuters)


def need(folder, rel):
    if not (folder / rel).exists():
        pytest.skip(f"{rel} is not in {folder}")


def test_mnist_book_values(real_data):
    need(real_data, "mnist/mnist.npz")
    (x, y), (xt, yt) = mnist.load_data()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.load_data_or_sample()[1] == "mnist"
    # the bundled sample is drawn from this set, unchanged
    (sx, sy), (sxt, syt) = mnist.load_sample()
    from importlib import resources
    with np.load(resources.files("tinygrad_book.data").joinpath("samples", "mnist_sample.npz")) as f:
        tr, te = f["train_index"], f["test_index"]
    np.testing.assert_array_equal(sx, x[tr])
    np.testing.assert_array_equal(syt, yt[te])


def test_imdb_book_values(real_data):
    need(real_data, "imdb/imdb.npz")
    (x, y), (xt, yt) = imdb.load_data(num_words=10000)
    assert len(x) == len(xt) == 25000
    assert x[0][:8] == [1, 14, 22, 16, 43, 530, 973, 1622] and len(x[0]) == 218
    assert y[0] == 1 and y[:3].tolist() == [1, 0, 0] and y[-3:].tolist() == [0, 1, 0]
    assert len(x[1]) == 189
    assert max(max(s) for s in x) == 9999  # the book: "no word index will exceed 10,000"
    word_index = imdb.get_word_index()
    assert len(word_index) == 88584
    reverse = {v + 3: k for k, v in word_index.items()}
    assert " ".join(reverse.get(i, "?") for i in xt[0][1:6]) == "please give this one a"
    assert yt[0] == 0


def test_reuters_book_values(real_data):
    need(real_data, "reuters/reuters.npz")
    (x, y), (xt, yt) = reuters.load_data(num_words=10000)
    assert (len(x), len(xt)) == (8982, 2246)
    assert x[10] == [1, 245, 273, 207, 156, 53, 74, 160, 26, 14, 46, 296, 26, 39, 74, 2979, 3554, 14,
                     46, 4689, 4329, 86, 61, 3499, 4795, 14, 61, 451, 4329, 17, 12]
    assert y[10] == 3 and set(np.unique(y)) == set(range(46))
    word_index = reuters.get_word_index()
    reverse = {v + 3: k for k, v in word_index.items()}
    decoded = " ".join(reverse.get(i, "?") for i in x[0][1:])
    assert decoded.startswith("? ? said as a result of its december acquisition of space co")


def test_boston_book_values(real_data):
    need(real_data, "boston_housing/boston_housing.npz")
    (x, y), (xt, yt) = boston_housing.load_data()
    assert x.shape == (404, 13) and xt.shape == (102, 13)
    np.testing.assert_allclose(y[:3], [15.2, 42.3, 50.0])
    np.testing.assert_allclose(y[-3:], [19.4, 19.4, 29.1])
    np.testing.assert_allclose(x[0], [1.23247, 0, 8.14, 0, 0.538, 6.142, 91.7, 3.9769, 4, 307, 21, 396.9, 18.72])


def test_cifar10_local_subset(real_data):
    need(real_data, "cifar10/cifar10.npz")
    with pytest.warns(UserWarning, match="subset"):
        (x, y), (xt, yt) = cifar10.load_data()
    assert x.shape == (5000, 32, 32, 3) and y.shape == (5000, 1) and xt.shape == (1000, 32, 32, 3)
    assert y[:10, 0].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert yt[:10, 0].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert x[0, 0, :3].tolist() == [[59, 62, 63], [43, 46, 45], [50, 48, 43]]


def test_cifar10_frogs_are_the_training_frogs_in_keras_order(real_data):
    """The DCGAN's data (listing 8.32): all 5,000 frogs; those among the first 5,000 training
    images of the subset are its first ones, in the same order."""
    need(real_data, "cifar10/cifar10_frogs_train.npz")
    need(real_data, "cifar10/cifar10.npz")
    frogs = cifar10.load_frogs()
    assert frogs.shape == (5000, 32, 32, 3) and frogs.dtype == np.uint8
    with pytest.warns(UserWarning, match="subset"):
        (x, y), _ = cifar10.load_data()
    subset_frogs = x[y.flatten() == 6]
    assert len(subset_frogs) == 519
    np.testing.assert_array_equal(frogs[:519], subset_frogs)


def test_jena_hourly_subset(real_data):
    need(real_data, f"jena_climate/{jena_climate.HOURLY}")
    header, data = jena_climate.load_data(variant="hourly")
    assert header == ["Date Time", "p (mbar)", "T (degC)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "wv (m/s)"]
    assert data.shape == (70038, 6)
    np.testing.assert_allclose(data[0], [996.52, -8.02, -8.90, 93.30, 3.33, 1.03])
    np.testing.assert_allclose(data[-1], [999.81, -4.23, -8.53, 71.80, 4.46, 1.49])
    assert data[:, 1].min() == pytest.approx(-23.01)


def test_nietzsche_corpus_length(real_data):
    need(real_data, "nietzsche/nietzsche.txt")
    text = nietzsche.load_text(lower=True)
    assert len(text) == 600893 and len(set(text)) == 57  # "Corpus length: 600893", 57 chars


def test_glove_50d_subset(real_data):
    need(real_data, "glove/glove.6B.50d.subset.txt")
    index = glove.load_glove(50)
    assert len(index) == 29361 and index["the"].shape == (50,)
    assert index["the"][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])


def test_aclimdb_raw_texts(real_data):
    need(real_data, aclimdb.LOCAL_ARCHIVE)
    texts, labels = aclimdb.load_texts("train")
    assert len(texts) == 25000 and labels.sum() == 12500 and labels[0] == 0 and labels[-1] == 1
    assert texts[0].startswith("Story of a man who has unnatural feelings for a pig.")  # train/neg/0_3.txt


def test_cats_and_dogs_small(real_data):
    need(real_data, cats_and_dogs.LOCAL_ARCHIVE)
    from tinygrad_book.preprocessing.image import ImageDataGenerator
    base = cats_and_dogs.ensure_small_dataset()
    counts = {(s, c): len(list((base / s / c).iterdir())) for s in cats_and_dogs.SUBSETS for c in cats_and_dogs.CLASSES}
    assert counts == {("train", "cats"): 1000, ("train", "dogs"): 1000, ("validation", "cats"): 500,
                      ("validation", "dogs"): 500, ("test", "cats"): 500, ("test", "dogs"): 500}
    gen = ImageDataGenerator(rescale=1. / 255).flow_from_directory(
        base / "train", target_size=(150, 150), batch_size=20, class_mode="binary")
    x, y = next(gen)  # the book: data batch shape (20, 150, 150, 3), labels batch shape (20,)
    assert x.shape == (20, 150, 150, 3) and y.shape == (20,) and 0 <= x.min() and x.max() <= 1
    assert gen.class_indices == {"cats": 0, "dogs": 1}
