"""GloVe word vectors (Pennington, Socher, Manning 2014; PDDL 1.0), book 6.1.3.

The book uses ``glove.6B.100d.txt`` from ``glove.6B.zip`` (822 MB, 400,000 words).
The project's local copy is a real 50-d subset, ``glove/glove.6B.50d.subset.txt`` (29,361 words).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.download import CorruptFileError, DatasetNotFoundError, cache_home, data_home, unpack_once
from ._base import fetch, first_existing

ORIGIN = "https://nlp.stanford.edu/data/glove.6B.zip"
DIMS_6B = (50, 100, 200, 300)


def find_file(dim) -> Path:
    """Path of a GloVe 6B text file of dimension ``dim``: ``glove/glove.6B.{dim}d.txt``, else
    ``glove/glove.6B.{dim}d.subset.txt``, else from ``glove.6B.zip`` (on disk, or downloaded)."""
    name = f"glove.6B.{dim}d.txt"
    found = first_existing(f"glove/{name}", name, f"glove/glove.6B.{dim}d.subset.txt")
    if found is not None:
        return found
    unpacked = cache_home() / "glove.6B" / name
    if unpacked.exists():
        return unpacked
    if dim not in DIMS_6B:
        raise ValueError(f"GloVe 6B comes in dimensions {DIMS_6B}, not {dim}; pass a file path instead")
    archive = first_existing("glove/glove.6B.zip")
    if archive is None:
        try:
            archive = fetch("glove", "glove.6B.zip", ORIGIN)
        except DatasetNotFoundError as e:
            others = sorted(p.name for p in (data_home() / "glove").glob("glove*.txt"))
            if others:  # say what *is* there, e.g. the 50-d subset when 100-d was asked for
                raise type(e)(e.fname, e.origin, e.path, f"{name} is not on disk and glove.6B.zip "
                              "could not be obtained", hint=f"found instead: {', '.join(others)}") from e
            raise
    return unpack_once(archive, cache_home() / "glove.6B") / name


def load_glove(path_or_dim=100, words=None, dtype="float32") -> dict:
    """Dict word -> vector (``dtype``), from a GloVe text file: one word and its numbers per line.

    ``path_or_dim``: a file path, or a dimension looked up with ``find_file``. ``words``: keep only
    these words (saves memory with the full 400,000-word files). Every vector must have the same
    length; a line that does not names the file and line.
    """
    path = find_file(path_or_dim) if isinstance(path_or_dim, int) else Path(path_or_dim)
    if not path.exists():
        raise DatasetNotFoundError(path.name, None, path, "the file does not exist")
    wanted = set(words) if words is not None else None
    index, dim = {}, None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            values = line.split()
            if not values:
                continue
            if wanted is not None and values[0] not in wanted:
                continue
            try:
                vec = np.asarray(values[1:], dtype=dtype)
            except ValueError as e:
                raise CorruptFileError(f"{path}, line {lineno}: not a GloVe line ({e})") from e
            dim = dim or len(vec)
            if len(vec) != dim or dim == 0:
                raise CorruptFileError(f"{path}, line {lineno}: {len(vec)} numbers, expected {dim}")
            index[values[0]] = vec
    return index
