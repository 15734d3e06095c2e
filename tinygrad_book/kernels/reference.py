"""The "numpy" backend: every primitive written to be read, not to be fast.

This is the oracle the other backends are tested against. Each primitive turns its
`View` into a numpy view with the same strides (no copy), does the obvious numpy
thing, and returns a new flat, contiguous storage.
"""
from __future__ import annotations

import numpy as np

from . import reference_recurrent
from .base import Backend, View, conv_output_size


def as_array(x: View) -> np.ndarray:
    """A zero-copy numpy view of a View: numpy also speaks (shape, strides, offset)."""
    itemsize = x.storage.itemsize
    base = x.storage[x.offset:] if x.size else x.storage
    return np.lib.stride_tricks.as_strided(
        base, shape=x.shape, strides=tuple(s * itemsize for s in x.strides), writeable=False)


def _maybe_array(x):
    """as_array(x), or None for an optional argument left out."""
    return None if x is None else as_array(x)


def flat(array: np.ndarray) -> np.ndarray:
    """A new flat row-major storage with array's elements."""
    return np.ascontiguousarray(array).reshape(-1).copy()


_UNARY = {
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    # Stable in both tails: exp never sees a large positive argument.
    "sigmoid": lambda x: np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                                  np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))),
    "relu": lambda x: np.maximum(x, 0),
    "abs": np.abs,
    "sign": np.sign,
    "recip": lambda x: 1 / x,
}

_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
}

_REDUCE = {"sum": np.sum, "max": np.max, "min": np.min}


def writable_run(x: View) -> np.ndarray:
    """The storage slice a contiguous view covers: a numpy view, writes go into x."""
    return x.storage[x.offset:x.offset + x.size]


# The fused optimizer updates (base.Backend.optimizer_update): the formulas, in place.
# `p[...] = ...` writes into the weight's own storage; a python float times a float32
# array stays float32 (numpy's scalar rule), as in the numba kernels.
def _sgd(p, g, slots, lr, momentum, nesterov):
    if not slots:
        p -= lr * g
        return
    v = slots[0]
    v[...] = momentum * v - lr * g
    p += momentum * v - lr * g if nesterov else v


def _rmsprop(p, g, slots, lr, rho, epsilon, flush_below):
    a = slots[0]
    a[...] = rho * a + (1 - rho) * g * g
    a[a < flush_below] = 0                   # no denormals: see nn/optimizers.py
    p -= lr * g / (np.sqrt(a) + epsilon)


def _adagrad(p, g, slots, lr, epsilon):
    a = slots[0]
    a += g * g
    p -= lr * g / (np.sqrt(a) + epsilon)


def _adam(p, g, slots, lr_t, beta_1, beta_2, epsilon, flush_below, amsgrad):
    m, v = slots[0], slots[1]
    m[...] = beta_1 * m + (1 - beta_1) * g
    v[...] = beta_2 * v + (1 - beta_2) * g * g
    v[v < flush_below] = 0
    if amsgrad:
        np.maximum(slots[2], v, out=slots[2])
        v = slots[2]
    p -= lr_t * m / (np.sqrt(v) + epsilon)


_OPTIMIZER_UPDATES = {"sgd": _sgd, "rmsprop": _rmsprop, "adagrad": _adagrad, "adam": _adam}

# d act(z) / dz from y = act(z): the backward of a fused bias + activation needs only its output
_ACTIVATION_SLOPE = {
    "linear": lambda y: 1,
    "relu": lambda y: (y > 0).astype(y.dtype),
    "sigmoid": lambda y: y * (1 - y),
    "tanh": lambda y: 1 - y * y,
}


