"""Every loader on tiny fixture files written in the real formats (TINYGRAD_BOOK_DATA = tmp_path)."""

import gzip
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from tinygrad_book import datasets
from tinygrad_book.data import CorruptFileError, DatasetNotFoundError, FolderLayoutError
from tinygrad_book.datasets import (aclimdb, boston_housing, cats_and_dogs, cifar10, glove, imdb,
                                    jena_climate, mnist, nietzsche, reuters)


def obj(lists):
    out = np.empty(len(lists), dtype=object)
    for i, x in enumerate(lists):
        out[i] = list(x)
    return out


def perm(n, rng):
    idx = np.arange(n)
    rng.shuffle(idx)
    return idx


# --------------------------------------------------------------------------- mnist

def write_mnist(data_dir, n_train=12, n_test=5):
    (data_dir / "mnist").mkdir()
    rng = np.random.RandomState(0)
    arrays = dict(x_train=rng.randint(0, 256, (n_train, 28, 28)).astype(np.uint8),
                  y_train=(np.arange(n_train) % 10).astype(np.uint8),
                  x_test=rng.randint(0, 256, (n_test, 28, 28)).astype(np.uint8),
                  y_test=(np.arange(n_test) % 10).astype(np.uint8))
    np.savez_compressed(data_dir / "mnist" / "mnist.npz", **arrays)
    return arrays


def test_mnist(data_dir):
    a = write_mnist(data_dir)
    (x, y), (xt, yt) = mnist.load_data()
    assert x.dtype == np.uint8 and x.shape == (12, 28, 28) and xt.shape == (5, 28, 28)
    np.testing.assert_array_equal(x, a["x_train"])
    np.testing.assert_array_equal(yt, a["y_test"])


def test_mnist_offline_without_file_names_file_url_and_fix(data_dir):
    with pytest.raises(DatasetNotFoundError) as err:
        mnist.load_data()
    msg = str(err.value)
    assert "mnist.npz" in msg and mnist.ORIGIN in msg and str(data_dir / "mnist" / "mnist.npz") in msg
    assert "TINYGRAD_BOOK_DATA" in msg


def test_mnist_sample_fallback(data_dir, capsys):
    (x, y), (xt, yt) = datasets.mnist.load_data_or_sample()[0]
    _, source = mnist.load_data_or_sample()
    err = capsys.readouterr().err
    assert source == "sample"
    assert "bundled sample" in err and mnist.ORIGIN in err and "TINYGRAD_BOOK_DATA" in err
    assert len(err.strip().splitlines()) == 2  # one line per call
    assert x.shape == (2000, 28, 28) and xt.shape == (500, 28, 28)
    assert x.dtype == y.dtype == np.uint8 and set(np.unique(y)) == set(range(10))
    write_mnist(data_dir)
    (x, _), _ = mnist.load_data_or_sample()[0]
    assert mnist.load_data_or_sample()[1] == "mnist" and x.shape == (12, 28, 28)
    assert capsys.readouterr().err == ""


def test_sample_file_is_small_and_shipped_in_the_package():
    from importlib import resources
    ref = resources.files("tinygrad_book.data").joinpath("samples", "mnist_sample.npz")
    assert ref.is_file() and len(ref.read_bytes()) < 1_000_000
    assert resources.files("tinygrad_book.data").joinpath("samples", "README.md").is_file()


def test_corrupt_npz_names_the_file(data_dir):
    (data_dir / "mnist").mkdir()
    bad = data_dir / "mnist" / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(CorruptFileError) as err:
        mnist.load_data()
    assert str(bad) in str(err.value)
    np.savez(bad, x=np.zeros(3))  # a valid npz with the wrong arrays
    with pytest.raises(CorruptFileError, match="x_train"):
        mnist.load_data()


def test_corrupt_npz_does_not_fall_back_to_the_sample(data_dir):
    (data_dir / "mnist").mkdir()
    (data_dir / "mnist" / "mnist.npz").write_bytes(b"garbage")
    with pytest.raises(CorruptFileError):
        mnist.load_data_or_sample()


# --------------------------------------------------------------------------- imdb / reuters

IMDB_TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10], [11, 12], [13, 14, 15]]
IMDB_TEST = [[2, 2], [20, 1, 3, 5], [7], [9, 9, 9]]


def write_imdb(data_dir):
    (data_dir / "imdb").mkdir()
    np.savez(data_dir / "imdb" / "imdb.npz", x_train=obj(IMDB_TRAIN), y_train=np.array([1, 0, 1, 0, 1, 0]),
             x_test=obj(IMDB_TEST), y_test=np.array([0, 1, 1, 0]))
    (data_dir / "imdb" / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2}))


