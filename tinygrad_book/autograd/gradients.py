"""`grad(output, inputs)`: gradients as values, not as `.grad` side effects.

`Tensor.backward()` adds into every leaf's `.grad` (what training wants). Keras'
`K.gradients` and Grad-CAM want something else: d(output)/d(some tensors), which may be
intermediate activations, returned as new tensors, with no weight's `.grad` touched.
Same reverse walk as `backward`; it only keeps the gradients it was asked for.
"""
from __future__ import annotations

from .function import no_grad
from .graph import topological_order
from .tensor import Tensor


def grad(output: Tensor, inputs: list, grad_output=None) -> list:
    """d(output)/d(x) for each x in `inputs` (leaves or intermediate tensors of output's graph).

    A non-scalar output is differentiated as output.sum() (TensorFlow's convention, which
    Keras' K.gradients follows) unless `grad_output` gives the cotangent. An input that
    output does not depend on gets zeros. Nothing is written to any tensor's `.grad`.
    """
    if grad_output is None:
        grad_output = output.full_like(1.0)
    elif not isinstance(grad_output, Tensor):
        grad_output = Tensor(grad_output, dtype=output.dtype, device=output.device)
    if grad_output.shape != output.shape:
        raise ValueError(f"grad: grad_output has shape {grad_output.shape}, output has shape {output.shape}")
    wanted = {id(x): i for i, x in enumerate(inputs)}
    found = [None] * len(inputs)
    if output.requires_grad:
        _walk(output, grad_output, wanted, found)
    return [g if g is not None else x.full_like(0.0) for g, x in zip(found, inputs)]


def _walk(output, grad_output, wanted, found):
    order = topological_order(output, lambda t: t._ctx.parents if t._ctx else ())
    grads = {id(output): grad_output}
    with no_grad():
        for node in order:                     # outputs first: a gradient is complete when popped
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if id(node) in wanted:
                found[wanted[id(node)]] = g.detach()
            if node._ctx is None:
                continue
            for parent, pg in zip(node._ctx.parents, node._ctx.backward(g)):
                if pg is not None and parent.requires_grad:
                    grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
