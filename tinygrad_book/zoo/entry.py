"""What the zoo is made of: ``Data`` (the arrays of one experiment) and ``Entry`` (one
experiment of the book). Chapter modules build entries; the registry collects them.

An entry holds everything needed to re-run an experiment as the book does it:

* where it is in the book (chapter, section, listing numbers, lines of the OCR'd text),
* how the data is loaded and preprocessed (``load_data(tiny=False) -> Data``),
* the model, written with the Keras-style API (``build_model() -> Sequential``, compiled),
* the book's ``fit`` settings (``epochs``, ``batch_size``; the command line may override them),
* the book's reported result and the metric it is compared on,
* how its results are shown (``plot``, ``compare_plot``) and its shorter schedule (``reduced``).

Most entries run with the generic ``runner.run_standard`` (load -> build -> fit -> evaluate).
Experiments with their own protocol (the chapter-4 comparisons) set ``run``; K-fold validation
(Boston) sets ``folds``: K runs, each seeded on its own, that may run in parallel (zoo/folds.py).
"""
from __future__ import annotations

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
    # What the reproduce and CLI code needs to know, so that it never names an entry:
    plot: Optional[Callable[..., None]] = None   # plot(history, path, title): this entry's figure
    compare_plot: Optional[tuple] = None         # (reference id, label): a variant-vs-reference figure
    reduced: Optional[tuple] = None              # (epochs, why): a shorter schedule, `reproduce --reduced`
    reduced_extra: dict = field(default_factory=dict)   # what else the shorter schedule changes in `extra`
                                                        # (fewer samples, shorter sequences)
    folds: Optional[Any] = None                  # a zoo.folds.Folds: K independent folds (K-fold
                                                 # validation), each a task on a cluster

    def with_reduced_schedule(self) -> "Entry":
        """This entry with ``reduced_extra`` laid over ``extra``: the run that `--reduced` makes."""
        from dataclasses import replace
        return replace(self, extra={**self.extra, **self.reduced_extra}) if self.reduced_extra else self

    def draw(self, history: dict, path) -> None:
        """This entry's curves as a PNG: its own `plot`, else loss/accuracy per epoch."""
        from .plots import plot_history
        (self.plot or plot_history)(history, path, title=self.id)
