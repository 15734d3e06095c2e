"""Weight penalties added to the training loss: l1 (sum |w|), l2 (sum w^2)."""
from __future__ import annotations


class L1L2:
    """penalty(w) = l1 * sum(|w|) + l2 * sum(w^2), as Keras 2's L1L2."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w):
        penalty = None
        if self.l1:
            penalty = w.abs().sum() * self.l1
        if self.l2:
            term = (w * w).sum() * self.l2
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else w.sum() * 0.0

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"L1L2(l1={self.l1}, l2={self.l2})"


def l1(l=0.01):  # noqa: E741 - Keras' argument name
    return L1L2(l1=l)


def l2(l=0.01):  # noqa: E741
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


def get(identifier):
    if identifier is None or isinstance(identifier, L1L2) or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return L1L2(**identifier)
    raise ValueError(f"unknown regularizer {identifier!r}; use regularizers.l1(x), l2(x) or l1_l2(l1=, l2=)")


__all__ = ["L1L2", "l1", "l2", "l1_l2", "get"]
