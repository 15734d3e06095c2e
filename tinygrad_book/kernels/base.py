"""The backend seam: the primitive set every device implements.

A tensor's data lives in a *storage*: a flat, one-dimensional, contiguous array on
some device (a numpy array for "numpy" and "cpu", a numba device array for
"cuda"). A tensor looks at its storage through a `View`:

    element [i0, i1, ..., ik]  lives at  storage[offset + i0*strides[0] + ... + ik*strides[k]]

Strides count elements, not bytes. Reshape, transpose, expand (stride 0), slicing
and squeeze only change a View: they never touch the storage. Only the primitives
below read or write elements, and every primitive that produces data returns a
*new contiguous storage* (row-major for the output shape it documents), except
`assign`, which writes into an existing one.

The autograd layer calls only these methods, so a backend is exactly this list.
The numpy reference backend (`reference.py`) is the readable oracle; the numba
"cpu" and numba-cuda "cuda" backends must give the same results.
"""
from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np

# The element-wise operations a backend must know, by name.
UNARY_OPS = ("neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sign", "recip")
BINARY_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum",
              "eq", "ne", "lt", "le", "gt", "ge")
REDUCE_OPS = ("sum", "max", "min")
# The fused optimizer updates a backend may offer (an optional capability), with the
# hyperparameters each one takes and the state slots it updates beside the weight.
OPTIMIZER_RULES = {
    "sgd": (("lr", "momentum", "nesterov"), "[v] when momentum != 0, else []"),
    "rmsprop": (("lr", "rho", "epsilon", "flush_below"), "[a]"),
    "adagrad": (("lr", "epsilon"), "[a]"),
    "adam": (("lr_t", "beta_1", "beta_2", "epsilon", "flush_below", "amsgrad"), "[m, v] (+ [vmax] when amsgrad)"),
}
DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64))


class View(NamedTuple):
    """A strided window onto a flat storage (all counts in elements)."""

    storage: Any
    shape: tuple
    strides: tuple
    offset: int

    @property
    def dtype(self) -> np.dtype:
        return self.storage.dtype          # numpy and numba device arrays both hold an np.dtype

    @property
    def size(self) -> int:
        return prod(self.shape)


def prod(values) -> int:
    """The product of a shape's sizes (1 for the empty shape of a scalar)."""
    n = 1
    for d in values:
        n *= int(d)
    return n


def contiguous_strides(shape) -> tuple:
    """Row-major strides, in elements: the last axis moves fastest."""
    return _row_major_strides(tuple(shape))


def is_contiguous(view, strides=None) -> bool:
    """True when a View covers its storage densely in row-major order from its offset.
    Also is_contiguous(shape, strides), for metadata without a View. Axes of size 1 may
    have any stride (they are never stepped along)."""
    shape, strides = (view.shape, view.strides) if strides is None else (view, strides)
    return _is_row_major(tuple(shape), tuple(strides))


# Both answers depend on the metadata alone, and a training step asks about the same few
# shapes at every step (every new tensor asks for its strides): cached, they cost a
# dictionary look-up (~0.3 us) instead of a Python loop (2-4 us).
@functools.lru_cache(maxsize=4096)
def _row_major_strides(shape: tuple) -> tuple:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


@functools.lru_cache(maxsize=4096)
def _is_row_major(shape: tuple, strides: tuple) -> bool:
    expected = _row_major_strides(shape)
    return all(s == e for d, s, e in zip(shape, strides, expected) if d != 1)


def full_view(storage, shape) -> View:
    """The contiguous view of a whole storage with the given shape."""
    return View(storage, tuple(shape), contiguous_strides(shape), 0)


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int = 0, pad_after: int = 0) -> int:
    """How many windows of `kernel` elements, `stride` apart, fit in `size` padded elements:
    the output length of a convolution or a pooling along one axis."""
    return (size + pad_before + pad_after - kernel) // stride + 1


