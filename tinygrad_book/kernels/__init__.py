"""Kernels: the primitive set (base.Backend), written three times.

    "numpy"  reference.py  readable numpy, the oracle
    "cpu"    cpu/          numba-jitted loops (the default device)
    "cuda"   cuda/         numba-cuda kernels

    base.py        the primitive set, its contracts and shape checks; prod, conv_output_size
    vocabulary.py  op codes and index arithmetic shared by the cpu and cuda kernels

`get_backend(name)` builds a backend on first use, so importing the package never
compiles or touches a GPU.
"""
from __future__ import annotations

import importlib
import os

from .base import Backend, View, contiguous_strides, full_view, is_contiguous  # noqa: F401

DEVICES = ("numpy", "cpu", "cuda")
# TINYGRAD_BOOK_DEVICE picks another default, e.g. "numpy" to step through readable kernels.
_DEFAULT_DEVICE = [os.environ.get("TINYGRAD_BOOK_DEVICE", "cpu")]
_BACKENDS: dict = {}

# device name -> (module, class) building it
_WHERE = {
    "numpy": ("tinygrad_book.kernels.reference", "NumpyBackend"),
    "cpu": ("tinygrad_book.kernels.cpu", "CpuBackend"),
    "cuda": ("tinygrad_book.kernels.cuda", "CudaBackend"),
}


def get_backend(device: str) -> Backend:
    """The backend that runs primitives for `device` ("numpy", "cpu" or "cuda")."""
    if device not in _WHERE:
        raise ValueError(f"unknown device {device!r}; known devices: {', '.join(DEVICES)}")
    if device not in _BACKENDS:
        module, cls = _WHERE[device]
        _BACKENDS[device] = getattr(importlib.import_module(module), cls)()
    return _BACKENDS[device]


def default_device() -> str:
    return _DEFAULT_DEVICE[0]


def set_default_device(device: str) -> None:
    """Make `device` the one new tensors land on when no device= is given."""
    get_backend(device)  # fail now, with the backend's own message, if it cannot run
    _DEFAULT_DEVICE[0] = device
