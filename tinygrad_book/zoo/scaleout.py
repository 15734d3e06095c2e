"""Scale-out: ``reproduce`` as independent tasks, in this process or on a Dask cluster.

One task is one entry trained with one seed (the table's seed, or one of ``--other-seeds``),
or, for a K-fold entry, one fold of it. A task seeds everything it uses (``runner.run`` calls
``set_seed``; a fold seeds itself from (seed, fold index), zoo/folds.py), so it gives the same
numbers wherever it runs: in this process, in a ``LocalCluster`` worker, on another machine.
The driver (this process) writes every finished task at once, atomically:

* ``results.tasks.json`` (beside ``results.json``): the tasks done so far, key ``id@seed``
  (``id@seed/fold2`` for a fold);
* ``results.json`` / ``results.md``: an entry, once all its seeds (and folds) are done (its
  tasks then leave the tasks file).

A crash or Ctrl-C therefore loses only the tasks that were running; ``--resume`` skips every
entry and task already done with the same settings.

Scheduler (``--scheduler``): ``local`` or ``local:N`` starts a ``distributed.LocalCluster`` of
N worker processes (default: one per core), ``tcp://HOST:PORT`` joins a running scheduler.
Each worker runs one task at a time, with ``max(1, cores // workers on its host)`` numba
threads, so the workers of a machine share its cores instead of oversubscribing them.
Dask is imported only here, and only when a scheduler is asked for (``pip install -e ".[dask]"``).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from . import registry
from .reproduce import headline, rewrite, run_one, stamp
from .results import merge_result, read_json, write_json_atomic
from .runner import combine_folds, or_default, run_fold


class DataMissingOnWorker(FileNotFoundError):
    """A worker could not read a dataset: the message names the worker and the loader's reason."""


# --------------------------------------------------------------------------- the --scheduler option

def scheduler_option(text: str) -> str:
    """argparse type: ``local``, ``local:N`` (N >= 1) or ``tcp://HOST:PORT``."""
    if text == "local" or text.startswith("tcp://"):
        return text
    if text.startswith("local:"):
        count = text.split(":", 1)[1]
        if count.isdigit() and int(count) >= 1:
            return text
        raise argparse.ArgumentTypeError(f"{text!r}: local:N needs N >= 1 worker processes")
    raise argparse.ArgumentTypeError(f"{text!r} is not local, local:N or tcp://HOST:PORT")


def host_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def dask_client(scheduler: str):
    """A ``distributed.Client`` for ``scheduler``; a local cluster ends with the block."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit('--scheduler needs Dask: pip install -e ".[dask]"') from None
    if scheduler.startswith("tcp://"):
        with Client(scheduler) as client:
            yield client
        return
    workers = int(scheduler.split(":", 1)[1]) if ":" in scheduler else host_cores()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, \
            Client(cluster) as client:
        yield client


def numba_threads_by_worker(client) -> dict:
    """{worker address: numba threads}: the cores of its host shared among that host's workers."""
    workers = client.scheduler_info()["workers"]
    per_host = {}
    for address, info in workers.items():
        per_host.setdefault(info.get("host", address.rsplit(":", 1)[0]), []).append(address)
    cores = client.run(host_cores)             # measured on each worker, not here
    return {a: max(1, cores[a] // len(peers)) for peers in per_host.values() for a in peers}


# --------------------------------------------------------------------------- one task

@dataclass(frozen=True)
class Task:
    """One entry trained with one seed, or (``fold``) one fold of a K-fold entry.
    ``tiny`` (tests): the loaders' synthetic data."""
    entry_id: str
    seed: int
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    reduced: Optional[str] = None
    device: Optional[str] = None
    tiny: bool = False
    fold: Optional[int] = None

    @property
    def key(self) -> str:
        return f"{self.entry_id}@{self.seed}" + ("" if self.fold is None else f"/fold{self.fold}")


def tasks_for(entry_id, seed, epochs=None, batch_size=None, reduced=None, device=None, tiny=False):
    """The tasks of one entry x seed: one, or one per fold of a K-fold entry."""
    folds = registry.get(entry_id).folds
    return [Task(entry_id, seed, epochs, batch_size, reduced, device, tiny, fold)
            for fold in (range(folds.count) if folds else [None])]


def run_task(task: Task, numba_threads=None) -> dict:
    """Run ``task`` here (a worker, or the driver itself); its result dict, history included."""
    from ..autograd import set_default_device
    from ..data.download import CorruptFileError, DatasetNotFoundError, FolderLayoutError

    if numba_threads:
        _set_numba_threads(numba_threads)
    if task.device:
        set_default_device(task.device)
    entry = registry.get(task.entry_id)
    if task.reduced:
        entry = entry.with_reduced_schedule()
    try:
        if task.fold is None:
            result = run_one(entry, task.seed, task.epochs, task.batch_size, verbose=0, device=task.device,
                             reduced=task.reduced, tiny=task.tiny)
        else:
            result = stamp(run_fold(entry, task.fold, task.epochs, task.batch_size, tiny=task.tiny,
                                    seed=task.seed), task.device, task.reduced)
    except (DatasetNotFoundError, FolderLayoutError, CorruptFileError) as e:
        raise DataMissingOnWorker(
            f"worker {_worker_name()} cannot read the data of {task.entry_id}"
            + ("" if task.fold is None else f" (fold {task.fold})") + f": {e}\n"
            "Every worker needs the data cache (or TINYGRAD_BOOK_DATA) on its own disk.") from None
    result["task"] = asdict(task)
    return result


def seed_result(tasks, done) -> dict:
    """The result of one entry x seed from its finished ``tasks``: the task's own, or the
    folds' results combined (runner.combine_folds, as the serial run combines them)."""
    first = tasks[0]
    if first.fold is None:
        result = dict(done[first.key])
        result.pop("task", None)
        return result
    entry = registry.get(first.entry_id)
    result = combine_folds(entry, [done[t.key] for t in tasks], first.epochs, first.batch_size, first.seed)
    return stamp(result, first.device, first.reduced)


def _set_numba_threads(count):
    import numba
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))