# --- shape checks: the contracts below, checked in one place for every backend ----------------
def _fail(what, message):
    raise ValueError(f"{what}: {message}")


def _same_shapes(what, *views):
    first = tuple(views[0].shape)
    for v in views[1:]:
        if tuple(v.shape) != first:
            _fail(what, f"shapes differ, {first} vs {tuple(v.shape)}")


def _known(what, op, ops):
    if op not in ops:
        _fail(what, f"unknown op {op!r}; known: {', '.join(ops)}")


def _rank(what, view, ndim, name="input"):
    if len(view.shape) != ndim:
        _fail(what, f"{name} must have {ndim} {'axis' if ndim == 1 else 'axes'}, got shape {tuple(view.shape)}")


def _windows(what, image_shape, kernel, stride, pads=(0, 0, 0, 0)):
    if len(image_shape) != 4:
        _fail(what, f"needs an NHWC image (4 axes), got shape {tuple(image_shape)}")
    if min(stride) < 1 or min(kernel) < 1 or min(pads) < 0:
        _fail(what, f"kernel {kernel} and stride {stride} must be positive, pads {pads} non-negative")
    for size, k, before, after in ((image_shape[1], kernel[0], pads[0], pads[1]),
                                   (image_shape[2], kernel[1], pads[2], pads[3])):
        if size + before + after < k:
            _fail(what, f"window {tuple(kernel)} is larger than the (padded) image {tuple(image_shape[1:3])}")


def _check_matmul(self, a, b):
    if len(a.shape) != 3 or len(b.shape) != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        _fail("matmul", f"needs (B, M, K) @ (B, K, N), got {tuple(a.shape)} @ {tuple(b.shape)}")


def _check_reduce(self, op, x, axes):
    _known("reduce", op, REDUCE_OPS)
    if not axes or list(axes) != sorted(set(axes)) or axes[0] < 0 or axes[-1] >= len(x.shape):
        _fail("reduce", f"axes must be sorted, distinct, non-empty axes of shape {tuple(x.shape)}, got {axes}")


def _check_argmax(self, x, axis):
    if not 0 <= axis < len(x.shape):
        _fail("argmax", f"axis {axis} is not an axis of shape {tuple(x.shape)}")


def _check_col2im(self, cols, image_shape, kernel, stride, pads):
    _rank("col2im", cols, 6, "cols")
    _windows("col2im", image_shape, kernel, stride, pads)
    if (cols.shape[0], tuple(cols.shape[3:5]), cols.shape[5]) != (image_shape[0], tuple(kernel), image_shape[3]):
        _fail("col2im", f"patches {tuple(cols.shape)} do not fit image {tuple(image_shape)} and kernel {kernel}")


def _check_maxpool2d_backward(self, g, argmax, image_shape, kernel, stride):
    _windows("maxpool2d_backward", image_shape, kernel, stride)
    n, h, w, c = image_shape
    pooled = (n, conv_output_size(h, kernel[0], stride[0]), conv_output_size(w, kernel[1], stride[1]), c)
    for name, view in (("g", g), ("argmax", argmax)):
        if tuple(view.shape) != pooled:
            _fail("maxpool2d_backward", f"{name} must be the pooled shape {pooled} of image {tuple(image_shape)}, "
                                        f"kernel {tuple(kernel)}, stride {tuple(stride)}; got {tuple(view.shape)}")
    if argmax.dtype != np.int64:
        _fail("maxpool2d_backward", f"argmax must be int64 (as maxpool2d returns it), got {argmax.dtype}")


def _check_rows(what, table, idx):
    _rank(what, table, 2, "rows")
    _rank(what, idx, 1, "indices")


def _check_scatter_add_rows(self, src, idx, num_rows):
    _check_rows("scatter_add_rows", src, idx)
    if src.shape[0] != idx.shape[0]:
        _fail("scatter_add_rows", f"{src.shape[0]} rows but {idx.shape[0]} indices")


