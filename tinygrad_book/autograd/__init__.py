"""Autograd, in two steps: `Scalar` (one number, the chain rule) and `Tensor`
(arrays with shapes, strides and broadcasting). See docs/from-one-number-to-tensors.md."""
from ..kernels import DEVICES, default_device, set_default_device
from . import functional
from .function import enable_grad, is_grad_enabled, no_grad
from .scalar import Scalar
from .tensor import Tensor

__all__ = ["Scalar", "Tensor", "functional", "no_grad", "enable_grad", "is_grad_enabled",
           "DEVICES", "default_device", "set_default_device"]   # where tensors live, for the layers above
