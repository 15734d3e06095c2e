"""Optimizers with Keras 2.2's defaults, argument names and update formulas.

`step(params)` reads each parameter's `.grad` and writes its new value. Updates run
under no_grad() with Tensor ops on the parameters' own device, and replace the
parameter's storage (`p.view = new.view`): the Tensor object the layers hold stays
the same, so no layer needs to know an update happened.

On the "cpu" device each update is instead one fused numba kernel
(`kernels/cpu/optim.py`) that rewrites the weight and its state in place: one pass over
memory instead of ~9 kernels per weight. `fused=False` (or any other device) takes the
Tensor-op path, which reads exactly like the formulas; the tests check both agree.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from ..kernels import is_contiguous

# RMSprop's running average of g^2 decays by rho each step where g == 0 (dead ReLUs,
# blank MNIST pixels) and sinks into float32's denormal range (< 1.2e-38), where CPU
# arithmetic is many times slower. Values are flushed to zero below FLUSH_BELOW every
# FLUSH_EVERY steps: 1e-30 * 0.9**50 ~ 5e-33 stays far above the denormals.
FLUSH_BELOW = 1e-30
FLUSH_EVERY = 50


class Optimizer:
    """Base: learning rate with Keras' time decay, gradient clipping, per-parameter state."""

    def __init__(self, lr=None, learning_rate=None, decay=0.0, clipnorm=None, clipvalue=None, default_lr=0.01,
                 fused=True):
        self.fused = bool(fused)   # use the one-pass cpu kernels where the weights allow it
        self.lr = float(lr if lr is not None else learning_rate if learning_rate is not None else default_lr)
        self.decay = float(decay)
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.iterations = 0
        self.state: dict = {}     # id(param) -> list of state tensors (moments, accumulators)

    @property
    def learning_rate(self):
        return self.lr

    @learning_rate.setter
    def learning_rate(self, value):
        self.lr = float(value)

    def current_lr(self) -> float:
        """lr / (1 + decay * iterations), with iterations counted before this step."""
        return self.lr / (1.0 + self.decay * self.iterations) if self.decay else self.lr

    def _clipped(self, grads):
        if self.clipnorm:   # Keras 2.2: one global norm over all gradients
            norm = float(np.sqrt(sum((g * g).sum().item() for g in grads)))
            if norm > self.clipnorm:
                grads = [g * (self.clipnorm / norm) for g in grads]
        if self.clipvalue:
            grads = [g.clip(-self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _slots(self, p, count):
        """This parameter's state tensors (zeros on first use)."""
        if id(p) not in self.state:
            self.state[id(p)] = [p.full_like(0.0) for _ in range(count)]
        return self.state[id(p)]

    def step(self, params) -> None:
        """One update of every parameter that has a gradient."""
        params = [p for p in params if p.grad is not None]
        with no_grad():
            grads = self._clipped([p.grad for p in params])
            lr = self.current_lr()
            for p, g in zip(params, grads):
                new = self.update(p, g, lr)
                if new is not None:          # None: a fused kernel updated p in place
                    p.view = new.view
        self.iterations += 1

    def update(self, p, g, lr) -> Tensor | None:
        """p's new value as a Tensor, or None after updating p in place (fused kernel)."""
        raise NotImplementedError

    def _fused_arrays(self, p, g, slots):
        """The flat numpy runs of p, g and the state slots when the fused cpu kernel can
        update them in place (cpu device, one dtype, contiguous weight), else None."""
        if not self.fused or p.device != "cpu" or g.device != "cpu" or g.dtype != p.dtype:
            return None
        if p.dtype.kind != "f" or not is_contiguous(p.view):
            return None
        if not is_contiguous(g.view):
            g = g.contiguous_copy()
        return [_flat(t) for t in (p, g, *slots)]

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}


class SGD(Optimizer):
    """v = momentum * v - lr * g;  p += v  (nesterov: p += momentum * v - lr * g)."""

    def __init__(self, lr=None, momentum=0.0, decay=0.0, nesterov=False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def update(self, p, g, lr):
        slots = self._slots(p, 1) if self.momentum else []
        arrays = self._fused_arrays(p, g, slots)
        if arrays is not None:
            pa, ga, *state = arrays
            lr_, mom = _cpu().scalars(pa.dtype, lr, self.momentum)
            _cpu().run(_cpu().sgd_update, pa.size, pa, ga, state[0] if state else ga, lr_, mom,
                       self.nesterov)
            return None
        if not self.momentum:
            return p - g * lr
        v = slots[0] * self.momentum - g * lr
        slots[0] = v
        return p + v * self.momentum - g * lr if self.nesterov else p + v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """a = rho * a + (1 - rho) * g^2;  p -= lr * g / (sqrt(a) + epsilon)."""

    def __init__(self, lr=None, rho=0.9, epsilon=1e-7, decay=0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def update(self, p, g, lr):
        slots = self._slots(p, 1)
        arrays = self._fused_arrays(p, g, slots)
        if arrays is not None:               # one pass, flushing tiny a at every step
            pa, ga, aa = arrays
            k = _cpu().scalars(pa.dtype, lr, self.rho, 1.0 - self.rho, self.epsilon, FLUSH_BELOW)
            _cpu().run(_cpu().rmsprop_update, pa.size, pa, ga, aa, *k)
            return None
        a = slots[0] * self.rho + (g * g) * (1.0 - self.rho)
        if self.iterations % FLUSH_EVERY == FLUSH_EVERY - 1:
            a = (a >= FLUSH_BELOW) * a
        slots[0] = a
        return p - g * lr / (a.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """a += g^2;  p -= lr * g / (sqrt(a) + epsilon)."""

    def __init__(self, lr=None, epsilon=1e-7, decay=0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.epsilon = float(epsilon)

    def update(self, p, g, lr):
        slots = self._slots(p, 1)
        arrays = self._fused_arrays(p, g, slots)
        if arrays is not None:
            pa, ga, aa = arrays
            _cpu().run(_cpu().adagrad_update, pa.size, pa, ga, aa, *_cpu().scalars(pa.dtype, lr, self.epsilon))
            return None
        slots[0] = a = slots[0] + g * g
        return p - g * lr / (a.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class Adam(Optimizer):
    """m, v: running means of g and g^2; p -= lr_t * m / (sqrt(v) + eps) with
    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) (bias correction, t = step number)."""

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0, amsgrad=False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def update(self, p, g, lr):
        t = self.iterations + 1
        lr_t = lr * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        slots = self._slots(p, 3 if self.amsgrad else 2)
        arrays = self._fused_arrays(p, g, slots)
        if arrays is not None:
            pa, ga, ma, va, *vmax = arrays
            k = _cpu().scalars(pa.dtype, lr_t, self.beta_1, 1.0 - self.beta_1, self.beta_2, 1.0 - self.beta_2,
                               self.epsilon, FLUSH_BELOW)
            _cpu().run(_cpu().adam_update, pa.size, pa, ga, ma, va, vmax[0] if vmax else va, *k, self.amsgrad)
            return None
        slots[0] = m = slots[0] * self.beta_1 + g * (1.0 - self.beta_1)
        slots[1] = v = slots[1] * self.beta_2 + (g * g) * (1.0 - self.beta_2)
        if self.amsgrad:
            slots[2] = v = slots[2].maximum(v)
        return p - m * lr_t / (v.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


def _flat(t):
    """The unit-stride run of a contiguous cpu tensor's storage (a numpy view: writes go
    into the tensor)."""
    v = t.view
    return v.storage[v.offset:v.offset + v.size]


def _cpu():
    """The fused kernels (imported on first use: other devices never compile them)."""
    from ..kernels.cpu import optim
    return optim


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """An optimizer from an instance or a Keras name ('rmsprop', 'sgd', 'adam', 'adagrad')."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")


__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "get"]
