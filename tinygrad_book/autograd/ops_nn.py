"""The ops networks are made of: matmul, convolution, pooling, embedding and the
fused softmax cross-entropy. Each forward is one or two kernels; each backward
names the kernels that undo it."""
from __future__ import annotations

from ..kernels.base import conv_output_size
from .function import Function


def _mT(x):
    """Swap the last two axes of a (B, M, N) tensor: a view, no copy."""
    return x.permute((0, 2, 1))


class MatMul(Function):
    """(B, M, K) @ (B, K, N) -> (B, M, N)."""

    def forward(self, a, b):
        self.save(a, b)
        out_shape = (a.shape[0], a.shape[1], b.shape[2])
        return a.from_storage(a.backend.matmul(a.view, b.view), out_shape)

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        # C = A B  =>  dA = dC B^T,  dB = A^T dC  (transposes are views)
        return (g @ _mT(b) if need_a else None), (_mT(a) @ g if need_b else None)


def same_padding(size, kernel, stride):
    """Keras/TensorFlow 'same': output = ceil(size / stride); extra padding goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_output_length(size, kernel, stride, padding):
    """The output length along one axis for Keras' padding 'valid' or 'same' (None: unknown)."""
    if size is None:
        return None
    pads = same_padding(size, kernel, stride) if padding == "same" else (0, 0)
    return conv_output_size(size, kernel, stride, *pads)


def conv_pads(image_shape, kernel, stride, padding):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        top, bottom = same_padding(image_shape[1], kernel[0], stride[0])
        left, right = same_padding(image_shape[2], kernel[1], stride[1])
        return (top, bottom, left, right)
    raise ValueError(f"conv: padding must be 'valid' or 'same', got {padding!r}")


class Conv2D(Function):
    """NHWC convolution as im2col + one matmul.

    x (N, H, W, C), w (KH, KW, C, F) as Keras stores it -> (N, OH, OW, F).
    """

    def forward(self, x, w, stride, pads):
        kh, kw, c, f = w.shape
        be = x.backend
        cols = be.im2col(x.view, (kh, kw), stride, pads)         # (N, OH, OW, KH, KW, C)
        n = x.shape[0]
        oh = conv_output_size(x.shape[1], kh, stride[0], pads[0], pads[1])
        ow = conv_output_size(x.shape[2], kw, stride[1], pads[2], pads[3])
        rows = x.from_storage(cols, (1, n * oh * ow, kh * kw * c))
        out = rows.raw_matmul(w.reshape((1, kh * kw * c, f)))
        self.save(x, w, rows, stride, pads)
        return out.reshape((n, oh, ow, f))

    def backward(self, g):
        x, w, rows, stride, pads = self.saved
        need_x, need_w = self.needs_input_grad
        kh, kw, c, f = w.shape
        g_rows = g.reshape((1, rows.shape[1], f))
        grad_w = _mT(rows).raw_matmul(g_rows).reshape(w.shape) if need_w else None   # cols^T @ dout
        if not need_x:          # e.g. the input images of a first layer: skip a matmul and col2im
            return None, grad_w
        grad_cols = g_rows.raw_matmul(_mT(w.reshape((1, kh * kw * c, f))))         # dout @ W^T
        n, oh, ow = g.shape[:3]
        grad_cols = grad_cols.reshape((n, oh, ow, kh, kw, c))
        grad_x = x.backend.col2im(grad_cols.view, x.shape, (kh, kw), stride, pads)
        return x.from_storage(grad_x, x.shape), grad_w


class MaxPool2D(Function):
    def forward(self, x, kernel, stride):
        values, argmax = x.backend.maxpool2d(x.view, kernel, stride)
        n, h, w, c = x.shape
        out_shape = (n, conv_output_size(h, kernel[0], stride[0]), conv_output_size(w, kernel[1], stride[1]), c)
        self.input_shape, self.kernel, self.stride = x.shape, kernel, stride
        self.argmax = x.from_storage(argmax, out_shape)
        return x.from_storage(values, out_shape)

    def backward(self, g):
        # each window's gradient goes to the one input that won it
        grad = g.backend.maxpool2d_backward(g.view, self.argmax.view, self.input_shape, self.kernel, self.stride)
        return (g.from_storage(grad, self.input_shape),)


class AvgPool2D(Function):
    """Average pooling: the mean of each im2col patch; backward spreads g evenly."""

    def forward(self, x, kernel, stride):
        self.input_shape, self.kernel, self.stride = x.shape, kernel, stride
        n, h, w, c = x.shape
        oh, ow = conv_output_size(h, kernel[0], stride[0]), conv_output_size(w, kernel[1], stride[1])
        cols = x.from_storage(x.backend.im2col(x.view, kernel, stride, (0, 0, 0, 0)),
                              (n, oh, ow, kernel[0] * kernel[1], c))
        return cols.sum(axis=3) * (1.0 / (kernel[0] * kernel[1]))

    def backward(self, g):
        n, oh, ow, c = g.shape
        kh, kw = self.kernel
        share = (g * (1.0 / (kh * kw))).reshape((n, oh, ow, 1, 1, c)).expand((n, oh, ow, kh, kw, c))
        share = share.contiguous_copy()
        grad = g.backend.col2im(share.view, self.input_shape, self.kernel, self.stride, (0, 0, 0, 0))
        return (g.from_storage(grad, self.input_shape),)


class Embedding(Function):
    """table (V, D) looked up at integer indices (any shape) -> (*indices.shape, D)."""

    def forward(self, table, indices):
        flat_idx = indices.reshape((indices.size,))
        self.save(flat_idx, table.shape[0])
        rows = table.backend.gather_rows(table.view, flat_idx.view)
        return table.from_storage(rows, indices.shape + (table.shape[1],))

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None
        flat_idx, num_rows = self.saved
        g2 = g.reshape((flat_idx.size, g.shape[-1]))
        grad = g.backend.scatter_add_rows(g2.view, flat_idx.view, num_rows)   # repeats add up
        return g.from_storage(grad, (num_rows, g.shape[-1])), None


class Softmax(Function):
    """softmax over the last axis of a float tensor: forward is one fused kernel (the
    backend's softmax_rows; written with Tensor ops it is max, subtract, exp, sum and
    divide: five kernels and seven Functions). Backward needs only the output y: per row
    the Jacobian is diag(y) - y y^T, so d z = y * (g - sum_c g_c y_c)."""

    def forward(self, x):
        c = x.shape[-1]
        rows = x.reshape((x.size // c, c))
        y = x.from_storage(x.backend.softmax_rows(rows.view), x.shape)
        self.save(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (y * (g - (g * y).sum(axis=-1, keepdims=True)),)


class SoftmaxCrossEntropy(Function):
    """Per-row loss -sum_c t[c] log softmax(z)[c] of (n, C) logits; one fused kernel.

    target is (n, C) probabilities (one-hot or soft). Its gradient is not computed:
    targets are data, not parameters."""

    def forward(self, logits, target):
        loss, probs = logits.backend.softmax_xent(logits.view, target.view)
        self.save(logits.from_storage(probs, logits.shape), target)
        return logits.from_storage(loss, (logits.shape[0],))

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None
        probs, target = self.saved
        # d loss / d z = softmax(z) * sum(t) - t; for a distribution sum(t) = 1
        total = target.sum(axis=1, keepdims=True)
        # g as a column: a view whatever g's strides (g.reshape would copy the stride-0 g
        # that the mean's backward hands down)
        g_column = g.with_view((g.shape[0], 1), (g.strides[0], 0), g.offset)
        return (probs * total - target) * g_column, None
