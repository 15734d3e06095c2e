"""Nietzsche's writings (H. Zimmern's translation, Project Gutenberg, public domain), book 8.1."""

from __future__ import annotations

from ._base import fetch

ORIGIN = "https://s3.amazonaws.com/text-datasets/nietzsche.txt"


def load_text(lower=False) -> str:
    """The whole corpus as one string (600,893 characters; 57 distinct after ``.lower()``).

    The book lower-cases it (``open(path).read().lower()``): pass ``lower=True`` for that.
    """
    with open(fetch("nietzsche", "nietzsche.txt", ORIGIN), encoding="utf-8") as f:
        text = f.read()
    return text.lower() if lower else text
