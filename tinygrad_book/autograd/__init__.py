"""Autograd, in two steps: `Scalar` (one number, the chain rule) and `Tensor`
(arrays with shapes, strides and broadcasting). See docs/from-one-number-to-tensors.md."""
from . import functional
from .function import enable_grad, is_grad_enabled, no_grad
from .scalar import Scalar
from .tensor import Tensor

__all__ = ["Scalar", "Tensor", "functional", "no_grad", "enable_grad", "is_grad_enabled"]