def test_imdb_keras_semantics(data_dir):
    write_imdb(data_dir)
    rng = np.random.RandomState(113)
    p_train, p_test = perm(6, rng), perm(4, rng)  # one generator: train indices, then test
    (x, y), (xt, yt) = imdb.load_data()
    assert x.dtype == object and isinstance(x[0], list)
    # start_char 1, ranks + 3; num_words=None caps at the largest id (23), which becomes OOV (Keras)
    expect = [[1] + [w + 3 for w in IMDB_TRAIN[i]] for i in p_train]
    assert list(x) == expect
    np.testing.assert_array_equal(y, np.array([1, 0, 1, 0, 1, 0])[p_train])
    expect_t = [[1] + [w + 3 if w + 3 < 23 else 2 for w in IMDB_TEST[i]] for i in p_test]
    assert list(xt) == expect_t
    np.testing.assert_array_equal(yt, np.array([0, 1, 1, 0])[p_test])


def test_imdb_num_words_skip_top_maxlen_and_no_start(data_dir):
    write_imdb(data_dir)
    (x, _), _ = imdb.load_data(num_words=10, skip_top=5)
    for seq in x:
        assert all(w == 2 or 5 <= w < 10 for w in seq)
    (x, y), (xt, yt) = imdb.load_data(maxlen=3)  # keeps len < 3 after the start char: 1 word
    assert [len(s) for s in x] == [2] and [len(s) for s in xt] == [2]
    assert x[0] == [1, 2] and xt[0] == [1, 10]  # 13 is the largest id left: OOV, as in Keras
    (x, _), _ = imdb.load_data(start_char=None, index_from=0, num_words=100)
    assert sorted(map(tuple, x)) == sorted(map(tuple, IMDB_TRAIN))
    (x, _), _ = imdb.load_data(num_words=8, oov_char=None)
    assert all(w < 8 for s in x for w in s)
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=1)
    assert imdb.get_word_index() == {"the": 1, "and": 2}


def write_reuters(data_dir, n=11):
    (data_dir / "reuters").mkdir()
    xs = [[i + 1] * (i % 4 + 1) for i in range(n)]
    np.savez(data_dir / "reuters" / "reuters.npz", x=obj(xs), y=np.arange(n) % 3)
    (data_dir / "reuters" / "reuters_word_index.json").write_text(json.dumps({"said": 1}))
    return xs


def test_reuters_keras_semantics(data_dir):
    xs = write_reuters(data_dir)
    p = perm(11, np.random.RandomState(113))
    (x, y), (xt, yt) = reuters.load_data(num_words=100)
    assert len(x) == int(11 * 0.8) == 8 and len(xt) == 3
    assert list(x) + list(xt) == [[1] + [w + 3 for w in xs[i]] for i in p]
    np.testing.assert_array_equal(np.concatenate([y, yt]), (np.arange(11) % 3)[p])
    (x, _), (xt, _) = reuters.load_data(test_split=0.5)
    assert (len(x), len(xt)) == (5, 6)
    assert reuters.get_word_index() == {"said": 1}
    assert reuters.get_label_names()[3] == "earn" and len(reuters.get_label_names()) == 46


# --------------------------------------------------------------------------- boston, cifar10

def test_boston(data_dir):
    (data_dir / "boston_housing").mkdir()
    x = np.arange(10 * 13, dtype=float).reshape(10, 13)
    y = np.arange(10, dtype=float)
    np.savez(data_dir / "boston_housing" / "boston_housing.npz", x=x, y=y)
    p = perm(10, np.random.RandomState(113))
    (xtr, ytr), (xte, yte) = boston_housing.load_data()
    assert xtr.shape == (8, 13) and xte.shape == (2, 13)
    np.testing.assert_array_equal(np.concatenate([ytr, yte]), y[p])
    np.testing.assert_array_equal(xtr, x[p[:8]])
    with pytest.raises(ValueError):
        boston_housing.load_data(test_split=1.0)


def test_cifar10_npz_subset_warns(data_dir):
    (data_dir / "cifar10").mkdir()
    x = np.zeros((4, 32, 32, 3), np.uint8)
    np.savez(data_dir / "cifar10" / "cifar10.npz", x_train=x, y_train=np.zeros((4, 1), np.uint8),
             x_test=x[:2], y_test=np.ones((2, 1), np.uint8))
    with pytest.warns(UserWarning, match="subset"):
        (a, b), (c, d) = cifar10.load_data()
    assert a.shape == (4, 32, 32, 3) and d.shape == (2, 1)


