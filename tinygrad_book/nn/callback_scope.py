"""Callbacks that every `fit` inside a `with` block gets, without passing them to each call.

The command line uses it to make a whole run (which may call `fit` several times, e.g. once
per K-fold fold, from code it does not own) stop on an invalid loss:

    with callbacks_for_every_fit(StopOnInvalidLoss):
        run(entry)

Each `fit` gets fresh instances (callbacks keep per-run state), made by the factories.
"""
from __future__ import annotations

import contextlib
import contextvars

_FACTORIES = contextvars.ContextVar("tinygrad_book_fit_callbacks", default=())


@contextlib.contextmanager
def callbacks_for_every_fit(*factories):
    """Inside the block, each fit also runs `factory()` for every factory."""
    token = _FACTORIES.set(_FACTORIES.get() + tuple(factories))
    try:
        yield
    finally:
        _FACTORIES.reset(token)


def scoped_callbacks() -> list:
    """New callbacks from the factories of the enclosing `callbacks_for_every_fit` blocks."""
    return [factory() for factory in _FACTORIES.get()]
