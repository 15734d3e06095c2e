"""`Function`: one differentiable operation, forward and backward side by side.

    class Mul(Function):
        def forward(self, a, b):        # runs the kernel, saves what backward needs
            self.save(a, b)
            return a.from_storage(a.backend.binary("mul", a.view, b.view), a.shape)
        def backward(self, g):          # the chain rule, written with Tensor ops
            a, b = self.saved
            return g * b, g * a

`Mul.apply(a, b)` runs forward and, if any input wants a gradient, records the
Function on the output so `backward()` can find its way back.
"""
from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad():
    """Inside this block, operations record no graph (evaluation, optimizer steps)."""
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


@contextlib.contextmanager
def enable_grad():
    previous = is_grad_enabled()
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = previous


class Function:
    """Base class of every differentiable op. Subclasses define forward and backward."""

    def __init__(self, parents):
        self.parents = parents   # the input Tensors, in order
        self.saved = ()
        # backward may skip the gradient of an input that nobody asked for (e.g. the
        # image going into a network's first layer): that is often the costliest one.
        self.needs_input_grad = tuple(t.requires_grad for t in parents)

    def save(self, *values):
        """Keep what backward will need (inputs, outputs, masks...).

        A saved output is kept as a detached alias (same data, no graph; see apply):
        the output itself would make a cycle, output -> its Function -> output, which
        Python frees only when its cyclic garbage collector happens to run. That collector
        counts objects, not bytes, so the activations of many training steps (gigabytes
        for a convnet on 150x150 images) would pile up waiting for it."""
        self.saved = values

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls(inputs)
        # forward's own steps are not part of the graph: no_grad() written out, because
        # every op of every step comes through here (the context manager cost ~10x more)
        recording = getattr(_state, "enabled", True)
        _state.enabled = False
        try:
            out = fn.forward(*inputs, **params)
        finally:
            _state.enabled = recording
        if recording and any(fn.needs_input_grad):
            out.requires_grad = True
            out._ctx = fn
            fn.saved = tuple(out.detach() if value is out else value for value in fn.saved)
        return out

    @property
    def name(self) -> str:
        return type(self).__name__.lower()
