"""The book's networks, one entry per experiment of ``book/SPEC.md`` (chapters 2-5 so far).

    from tinygrad_book import zoo
    entry = zoo.get("ch2-mnist-dense")      # book reference, data, model, settings, result
    result = zoo.run(entry)                 # train as the book does; {metric: value, history, ...}

Each chapter module (``chapter2.py`` ...) reads like the book's listings and lists its
``ENTRIES`` (``entry.py``: ``Entry``, ``Data``); ``registry.py`` collects them; ``shared.py``
holds what several chapters use; ``runner.py`` is the
generic load -> build -> fit -> evaluate loop; ``reproduce.py`` writes ``docs/results.md``.
"""
from .entry import Data, Entry
from .registry import REGISTRY, UnknownEntryError, entries, get
from .runner import run

__all__ = ["REGISTRY", "Data", "Entry", "UnknownEntryError", "entries", "get", "run"]