def _check_softmax_xent(self, logits, target):
    _rank("softmax_xent", logits, 2, "logits")
    _same_shapes("softmax_xent", logits, target)


def _check_optimizer_update(self, rule, p, g, slots, hyper):
    if rule not in self.optimizer_rules:
        _fail("optimizer_update", f"the {self.name} backend has no fused {rule!r} update")
    names = OPTIMIZER_RULES[rule][0]
    if set(hyper) != set(names):
        _fail("optimizer_update", f"{rule} takes hyperparameters {names}, got {sorted(hyper)}")
    _same_shapes("optimizer_update", p, g, *slots)
    if not all(is_contiguous(v) and v.dtype == p.dtype for v in (p, *slots)):
        _fail("optimizer_update", "the weight and its state must be contiguous, in one dtype")


# --- batch normalisation (BatchNormalization's fused primitive) -------------------------------
def _check_channels(what, x, *per_channel):
    _rank(what, x, 2, "x")
    if x.shape[0] < 1:
        _fail(what, f"needs at least one row to average over, got shape {tuple(x.shape)}")
    for v in per_channel:
        if tuple(v.shape) != (x.shape[1],):
            _fail(what, f"per-channel values must have shape ({x.shape[1]},), got {tuple(v.shape)}")


def _check_batchnorm_backward(self, g, x, mean, inv_std, gamma):
    _check_channels("batchnorm_backward", x, mean, inv_std, gamma)
    _same_shapes("batchnorm_backward", g, x)


# --- the fused recurrent sequences (SimpleRNN, LSTM, GRU; kernels/*/recurrent.py) -------------
# Gates per kind, in Keras' order (LSTM i f c o; GRU z r h), and the activations the
# fused kernels know (by name; kernels take the index in GATE_ACTIVATIONS).
RNN_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
GATE_ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "relu")


def _check_rnn(what, kind, x, kernel, recurrent_kernel, input_masks, state_masks, activations):
    _known(what, kind, tuple(RNN_GATES))
    for name in activations:
        _known(what, name, GATE_ACTIVATIONS)
    _rank(what, x, 3, "x")
    _rank(what, kernel, 2, "kernel")
    _rank(what, recurrent_kernel, 2, "recurrent_kernel")
    n, _, features = x.shape
    units, gates = recurrent_kernel.shape[0], RNN_GATES[kind]
    if (tuple(recurrent_kernel.shape) != (units, gates * units)
            or tuple(kernel.shape) != (features, gates * units)):
        _fail(what, f"a {kind} of {units} units on x {tuple(x.shape)} needs kernel ({features}, {gates * units}) "
                    f"and recurrent_kernel ({units}, {gates * units}), got {tuple(kernel.shape)} and "
                    f"{tuple(recurrent_kernel.shape)}")
    for masks, size, name in ((input_masks, features, "input_masks"), (state_masks, units, "state_masks")):
        if masks is not None and tuple(masks.shape) != (gates, n, size):
            _fail(what, f"{name} must be (gates, batch, {'features' if size == features else 'units'}) = "
                        f"{(gates, n, size)}, got {tuple(masks.shape)}")


def _check_rnn_forward(self, kind, x, kernel, recurrent_kernel, bias, input_masks, state_masks, activations,
                       go_backwards):
    _check_rnn("rnn_forward", kind, x, kernel, recurrent_kernel, input_masks, state_masks, activations)
    if bias is not None and tuple(bias.shape) != (kernel.shape[1],):
        _fail("rnn_forward", f"bias must be ({kernel.shape[1]},) for kernel {tuple(kernel.shape)}, "
                             f"got {tuple(bias.shape)}")


