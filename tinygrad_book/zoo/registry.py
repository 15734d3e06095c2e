"""The zoo's registry: one ``Entry`` per book experiment, keyed by the ids of ``book/SPEC.md``.

An entry holds everything needed to re-run an experiment as the book does it:

* where it is in the book (chapter, section, listing numbers, lines of the OCR'd text),
* how the data is loaded and preprocessed (``load_data(tiny=False) -> Data``),
* the model, written with the Keras-style API (``build_model() -> Sequential``, compiled),
* the book's ``fit`` settings (``epochs``, ``batch_size``; the command line may override them),
* the book's reported result and the metric it is compared on.

Most entries run with the generic ``runner.run_standard`` (load -> build -> fit -> evaluate).
Experiments with their own protocol (Boston K-fold, the chapter-4 comparisons) set ``run``.
Adding a chapter = adding a module of entries and importing it in ``zoo/__init__.py``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class Data:
    """The arrays of one experiment, split the way the book splits them.

    ``x_val``/``y_val`` is what the book passes as ``validation_data`` (None: no validation);
    ``x_test``/``y_test`` is what it calls ``evaluate`` on (None: no test evaluation).
    ``source`` says where the arrays came from: a dataset name, ``"sample"`` or ``"synthetic"``.
    """
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: Optional[np.ndarray] = None
    y_val: Optional[np.ndarray] = None
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    source: str = ""

    @property
    def validation(self):
        return None if self.x_val is None else (self.x_val, self.y_val)


@dataclass
class Entry:
    """One experiment of the book. ``run`` (optional) replaces the generic runner."""
    id: str
    chapter: int
    section: str
    listings: str                      # e.g. "2.1-2.5"
    lines: str                         # e.g. "L2032-L2180" in the OCR'd book
    dataset: str
    build_model: Callable[[], Any]     # returns a compiled model, as the book's listing
    load_data: Callable[..., Data]     # load_data(tiny=False) -> Data
    epochs: int
    batch_size: int
    book_result: str                   # the book's number, as printed
    metric: str                        # the key of our result compared with the book
    book_value: Optional[float] = None
    run: Optional[Callable[..., dict]] = None   # run(entry, epochs, batch_size, verbose, tiny) -> result
    check: Optional[Callable[[dict, dict], tuple]] = None  # (result, all results) -> (passed, rule)
    notes: str = ""
    extra: dict = field(default_factory=dict)   # settings shown by `zoo show` (e.g. k=4 folds)


REGISTRY: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    """Add an entry; ids are unique."""
    if entry.id in REGISTRY:
        raise ValueError(f"duplicate zoo id {entry.id!r}")
    REGISTRY[entry.id] = entry
    return entry


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
    _load_all()
    if entry_id not in REGISTRY:
        close = difflib.get_close_matches(entry_id, list(REGISTRY), n=3, cutoff=0.5)
        if not close:  # a prefix such as "ch3-reuters" still deserves suggestions
            close = [i for i in REGISTRY if i.startswith(entry_id)][:3]
        raise UnknownEntryError(entry_id, close)
    return REGISTRY[entry_id]


def entries(chapters=None) -> list[Entry]:
    """All entries in book order, optionally only those of ``chapters``."""
    _load_all()
    return [e for e in REGISTRY.values() if chapters is None or e.chapter in chapters]


def _load_all():
    # importing a chapter module registers its entries
    from . import chapter2, chapter3, chapter4  # noqa: F401
