"""tinygrad_book: deep learning from one number up, in readable code.

    from tinygrad_book import Scalar, Tensor        # the two autograd engines
    from tinygrad_book import models, layers        # Keras-style API (as in the book)

Submodules named in `_LAZY` are imported on first use, so `import tinygrad_book`
stays fast and never compiles a kernel.
"""
import importlib

from .autograd import Scalar, Tensor, enable_grad, functional, no_grad
from .autograd.gradcheck import gradcheck
from .kernels import get_backend, set_default_device

__version__ = "0.1.0"

_LAZY = ("backend", "models", "layers", "optimizers", "losses", "metrics", "callbacks", "regularizers",
         "activations", "initializers", "utils", "datasets", "preprocessing", "zoo", "nn", "data")


def __getattr__(name):
    if name == "Input":          # the book writes `from keras import Input`
        from .nn.layers import Input
        globals()[name] = Input
        return Input
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tinygrad_book' has no attribute {name!r}")


__all__ = ["Scalar", "Tensor", "functional", "no_grad", "enable_grad", "gradcheck",
           "get_backend", "set_default_device", "Input", *_LAZY]
