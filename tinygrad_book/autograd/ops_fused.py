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
fused: the layer applies them after the linear fused op.
"""
from __future__ import annotations

from ..kernels.base import View, contiguous_strides, conv_output_size
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


def _swap(view: View) -> View:
    """(1, M, K) -> (1, K, M): the transpose of a batch of one, as strides."""
    return View(view.storage, (1, view.shape[2], view.shape[1]), (0, view.strides[2], view.strides[1]), view.offset)


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


class Conv2DBiasAct(Function):
    """act(conv2d(x, w) + bias), NHWC, as ops_nn.Conv2D computes it (im2col, one matmul)
    and then the fused kernel; backward: the fused kernel, then Conv2D's two matmuls and
    col2im. All on backend Views: no inner Tensor ops (Conv2D's reshapes, permutes and
    matmuls were 8 more Functions per layer and step)."""

    def forward(self, x, w, *bias, stride, pads, act):
        be, (kh, kw, c, f) = x.backend, w.shape
        w = w if w.is_contiguous() else w.contiguous_copy()
        n = x.shape[0]
        oh = conv_output_size(x.shape[1], kh, stride[0], pads[0], pads[1])
        ow = conv_output_size(x.shape[2], kw, stride[1], pads[2], pads[3])
        m, k = n * oh * ow, kh * kw * c
        cols = View(be.im2col(x.view, (kh, kw), stride, pads), (1, m, k), (0, k, 1), 0)   # patches as rows
        w_mat = View(w.view.storage, (1, k, f), (0, f, 1), w.view.offset)                  # (KH*KW*C, F)
        z = be.matmul(cols, w_mat)
        y = x.from_storage(be.bias_act(act, View(z, (m, f), (f, 1), 0), bias[0].view if bias else None),
                           (n, oh, ow, f))
        self.act, self.stride, self.pads, self.cols, self.w_mat = act, stride, pads, cols, w_mat
        self.save(x, w, y)
        return y

    def backward(self, g):
        x, w, y = self.saved
        be = g.backend
        need_x, need_w = self.needs_input_grad[:2]
        g = g if g.is_contiguous() else g.contiguous_copy()
        dz, db = be.bias_act_backward(self.act, _rows(y), _rows(g))
        (_, m, k), f = self.cols.shape, w.shape[3]
        dz = View(dz, (1, m, f), (0, f, 1), 0)
        grad_w = x.from_storage(be.matmul(_swap(self.cols), dz), w.shape) if need_w else None   # cols^T dz
        grad_x = None
        if need_x:                 # the input images of a first layer need none: skip a matmul and col2im
            n, oh, ow = y.shape[:3]
            kh, kw, c = w.shape[:3]
            grad_cols = be.matmul(dz, _swap(self.w_mat))                                          # dz W^T
            grad_cols = View(grad_cols, (n, oh, ow, kh, kw, c), contiguous_strides((n, oh, ow, kh, kw, c)), 0)
            grad_x = x.from_storage(be.col2im(grad_cols, x.shape, (kh, kw), self.stride, self.pads), x.shape)
        if len(self.parents) == 3:
            return grad_x, grad_w, g.from_storage(db, (f,))
        return grad_x, grad_w