def test_cifar10_from_python_batches(data_dir):
    folder = data_dir / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.randint(0, 256, (2, 3072)).astype(np.uint8)
        labels = list(rng.randint(0, 10, 2))
        batches[name] = (data, labels)
        with open(folder / name, "wb") as f:  # the Python-2 pickles have bytes keys
            pickle.dump({b"data": data, b"labels": labels}, f)
    (x, y), (xt, yt) = cifar10.load_data()
    assert x.shape == (10, 32, 32, 3) and y.shape == (10, 1) and xt.shape == (2, 32, 32, 3)
    data, labels = batches["data_batch_1"]
    # row-major 3x32x32 (channel planes) -> channels last
    assert x[0, 0, 1, 2] == data[0, 2 * 1024 + 0 * 32 + 1]
    assert x[1, 5, 7, 1] == data[1, 1 * 1024 + 5 * 32 + 7]
    assert y[:2, 0].tolist() == labels
    assert yt[:, 0].tolist() == batches["test_batch"][1]


# --------------------------------------------------------------------------- jena, nietzsche

JENA_FULL_HEADER = ('"Date Time","p (mbar)","T (degC)","Tpot (K)","Tdew (degC)","rh (%)","VPmax (mbar)",'
                    '"VPact (mbar)","VPdef (mbar)","sh (g/kg)","H2OC (mmol/mol)","rho (g/m**3)",'
                    '"wv (m/s)","max. wv (m/s)","wd (deg)"')


def test_jena_full_and_hourly(data_dir):
    (data_dir / "jena_climate").mkdir()
    rows = [f"01.01.2009 00:{10 * i:02d}:00," + ",".join(f"{i + j / 100:.2f}" for j in range(14))
            for i in range(3)]
    (data_dir / "jena_climate" / "jena_climate_2009_2016.csv").write_text(JENA_FULL_HEADER + "\n" + "\n".join(rows))
    header, data = jena_climate.load_data()
    assert len(header) == 15 and header[0] == "Date Time" and header[2] == "T (degC)"
    assert data.shape == (3, 14) and data.dtype == np.float64 and data[2, 1] == 2.01
    hourly = data_dir / "jena_climate" / jena_climate.HOURLY
    with gzip.open(hourly, "wt") as f:
        f.write('"Date Time","p (mbar)","T (degC)"\n01.01.2009 00:10:00,996.52,-8.02\n'
                "01.01.2009 01:10:00,996.50,-7.62\n")
    header, data = jena_climate.load_data(variant="hourly")
    assert header == ["Date Time", "p (mbar)", "T (degC)"]
    np.testing.assert_array_equal(data, [[996.52, -8.02], [996.50, -7.62]])
    assert jena_climate.find_file() == data_dir / "jena_climate" / "jena_climate_2009_2016.csv"
    os.remove(data_dir / "jena_climate" / "jena_climate_2009_2016.csv")
    assert jena_climate.find_file() == hourly  # auto: the subset when the full file is absent


def test_jena_missing_and_bad(data_dir):
    with pytest.raises(DatasetNotFoundError, match="jena_climate_2009_2016.csv.zip"):
        jena_climate.load_data()
    bad = data_dir / "bad.csv"
    bad.write_text('"Date Time","p"\n01.01.2009 00:10:00,abc\n')
    with pytest.raises(CorruptFileError, match="bad.csv"):
        jena_climate.load_data(bad)


def test_nietzsche(data_dir):
    (data_dir / "nietzsche").mkdir()
    (data_dir / "nietzsche" / "nietzsche.txt").write_text("PREFACE\n\nSupposing that Truth", encoding="utf-8")
    assert nietzsche.load_text() == "PREFACE\n\nSupposing that Truth"
    assert nietzsche.load_text(lower=True) == "preface\n\nsupposing that truth"


# --------------------------------------------------------------------------- aclImdb

def add(t, name, data=None):
    info = tarfile.TarInfo(name)
    if data is None:
        info.type = tarfile.DIRTYPE
        t.addfile(info)
    else:
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))


def write_aclimdb(data_dir):
    (data_dir / "imdb").mkdir(exist_ok=True)
    with tarfile.open(data_dir / "imdb" / "aclImdb_v1_labeled.tar.xz", "w:xz") as t:
        for split in ("train", "test"):
            for kind in ("neg", "pos"):
                for i, rating in ((10, 1), (2, 3)):
                    add(t, f"aclImdb/{split}/{kind}/{i}_{rating}.txt", f"{split} {kind} {i} é".encode())
        add(t, "aclImdb/README", b"readme")


def test_aclimdb_unpacks_once_into_the_cache(data_dir, tmp_path):
    write_aclimdb(data_dir)
    texts, labels = aclimdb.load_texts("train")
    # neg first, then pos; sorted file names ('10_1.txt' < '2_3.txt')
    assert texts == ["train neg 10 é", "train neg 2 é", "train pos 10 é", "train pos 2 é"]
    assert labels.tolist() == [0, 0, 1, 1]
    assert (tmp_path / "cache" / "aclImdb" / "aclImdb" / "test" / "pos").is_dir()
    assert sorted(os.listdir(data_dir / "imdb")) == ["aclImdb_v1_labeled.tar.xz"]  # data folder untouched
    os.remove(data_dir / "imdb" / "aclImdb_v1_labeled.tar.xz")  # the unpacked copy is reused
    texts, labels = aclimdb.load_texts("test")
    assert texts[0] == "test neg 10 é"
    with pytest.raises(ValueError):
        aclimdb.load_texts("unsup")


