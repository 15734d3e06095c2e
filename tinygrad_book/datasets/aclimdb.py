"""The raw IMDB reviews, ``aclImdb/{train,test}/{neg,pos}/*.txt`` (book 6.1.3, Tokenizer + GloVe).

Maas et al., "Learning Word Vectors for Sentiment Analysis" (ACL 2011), Large Movie Review
Dataset v1.0: https://ai.stanford.edu/~amaas/data/sentiment/
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..data.download import FolderLayoutError, cache_home, data_home, unpack_once
from ._base import fetch, first_existing

ORIGIN = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
LOCAL_ARCHIVE = "imdb/aclImdb_v1_labeled.tar.xz"  # the project's copy: the 50,000 labelled reviews


def find_folder() -> Path:
    """The ``aclImdb`` folder: an unpacked one under the data or cache folder, else the archive
    (the project's ``imdb/aclImdb_v1_labeled.tar.xz``, or Stanford's 84 MB ``aclImdb_v1.tar.gz``,
    downloaded) unpacked once into ``cache_home()/aclImdb``."""
    for folder in (data_home() / "imdb" / "aclImdb", data_home() / "aclImdb",
                   cache_home() / "aclImdb" / "aclImdb"):
        if folder.is_dir():
            return folder
    archive = first_existing(LOCAL_ARCHIVE, "imdb/aclImdb_v1.tar.gz")
    if archive is None:
        archive = fetch("imdb", "aclImdb_v1.tar.gz", ORIGIN)
    return unpack_once(archive, cache_home() / "aclImdb") / "aclImdb"


def load_texts(split="train", directory=None):
    """``(texts, labels)`` for ``split`` ``'train'`` or ``'test'``: 25,000 strings and an int64
    array, 0 = negative, 1 = positive.

    As the book's listing 6.8: all ``neg`` reviews, then all ``pos``; within each, files in sorted
    name order (the book's ``os.listdir`` order depends on the file system). ``directory``: an
    ``aclImdb`` folder to read instead of searching for one.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(directory) if directory is not None else find_folder()
    missing = [f"{split}/{kind}" for kind in ("neg", "pos") if not (root / split / kind).is_dir()]
    if missing:
        raise FolderLayoutError(f"{root} is not an aclImdb folder: missing {', '.join(missing)} "
                                f"(expected {split}/neg/*.txt and {split}/pos/*.txt)")
    texts, labels = [], []
    for label, kind in ((0, "neg"), (1, "pos")):
        folder = root / split / kind
        for name in sorted(os.listdir(folder)):
            if name.endswith(".txt"):
                texts.append((folder / name).read_text(encoding="utf-8"))
                labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)
