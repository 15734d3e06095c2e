"""Weight initializers by their Keras names. Each is `f(shape, dtype) -> numpy array`,
drawn from nn's seeded generator (see seeding.py)."""
from __future__ import annotations

import numpy as np

from .seeding import rng


def _fans(shape):
    """fan_in, fan_out as Keras computes them: a conv kernel (KH, KW, C, F) counts
    KH*KW*C inputs and KH*KW*F outputs per unit."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) > 2:
        receptive = int(np.prod(shape[:-2]))
        return shape[-2] * receptive, shape[-1] * receptive
    size = int(np.prod(shape)) if shape else 1
    return size, size


def zeros(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def ones(shape, dtype=np.float32):
    return np.ones(shape, dtype)


def glorot_uniform(shape, dtype=np.float32):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out)): Keras' default kernel initializer."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng().uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape, dtype=np.float32):
    """Truncated-free N(0, 2/fan_in) (a simplification of Keras' truncated normal)."""
    fan_in, _ = _fans(shape)
    return (rng().standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def random_uniform(shape, dtype=np.float32, minval=-0.05, maxval=0.05):
    """Keras' RandomUniform default range; the Embedding layer's initializer."""
    return rng().uniform(minval, maxval, shape).astype(dtype)


def random_normal(shape, dtype=np.float32, stddev=0.05):
    return (rng().standard_normal(shape) * stddev).astype(dtype)


def orthogonal(shape, dtype=np.float32, gain=1.0):
    """A random matrix with orthonormal rows or columns (Keras' recurrent_initializer):
    the SVD of a standard normal (rows = product of all but the last axis, columns =
    the last), keeping the factor of the right shape, as Keras 2.0 does. Repeated
    multiplication by it neither grows nor shrinks a state vector."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal: needs a shape of at least 2 axes, got {shape}")
    flat_shape = (int(np.prod(shape[:-1])), shape[-1])
    u, _, v = np.linalg.svd(rng().standard_normal(flat_shape), full_matrices=False)
    q = u if u.shape == flat_shape else v
    return (gain * q.reshape(shape)).astype(dtype)


_BY_NAME = {"zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform, "he_normal": he_normal,
            "random_uniform": random_uniform, "uniform": random_uniform, "random_normal": random_normal,
            "orthogonal": orthogonal}


def get(identifier):
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown initializer {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")


def name_of(fn):
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", "custom")


__all__ = ["get", "zeros", "ones", "glorot_uniform", "he_normal", "random_uniform", "random_normal",
           "orthogonal"]
