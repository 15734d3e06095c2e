"""zoo/scaleout.py: reproduce as tasks (entry x seed, or one fold of a K-fold entry), serially
or on a Dask LocalCluster.

Tiny entries (the loaders' synthetic data, two epochs), so a cluster test takes seconds of
training; most of its time is starting the worker processes."""
import argparse
import os
import signal
import threading
import time

import pytest

from tinygrad_book.zoo import scaleout
from tinygrad_book.zoo.results import read_json

IDS = ["ch3-boston-final", "ch3-boston-kfold-500", "ch3-imdb-dense-final"]   # K-fold: 4 fold tasks
FAST = dict({i: (2, None, "2 epochs (test)") for i in IDS},
            **{"ch3-boston-kfold-500": (12, 8, "12 epochs (test)")})   # its metric reads epochs 11+


def reproduce(tmp_path, name, **kw):
    kw = dict(dict(overrides=FAST, other_seeds=1, tiny=True, log=lambda *a: None), **kw)
    return scaleout.reproduce_tasks(kw.pop("ids", IDS), out=tmp_path / name / "results.md", **kw)


def comparable(results):
    """Everything but the clock: values, histories, seeds, settings."""
    return {i: {k: v for k, v in r.items() if k not in ("wall_time", "date")} for i, r in results.items()}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return comparable(reproduce(tmp_path_factory.mktemp("serial"), "serial"))


def test_the_scheduler_option_takes_local_local_n_or_an_address():
    for text in ("local", "local:2", "tcp://10.0.0.1:8786"):
        assert scaleout.scheduler_option(text) == text
    for text in ("local:0", "local:x", "10.0.0.1:8786", "dask"):
        with pytest.raises(argparse.ArgumentTypeError, match="local"):
            scaleout.scheduler_option(text)


def test_serial_tasks_give_what_run_one_gives(serial, tmp_path):
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.reproduce import run_one

    entry = registry.get("ch3-boston-final")
    direct = [run_one(entry, seed, 2, None, verbose=0, reduced=FAST[entry.id][2], tiny=True)
              for seed in (0, 1)]
    assert serial[entry.id]["history"] == direct[0]["history"]
    assert serial[entry.id]["test_mae"] == direct[0]["test_mae"]
    assert serial[entry.id]["seed_spread"] == {"metric": "test_mae", "seeds": [1],
                                               "values": [direct[1]["test_mae"]]}
    assert set(serial) == set(IDS)


def test_the_serial_k_fold_run_gives_what_its_fold_tasks_give(serial):
    """The serial loop (runner.run) and the tasks (one per fold, combined) agree bit for bit."""
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.reproduce import run_one

    entry = registry.get("ch3-boston-kfold-500")
    direct = run_one(entry, 0, *FAST[entry.id][:2], verbose=0, reduced=FAST[entry.id][2], tiny=True)
    assert comparable({"k": direct})["k"] == {k: v for k, v in serial[entry.id].items() if k != "seed_spread"}
    assert len(direct["all_scores"]) == 4 and len(direct["history"]["val_mae"]) == 12


def test_a_fold_run_alone_gives_its_number_of_the_whole_run():
    """Each fold seeds itself from (seed, fold): alone, or after the others, the same bits;
    and another seed gives other numbers."""
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.runner import run, run_fold

    entry = registry.get("ch3-boston-kfold-100")
    whole = run(entry, epochs=1, verbose=0, tiny=True, seed=3)
    alone = run_fold(entry, 2, epochs=1, tiny=True, seed=3)
    assert alone["score"] == whole["all_scores"][2]
    assert run_fold(entry, 2, epochs=1, tiny=True, seed=4)["score"] != alone["score"]


def test_a_failing_fold_names_the_entry_the_seed_and_the_fold():
    import dataclasses

    from tinygrad_book.zoo import chapter3, registry
    from tinygrad_book.zoo.folds import FoldFailed, Folds
    from tinygrad_book.zoo.runner import run

    def fails_on_fold_2(entry, i, *args):
        if i == 2:
            raise ValueError("the loss went up in smoke")
        return chapter3.train_fold(entry, i, *args)

    entry = dataclasses.replace(registry.get("ch3-boston-kfold-100"),
                                folds=Folds(4, fails_on_fold_2, chapter3.mean_of_folds))
    with pytest.raises(FoldFailed, match=r"ch3-boston-kfold-100, seed 5, fold 2 of 4 failed: "
                                         r"ValueError: the loss went up in smoke"):
        run(entry, epochs=1, verbose=0, tiny=True, seed=5)


