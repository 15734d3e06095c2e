"""A layer's whole forward as one op: y = act(x @ W + b) and act(conv2d(x, W) + b).

Written with Tensor ops, a Dense layer is seven Functions (two reshapes around the
matmul, the matmul, the bias expand and add, the activation, the final reshape) and
its backward as many again, plus five element-wise kernels after the matmul (the bias
add, the activation; backward the mask, its product with g, the bias column sum). Here:

    forward   z = x @ W (one matmul kernel)     y = act(z + b)  (one fused kernel)
    backward  dz, db = g * act'(z), sum_r dz    (one fused kernel, act' written in y)
              dx = dz @ W^T,  dW = x^T @ dz     (transposes are views: packing is free)

so one Function per layer and one pass over the activation each way. The activation's
derivative is written in terms of its output (relu: y > 0, sigmoid: y (1 - y),
tanh: 1 - y^2), so forward saves only y. Other activations (softmax, custom) are not
fused: the layer applies them after a linear BiasAct.
"""
from __future__ import annotations

from ..kernels.base import View
from .ops_nn import Conv2D
from .function import Function


def _rows(t) -> View:
    """A contiguous (..., C) tensor as a (rows, C) View (metadata only)."""
    c = t.shape[-1]
    return View(t.view.storage, (t.size // c if c else 0, c), (c, 1), t.view.offset)


def _batched(view: View, transpose=False) -> View:
    """A 2-D View as a batch of one, (1, M, K), optionally transposed: metadata only."""
    (m, k), (sm, sk) = view.shape, view.strides
    if transpose:
        (m, k), (sm, sk) = (k, m), (sk, sm)
    return View(view.storage, (1, m, k), (0, sm, sk), view.offset)


class BiasAct(Function):
    """act(z + bias) along the last axis of z (bias optional: BiasAct.apply(z, act=...))."""

    def forward(self, z, *bias, act):
        z = z if z.is_contiguous() else z.contiguous_copy()
        y = z.from_storage(z.backend.bias_act(act, _rows(z), bias[0].view if bias else None), z.shape)
        self.act = act
        self.save(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        g = g if g.is_contiguous() else g.contiguous_copy()
        dz, db = g.backend.bias_act_backward(self.act, _rows(y), _rows(g))
        dz = g.from_storage(dz, g.shape)
        return (dz, g.from_storage(db, (g.shape[-1],))) if len(self.parents) == 2 else (dz,)


class Dense(Function):
    """act(x @ w + bias) for x (rows, K), w (K, N), bias (N,) optional: one Function."""

    def forward(self, x, w, *bias, act):
        be = x.backend
        z = be.matmul(_batched(x.view), _batched(w.view))
        rows, n = x.shape[0], w.shape[1]
        y = be.bias_act(act, View(z, (rows, n), (n, 1), 0), bias[0].view if bias else None)
        out = x.from_storage(y, (rows, n))
        self.act = act
        self.save(x, w, out)
        return out

    def backward(self, g):
        x, w, y = self.saved
        be = g.backend
        need_x, need_w = self.needs_input_grad[:2]
        dz, db = be.bias_act_backward(self.act, y.view, g.view)
        dz = View(dz, y.shape, y.view.strides, 0)
        # z = x w  =>  dx = dz w^T,  dw = x^T dz   (the transposes are strides)
        dx = x.from_storage(be.matmul(_batched(dz), _batched(w.view, True)), x.shape) if need_x else None
        dw = x.from_storage(be.matmul(_batched(x.view, True), _batched(dz)), w.shape) if need_w else None
        grads = (dx, dw)
        return grads + (g.from_storage(db, (w.shape[1],)),) if len(self.parents) == 3 else grads


class Conv2DBiasAct(Conv2D):
    """act(conv2d(x, w) + bias): Conv2D's im2col + matmul, then the fused kernel;
    backward runs the fused kernel, then Conv2D's backward on dz."""

    def forward(self, x, w, *bias, stride, pads, act):
        z = super().forward(x, w, stride, pads)
        y = z.from_storage(z.backend.bias_act(act, _rows(z), bias[0].view if bias else None), z.shape)
        self.act, self.y = act, y
        return y

    def backward(self, g):
        g = g if g.is_contiguous() else g.contiguous_copy()
        dz, db = g.backend.bias_act_backward(self.act, _rows(self.y), _rows(g))
        grad_x, grad_w = super().backward(g.from_storage(dz, g.shape))
        if len(self.parents) == 3:
            return grad_x, grad_w, g.from_storage(db, (g.shape[-1],))
        return grad_x, grad_w
