"""zoo/scaleout.py: reproduce as tasks (entry x seed), serially or on a Dask LocalCluster.

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

IDS = ["ch3-boston-final", "ch3-boston-kfold-100", "ch3-imdb-dense-final"]
FAST = {i: (2, None, "2 epochs (test)") for i in IDS}


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
    assert list(read_json(out / "results.tasks.json")) == ["ch3-boston-kfold-100@0"]
    assert (out / "results.md").exists()

    ran.clear()
    monkeypatch.setattr(scaleout, "run_task", lambda task, n=None: (ran.append(task.key), real(task, n))[1])
    resumed = reproduce(tmp_path, "crash", resume=True)
    assert sorted(ran) == ["ch3-boston-kfold-100@1", "ch3-imdb-dense-final@0", "ch3-imdb-dense-final@1"]
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