def test_aclimdb_wrong_layout_and_missing(data_dir, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="aclImdb_v1.tar.gz"):
        aclimdb.load_texts()
    bad = tmp_path / "aclImdb"
    (bad / "train" / "neg").mkdir(parents=True)
    with pytest.raises(FolderLayoutError) as err:
        aclimdb.load_texts("train", directory=bad)
    assert str(bad) in str(err.value) and "train/pos" in str(err.value)


# --------------------------------------------------------------------------- cats and dogs

def write_cats_tar(path, skip=()):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), (200, 10, 10)).save(buf, "JPEG")
    with tarfile.open(path, "w") as t:
        for subset in ("train", "validation", "test"):
            for cls in ("cats", "dogs"):
                if f"{subset}/{cls}" in skip:
                    continue
                add(t, f"{subset}/{cls}")
                add(t, f"{subset}/{cls}/{cls[:-1]}.0.jpg", buf.getvalue())


def test_cats_and_dogs(data_dir, tmp_path):
    (data_dir / "cats_and_dogs_small").mkdir()
    write_cats_tar(data_dir / "cats_and_dogs_small" / "cats_and_dogs_small.tar")
    folder = cats_and_dogs.ensure_small_dataset()
    assert folder == tmp_path / "cache" / "cats_and_dogs_small"
    assert (folder / "validation" / "dogs" / "dog.0.jpg").is_file()
    assert cats_and_dogs.ensure_small_dataset() == folder


def test_cats_and_dogs_wrong_layout_names_what_is_missing(data_dir, tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        cats_and_dogs.ensure_small_dataset()
    assert "cats_and_dogs_small.tar" in str(err.value) and "kaggle" in str(err.value).lower()
    (data_dir / "cats_and_dogs_small").mkdir()
    write_cats_tar(data_dir / "cats_and_dogs_small" / "cats_and_dogs_small.tar",
                   skip=("validation/dogs", "test/cats"))
    with pytest.raises(FolderLayoutError) as err:
        cats_and_dogs.ensure_small_dataset()
    assert "validation/dogs" in str(err.value) and "test/cats" in str(err.value)
    assert "cats_and_dogs_small" in str(err.value)


def test_build_small_dataset(tmp_path, monkeypatch):
    # the book's ranges (0-999 / 1000-1499 / 1500-1999), scaled down 100x to keep the test fast
    monkeypatch.setattr(cats_and_dogs, "RANGES", {"train": range(0, 10), "validation": range(10, 15),
                                                  "test": range(15, 20)})
    original = tmp_path / "kaggle_train"
    original.mkdir()
    for cls in ("cat", "dog"):
        for i in range(20):
            (original / f"{cls}.{i}.jpg").write_bytes(f"{cls}{i}".encode())
    base = cats_and_dogs.build_small_dataset(original, tmp_path / "small")
    assert len(os.listdir(base / "train" / "cats")) == 10
    assert len(os.listdir(base / "test" / "dogs")) == 5
    assert (base / "validation" / "cats" / "cat.10.jpg").read_bytes() == b"cat10"
    os.remove(original / "dog.3.jpg")
    with pytest.raises(FileNotFoundError, match="dog.3.jpg"):
        cats_and_dogs.build_small_dataset(original, tmp_path / "small2")


# --------------------------------------------------------------------------- glove

def test_glove(data_dir, tmp_path):
    (data_dir / "glove").mkdir()
    (data_dir / "glove" / "glove.6B.50d.subset.txt").write_text(
        "the " + " ".join(["0.5"] * 50) + "\n, " + " ".join(["-1.25"] * 50) + "\n")
    index = glove.load_glove(50)
    assert set(index) == {"the", ","} and index["the"].dtype == np.float32 and index[","][0] == -1.25
    assert set(glove.load_glove(50, words=["the", "cat"])) == {"the"}
    p = tmp_path / "vectors.txt"
    p.write_text("a 1 2 3\nb 4 5 6\n")
    np.testing.assert_array_equal(glove.load_glove(p)["b"], [4, 5, 6])  # any dimension
    with pytest.raises(DatasetNotFoundError) as err:  # the book's 100d is not there
        glove.load_glove(100)
    assert "glove.6B.zip" in str(err.value) and "glove.6B.50d.subset.txt" in str(err.value)
    p.write_text("a 1 2 3\nb 4 5\n")
    with pytest.raises(CorruptFileError, match="line 2"):
        glove.load_glove(p)
