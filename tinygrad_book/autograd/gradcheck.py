"""Checking backward against the definition of a derivative.

For a random cotangent v (same shape as the output), backpropagation computes
    grad_x = d/dx sum(f(x) * v)
for every input at once. Central differences compute the same number one element
at a time:
    (sum(f(x + eps e_j) * v) - sum(f(x - eps e_j) * v)) / (2 eps)
Comparing the two for *every* element of every input is the strongest cheap test
of a backward there is. Use float64: in float32 the differences drown in rounding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .function import no_grad
from .tensor import Tensor


@dataclass
class InputError:
    """How far backward's gradient for one input is from central differences."""

    max_abs: float
    max_rel: float
    analytic: np.ndarray
    numeric: np.ndarray

    def passed(self, rtol=1e-5, atol=1e-7) -> bool:
        return bool(np.allclose(self.analytic, self.numeric, rtol=rtol, atol=atol))


def gradcheck(f, *inputs, eps=1e-6, seed=0, numeric_device=None):
    """Compare autograd's gradients of `f(*inputs)` with central differences.

    `inputs` are Tensors; those with requires_grad=True are checked (if none is,
    all float inputs are). Returns one `InputError` per checked input (None for the
    others), with the max absolute and max relative error over all elements.

    `numeric_device` evaluates the 2 x (number of elements) forward passes of the
    central differences on another device (e.g. "numpy" while checking "cuda" in the
    slow simulator); backward still runs on the inputs' own device.
    """
    inputs = list(inputs)
    checked = [t.requires_grad for t in inputs]
    if not any(checked):
        checked = [t.dtype.kind == "f" for t in inputs]
    leaves = [Tensor(t.numpy(), requires_grad=c, dtype=t.dtype, device=t.device) if c else t
              for t, c in zip(inputs, checked)]
    out = f(*leaves)
    rng = np.random.default_rng(seed)
    cotangent = rng.standard_normal(out.shape)
    out.backward(Tensor(cotangent, dtype=out.dtype, device=out.device))

    def weighted_output(values):
        with no_grad():
            args = [Tensor(v, dtype=t.dtype, device=numeric_device or t.device) if c
                    else (t.to(numeric_device) if numeric_device else t)
                    for v, t, c in zip(values, leaves, checked)]
            return float(np.sum(f(*args).numpy().astype(np.float64) * cotangent))

    results = []
    for i, (leaf, c) in enumerate(zip(leaves, checked)):
        if not c:
            results.append(None)
            continue
        values = [t.numpy() if cc else None for t, cc in zip(leaves, checked)]
        x = values[i]
        numeric = np.zeros(x.shape, dtype=np.float64)
        for j in np.ndindex(x.shape):
            original = x[j]
            x[j] = original + eps
            plus = weighted_output(values)
            x[j] = original - eps
            minus = weighted_output(values)
            x[j] = original
            numeric[j] = (plus - minus) / (2 * eps)
        analytic = np.zeros(x.shape) if leaf.grad is None else leaf.grad.numpy().astype(np.float64)
        diff = np.abs(analytic - numeric)
        scale = np.maximum(np.abs(analytic), np.abs(numeric))
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        results.append(InputError(float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), analytic, numeric))
    return results
