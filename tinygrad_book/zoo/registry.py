"""The zoo's registry: every chapter's entries, keyed by the ids of ``book/SPEC.md``.

Each chapter module (``chapter2.py`` ...) lists its entries in ``ENTRIES``; this module
imports the chapters and collects them, in book order. Adding a chapter = writing its
module and adding it to ``CHAPTERS`` below. Nothing imports this module from below.
"""
from __future__ import annotations

import difflib

from . import chapter2, chapter3, chapter4, chapter5, chapter6
from . import chapter7
from . import chapter8
from . import chapter8_images  # DeepDream and style transfer (listings 8.8-8.22)
from .entry import Data, Entry  # noqa: F401  (re-exported: zoo.registry.Entry)

CHAPTERS = (chapter2, chapter3, chapter4, chapter5, chapter6, chapter7, chapter8, chapter8_images)


def _collect(chapters) -> dict:
    """id -> Entry over the chapters' ENTRIES; ids are unique."""
    registry = {}
    for module in chapters:
        for entry in module.ENTRIES:
            if entry.id in registry:
                raise ValueError(f"duplicate zoo id {entry.id!r}")
            registry[entry.id] = entry
    return registry


REGISTRY: dict[str, Entry] = _collect(CHAPTERS)


class UnknownEntryError(KeyError):
    """An id that is not in the zoo; ``suggestions`` holds the nearest ids."""

    def __init__(self, entry_id, suggestions):
        self.entry_id, self.suggestions = entry_id, suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no zoo entry {entry_id!r}.{hint} (`tinygrad-book zoo list` shows all ids)")

    def __str__(self):
        return self.args[0]


def get(entry_id: str) -> Entry:
    """The entry for ``entry_id``; an unknown id raises with the nearest ids (difflib)."""
    if entry_id not in REGISTRY:
        close = difflib.get_close_matches(entry_id, list(REGISTRY), n=3, cutoff=0.5)
        if not close:  # a prefix of an id still deserves suggestions
            close = [i for i in REGISTRY if i.startswith(entry_id)][:3]
        raise UnknownEntryError(entry_id, close)
    return REGISTRY[entry_id]


def entries(chapters=None) -> list[Entry]:
    """All entries in book order, optionally only those of ``chapters``."""
    return [e for e in REGISTRY.values() if chapters is None or e.chapter in chapters]
