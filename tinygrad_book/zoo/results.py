"""Where results are kept: the user's last runs, and the project's reproduction table.

* ``last_results_path()``: ``$TINYGRAD_BOOK_HOME/results.json`` (default ``~/.tinygrad_book``),
  one line per id in ``zoo list``; rewritten after each ``train``.
* ``docs/results.json`` + ``docs/results.md``: the reproduction. Each ``reproduce`` run merges its
  entries into the JSON, and the markdown is regenerated from the whole JSON, so runs made in
  pieces (``--ids``) add up to one table.

Both JSON files are written atomically (temporary file + ``os.replace``): an interrupted run
never leaves half a file.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from ..fileio import atomic_write

ENV_HOME = "TINYGRAD_BOOK_HOME"


def app_home() -> Path:
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".tinygrad_book"


def last_results_path() -> Path:
    return app_home() / "results.json"


def read_json(path) -> dict:
    """The JSON object in ``path``; a missing or damaged file reads as empty (it is only a cache)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_json_atomic(path, data):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
    atomic_write(path, write)


def merge_result(path, entry_id, result):
    """Put ``result`` under ``entry_id`` in the JSON at ``path``, keeping the other ids."""
    data = read_json(path)
    data[entry_id] = result
    write_json_atomic(path, data)
    return data


def save_last_result(entry_id, result):
    """Remember the numbers (not the curves) of the last ``train`` of an entry."""
    summary = {k: v for k, v in result.items() if k != "history"}
    merge_result(last_results_path(), entry_id, summary)


def machine() -> dict:
    """The CPU model (from /proc/cpuinfo), the number of cores, python and numpy versions."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "python": platform.python_version(), "numpy": np.__version__}


def format_value(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