def _worker_name() -> str:
    try:
        from distributed import get_worker
        worker = get_worker()
        return f"{worker.name} ({worker.address})"
    except (ImportError, ValueError):
        return f"(this process, pid {os.getpid()})"


# --------------------------------------------------------------------------- the driver

def plan(ids, seed=0, other_seeds=0, overrides=None, device=None, tiny=False) -> dict:
    """{entry id: [its tasks, the table's seed's first]}."""
    overrides = overrides or {}
    tasks = {}
    for entry_id in ids:
        epochs, batch_size, reduced = overrides.get(entry_id, (None, None, None))
        tasks[entry_id] = [t for s in range(seed, seed + 1 + other_seeds)
                           for t in tasks_for(entry_id, s, epochs, batch_size, reduced, device, tiny)]
    return tasks


def by_seed(tasks) -> dict:
    """{seed: its tasks}, in the order of ``tasks``."""
    seeds = {}
    for task in tasks:
        seeds.setdefault(task.seed, []).append(task)
    return seeds


def same_settings(task: Task, result: dict) -> bool:
    """Did ``result`` come from a run of ``task`` (seed, epochs, batch size, reduced, fold)?"""
    entry = registry.get(task.entry_id)
    return (result.get("seed") == task.seed
            and result.get("epochs") == or_default(task.epochs, entry.epochs)
            and result.get("batch_size") == or_default(task.batch_size, entry.batch_size)
            and result.get("reduced") == task.reduced
            and result.get("fold") == task.fold)


def entry_done(tasks, result) -> bool:
    """Is ``result`` (from results.json) the entry's result for exactly ``tasks``?"""
    if not result or not same_settings(dataclasses.replace(tasks[0], fold=None), result):
        return False
    spread = result.get("seed_spread")
    return (spread["seeds"] if spread else []) == list(by_seed(tasks))[1:]


def assemble(entry_id, tasks, done) -> dict:
    """The entry's result: its first seed's, with the spread of the metric over the others."""
    results = [seed_result(seed_tasks, done) for seed_tasks in by_seed(tasks).values()]
    result = results[0]
    if len(results) > 1:
        metric = registry.get(entry_id).metric
        result["seed_spread"] = {"metric": metric, "seeds": [r["seed"] for r in results[1:]],
                                 "values": [r[metric] for r in results[1:]]}
    return result


def progress(task, result) -> str:
    """One line for a finished task: the entry's numbers, or a fold's score."""
    numbers = (headline(registry.get(task.entry_id), result) if task.fold is None
               else f"fold score={result['score']:.4f}")
    return f"{task.key}: {numbers} [{result.get('wall_time', 0):.1f} s]"


