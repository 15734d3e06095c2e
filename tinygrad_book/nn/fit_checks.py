"""The arguments of fit, checked before any work: Keras would fail (or do nothing) silently."""
from __future__ import annotations

import numbers


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_fit_arguments(epochs, batch_size=None, n_samples=None):
    """Raise ValueError unless epochs >= 1, batch_size is None or >= 1, and there is data."""
    if not _is_int(epochs) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
        raise ValueError(f"fit: batch_size must be a positive integer (or None for 32), got {batch_size!r}")
    if n_samples == 0:
        raise ValueError("fit: x holds no samples (an empty array, or validation_split took them all)")
