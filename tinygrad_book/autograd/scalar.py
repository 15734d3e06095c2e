"""The scalar engine: one number, the chain rule.

A `Scalar` remembers the Scalars it was computed from (`parents`) and, for each,
the local derivative d(self)/d(parent). `backward()` walks the graph from the
output back to the leaves and applies the chain rule:

    parent.grad += local_derivative * self.grad

Everything the tensor engine does later is this, with arrays instead of numbers.
"""
from __future__ import annotations

import math

from .graph import topological_order


class Scalar:
    """A number that records how it was computed, so it can be differentiated.

    Leaves (Scalars you create yourself) *accumulate* gradients: calling backward()
    twice adds twice. Reset them with `zero_grad()` (or `Scalar.zero_grads(...)`).
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op")

    def __init__(self, data, parents=(), local_grads=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents          # the Scalars this one was computed from
        self.local_grads = local_grads  # d(self)/d(parent), one number per parent
        self.op = op                    # for printing and debugging only

    def __repr__(self):
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g})"

    # --- arithmetic: each op returns its value and its local derivatives --------------
    def __add__(self, other):
        other = _lift(other)
        return Scalar(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = _lift(other)
        return Scalar(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):
        if isinstance(other, Scalar):  # a ** b = exp(b * log a), so d/db = a**b * log a
            out = self.data ** other.data
            d_base = other.data * self.data ** (other.data - 1)
            d_exp = out * math.log(self.data) if self.data > 0 else 0.0
            return Scalar(out, (self, other), (d_base, d_exp), "**")
        return Scalar(self.data ** other, (self,), (other * self.data ** (other - 1),), f"**{other}")

    def __neg__(self):
        return Scalar(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other):
        return self + (-_lift(other))

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _lift(other) - self

    def __rtruediv__(self, other):
        return _lift(other) / self

    def __rpow__(self, other):
        return _lift(other) ** self

    # --- functions ---------------------------------------------------------------------
    def exp(self):
        e = math.exp(self.data)
        return Scalar(e, (self,), (e,), "exp")

    def log(self):
        return Scalar(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return Scalar(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):
        s = 0.5 * (1.0 + math.tanh(0.5 * self.data))  # tanh form: no overflow for large |x|
        return Scalar(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):
        return Scalar(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    # --- backward ----------------------------------------------------------------------
    def backward(self, grad: float = 1.0):
        """Add d(self)/d(leaf) * grad to every leaf's .grad.

        Intermediate Scalars get their .grad overwritten for this call; leaves (no
        parents) accumulate across calls.
        """
        order = topological_order(self, lambda node: node.parents)
        grads = {id(self): float(grad)}
        for node in order:                    # outputs first, leaves last
            g = grads.pop(id(node), 0.0)
            if not node.parents:
                node.grad += g
                continue
            node.grad = g
            for parent, local in zip(node.parents, node.local_grads):
                grads[id(parent)] = grads.get(id(parent), 0.0) + local * g

    def zero_grad(self):
        """Reset this Scalar's accumulated gradient to 0."""
        self.grad = 0.0

    @staticmethod
    def zero_grads(scalars):
        for s in scalars:
            s.grad = 0.0


def _lift(x) -> Scalar:
    return x if isinstance(x, Scalar) else Scalar(x)