def test_a_crash_keeps_every_finished_task_and_resume_runs_only_the_rest(serial, tmp_path, monkeypatch):
    ran = []
    real = scaleout.run_task

    def crash_on_the_fourth(task, numba_threads=None):
        if len(ran) == 3:
            raise KeyboardInterrupt
        ran.append(task.key)
        return real(task, numba_threads)

    monkeypatch.setattr(scaleout, "run_task", crash_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        reproduce(tmp_path, "crash")
    out = tmp_path / "crash"
    assert list(read_json(out / "results.json")) == ["ch3-boston-final"]      # both its seeds done
    assert list(read_json(out / "results.tasks.json")) == ["ch3-boston-kfold-500@0/fold0"]
    assert (out / "results.md").exists()

    ran.clear()
    monkeypatch.setattr(scaleout, "run_task", lambda task, n=None: (ran.append(task.key), real(task, n))[1])
    resumed = reproduce(tmp_path, "crash", resume=True)
    assert sorted(ran) == ([f"ch3-boston-kfold-500@0/fold{i}" for i in (1, 2, 3)]     # fold 0 was done
                           + [f"ch3-boston-kfold-500@1/fold{i}" for i in range(4)]
                           + ["ch3-imdb-dense-final@0", "ch3-imdb-dense-final@1"])
    assert comparable(resumed) == serial
    assert not (out / "results.tasks.json").exists()


def test_resume_reruns_an_entry_stored_with_other_settings(tmp_path, monkeypatch):
    ids = ["ch3-boston-final"]
    reproduce(tmp_path, "r", ids=ids, other_seeds=0)
    ran, real = [], scaleout.run_task
    monkeypatch.setattr(scaleout, "run_task", lambda task, n=None: (ran.append(task.key), real(task, n))[1])
    reproduce(tmp_path, "r", ids=ids, other_seeds=0, resume=True)
    assert ran == []
    reproduce(tmp_path, "r", ids=ids, other_seeds=1, resume=True)       # another seed spread
    assert ran == ["ch3-boston-final@0", "ch3-boston-final@1"]
    reproduce(tmp_path, "r", ids=ids, other_seeds=1, resume=True, seed=1)   # another seed
    assert ran[2:] == ["ch3-boston-final@1", "ch3-boston-final@2"]


def test_a_missing_dataset_names_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    with pytest.raises(scaleout.DataMissingOnWorker, match=r"worker \(this process, pid \d+\).*ch3-boston-final"):
        scaleout.run_task(scaleout.Task("ch3-boston-final", 0, epochs=1))


@pytest.mark.filterwarnings("ignore::UserWarning")   # "port 8787 in use": the dashboard takes another
def test_local_2_gives_the_serial_numbers(serial, tmp_path):
    pytest.importorskip("distributed")
    assert comparable(reproduce(tmp_path, "dask", scheduler="local:2")) == serial


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes; the tests join it by its address (tcp://...)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield cluster, client


def test_a_killed_worker_s_task_runs_again_and_nothing_is_lost(serial, tmp_path, cluster):
    cluster, client = cluster
    outcome = {}
    driver = threading.Thread(target=lambda: outcome.update(results=reproduce(
        tmp_path, "killed", scheduler=cluster.scheduler_address)))
    driver.start()
    victim, task = _a_worker_busy_with_a_task(client)
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    driver.join(timeout=300)
    assert not driver.is_alive()
    assert task.startswith("train-")
    assert comparable(outcome["results"]) == serial      # every task, the killed one included
    assert pid not in client.run(os.getpid).values()     # the worker was really gone


def test_train_on_a_cluster_runs_each_fold_as_a_task(cluster):
    """`train ch3-boston-kfold-100 --scheduler ...`: 4 fold tasks, the serial run's numbers."""
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.reproduce import run_one

    cluster, client = cluster
    lines = []
    results = scaleout.train_tasks("ch3-boston-kfold-100", [0], cluster.scheduler_address, epochs=2,
                                   log=lines.append, tiny=True)
    serial_run = run_one(registry.get("ch3-boston-kfold-100"), 0, 2, verbose=0, tiny=True)
    assert comparable(results) == comparable({0: serial_run})
    assert sorted(line.split(":")[0] for line in lines if "/fold" in line) == \
        [f"ch3-boston-kfold-100@0/fold{i}" for i in range(4)]


def _set_env(name, value):
    os.environ[name] = value


def test_a_worker_without_the_data_says_which_worker(tmp_path, cluster):
    cluster, client = cluster
    old = os.environ.get("TINYGRAD_BOOK_DATA", "")
    client.run(_set_env, "TINYGRAD_BOOK_DATA", str(tmp_path / "empty"))
    try:
        future = client.submit(scaleout.run_task, scaleout.Task("ch3-boston-final", 0, epochs=1), pure=False)
        with pytest.raises(scaleout.DataMissingOnWorker, match=r"worker \S+ \(tcp://[\d.:]+\) cannot read "
                                                                r"the data of ch3-boston-final"):
            future.result(timeout=120)
    finally:
        client.run(_set_env, "TINYGRAD_BOOK_DATA", old)


def _a_worker_busy_with_a_task(client, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if keys:
                return worker, keys[0]
        time.sleep(0.05)
    raise AssertionError("no worker started a task")


def test_train_with_other_seeds_runs_each_seed_as_train_does(tmp_path):
    """`train ID --other-seeds 1`: seed 0's number is the one a plain `train` prints."""
    import re
    import subprocess
    import sys

    def train(*extra):
        env = dict(os.environ, TINYGRAD_BOOK_HOME=str(tmp_path / "home"), TINYGRAD_BOOK_OFFLINE="1")
        r = subprocess.run([sys.executable, "-m", "tinygrad_book.cli", "train", "ch3-boston-final",
                            "--epochs", "1", "--quiet", *extra], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stdout

    plain = re.search(r"ours: test_mae = ([\d.]+)", train()).group(1)
    seeds = train("--other-seeds", "1")
    assert re.search(r"seed 0: test_mae=([\d.]+)", seeds).group(1) == plain
    assert re.search(r"seed 1: test_mae=([\d.]+)", seeds).group(1) != plain
    assert "mean" in seeds and "over 2 seeds" in seeds