def reproduce_tasks(ids, out="docs/results.md", seed=0, device=None, overrides=None, other_seeds=0,
                    scheduler=None, resume=False, tiny=False, log=print):
    """``reproduce`` task by task: serially here (``scheduler=None``) or on a Dask cluster."""
    out = Path(out)
    if out.is_dir():
        out = out / "results.md"
    json_path = out.with_suffix(".json")
    tasks_path = out.with_name(out.stem + ".tasks.json")
    plans = plan(ids, seed, other_seeds, overrides, device, tiny)
    stored = read_json(json_path)
    done = {k: r for k, r in read_json(tasks_path).items()} if resume else {}
    if resume:
        skipped = [i for i, ts in plans.items() if entry_done(ts, stored.get(i))]
        for entry_id in skipped:
            log(f"== {entry_id}: done already (--resume)")
            del plans[entry_id]
        done = {k: r for k, r in done.items()
                if any(t.key == k and same_settings(t, r) for ts in plans.values() for t in ts)}
    write_json_atomic(tasks_path, done)
    todo = [t for ts in plans.values() for t in ts if t.key not in done]
    log(f"== {len(todo)} task(s) to run, {len(done)} done already"
        + (f", on {scheduler}" if scheduler else ", in this process"))

    def finished(task, result):
        done[task.key] = result
        write_json_atomic(tasks_path, done)
        entry_tasks = plans[task.entry_id]
        log(f"== {progress(task, result)}")
        if all(t.key in done for t in entry_tasks):
            all_results = merge_result(json_path, task.entry_id, assemble(task.entry_id, entry_tasks, done))
            for t in entry_tasks:
                done.pop(t.key)
            write_json_atomic(tasks_path, done)
            rewrite(all_results, out, out.parent / "img", fresh={task.entry_id})

    for entry_id, entry_tasks in plans.items():   # entries whose tasks were all done before
        if all(t.key in done for t in entry_tasks):
            finished(entry_tasks[0], done[entry_tasks[0].key])
    if scheduler is None:
        for task in todo:
            finished(task, run_task(task))
    else:
        run_on_cluster(todo, scheduler, finished, stored, log)
    if not done:
        tasks_path.unlink(missing_ok=True)
    return read_json(json_path)


def run_on_cluster(todo, scheduler, finished, stored, log):
    """Submit every task, longest first (by the wall time of the last stored result); call
    ``finished(task, result)`` as each one arrives. A task whose worker dies is run again
    elsewhere (Dask's ``allowed_failures``)."""
    from distributed import as_completed

    with dask_client(scheduler) as client:
        log(f"== Dask scheduler {client.scheduler.address}, dashboard {client.dashboard_link}")
        threads = numba_threads_by_worker(client)
        count = min(threads.values()) if threads else 1
        futures = {}
        for task in todo:
            priority = int(expected_time(task, stored))
            future = client.submit(run_task, task, count, key=f"train-{task.key}-{os.getpid()}",
                                   priority=priority, pure=False)
            futures[future] = task
        for future in as_completed(futures):
            finished(futures[future], future.result())


def expected_time(task, stored) -> float:
    """Seconds ``task`` took last time: its entry's stored wall time (a fold: its share)."""
    folds = registry.get(task.entry_id).folds
    return (stored.get(task.entry_id) or {}).get("wall_time", 0) / (1 if task.fold is None else folds.count)


def train_tasks(entry_id, seeds, scheduler=None, epochs=None, batch_size=None, device=None, log=print,
                tiny=False):
    """``train ID --scheduler S --other-seeds N``: the entry with each of ``seeds`` as tasks (a
    K-fold entry: each fold of each seed); {seed: result}, in the order the seeds were given."""
    tasks = [t for s in seeds for t in tasks_for(entry_id, s, epochs, batch_size, None, device, tiny)]
    seed_tasks = by_seed(tasks)
    done, results = {}, {}

    def finished(task, result):
        done[task.key] = result
        if task.fold is not None:
            log(progress(task, result))
        if all(t.key in done for t in seed_tasks[task.seed]):
            results[task.seed] = seed_result(seed_tasks[task.seed], done)
            log(f"seed {task.seed}: {headline(registry.get(entry_id), results[task.seed])} "
                f"[{results[task.seed]['wall_time']:.1f} s]")

    if scheduler is None:
        for task in tasks:
            finished(task, run_task(task))
    else:
        run_on_cluster(tasks, scheduler, finished, {}, log)
    return {s: results[s] for s in seeds}
