"""The reliability tests run the command line as a user does: in a subprocess, offline, in a
temporary home, on an empty data folder (so MNIST is the bundled sample) unless told otherwise."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def empty_data(tmp_path):
    d = tmp_path / "no-datasets"
    d.mkdir()
    return d


def cli_env(tmp_path, data=None, **extra):
    env = dict(os.environ, TINYGRAD_BOOK_HOME=str(tmp_path / "home"), TINYGRAD_BOOK_OFFLINE="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)
    if data is not None:
        env["TINYGRAD_BOOK_DATA"] = str(data)
    return env


@pytest.fixture
def cli(tmp_path):
    """cli(*args, data=None) -> CompletedProcess of `python -m tinygrad_book.cli args`."""
    def run(*args, data=None, **extra):
        return subprocess.run([sys.executable, "-m", "tinygrad_book.cli", *map(str, args)],
                              env=cli_env(tmp_path, data, **extra), capture_output=True, text=True,
                              timeout=600)
    return run


SAMPLE_NOTICE = "tinygrad_book: MNIST not available (offline); using the bundled sample"


def one_error_line(r):
    """The CLI's failure output: exactly one line, 'error: ...', and no traceback (besides the
    loader's notice that the bundled MNIST sample stands in for the full set)."""
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith(SAMPLE_NOTICE)]
    assert "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]
