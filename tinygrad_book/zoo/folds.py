"""K-fold validation as K independent runs: each fold can train anywhere, in any order.

The book's K-fold loop (listing 3.27) trains a fresh model per fold, and nothing of one fold
reaches the next but the random state. Here each fold seeds every random source it uses
from ``(seed, fold index)`` before it loads data or builds a model, so a fold gives the same
numbers whether it runs in the serial loop (``runner.run``), or alone as a task on a Dask
worker (``zoo/scaleout.py``): the serial run and the cluster run agree bit for bit.

An entry made of folds sets ``Entry.folds`` to a ``Folds``; ``runner.run`` then runs
``runner.run_fold`` for each fold and ``runner.combine_folds`` on their results.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data.download import CorruptFileError, DatasetNotFoundError, FolderLayoutError
from .runner import or_default, set_seed


class FoldFailed(RuntimeError):
    """A fold raised: the message names the entry, the seed and the fold, then the error."""


def fold_seed(seed: int, index: int) -> int:
    """The seed of fold ``index`` of a run seeded ``seed``: a hash of the pair (numpy's
    SeedSequence), so the folds of seed 0 never reuse the streams of seed 1's folds."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


@dataclass(frozen=True)
class Folds:
    """How an entry splits into folds.

    ``train_fold(entry, index, count, epochs, batch_size, verbose, tiny, model_out)`` loads the
    data, trains fold ``index`` of ``count`` and returns its numbers: at least ``score`` (the
    fold's validation score), ``wall_time`` and ``source``. ``combine(fold results in fold
    order, epochs)`` makes the entry's numbers from them (the mean score, averaged curves)."""
    count: int
    train_fold: Callable[..., dict]
    combine: Callable[..., dict]

    def run_fold(self, entry, index, seed=0, epochs=None, batch_size=None, verbose=0, tiny=False,
                 model_out=None) -> dict:
        """Fold ``index``, seeded from ``(seed, index)``; a failure names the fold."""
        if not 0 <= index < self.count:
            raise ValueError(f"{entry.id} has folds 0-{self.count - 1}, not {index}")
        set_seed(fold_seed(seed, index))
        try:
            result = self.train_fold(entry, index, self.count, or_default(epochs, entry.epochs),
                                     or_default(batch_size, entry.batch_size), verbose, tiny, model_out)
        except (DatasetNotFoundError, FolderLayoutError, CorruptFileError):
            raise                 # the loader's message says what is missing and where it comes from
        except Exception as e:
            raise FoldFailed(f"{entry.id}, seed {seed}, fold {index} of {self.count} failed: "
                             f"{type(e).__name__}: {e}") from e
        result["fold"] = index
        return result

    def result(self, entry, fold_results, epochs=None) -> dict:
        """The entry's result from all its folds (in fold order); ``wall_time`` is their sum."""
        if [r["fold"] for r in fold_results] != list(range(self.count)):
            raise ValueError(f"{entry.id} needs folds 0-{self.count - 1} in order, got "
                             f"{[r['fold'] for r in fold_results]}")
        result = self.combine(fold_results, or_default(epochs, entry.epochs))
        result.update(folds=self.count, source=fold_results[0]["source"],
                      wall_time=sum(r["wall_time"] for r in fold_results))
        return result
