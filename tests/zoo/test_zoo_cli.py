"""The zoo's commands, run as a user runs them: in a subprocess, offline, in a temporary home."""
import json
import os
import subprocess
import sys

import pytest


def cli(*args, tmp_path, data=None, offline=True):
    env = dict(os.environ, TINYGRAD_BOOK_HOME=str(tmp_path / "home"))
    if offline:
        env["TINYGRAD_BOOK_OFFLINE"] = "1"
    if data is not None:
        env["TINYGRAD_BOOK_DATA"] = str(data)
    return subprocess.run([sys.executable, "-m", "tinygrad_book.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def empty_data(tmp_path):
    d = tmp_path / "no-datasets"
    d.mkdir()
    return d


def test_zoo_list_shows_every_id(tmp_path):
    r = cli("zoo", "list", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    for entry_id in ("ch2-mnist-dense", "ch3-boston-kfold-500", "ch4-imdb-dropout"):
        assert entry_id in r.stdout
    assert "0.9785" in r.stdout


def test_zoo_show_prints_reference_code_and_summary(tmp_path):
    r = cli("zoo", "show", "ch2-mnist-dense", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "listings 2.1-2.5" in r.stdout
    assert "layers.Dense(512, activation='relu'" in r.stdout
    assert "407,050" in r.stdout or "407050" in r.stdout


def test_train_mnist_offline_uses_the_bundled_sample(tmp_path, empty_data):
    plot = tmp_path / "curves.png"
    r = cli("train", "ch2-mnist-dense", "--epochs", "1", "--plot", str(plot),
            tmp_path=tmp_path, data=empty_data)
    assert r.returncode == 0, r.stderr
    assert "bundled MNIST sample" in r.stdout
    assert "test_acc" in r.stdout and "0.9785" in r.stdout
    assert plot.stat().st_size > 1000
    last = json.loads((tmp_path / "home" / "results.json").read_text())
    assert last["ch2-mnist-dense"]["source"] == "sample"
    assert 0.5 < last["ch2-mnist-dense"]["test_acc"] <= 1.0
    listed = cli("zoo", "list", tmp_path=tmp_path)
    assert "(sample)" in listed.stdout


def test_bad_id_exits_2_with_a_suggestion(tmp_path):
    r = cli("train", "ch2-mnist-dens", tmp_path=tmp_path)
    assert r.returncode == 2
    assert "ch2-mnist-dense" in r.stderr and "Traceback" not in r.stderr


def test_missing_dataset_exits_1_with_the_loaders_message(tmp_path, empty_data):
    r = cli("train", "ch3-imdb-dense-final", tmp_path=tmp_path, data=empty_data)
    assert r.returncode == 1
    assert "imdb.npz" in r.stderr and "TINYGRAD_BOOK_DATA" in r.stderr
    assert "Traceback" not in r.stderr


def test_save_then_evaluate(tmp_path, empty_data):
    weights = tmp_path / "w.h5"
    r = cli("train", "ch2-mnist-dense", "--epochs", "1", "--quiet", "--save", str(weights),
            tmp_path=tmp_path, data=empty_data)
    assert r.returncode == 0, r.stderr
    r = cli("evaluate", "ch2-mnist-dense", "--weights", str(weights),
            tmp_path=tmp_path, data=empty_data)
    assert r.returncode == 0, r.stderr
    assert "test set (500 samples" in r.stdout


def test_reproduce_rejects_an_unknown_id_before_training(tmp_path):
    r = cli("reproduce", "--ids", "ch3-boston-final,ch9-nope", "--out", str(tmp_path / "r.md"),
            tmp_path=tmp_path)
    assert r.returncode == 2 and "ch9-nope" in r.stderr
    assert not (tmp_path / "r.json").exists()
