"""Helpers shared by the dataset loaders: find a file, read an .npz safely, Keras' sequence logic."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..data.download import CorruptFileError, DatasetNotFoundError, data_home, get_file


def fetch(subdir, fname, origin=None, file_hash=None) -> Path:
    """Path of ``<data_home>/<subdir>/<fname>``, downloaded from ``origin`` first if it is missing.

    ``origin=None`` means there is no public download: a missing file raises at once.
    """
    if origin is None:
        path = data_home() / subdir / fname
        if not path.exists():
            raise DatasetNotFoundError(fname, None, path, "it is not on disk and has no public download")
        return path
    return Path(get_file(fname, origin, file_hash, cache_subdir=f"datasets/{subdir}"))


def first_existing(*relpaths):
    """The first of ``<data_home>/<relpath>`` that exists, or None."""
    for rel in relpaths:
        p = data_home() / rel
        if p.exists():
            return p
    return None


def check_shapes(path, arrays, shapes):
    """Raise CorruptFileError unless each ``arrays[key]`` has the shape ``shapes[key]``.

    A shape is a tuple of: an int (that size), a string (a size shared by every axis of that
    name, e.g. ``"n_train"`` for the samples of ``x_train`` and ``y_train``), or None (any size).
    Without this a file with the right keys but wrong arrays failed later, at a reshape."""
    sizes = {}
    for key, expected in shapes.items():
        got = np.shape(arrays[key])
        ok = len(got) == len(expected)
        for size, want in zip(got, expected):
            if isinstance(want, str):
                ok = ok and sizes.setdefault(want, size) == size
            elif want is not None:
                ok = ok and size == want
        if not ok:
            dims = ["N" if w is None else str(sizes.get(w, w)) for w in expected]
            pretty = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            raise CorruptFileError(f"{path}: array {key!r} has shape {got}, expected {pretty}. "
                                   "It is not the expected data file: replace or delete it.")


def load_npz(path, keys, allow_pickle=False, shapes=None) -> dict:
    """Read ``keys`` from an .npz into memory; a damaged file, a missing key or (with ``shapes``,
    see ``check_shapes``) an array of the wrong shape names the file.

    ``allow_pickle`` is needed for object arrays (IMDB and Reuters hold lists of ints), and only
    for files from a trusted source: unpickling can run code.
    """
    try:
        with np.load(path, allow_pickle=allow_pickle) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise CorruptFileError(f"{path} has no array(s) {missing}; it holds {f.files}. "
                                       "It is not the expected data file: replace or delete it.")
            arrays = {k: f[k] for k in keys}
        if shapes:
            check_shapes(path, arrays, shapes)
        return arrays
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise CorruptFileError(f"{path} is not a readable .npz file ({type(e).__name__}: {e}). "
                               "Delete it so that the next call downloads a fresh copy, "
                               "or replace it with a good copy.") from e


def load_json(path):
    """Read a JSON file; a damaged file names the file."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{path} is not valid JSON ({e}); replace or delete it.") from e


def object_array(lists):
    """A 1-D object array of Python lists (np.array would build a 2-D array from equal lengths)."""
    out = np.empty(len(lists), dtype=object)
    for i, x in enumerate(lists):
        out[i] = x
    return out


def remove_long_seq(maxlen, seqs, labels):
    """Keep the sequences *shorter* than ``maxlen`` (Keras keeps ``len(x) < maxlen``, strictly)."""
    keep = [i for i, x in enumerate(seqs) if len(x) < maxlen]
    return [seqs[i] for i in keep], np.asarray(labels)[keep]


def offset_sequences(seqs, start_char, index_from):
    """Keras: shift each word rank by ``index_from`` and prepend ``start_char`` (ids 0-2 are reserved)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in seqs]
    if index_from:
        return [[w + index_from for w in x] for x in seqs]
    return [list(x) for x in seqs]


def cap_vocabulary(seqs, num_words, skip_top, oov_char):
    """Keras: ids outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped if it is None).

    As in Keras, the bounds apply to the *offset* ids, so ``skip_top`` counts the reserved ids too.
    With ``num_words=None`` Keras sets the bound to the largest id itself, so that one id (the
    rarest word) still becomes OOV; we keep that quirk to give exactly Keras' arrays.
    """
    if not num_words:
        num_words = max(max(x) for x in seqs if len(x))
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in seqs]
    return [[w for w in x if skip_top <= w < num_words] for x in seqs]


def shuffled(rng, *arrays):
    """Apply one ``rng.shuffle`` of the indices to every array (Keras shuffles indices, not data)."""
    idx = np.arange(len(arrays[0]))
    rng.shuffle(idx)
    return [a[idx] for a in arrays]


def no_sequences_left(maxlen):
    return ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, "
                      "no sequence was kept. Increase maxlen.")
