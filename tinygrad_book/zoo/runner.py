"""The generic runner: load data -> build -> fit (validation as the book) -> evaluate -> result.

A result is a plain dict (JSON-friendly): the entry's metric and the other numbers we read,
``history`` (the per-epoch curves), ``wall_time`` in seconds and the settings that ran.
"""
from __future__ import annotations

import time

import numpy as np

from ..nn.callbacks import TerminateOnNaN
from ..nn.fit_checks import check_fit_arguments


class InvalidLossError(RuntimeError):
    """Training produced a NaN or infinite loss (the message names the epoch and the batch)."""


class StopOnInvalidLoss(TerminateOnNaN):
    """Keras' TerminateOnNaN, then an error: a diverged run must not be saved or recorded."""

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        if self.message:
            raise InvalidLossError(self.message)


def or_default(value, default):
    """An override unless it is None (`epochs or entry.epochs` turned 0 into the book's value)."""
    return default if value is None else value


def set_seed(seed):
    """Seed every random source a run uses (weights init, shuffling, dropout)."""
    np.random.seed(seed)
    from ..nn import seeding   # the one generator of nn/ (models.set_seed is the same function)
    seeding.set_seed(seed)


def curve(history: dict, *names):
    """The first of ``names`` that the History holds (Keras 2 spells metrics 'acc' or
    'accuracy', 'mae' or 'mean_absolute_error', depending on how they were asked for)."""
    for name in names:
        if name in history:
            return [float(v) for v in history[name]]
    return None


def history_numbers(history: dict) -> dict:
    """The numbers the book reads off its History plots."""
    out = {}
    loss, acc = curve(history, "loss"), curve(history, "acc", "accuracy", "binary_accuracy")
    val_loss = curve(history, "val_loss")
    val_acc = curve(history, "val_acc", "val_accuracy", "val_binary_accuracy")
    if loss:
        out["final_loss"] = loss[-1]
    if acc:
        out["final_acc"] = acc[-1]
    if val_loss:
        out["final_val_loss"] = val_loss[-1]
        out["min_val_loss"] = min(val_loss)
        out["best_epoch"] = int(np.argmin(val_loss)) + 1   # 1-based, as the book counts epochs
    if val_acc:
        out["final_val_acc"] = val_acc[-1]
        out["max_val_acc"] = max(val_acc)
        out["best_val_acc_epoch"] = int(np.argmax(val_acc)) + 1
    return out


def plain_history(history: dict) -> dict:
    """History as lists of floats (for JSON)."""
    return {k: [float(v) for v in vs] for k, vs in history.items()}


def fit_and_evaluate(model, data, epochs, batch_size, verbose=2, metric_name="acc"):
    """``model.fit`` with the book's validation, then ``model.evaluate`` on the test set if any.

    ``evaluate`` returns ``[loss, metric]`` (Keras 2); they are stored as ``test_loss`` and
    ``test_<metric_name>`` (``test_acc``, ``test_mae``)."""
    history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
                        validation_data=data.validation, verbose=verbose)
    result = {"history": plain_history(history.history)}
    result.update(history_numbers(history.history))
    if data.x_test is not None:
        scores = model.evaluate(data.x_test, data.y_test, verbose=0)
        scores = np.atleast_1d(np.asarray(scores, dtype=float))
        result["test_loss"] = float(scores[0])
        if len(scores) > 1:
            result[f"test_{metric_name}"] = float(scores[1])
    return result


def run_standard(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """The book's usual recipe. ``model_out`` (a list) receives the trained model, for --save."""
    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    start = time.perf_counter()
    result = fit_and_evaluate(model, data, or_default(epochs, entry.epochs), or_default(batch_size, entry.batch_size),
                              verbose, entry.extra.get("metric_name", "acc"))
    result["wall_time"] = time.perf_counter() - start
    result["source"] = data.source
    if model_out is not None:
        model_out.append(model)
    return result


def check_settings(entry, epochs=None, batch_size=None):
    """Bad epochs or batch size fail before any data is loaded (epochs=0 marks an entry that
    trains nothing)."""
    if epochs is not None or entry.epochs:
        check_fit_arguments(or_default(epochs, entry.epochs), batch_size)
    elif batch_size is not None:
        check_fit_arguments(1, batch_size)


def with_settings(entry, result, epochs, batch_size, seed):
    """``result`` with the settings that ran and ``value`` (the entry's metric)."""
    result.setdefault("epochs", or_default(epochs, entry.epochs))
    result.setdefault("batch_size", or_default(batch_size, entry.batch_size))
    result["seed"] = seed
    result["value"] = result.get(entry.metric)
    return result


def run(entry, epochs=None, batch_size=None, verbose=2, tiny=False, seed=0, model_out=None):
    """Run one entry with the book's settings (or the given overrides); returns its result.
    A K-fold entry (``entry.folds``) runs its folds one after the other, each seeded on its own
    (zoo/folds.py), exactly as the folds of a Dask run do."""
    check_settings(entry, epochs, batch_size)
    if entry.folds:
        folds = [run_fold(entry, i, epochs, batch_size, verbose, tiny, seed, model_out)
                 for i in range(entry.folds.count)]    # --save keeps the last fold's model
        return combine_folds(entry, folds, epochs, batch_size, seed)
    set_seed(seed)
    fn = entry.run or run_standard
    result = fn(entry, epochs=epochs, batch_size=batch_size, verbose=verbose, tiny=tiny,
                model_out=model_out)
    return with_settings(entry, result, epochs, batch_size, seed)


def run_fold(entry, index, epochs=None, batch_size=None, verbose=0, tiny=False, seed=0, model_out=None):
    """Fold ``index`` of a K-fold entry alone (a task of zoo/scaleout.py): the fold's numbers."""
    check_settings(entry, epochs, batch_size)
    result = entry.folds.run_fold(entry, index, seed, epochs, batch_size, verbose, tiny, model_out)
    return with_settings(entry, result, epochs, batch_size, seed)


def combine_folds(entry, fold_results, epochs=None, batch_size=None, seed=0):
    """The result of a K-fold entry from its folds' results (in fold order)."""
    return with_settings(entry, entry.folds.result(entry, fold_results, epochs), epochs, batch_size, seed)
