"""Functions of several tensors, and the network ops (in the style of
torch.nn.functional). Each is either one Function from ops_*.py or a short
composition of Tensor ops whose gradient autograd derives."""
from __future__ import annotations

import numpy as np

from . import ops_conv_transpose as CT
from ..kernels.base import FUSED_ACTIVATIONS
from . import ops_fused as FU
from . import ops_movement as M
from . import ops_nn as N
from . import ops_norm
from . import views
from .tensor import as_tensor


def _pair(v):
    return (int(v), int(v)) if np.isscalar(v) else tuple(int(x) for x in v)


def concatenate(tensors, axis=0):
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    first = tensors[0]
    axis = views.normalize_axes(axis, first.ndim, "concatenate")[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(f"concatenate: shapes {first.shape} and {t.shape} differ outside axis {axis}")
        if t.device != first.device:
            raise ValueError(f"concatenate: tensors are on different devices: {first.device!r} and {t.device!r}")
    dtype = np.result_type(*[t.dtype for t in tensors])
    return M.Concatenate.apply(*[t.astype(dtype) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    tensors = [as_tensor(t) for t in tensors]
    axis = axis if axis >= 0 else axis + tensors[0].ndim + 1
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def where(cond, a, b):
    return as_tensor(cond).where(a, b)


def maximum(a, b):
    return as_tensor(a).maximum(b)


def minimum(a, b):
    return as_tensor(a).minimum(b)


def softmax(x, axis=-1):
    """Tensor.softmax: exp(x) / sum exp(x), stable (computed on x - max(x))."""
    return x.softmax(axis)


def log_softmax(x, axis=-1):
    """Tensor.log_softmax: x - log(sum exp(x)), stable."""
    return x.log_softmax(axis)


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy of (n, C) logits, fused into one kernel.

    target: int labels of shape (n,) or (n, C) probabilities (one-hot or soft).
    reduction: 'mean' (default), 'sum' or 'none' (per-row losses)."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (n, C), got shape {logits.shape}")
    target = as_tensor(target, device=logits.device)
    if target.device != logits.device:
        target = target.to(logits.device)
    if target.ndim == 1:
        if target.shape[0] != logits.shape[0]:
            raise ValueError(f"cross_entropy: logits {logits.shape} and labels {target.shape} disagree on n")
        target = one_hot(target, logits.shape[1], dtype=logits.dtype, device=logits.device)
    if target.shape != logits.shape:
        raise ValueError(f"cross_entropy: logits shape {logits.shape} and target shape {target.shape} differ")
    losses = N.SoftmaxCrossEntropy.apply(logits, target.astype(logits.dtype).detach())
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def one_hot(labels, num_classes, dtype=np.float32, device=None):
    labels = as_tensor(labels, device=device).astype(np.int64)
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels must be 1-d, got shape {labels.shape}")
    host = labels.numpy()
    if host.size and (host.min() < 0 or host.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got range [{host.min()}, {host.max()}]")
    storage = labels.backend.one_hot(labels.view, num_classes, np.dtype(dtype))
    return labels.from_storage(storage, (labels.shape[0], num_classes))


conv_output_length = N.conv_output_length   # (size, kernel, stride, 'valid' | 'same') -> size


def conv2d(x, w, stride=1, padding="valid", bias=None, activation="linear"):
    """NHWC convolution: x (N, H, W, C), w (KH, KW, C, F) -> (N, OH, OW, F).
    With a bias (F,) or an activation in FUSED_ACTIVATIONS: act(conv + bias), fused
    (ops_fused.Conv2DBiasAct: one Function, one pass after the matmul each way)."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d: need x (N, H, W, C) and w (KH, KW, C, F), got shapes {x.shape} and {w.shape}")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"conv2d: input has {x.shape[3]} channels but the kernel expects {w.shape[2]} "
                         f"(shapes {x.shape} and {w.shape})")
    stride = _pair(stride)
    pads = N.conv_pads(x.shape, w.shape[:2], stride, padding)
    if x.shape[1] + pads[0] + pads[1] < w.shape[0] or x.shape[2] + pads[2] + pads[3] < w.shape[1]:
        raise ValueError(f"conv2d: kernel {w.shape[:2]} is larger than the (padded) input {x.shape[1:3]}")
    if bias is None and activation == "linear":
        return N.Conv2D.apply(x, w, stride=stride, pads=pads)
    _check_fused(activation, w.shape[3], bias, x, "conv2d")
    return FU.Conv2DBiasAct.apply(x, w, *_optional(bias), stride=stride, pads=pads, act=activation)


conv_transpose_length = CT.conv_transpose_length   # (size, kernel, stride, padding) -> size


def conv2d_transpose(x, w, stride=1, padding="valid"):
    """NHWC transposed convolution: x (N, H, W, C), w (KH, KW, F, C) -> (N, OH, OW, F); the
    adjoint of conv2d(., w, stride, padding). OH = H * stride ('same'), or
    H * stride + max(KH - stride, 0) ('valid'), as Keras 2. No bias."""
    x, w = as_tensor(x), as_tensor(w)
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[3]:
        raise ValueError(f"conv2d_transpose: need x (N, H, W, C) and w (KH, KW, F, C) with the same C, "
                         f"got shapes {x.shape} and {w.shape}")
    stride = _pair(stride)
    out_hw = tuple(conv_transpose_length(x.shape[1 + i], w.shape[i], stride[i], padding) for i in range(2))
    pads = N.conv_pads((x.shape[0],) + out_hw + (w.shape[2],), w.shape[:2], stride, padding)
    return CT.Conv2DTranspose.apply(x, w, stride=stride, pads=pads, out_hw=out_hw)


def conv1d(x, w, stride=1, padding="valid"):
    """x (N, L, C), w (K, C, F) -> (N, OL, F): a conv2d over an image of height 1."""
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(f"conv1d: need x (N, L, C) and w (K, C, F), got shapes {x.shape} and {w.shape}")
    out = conv2d(x.unsqueeze(1), w.unsqueeze(0), stride=(1, int(stride)), padding=padding)
    return out.squeeze(1)


def _check_pool(x, kernel, op):
    if x.ndim != 4:
        raise ValueError(f"{op}: need an NHWC tensor, got shape {x.shape}")
    if x.shape[1] < kernel[0] or x.shape[2] < kernel[1]:
        raise ValueError(f"{op}: window {kernel} is larger than the input {x.shape[1:3]}")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """padding 'same' (Keras/TensorFlow): pads as a 'same' convolution would (the extra
    one after), with -inf, so a window's maximum is always one of x's own elements."""
    kernel = _pair(pool_size)
    stride = kernel if strides is None else _pair(strides)
    if _pool_padding(padding, "max_pool2d") == "same":
        x = _pad_same(x, kernel, stride, -np.inf)
    _check_pool(x, kernel, "max_pool2d")
    return N.MaxPool2D.apply(x, kernel=kernel, stride=stride)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """padding 'same' (Keras/TensorFlow): a window at the border averages only the elements
    of x it covers (the padding is not counted): zero-padded sums over the count of real
    elements, itself the average pooling of a padded image of ones."""
    kernel = _pair(pool_size)
    stride = kernel if strides is None else _pair(strides)
    if _pool_padding(padding, "avg_pool2d") == "same":
        ones = x.full_like(1.0, (1,) + tuple(x.shape[1:3]) + (1,))
        covered = N.AvgPool2D.apply(_pad_same(ones, kernel, stride, 0.0), kernel=kernel, stride=stride)
        return avg_pool2d(_pad_same(x, kernel, stride, 0.0), kernel, stride) / covered
    _check_pool(x, kernel, "avg_pool2d")
    return N.AvgPool2D.apply(x, kernel=kernel, stride=stride)


def _pool_padding(padding, op):
    if padding not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return padding


def _pad_same(x, kernel, stride, value):
    """x (N, H, W, C) padded on H and W as Keras' 'same' (ceil(size / stride) windows)."""
    if x.ndim != 4:
        raise ValueError(f"pooling: need an NHWC tensor, got shape {x.shape}")
    top, bottom, left, right = N.conv_pads(x.shape, kernel, stride, "same")
    if not (top or bottom or left or right):
        return x
    return x.pad(((0, 0), (top, bottom), (left, right), (0, 0)), value=value)


def max_pool1d(x, pool_size=2, strides=None):
    strides = pool_size if strides is None else strides
    return max_pool2d(x.unsqueeze(1), (1, pool_size), (1, strides)).squeeze(1)


def avg_pool1d(x, pool_size=2, strides=None):
    strides = pool_size if strides is None else strides
    return avg_pool2d(x.unsqueeze(1), (1, pool_size), (1, strides)).squeeze(1)


def embedding(table, indices):
    """Rows of table (V, D) at integer indices of any shape -> (*indices.shape, D)."""
    indices = as_tensor(indices, device=table.device)
    if indices.device != table.device:
        indices = indices.to(table.device)
    indices = indices.astype(np.int64)
    host = indices.numpy()
    if host.size and (host.min() < 0 or host.max() >= table.shape[0]):
        raise ValueError(f"embedding: indices must lie in [0, {table.shape[0]}), got range [{host.min()}, {host.max()}]")
    return N.Embedding.apply(table, indices)


# --- chapter 7: batch normalisation and depthwise convolution --------------------------------
def batch_norm(x, gamma, beta, epsilon=1e-3, stats=None):
    """Batch normalisation in training mode over the last axis of x (any rank >= 2): each
    channel is normalised with the mean and biased variance of all the other axes, then
    scaled by gamma and shifted by beta (both (C,)). One fused backend primitive forward,
    one backward. `stats`, a dict, receives the batch's "mean" and "var" (not in the graph)."""
    gamma, beta = as_tensor(gamma, device=x.device), as_tensor(beta, device=x.device)
    channels = x.shape[-1] if x.ndim else None
    if x.ndim < 2 or gamma.shape != (channels,) or beta.shape != (channels,):
        raise ValueError(f"batch_norm: need x (..., C) with rank >= 2 and gamma, beta (C,); got shapes "
                         f"{x.shape}, {gamma.shape} and {beta.shape}")
    if x.size == 0:
        raise ValueError(f"batch_norm: x of shape {x.shape} has no elements to average")
    rows = x.reshape((x.size // channels, channels))
    y = ops_norm.BatchNorm.apply(rows, gamma.astype(x.dtype), beta.astype(x.dtype),
                                 epsilon=float(epsilon), stats=stats)
    return y.reshape(x.shape)


def depthwise_conv2d(x, w, stride=1, padding="valid"):
    """Depthwise convolution: x (N, H, W, C), w (KH, KW, C, D) -> (N, OH, OW, C*D), where
    output channel c*D + m is input channel c alone convolved with w[:, :, c, m] (Keras' and
    TensorFlow's order). Composed of views and broadcasting products, one per kernel tap:
    out = sum_{p,q} x_window(p, q)[..., None] * w[p, q]; autograd derives the gradient."""
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
        raise ValueError(f"depthwise_conv2d: need x (N, H, W, C) and w (KH, KW, C, D) with the same C, "
                         f"got shapes {x.shape} and {w.shape}")
    (kh, kw), (sh, sw) = w.shape[:2], _pair(stride)
    top, bottom, left, right = N.conv_pads(x.shape, (kh, kw), (sh, sw), padding)
    if any((top, bottom, left, right)):
        x = x.pad(((0, 0), (top, bottom), (left, right), (0, 0)))
    n, h, wd, c = x.shape
    if h < kh or wd < kw:
        raise ValueError(f"depthwise_conv2d: kernel {(kh, kw)} is larger than the (padded) input {(h, wd)}")
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = None
    for p in range(kh):
        for q in range(kw):
            window = x[:, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw, :]   # (N, OH, OW, C), a view
            term = window.unsqueeze(4) * w[p, q]                                     # (N, OH, OW, C, D)
            out = term if out is None else out + term
    return out.reshape((n, oh, ow, c * w.shape[3]))


# --- fused bias + activation (ops_fused.py) ------------------------------------------------
def _optional(bias):
    return () if bias is None else (bias,)


def _check_fused(activation, units, bias, x, op):
    if activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"{op}: activation {activation!r} is not fused; fused: {', '.join(FUSED_ACTIVATIONS)}")
    if bias is not None and (bias.shape != (units,) or bias.device != x.device or bias.dtype != x.dtype):
        raise ValueError(f"{op}: bias must be a ({units},) tensor of {x.dtype} on {x.device!r}, "
                         f"got shape {bias.shape}, {bias.dtype} on {bias.device!r}")


def bias_act(z, bias=None, activation="linear"):
    """activation(z + bias) along z's last axis, in one kernel each way (bias (C,) or None;
    activation one of kernels.base.FUSED_ACTIVATIONS)."""
    _check_fused(activation, z.shape[-1] if z.ndim else None, bias, z, "bias_act")
    if z.ndim == 0:
        raise ValueError("bias_act: z must have at least one axis")
    return FU.BiasAct.apply(z, *_optional(bias), act=activation)


def dense(x, kernel, bias=None, activation="linear"):
    """activation(x @ kernel + bias) over x's last axis: a Dense layer's forward as one
    Function (x (..., K), kernel (K, N), bias (N,) or None)."""
    if kernel.ndim != 2 or x.ndim < 1 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"dense: need x (..., K) and kernel (K, N), got shapes {x.shape} and {kernel.shape}")
    if x.device != kernel.device or x.dtype != kernel.dtype:
        raise ValueError(f"dense: x ({x.dtype} on {x.device!r}) and kernel ({kernel.dtype} on "
                         f"{kernel.device!r}) must share dtype and device")
    _check_fused(activation, kernel.shape[1], bias, x, "dense")
    rows = x if x.ndim == 2 else x.reshape((-1, x.shape[-1]))
    out = FU.Dense.apply(rows, kernel, *_optional(bias), act=activation)
    return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (kernel.shape[1],))