class NumpyBackend(Backend):
    name = "numpy"
    optimizer_rules = frozenset(_OPTIMIZER_UPDATES)

    # memory
    def from_numpy(self, array):
        return flat(array)

    def to_numpy(self, x):
        return np.array(as_array(x))

    def full(self, size, value, dtype):
        return np.full(size, value, dtype=dtype)

    # movement
    def contiguous(self, x):
        return flat(as_array(x))

    def assign(self, dst, src):
        itemsize = dst.storage.itemsize
        target = np.lib.stride_tricks.as_strided(
            dst.storage[dst.offset:], shape=dst.shape,
            strides=tuple(s * itemsize for s in dst.strides))
        target[...] = as_array(src)

    def cast(self, x, dtype):
        return flat(as_array(x).astype(dtype))

    # element-wise
    def unary(self, op, x):
        with np.errstate(all="ignore"):  # log(0) = -inf is a value, not an error
            return flat(_UNARY[op](as_array(x)).astype(x.dtype, copy=False))

    def binary(self, op, a, b):
        with np.errstate(all="ignore"):
            out = _BINARY[op](as_array(a), as_array(b))
        return flat(out.astype(a.dtype, copy=False))

    def where(self, cond, a, b):
        return flat(np.where(as_array(cond) != 0, as_array(a), as_array(b)))

    # reductions
    def reduce(self, op, x, axes):
        return flat(_REDUCE[op](as_array(x), axis=tuple(axes), keepdims=True))

    def argmax(self, x, axis):
        return flat(np.argmax(as_array(x), axis=axis).astype(np.int64))

    # contractions
    def matmul(self, a, b):
        return flat(np.matmul(as_array(a), as_array(b)))

    def im2col(self, x, kernel, stride, pads):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (top, bottom, left, right) = kernel, stride, pads
        padded = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
        padded[:, top:top + h, left:left + w, :] = as_array(x)
        oh, ow = conv_output_size(h, kh, sh, top, bottom), conv_output_size(w, kw, sw, left, right)
        cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
        for p in range(kh):          # one kernel tap at a time: a strided slice of the image
            for q in range(kw):
                cols[:, :, :, p, q, :] = padded[:, p:p + sh * oh:sh, q:q + sw * ow:sw, :]
        return flat(cols)

    def col2im(self, cols, image_shape, kernel, stride, pads):
        n, h, w, c = image_shape
        (kh, kw), (sh, sw), (top, bottom, left, right) = kernel, stride, pads
        cols = as_array(cols)
        oh, ow = cols.shape[1], cols.shape[2]
        padded = np.zeros((n, h + top + bottom, w + left + right, c), dtype=cols.dtype)
        for p in range(kh):          # exactly im2col's loop, with = turned into +=
            for q in range(kw):
                padded[:, p:p + sh * oh:sh, q:q + sw * ow:sw, :] += cols[:, :, :, p, q, :]
        return flat(padded[:, top:top + h, left:left + w, :])

    def maxpool2d(self, x, kernel, stride):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = conv_output_size(h, kh, sh), conv_output_size(w, kw, sw)
        xa = as_array(x)
        values = np.empty((n, oh, ow, c), dtype=x.dtype)
        argmax = np.empty((n, oh, ow, c), dtype=np.int64)
        ni, ci = np.arange(n)[:, None], np.arange(c)[None, :]
        for i in range(oh):
            for j in range(ow):
                window = xa[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :].reshape(n, kh * kw, c)
                k = np.argmax(window, axis=1)                      # (n, c), first maximum
                values[:, i, j, :] = window[ni, k, ci]
                row, col = i * sh + k // kw, j * sw + k % kw
                argmax[:, i, j, :] = ((ni * h + row) * w + col) * c + ci
        return flat(values), flat(argmax)

    def maxpool2d_backward(self, g, argmax, image_shape, kernel, stride):
        n, h, w, c = image_shape
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = g.shape[1], g.shape[2]
        ga, won_at = as_array(g), as_array(argmax)
        flat_index = np.arange(n * h * w * c).reshape(image_shape)   # each input's own argmax value
        out = np.zeros(image_shape, dtype=g.dtype)
        for p in range(kh):          # tap (p, q) of every window at once, as in col2im
            for q in range(kw):
                rows, cols = slice(p, p + sh * oh, sh), slice(q, q + sw * ow, sw)
                won = won_at == flat_index[:, rows, cols, :]
                out[:, rows, cols, :] += np.where(won, ga, 0)
        return flat(out)

    # indexing
    def gather_rows(self, table, idx):
        return flat(as_array(table)[as_array(idx)])

    def scatter_add_rows(self, src, idx, num_rows):
        out = np.zeros((num_rows, src.shape[1]), dtype=src.dtype)
        np.add.at(out, as_array(idx), as_array(src))   # add.at: repeated indices accumulate
        return flat(out)

    def one_hot(self, labels, num_classes, dtype):
        out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
        out[np.arange(labels.shape[0]), as_array(labels)] = 1
        return flat(out)

    # fused
    def softmax_xent(self, logits, target):
        z = as_array(logits)
        shifted = z - z.max(axis=1, keepdims=True)       # log-sum-exp trick: exp(<= 0)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -(as_array(target) * log_probs).sum(axis=1)
        return flat(loss.astype(logits.dtype)), flat(np.exp(log_probs))

    def softmax_rows(self, logits):
        z = as_array(logits)
        e = np.exp(z - z.max(axis=1, keepdims=True))     # shifted: exp(<= 0)
        return flat(e / e.sum(axis=1, keepdims=True))

    # fused batch normalisation: the formulas of base.Backend, column by column
    def batchnorm_forward(self, x, gamma, beta, epsilon):
        xa = as_array(x).astype(np.float64)                  # float64 sums, as the other backends
        mean = xa.mean(axis=0)
        var = ((xa - mean) ** 2).mean(axis=0)                # biased: divide by M (tf.nn.moments)
        inv_std = 1.0 / np.sqrt(var + epsilon)
        y = as_array(gamma) * (xa - mean) * inv_std + as_array(beta)
        return tuple(flat(a.astype(x.dtype)) for a in (y, mean, var, inv_std))

    def batchnorm_backward(self, g, x, mean, inv_std, gamma):
        ga, xa = as_array(g).astype(np.float64), as_array(x).astype(np.float64)
        m, s = as_array(mean), as_array(inv_std)
        xhat = (xa - m) * s
        dbeta = ga.sum(axis=0)
        dgamma = (ga * xhat).sum(axis=0)
        rows = xa.shape[0]
        dx = as_array(gamma) * s * (ga - dbeta / rows - xhat * dgamma / rows)
        return tuple(flat(a.astype(x.dtype)) for a in (dx, dgamma, dbeta))

    # optional: fused optimizer updates
    def optimizer_update(self, rule, p, g, slots, hyper):
        grad = as_array(g).reshape(-1)
        with np.errstate(under="ignore"):
            _OPTIMIZER_UPDATES[rule](writable_run(p), grad, [writable_run(s) for s in slots], **hyper)

    # fused bias + activation: the formulas of base.Backend.bias_act(_backward)
    def bias_act(self, act, x, bias):
        z = as_array(x) if bias is None else as_array(x) + as_array(bias)
        y = z if act == "linear" else _UNARY[act](z)
        return flat(y.astype(x.dtype))

    def bias_act_backward(self, act, y, g):
        y, g = as_array(y), as_array(g)
        slope = _ACTIVATION_SLOPE[act](y)          # act'(z), written in y = act(z)
        dz = (g * slope).astype(g.dtype)
        return flat(dz), flat(dz.sum(axis=0))

    # fused recurrent sequences: the equations are in reference_recurrent.py
    def rnn_forward(self, kind, x, kernel, recurrent_kernel, bias, input_masks, state_masks, activations,
                    go_backwards):
        states, gates, cells = reference_recurrent.rnn_forward(
            kind, as_array(x), as_array(kernel), as_array(recurrent_kernel), _maybe_array(bias),
            _maybe_array(input_masks), _maybe_array(state_masks), activations, go_backwards)
        return flat(states), flat(gates), None if cells is None else flat(cells)

    def rnn_backward(self, kind, d_states, x, kernel, recurrent_kernel, input_masks, state_masks, states, gates,
                     cells, activations, go_backwards, need_dx):
        dx, *grads = reference_recurrent.rnn_backward(
            kind, as_array(d_states), as_array(x), as_array(kernel), as_array(recurrent_kernel),
            _maybe_array(input_masks), _maybe_array(state_masks), as_array(states), as_array(gates),
            _maybe_array(cells), activations, go_backwards)
        return (flat(dx) if need_dx else None,) + tuple(flat(g) for g in grads)