def _check_rnn_backward(self, kind, d_states, x, kernel, recurrent_kernel, input_masks, state_masks, states,
                        gates, cells, activations, go_backwards, need_dx):
    _check_rnn("rnn_backward", kind, x, kernel, recurrent_kernel, input_masks, state_masks, activations)
    _same_shapes("rnn_backward", d_states, states)
    n, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    if tuple(states.shape) != (n, steps, units) or tuple(gates.shape) != (n, steps, kernel.shape[1]):
        _fail("rnn_backward", f"states {tuple(states.shape)} and gates {tuple(gates.shape)} do not fit x "
                              f"{tuple(x.shape)} and kernel {tuple(kernel.shape)}")
    if (kind == "lstm") != (cells is not None):
        _fail("rnn_backward", "cells are given exactly for an lstm")


SHAPE_CHECKS = {
    "assign": lambda self, dst, src: _same_shapes("assign", dst, src),
    "unary": lambda self, op, x: _known("unary", op, UNARY_OPS),
    "binary": lambda self, op, a, b: (_known("binary", op, BINARY_OPS), _same_shapes("binary " + op, a, b)),
    "where": lambda self, cond, a, b: _same_shapes("where", cond, a, b),
    "reduce": _check_reduce,
    "argmax": _check_argmax,
    "matmul": _check_matmul,
    "im2col": lambda self, x, kernel, stride, pads: _windows("im2col", x.shape, kernel, stride, pads),
    "col2im": _check_col2im,
    "maxpool2d": lambda self, x, kernel, stride: _windows("maxpool2d", x.shape, kernel, stride),
    "maxpool2d_backward": _check_maxpool2d_backward,
    "gather_rows": lambda self, table, idx: _check_rows("gather_rows", table, idx),
    "scatter_add_rows": _check_scatter_add_rows,
    "one_hot": lambda self, labels, num_classes, dtype: _rank("one_hot", labels, 1, "labels"),
    "softmax_xent": _check_softmax_xent,
    "softmax_rows": lambda self, logits: _rank("softmax_rows", logits, 2, "logits"),
    "optimizer_update": _check_optimizer_update,
    "batchnorm_forward": lambda self, x, gamma, beta, epsilon: _check_channels("batchnorm_forward", x, gamma, beta),
    "batchnorm_backward": _check_batchnorm_backward,
    "rnn_forward": _check_rnn_forward,
    "rnn_backward": _check_rnn_backward,
}


# --- fused bias + activation (issue 12): the checks of the two primitives in Backend's last block --------
# The activations a backend fuses with the bias add; their derivatives are written in
# terms of the output y, so backward needs only what forward returned.
FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _check_bias_act(self, act, x, bias):
    _known("bias_act", act, FUSED_ACTIVATIONS)
    _rank("bias_act", x, 2)
    if bias is not None and tuple(bias.shape) != (x.shape[1],):
        _fail("bias_act", f"bias must have shape ({x.shape[1]},) for input {tuple(x.shape)}, got {tuple(bias.shape)}")


def _check_bias_act_backward(self, act, y, g):
    _known("bias_act_backward", act, FUSED_ACTIVATIONS)
    _rank("bias_act_backward", y, 2, "y")
    _same_shapes("bias_act_backward", y, g)


SHAPE_CHECKS["bias_act"] = _check_bias_act
SHAPE_CHECKS["bias_act_backward"] = _check_bias_act_backward


def _checked(method, check):
    """`method` that first checks its arguments against the primitive's contract."""
    @functools.wraps(method)
    def checked(self, *args):
        check(self, *args)
        return method(self, *args)
    checked.unchecked = method
    return checked


