"""Jena climate, 2009-2016 (book 6.3, temperature forecasting).

Weather station of the Max Planck Institute for Biogeochemistry, Jena (Olaf Kolle), distributed
by Keras as ``jena_climate_2009_2016.csv.zip``: a "Date Time" column and 14 variables every
10 minutes, 420,551 rows. Column 1 of the float data is the temperature "T (degC)" in both files.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..data.download import CorruptFileError, DatasetNotFoundError, cache_home, unpack_once
from ._base import fetch, first_existing

ORIGIN = "https://s3.amazonaws.com/keras-datasets/jena_climate_2009_2016.csv.zip"
FULL = "jena_climate_2009_2016.csv"
HOURLY = "jena_climate_2009_2016_hourly_6vars.csv.gz"


def find_file(variant="auto") -> Path:
    """Path of the CSV. ``variant``: ``'full'`` (Keras' 10-minute file, 14 variables),
    ``'hourly'`` (the project's real subset: every 6th row, 6 variables), or ``'auto'`` (full if
    on disk, else hourly if on disk, else download the full file)."""
    if variant not in ("auto", "full", "hourly"):
        raise ValueError(f"variant must be 'auto', 'full' or 'hourly', got {variant!r}")
    if variant in ("auto", "full"):
        csv = first_existing(f"jena_climate/{FULL}", FULL)
        if csv is not None:
            return csv
        archive = first_existing(f"jena_climate/{FULL}.zip")
        if archive is not None:
            return unpack_once(archive, cache_home() / "jena_climate") / FULL
    if variant in ("auto", "hourly"):
        hourly = first_existing(f"jena_climate/{HOURLY}")
        if hourly is not None:
            return hourly
        if variant == "hourly":
            fetch("jena_climate", HOURLY)  # raises DatasetNotFoundError: no public download
    archive = fetch("jena_climate", f"{FULL}.zip", ORIGIN)
    return unpack_once(archive, cache_home() / "jena_climate") / FULL


def load_data(path=None, variant="auto"):
    """``(header, float_data)`` parsed as in the book (listing 6.28-6.29).

    ``header``: the column names without their quotes, ``'Date Time'`` first.
    ``float_data``: float64 array (rows, len(header) - 1), every column but the date.
    The full Keras file gives (420551, 14); the hourly subset (70038, 6) -- use ``step=1`` and
    lookback 240 / delay 24 there for the book's 10 days / 24 hours. ``path`` (a .csv or .csv.gz)
    overrides the search.
    """
    path = Path(path) if path is not None else find_file(variant)
    if not path.exists():
        raise DatasetNotFoundError(path.name, ORIGIN, path, "the file does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = [line for line in f.read().split("\n") if line.strip()]
    if not lines:
        raise CorruptFileError(f"{path} is empty")
    header = [name.strip().strip('"') for name in lines[0].split(",")]
    try:
        float_data = np.loadtxt(lines[1:], delimiter=",", usecols=range(1, len(header)),
                                dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise CorruptFileError(f"{path} is not a Jena climate CSV ({e})") from e
    return header, float_data
