"""Transposed convolution (Keras' Conv2DTranspose, the "deconvolution" of decoders and GANs).

No new kernel: a transposed convolution *is* the input-gradient path of a Conv2D with
the same kernel. Conv2D's backward turns dout into dx by `dout @ W^T` then `col2im`;
run on an image x, those two steps are this op's forward. Its backward is then a
plain Conv2D forward (`im2col` + matmul) for dx, and `cols^T @ x` for dw. So it runs
on every backend that has im2col, col2im and matmul (numpy reference, numba CPU,
numba-cuda), and the registry checks it on each.
"""
from __future__ import annotations

from .function import Function


def conv_transpose_length(size, kernel, stride, padding):
    """Keras 2's output length of a transposed convolution (None: unknown)."""
    if size is None:
        return None
    return size * stride if padding == "same" else size * stride + max(kernel - stride, 0)


def _mT(x):
    return x.permute((0, 2, 1))


class Conv2DTranspose(Function):
    """x (N, H, W, C), w (KH, KW, F, C) as Keras stores it -> (N, OH, OW, F).

    The adjoint of conv2d(., w, stride, pads) from (N, OH, OW, F) to (N, H, W, C):
    every input pixel adds x[n, i, j] . w[a, b]^T to output pixel
    (i * stride + a - top, j * stride + b - left).
    """

    def forward(self, x, w, stride, pads, out_hw):
        kh, kw, f, c = w.shape
        n, h, wd, _ = x.shape
        rows = x.reshape((1, n * h * wd, c))
        cols = rows.raw_matmul(_mT(w.reshape((1, kh * kw * f, c))))         # x @ W^T: (N*H*W, KH*KW*F)
        cols = cols.reshape((n, h, wd, kh, kw, f))
        out_shape = (n, out_hw[0], out_hw[1], f)
        out = x.backend.col2im(cols.view, out_shape, (kh, kw), stride, pads)  # scatter-add the patches
        self.save(x, w, stride, pads)
        return x.from_storage(out, out_shape)

    def backward(self, g):
        x, w, stride, pads = self.saved
        need_x, need_w = self.needs_input_grad
        kh, kw, f, c = w.shape
        n, h, wd, _ = x.shape
        g = g.contiguous()
        g_cols = x.from_storage(g.backend.im2col(g.view, (kh, kw), stride, pads), (1, n * h * wd, kh * kw * f))
        # out = col2im(X W^T)  =>  dX = im2col(dout) W  (a Conv2D forward),  dW = im2col(dout)^T X
        grad_x = g_cols.raw_matmul(w.reshape((1, kh * kw * f, c))).reshape(x.shape) if need_x else None
        grad_w = _mT(g_cols).raw_matmul(x.reshape((1, n * h * wd, c))).reshape(w.shape) if need_w else None
        return grad_x, grad_w