class Backend(ABC):
    """The primitive set. Each method states its contract; subclasses implement it.

    Conventions: `View` arguments may be any strided view (non-contiguous, stride-0
    broadcast, offset). Results are new contiguous storages unless stated.

    Shapes are checked here, once for every backend: each primitive a subclass defines
    is wrapped so that SHAPE_CHECKS[name] sees its arguments first (a clear ValueError
    naming the primitive and the shapes, instead of a wrong answer or an index error
    deep inside a kernel). Data-dependent checks (indices in range) stay with each backend.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, check in SHAPE_CHECKS.items():
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, name, _checked(method, check))

    name = "abstract"
    # The OPTIMIZER_RULES this backend's `optimizer_update` implements (none by default:
    # the optimizers then compose the update from the primitives below).
    optimizer_rules: frozenset = frozenset()

    # --- memory -------------------------------------------------------------------
    @abstractmethod
    def from_numpy(self, array: np.ndarray):
        """Copy a host array into a new flat storage on this device (same dtype)."""

    @abstractmethod
    def to_numpy(self, x: View) -> np.ndarray:
        """Copy the elements of a view to a new host array of shape x.shape."""

    @abstractmethod
    def full(self, size: int, value: float, dtype) -> Any:
        """A new storage of `size` elements, all equal to `value`."""

    # --- movement -----------------------------------------------------------------
    @abstractmethod
    def contiguous(self, x: View):
        """Copy a strided view into a new row-major storage of x.size elements."""

    @abstractmethod
    def assign(self, dst: View, src: View) -> None:
        """Write src's elements into the strided region `dst` (same shape). In place."""

    @abstractmethod
    def cast(self, x: View, dtype):
        """A new row-major storage holding x's elements converted to `dtype`."""

    # --- element-wise -------------------------------------------------------------
    @abstractmethod
    def unary(self, op: str, x: View):
        """out[i] = op(x[i]) for op in UNARY_OPS, row-major over x.shape."""

    @abstractmethod
    def binary(self, op: str, a: View, b: View):
        """out[i] = a[i] op b[i]; a and b have the same shape (broadcasting is done
        by the caller with stride-0 views). Comparisons give 1.0 / 0.0 in a's dtype."""

    @abstractmethod
    def where(self, cond: View, a: View, b: View):
        """out[i] = a[i] if cond[i] != 0 else b[i]; all three have the same shape."""

    # --- reductions ---------------------------------------------------------------
    @abstractmethod
    def reduce(self, op: str, x: View, axes: tuple):
        """Reduce over `axes` (sorted, non-empty) with op in REDUCE_OPS. The result
        has x.shape with those axes set to 1 (keepdims layout)."""

    @abstractmethod
    def argmax(self, x: View, axis: int):
        """int64 indices of the first maximum along `axis`; shape = x.shape without axis."""

    # --- contractions -------------------------------------------------------------
    @abstractmethod
    def matmul(self, a: View, b: View):
        """Batched product: a (B, M, K) @ b (B, K, N) -> (B, M, N)."""

    @abstractmethod
    def im2col(self, x: View, kernel: tuple, stride: tuple, pads: tuple):
        """Patches of an NHWC image as rows.

        x: (N, H, W, C); kernel (KH, KW); stride (SH, SW); pads (top, bottom, left, right)
        of zeros. Result: (N, OH, OW, KH, KW, C), where
        out[n, i, j, p, q, c] = x[n, i*SH + p - top, j*SW + q - left, c] (0 outside x).
        Convolution is then one matmul of the rows with the (KH*KW*C, F) kernel."""

    @abstractmethod
    def col2im(self, cols: View, image_shape: tuple, kernel: tuple, stride: tuple, pads: tuple):
        """The adjoint of im2col: scatter-add (N, OH, OW, KH, KW, C) patches back into
        a zero (N, H, W, C) image. Overlapping patches add up."""

    @abstractmethod
    def maxpool2d(self, x: View, kernel: tuple, stride: tuple):
        """NHWC max pooling (no padding). Returns (values, argmax): values (N, OH, OW, C)
        in x's dtype and argmax (N, OH, OW, C) int64, the row-major flat index into
        x.shape of the first maximum of each window (for maxpool2d_backward)."""

    @abstractmethod
    def maxpool2d_backward(self, g: View, argmax: View, image_shape: tuple, kernel: tuple, stride: tuple):
        """The backward of maxpool2d: each window's gradient goes to the input that won it.
        g (N, OH, OW, C) the gradient of the pooled values; argmax (N, OH, OW, C) int64 as
        maxpool2d returned it for an image of image_shape (N, H, W, C) with this kernel and
        stride. Result: (N, H, W, C), element e = the sum of g over the windows that contain
        e and whose argmax is e (0 for an input no window chose; overlapping windows that
        chose the same input add up). An argmax outside its own window adds nothing."""

    # --- indexing -----------------------------------------------------------------
    @abstractmethod
    def gather_rows(self, table: View, idx: View):
        """table (V, D), idx int64 (n,) -> (n, D) with out[i] = table[idx[i]]."""

    @abstractmethod
    def scatter_add_rows(self, src: View, idx: View, num_rows: int):
        """src (n, D), idx int64 (n,) -> (num_rows, D) zeros with src[i] added to row
        idx[i]. Repeated indices accumulate (the backward of gather_rows)."""

    @abstractmethod
    def one_hot(self, labels: View, num_classes: int, dtype):
        """labels int64 (n,) -> (n, num_classes) with out[i, labels[i]] = 1."""

    # --- fused --------------------------------------------------------------------
    @abstractmethod
    def softmax_xent(self, logits: View, target: View):
        """Fused, stable softmax cross-entropy over the last axis of (n, C) logits and
        (n, C) target probabilities. Returns (loss (n,), probs (n, C)) with
        loss[i] = -sum_c target[i,c] * log_softmax(logits)[i,c] and probs = softmax(logits)."""

    @abstractmethod
    def softmax_rows(self, logits: View):
        """Stable softmax over the last axis of (n, C) logits: probs (n, C) row-major in the
        logits' dtype, probs[i, c] = exp(z[i,c] - m_i) / sum_c' exp(z[i,c'] - m_i) with
        m_i = max_c z[i,c] (exp never overflows; the shift cancels). The backward needs
        only the output: d z = probs * (g - sum_c g * probs) (autograd.ops_nn.Softmax)."""

    # --- fused batch normalisation (training mode; inference is element-wise) ---------------
    @abstractmethod
    def batchnorm_forward(self, x: View, gamma: View, beta: View, epsilon: float):
        """Normalise each channel (column) of x (M, C) over its M rows, as Keras 2.0's
        BatchNormalization does in training (tf.nn.moments: the *biased* variance):

            mean[c] = sum_i x[i,c] / M;   var[c] = sum_i (x[i,c] - mean[c])^2 / M
            inv_std[c] = 1 / sqrt(var[c] + epsilon)
            y[i,c] = gamma[c] * (x[i,c] - mean[c]) * inv_std[c] + beta[c]

        gamma, beta: (C,). Returns (y (M, C), mean (C,), var (C,), inv_std (C,)), all in x's
        dtype; the sums run in float64."""

    @abstractmethod
    def batchnorm_backward(self, g: View, x: View, mean: View, inv_std: View, gamma: View):
        """The gradients of batchnorm_forward's y for the cotangent g (M, C). With
        xhat = (x - mean) * inv_std:

            dbeta[c] = sum_i g[i,c];   dgamma[c] = sum_i g[i,c] * xhat[i,c]
            dx[i,c] = gamma[c] * inv_std[c] * (g[i,c] - dbeta[c]/M - xhat[i,c] * dgamma[c]/M)

        (mean and var depend on every row: the two subtracted terms are their share.)
        Returns (dx (M, C), dgamma (C,), dbeta (C,)) in x's dtype; sums in float64."""

    # --- optional: fused optimizer updates -----------------------------------------------
    def optimizer_update(self, rule: str, p: View, g: View, slots: list, hyper: dict) -> None:
        """One optimizer step in place, for `rule` in self.optimizer_rules. p and every slot
        are contiguous views of one float dtype and p's shape; g has p's shape and dtype
        (any strides). hyper holds OPTIMIZER_RULES[rule]'s names. The formulas:

            sgd:      v = momentum*v - lr*g;  p += v  (nesterov: p += momentum*v - lr*g);
                      without momentum (no slot): p -= lr*g
            rmsprop:  a = rho*a + (1-rho)*g^2, then a = 0 where a < flush_below;
                      p -= lr*g / (sqrt(a) + epsilon)
            adagrad:  a += g^2;  p -= lr*g / (sqrt(a) + epsilon)
            adam:     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2 (flushed below flush_below);
                      amsgrad: vmax = max(vmax, v), used for v;  p -= lr_t*m / (sqrt(v) + epsilon)
        """
        raise NotImplementedError(f"the {self.name} backend has no fused optimizer update")

    # --- fused bias + activation (issue 12) ------------------------------------------
    @abstractmethod
    def bias_act(self, act: str, x: View, bias):
        """The forward of a Dense or Conv2D layer after its matmul, in one pass:
        out[r, c] = act(x[r, c] + bias[c]) for x (rows, C), bias a (C,) View or None
        (no bias), act in FUSED_ACTIVATIONS. Returns a new (rows, C) storage."""

    @abstractmethod
    def bias_act_backward(self, act: str, y: View, g: View):
        """Its backward, from the saved output y = act(z) (rows, C) and the incoming
        gradient g (rows, C): dz = g * act'(z), with act' written in y
        (linear 1, relu [y > 0], sigmoid y (1 - y), tanh 1 - y^2), and the bias
        gradient db[c] = sum_r dz[r, c]. Returns (dz (rows, C) storage, db (C,) storage)."""

    # --- fused recurrent sequences (kernels/reference_recurrent.py has the equations) ------------
    @abstractmethod
    def rnn_forward(self, kind: str, x: View, kernel: View, recurrent_kernel: View, bias, input_masks,
                    state_masks, activations: tuple, go_backwards: bool):
        """A whole SimpleRNN / LSTM / GRU sequence forward, the state starting at zero.

        kind in RNN_GATES (G gates); x (B, T, F) the inputs; kernel W (F, G*u) and
        recurrent_kernel U (u, G*u), gates side by side in Keras' order; bias b (G*u,) or
        None; input_masks (G, B, F) and state_masks (G, B, u): dropout masks, one per gate,
        fixed over the steps, or None; activations (activation, recurrent_activation) names
        from GATE_ACTIVATIONS. Step s reads input step t = s (or T-1-s when go_backwards);
        gate g's pre-activation is b_g + (x_t * mx_g) W_g + (h_{s-1} * m_g) U_g (the GRU's h
        gate: (r * h_{s-1} * m_h) U_h). Returns storages (states (B, T, u), gates (B, T,
        G*u), cells (B, T, u) or None), all indexed by the step s as processed:
        states[:, s] = h_s; gates: the gate activations (LSTM i f g o, GRU z r hh,
        SimpleRNN h); cells: the LSTM's c_s (None for the other kinds)."""

    @abstractmethod
    def rnn_backward(self, kind: str, d_states: View, x: View, kernel: View, recurrent_kernel: View,
                     input_masks, state_masks, states: View, gates: View, cells, activations: tuple,
                     go_backwards: bool, need_dx: bool):
        """Backpropagation through time for rnn_forward: d_states (B, T, u) is the gradient
        of the loss with respect to every state h_s (zeros where unused); x, the weights
        and the masks are rnn_forward's; states, gates and cells its results (cells None
        unless lstm). Returns storages (d x (B, T, F), d kernel (F, G*u), d recurrent_kernel
        (u, G*u), d bias (G*u,)); d x is None unless need_dx (a network's input needs no
        gradient, and the kernels can skip its share of the work); the masks get no gradient."""
