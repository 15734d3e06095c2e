"""argparse types for the command line: every option is checked before any work starts.

A bad value ends the command at once with argparse's usage line and exit status 2,
e.g. ``tinygrad-book train ch2-mnist-dense --epochs 0`` ->
``error: argument --epochs: 0 is not a positive integer``.
"""
from __future__ import annotations

import argparse
import os

DEVICES = ("numpy", "cpu", "cuda")        # kernels.DEVICES, without importing the kernels
BENCH_IMPLS = ("numpy", "torch", "reference", "cpu", "cuda")   # bench.IMPLS


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text):
    """An integer >= 1 (epochs, batch sizes)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def non_negative_int(text):
    """An integer >= 0 (counts)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def seed(text):
    """A random seed: numpy takes 0 <= seed < 2**32."""
    value = _int(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{value} is not a seed (0 <= seed < 2**32)")
    return value


def chapters(text):
    """'2,3' -> [2, 3]; at least one chapter number."""
    numbers = [_int(c) for c in text.replace(" ", "").split(",") if c]
    if not numbers:
        raise argparse.ArgumentTypeError(f"{text!r} names no chapter (e.g. 2,3)")
    return numbers


def impl_list(text):
    """'numpy,torch' -> ('numpy', 'torch'): the implementations `bench` compares against."""
    names = tuple(v for v in text.replace(" ", "").split(",") if v)
    unknown = [v for v in names if v not in BENCH_IMPLS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown implementation(s) {', '.join(unknown)}; "
                                         f"choose from {', '.join(BENCH_IMPLS)}")
    return names


def one_line(error: BaseException) -> str:
    """An exception as the one line the CLI prints after 'error: '."""
    text = str(error).strip()
    if isinstance(error, KeyError) and text.startswith("'"):
        text = f"KeyError: {text}"
    first = text.splitlines()[0] if text else type(error).__name__
    if not isinstance(error, (ValueError, TypeError, OSError, RuntimeError, LookupError)):
        first = f"{type(error).__name__}: {first}"
    return first


# --------------------------------------------------------------------------- output paths
# Checked when the options are read, so that a typo costs nothing: before, a bad --plot
# folder was found after training and the trained weights were lost with it.

def _nearest_folder(path):
    """The folder `path` would be created in, or its nearest existing ancestor."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    return folder


def _check_writable_file(path, create_folders=False):
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    parent = os.path.dirname(os.path.abspath(path))
    folder = _nearest_folder(path) if create_folders else parent
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: the folder {folder} is not writable")
    return path


def output_file(path):
    """A file to write (e.g. --save): its folder must exist and be writable."""
    return _check_writable_file(path)


def plot_file(path):
    """An image to draw (--plot): writable, and a format matplotlib can write."""
    _check_writable_file(path)
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    if suffix not in formats:
        raise argparse.ArgumentTypeError(f"cannot draw {path}: {suffix or 'no extension'} is not an image "
                                         f"format matplotlib writes ({', '.join(sorted(formats))})")
    return path


def results_file(path):
    """--out of reproduce: a markdown file, or a folder (then FOLDER/results.md); the JSON and the
    curves go beside it. Missing folders are created."""
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        path = os.path.join(path, "results.md")
    if path.endswith(".json"):
        raise argparse.ArgumentTypeError(f"{path}: give the markdown file (the JSON is written beside it)")
    return _check_writable_file(path, create_folders=True)
