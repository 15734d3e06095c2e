"""Optimizers with Keras 2.2's defaults, argument names and update formulas.

`step(params)` reads each parameter's `.grad` and writes its new value. Two paths give
the same weights (the tests check it):

* fused (the default): `p.fused_update(rule, g, state, **hyper)` asks the parameter's
  backend for its one-pass kernel, which rewrites the weight and its state in place:
  one pass over memory instead of ~9 element-wise kernels per weight. A backend may
  lack it (it is an optional capability, `kernels/base.py: optimizer_update`);
* Tensor ops (`fused=False`, or when the backend says no): `update` below, which reads
  exactly like the formulas, runs under no_grad() and gives the parameter its new
  values with `p.replace_data(new)`: the Tensor object the layers hold stays the same,
  so no layer needs to know an update happened.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad

# RMSprop's running average of g^2 decays by rho each step where g == 0 (dead ReLUs,
# blank MNIST pixels) and sinks into float32's denormal range (< 1.2e-38), where CPU
# arithmetic is many times slower. The fused kernels flush values below FLUSH_BELOW to
# zero at every step (a compare in the same pass); the Tensor-op path, where it costs
# extra kernels, every FLUSH_EVERY steps: 1e-30 * 0.9**50 ~ 5e-33 stays far above the denormals.
FLUSH_BELOW = 1e-30
FLUSH_EVERY = 50


class Optimizer:
    """Base: learning rate with Keras' time decay, gradient clipping, per-parameter state.

    A subclass names its fused `rule` (one of the backends' OPTIMIZER_RULES), how many state
    slots it keeps, its hyperparameters for one step (`hyper`) and the Tensor-op
    `update` that computes the same step."""

    rule = ""

    def __init__(self, lr=None, learning_rate=None, decay=0.0, clipnorm=None, clipvalue=None, default_lr=0.01,
                 fused=True):
        self.fused = bool(fused)   # ask the backend for its one-pass kernel
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

    def slots(self, p) -> list:
        """This parameter's state tensors (zeros on first use)."""
        if id(p) not in self.state:
            self.state[id(p)] = [p.full_like(0.0) for _ in range(self.slot_count())]
        return self.state[id(p)]

    def step(self, params) -> None:
        """One update of every parameter that has a gradient."""
        params = [p for p in params if p.grad is not None]
        with no_grad():
            grads = self._clipped([p.grad for p in params])
            lr = self.current_lr()
            for p, g in zip(params, grads):
                slots = self.slots(p)
                if self.fused and p.fused_update(self.rule, g, slots, **self.hyper(lr)):
                    continue
                p.replace_data(self.update(p, g, slots, lr))
        self.iterations += 1

    def slot_count(self) -> int:
        return 0

    def hyper(self, lr) -> dict:
        """This step's hyperparameters, as the fused kernel of `rule` takes them."""
        raise NotImplementedError

    def update(self, p, g, slots, lr) -> Tensor:
        """p's new value, from Tensor ops (the state tensors in `slots` are replaced)."""
        raise NotImplementedError

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}


class SGD(Optimizer):
    """v = momentum * v - lr * g;  p += v  (nesterov: p += momentum * v - lr * g)."""

    rule = "sgd"

    def __init__(self, lr=None, momentum=0.0, decay=0.0, nesterov=False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def slot_count(self):
        return 1 if self.momentum else 0

    def hyper(self, lr):
        return {"lr": lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def update(self, p, g, slots, lr):
        if not self.momentum:
            return p - g * lr
        v = slots[0] * self.momentum - g * lr
        slots[0] = v
        return p + v * self.momentum - g * lr if self.nesterov else p + v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """a = rho * a + (1 - rho) * g^2;  p -= lr * g / (sqrt(a) + epsilon)."""

    rule = "rmsprop"

    def __init__(self, lr=None, rho=0.9, epsilon=1e-7, decay=0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def slot_count(self):
        return 1

    def hyper(self, lr):
        return {"lr": lr, "rho": self.rho, "epsilon": self.epsilon, "flush_below": FLUSH_BELOW}

    def update(self, p, g, slots, lr):
        a = slots[0] * self.rho + (g * g) * (1.0 - self.rho)
        if self.iterations % FLUSH_EVERY == FLUSH_EVERY - 1:
            a = (a >= FLUSH_BELOW) * a
        slots[0] = a
        return p - g * lr / (a.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """a += g^2;  p -= lr * g / (sqrt(a) + epsilon)."""

    rule = "adagrad"

    def __init__(self, lr=None, epsilon=1e-7, decay=0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.epsilon = float(epsilon)

    def slot_count(self):
        return 1

    def hyper(self, lr):
        return {"lr": lr, "epsilon": self.epsilon}

    def update(self, p, g, slots, lr):
        slots[0] = a = slots[0] + g * g
        return p - g * lr / (a.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class Adam(Optimizer):
    """m, v: running means of g and g^2; p -= lr_t * m / (sqrt(v) + eps) with
    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) (bias correction, t = step number)."""

    rule = "adam"

    def __init__(self, lr=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0, amsgrad=False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def slot_count(self):
        return 3 if self.amsgrad else 2

    def _lr_t(self, lr):
        t = self.iterations + 1
        return lr * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)

    def hyper(self, lr):
        return {"lr_t": float(self._lr_t(lr)), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "flush_below": FLUSH_BELOW, "amsgrad": bool(self.amsgrad)}

    def update(self, p, g, slots, lr):
        slots[0] = m = slots[0] * self.beta_1 + g * (1.0 - self.beta_1)
        slots[1] = v = slots[1] * self.beta_2 + (g * g) * (1.0 - self.beta_2)
        if self.amsgrad:
            slots[2] = v = slots[2].maximum(v)
        return p - m * self._lr_t(lr) / (v.sqrt() + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """An optimizer from an instance or a Keras name ('rmsprop', 'sgd', 'adam', 'adagrad')."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")


__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "get"]
