"""The op registry: every differentiable op, with what it takes to check it.

Each `OpSpec` names an op, says how to call it on Tensors (`fn`) and on numpy
arrays (`ref`, the oracle), which shapes to feed it (one example, `shapes`, and
how tests draw more, `dims`), where its inputs must lie (`domain`), and how close
float32/float64 results must be. One set of
property tests (tests/ops/) runs every spec on every backend; `tinygrad-book
gradcheck` runs them from the command line. A meta-test fails when a Tensor op
or a functional op is missing here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..kernels.base import RNN_GATES, conv_output_size
from . import functional as F

# A drawn axis (a letter in `dims`) is 1 to 4 long unless the spec's `sizes` says
# otherwise: 1 is in on purpose (size-1 axes are where broadcasting and
# stride bugs hide), 4 keeps gradient checks and the CUDA simulator quick.
DRAWN_SIZE = (1, 4)

# float32 forward tolerance, float64 forward tolerance (rtol, atol)
TOL32 = (1e-4, 1e-5)
TOL64 = (1e-10, 1e-12)


@dataclass
class OpSpec:
    name: str
    fn: Callable                  # Tensors -> Tensor
    ref: Callable                 # numpy arrays -> numpy array
    shapes: tuple                 # one example shape per input (`tinygrad-book gradcheck` uses it)
    dims: str = ""                # how tests draw shapes, one pattern per input: "m k, k n" (see draw_shapes)
    sizes: dict = field(default_factory=dict)   # letter -> (low, high) where DRAWN_SIZE does not suit
    domain: str = "real"          # real | positive | nonzero | away_from_kinks
    differentiable: bool = True   # False: comparisons, argmax (no gradient)
    broadcast: bool = False       # a binary op that broadcasts like numpy
    covers: tuple = ()            # Tensor methods / functional names this spec exercises
    tol32: tuple = TOL32
    tol64: tuple = TOL64
    grad_tol: tuple = (1e-5, 1e-7)
    eps: float = 1e-6             # central-difference step
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def arity(self) -> int:
        return len(self.shapes)


def draw_shapes(spec: OpSpec, draw) -> list[tuple]:
    """One shape per input from the spec's `dims` pattern.

    A pattern lists each input's axes, inputs separated by commas. An axis is a
    number (that size), a letter (a size drawn once and shared by every input that
    names it: "m k, k n" is a valid matmul), or alternatives "1|b" of which one is
    drawn (a broadcast axis). `draw(name, low, high)` returns an int in [low, high];
    tests pass a hypothesis draw, so failures shrink to the smallest shapes.
    """
    drawn = {}

    def size(token):
        if "|" in token:
            options = token.split("|")
            token = options[draw(f"{token}?", 0, len(options) - 1)]
        if token.isdigit():
            return int(token)
        if token not in drawn:
            drawn[token] = draw(token, *spec.sizes.get(token, DRAWN_SIZE))
        return drawn[token]

    return [tuple(size(t) for t in axes.split()) for axes in spec.dims.split(",")]


def sample_inputs(spec: OpSpec, rng: np.random.Generator, shapes=None, dtype=np.float64):
    """Random inputs in the op's domain (kept away from kinks and poles, where
    central differences are not a derivative)."""
    out = []
    for shape in shapes or spec.shapes:
        x = rng.uniform(-2.0, 2.0, size=shape)
        if spec.domain == "positive":
            x = rng.uniform(0.5, 2.0, size=shape)
        elif spec.domain in ("nonzero", "away_from_kinks"):
            x = np.sign(x + (x == 0)) * rng.uniform(0.2, 2.0, size=shape)
        out.append(x.astype(dtype))
    if spec.extra.get("distinct"):  # max/min/maximum: ties make the derivative one-sided
        total = sum(a.size for a in out)
        values = rng.permutation(total).astype(dtype) * 0.25 - total * 0.125
        start = 0
        for a in out:
            a[...] = values[start:start + a.size].reshape(a.shape)
            start += a.size
    return out


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ref_conv2d_direct(x, w, stride, padding):
    """A second, independent oracle: the textbook six-loop convolution."""
    from .ops_nn import conv_pads
    kh, kw, c, f = w.shape
    top, bottom, left, right = conv_pads(x.shape, (kh, kw), stride, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    n, h, wd, _ = xp.shape
    oh, ow = conv_output_size(h, kh, stride[0]), conv_output_size(wd, kw, stride[1])
    out = np.zeros((n, oh, ow, f), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def _ref_pool(x, k, s, reduce):
    n, h, w, c = x.shape
    oh, ow = conv_output_size(h, k[0], s[0]), conv_output_size(w, k[1], s[1])
    out = np.zeros((n, oh, ow, c), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j, :] = reduce(x[:, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1], :], axis=(1, 2))
    return out


# convolutions: inputs at least as large as the kernel, so "valid" has an output
CONV_SIZES = {"n": (1, 2), "h": (3, 6), "w": (3, 6), "kh": (1, 3), "kw": (1, 3)}
CONV1D_SIZES = {"n": (1, 2), "h": (3, 6), "kh": (1, 3)}

_LABELS = np.array([2, 0, 3, 3, 1])
_INDICES = np.array([[1, 4], [4, 0], [2, 4]])


# --- chapter 7: batch normalisation, depthwise convolution, 'same' pooling ----------------------
def _ref_batch_norm(x, gamma, beta, epsilon=1e-3):
    """Keras 2.0 in training: the batch's mean and biased variance over every axis but the last."""
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def _ref_depthwise(x, w, stride, padding):
    """Output channel c*D + m: channel c alone, convolved with w[:, :, c, m] (six-loop oracle)."""
    c, d = w.shape[2], w.shape[3]
    return np.concatenate([_ref_conv2d_direct(x[..., i:i + 1], w[:, :, i:i + 1, m:m + 1], stride, padding)
                           for i in range(c) for m in range(d)], axis=-1)


def _ref_pool_same(x, k, s, reduce):
    """TensorFlow's 'same' pooling: windows over the padded image that see only x's elements."""
    from .ops_nn import conv_pads
    top, bottom, left, right = conv_pads(x.shape, k, s, "same")
    n, h, w, c = x.shape
    oh, ow = -(-h // s[0]), -(-w // s[1])
    out = np.zeros((n, oh, ow, c), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - top, j * s[1] - left
            window = x[:, max(r0, 0):r0 + k[0], max(c0, 0):c0 + k[1], :]
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


def _chapter7_specs(add):
    add("batch_norm", lambda x, g, b: F.batch_norm(x, g, b), _ref_batch_norm, ((4, 3), (3,), (3,)),
        dims="m c, c, c", sizes={"m": (1, 5)}, covers=("F.batch_norm",), tol32=(1e-3, 1e-4),
        notes="one row: y = beta exactly, and dx = 0 (x - mean is 0 whatever x is)")
    add("batch_norm_nhwc", lambda x, g, b: F.batch_norm(x, g, b, epsilon=0.01), lambda x, g, b:
        _ref_batch_norm(x, g, b, 0.01), ((2, 3, 2, 3), (3,), (3,)), dims="n h w c, c, c",
        sizes={"n": (1, 2), "h": (1, 3), "w": (1, 3)}, covers=("F.batch_norm",), tol32=(1e-3, 1e-4),
        notes="channels last of an image: statistics over batch, height and width")
    add("depthwise_conv2d", lambda x, w: F.depthwise_conv2d(x, w),
        lambda x, w: _ref_depthwise(x, w, (1, 1), "valid"), ((2, 4, 4, 2), (3, 2, 2, 2)),
        dims="n h w c, kh kw c d", sizes={**CONV_SIZES, "d": (1, 2), "c": (1, 3)}, covers=("F.depthwise_conv2d",))
    add("depthwise_conv2d_same_strided", lambda x, w: F.depthwise_conv2d(x, w, stride=2, padding="same"),
        lambda x, w: _ref_depthwise(x, w, (2, 2), "same"), ((1, 5, 4, 2), (3, 2, 2, 1)),
        dims="n h w c, kh kw c d", sizes={**CONV_SIZES, "d": (1, 2), "c": (1, 3)}, covers=("F.depthwise_conv2d",))
    add("max_pool2d_same", lambda x: F.max_pool2d(x, 3, strides=2, padding="same"),
        lambda x: _ref_pool_same(x, (3, 3), (2, 2), np.max), ((1, 5, 4, 2),), dims="n h w c",
        sizes={"n": (1, 2), "h": (1, 6), "w": (1, 6)}, covers=("F.max_pool2d",), extra={"distinct": True},
        notes="an image smaller than the window still has one window per 2 pixels")
    add("avg_pool2d_same", lambda x: F.avg_pool2d(x, (3, 2), strides=(1, 2), padding="same"),
        lambda x: _ref_pool_same(x, (3, 2), (1, 2), np.mean), ((2, 4, 5, 2),), dims="n h w c",
        sizes={"n": (1, 2), "h": (1, 5), "w": (1, 5)}, covers=("F.avg_pool2d",),
        notes="border windows average only the elements they cover")


# --- fused recurrent sequences (autograd/ops_recurrent.py) ------------------------------------
RECURRENT_UNITS = 2
RECURRENT_SIZES = {"b": (1, 3), "t": (1, 4), "f": (1, 3)}


def _dropout_masks(gates, n, size, seed, rate=0.3):
    """Fixed inverted-dropout masks (gates, n, size): the same for every evaluation of a spec."""
    return (np.random.default_rng(seed).random((gates, n, size)) >= rate) / (1 - rate)


def _ref_recurrent(kind, x, kernel, recurrent_kernel, bias, activations, go_backwards, return_sequences,
                   input_masks, state_masks):
    """The fused op in numpy, written apart from the primitives (which project the inputs inside
    their loop): the input projection per gate for all steps, then reference_recurrent's loop."""
    from ..kernels import reference_recurrent
    gates, u = RNN_GATES[kind], recurrent_kernel.shape[0]
    if input_masks is None:
        gates_x = x @ kernel
    else:
        gates_x = np.concatenate([(x * input_masks[g][:, None]) @ kernel[:, g * u:(g + 1) * u]
                                  for g in range(gates)], axis=2)
    # the bias added outside the loop here (the primitives add it inside): two routes to compare
    states = reference_recurrent.run_steps(kind, gates_x + bias, recurrent_kernel, state_masks, activations,
                                           go_backwards)[0]
    return states if return_sequences else states[:, -1]


def _recurrent_specs(add):
    """SimpleRNN, LSTM and GRU sequences (2 units; batch, steps and features drawn), with and
    without dropout masks, go_backwards and return_sequences, over several activations."""
    from .ops_recurrent import recurrent_sequence
    cases = [  # kind, (activation, recurrent_activation), go_backwards, return_sequences, dropout, bias
        ("simple_rnn", ("tanh", "hard_sigmoid"), False, False, "", True),
        ("simple_rnn", ("relu", "hard_sigmoid"), True, True, "dropout", True),
        ("simple_rnn", ("tanh", "hard_sigmoid"), False, True, "input_dropout", False),
        ("lstm", ("tanh", "hard_sigmoid"), False, False, "", True),
        ("lstm", ("tanh", "sigmoid"), True, True, "dropout", True),
        ("lstm", ("linear", "hard_sigmoid"), False, True, "dropout", True),
        ("lstm", ("tanh", "hard_sigmoid"), True, False, "state_dropout", False),
        ("gru", ("tanh", "hard_sigmoid"), False, False, "", True),
        ("gru", ("sigmoid", "sigmoid"), True, True, "dropout", True),
        ("gru", ("relu", "hard_sigmoid"), False, True, "dropout", True),
        ("gru", ("tanh", "hard_sigmoid"), True, True, "input_dropout", False),
    ]
    u = RECURRENT_UNITS
    for kind, acts, backwards, sequences, dropout, with_bias in cases:
        w = RNN_GATES[kind] * u

        def masks(x, kind=kind, dropout=dropout):
            n, g = x.shape[0], RNN_GATES[kind]
            inputs = _dropout_masks(g, n, x.shape[2], seed=1) if dropout in ("dropout", "input_dropout") else None
            state = _dropout_masks(g, n, u, seed=2) if dropout in ("dropout", "state_dropout") else None
            return inputs, state

        def fn(x, k, r, b=None, kind=kind, acts=acts, backwards=backwards, sequences=sequences, masks=masks):
            input_masks, state_masks = masks(x)
            return recurrent_sequence(kind, x, k, r, b, *acts, go_backwards=backwards,
                                      return_sequences=sequences, input_masks=input_masks, state_masks=state_masks)

        def ref(x, k, r, b=0.0, kind=kind, acts=acts, backwards=backwards, sequences=sequences, masks=masks):
            return _ref_recurrent(kind, x, k, r, b, acts, backwards, sequences, *masks(x))

        flags = ["backwards"] * backwards + ["sequences"] * sequences + [dropout] * bool(dropout)
        name = "_".join([kind, *acts] + flags + ["no_bias"] * (not with_bias))
        shapes, dims = ((2, 3, 2), (2, w), (u, w)), f"b t f, f {w}, {u} {w}"
        if with_bias:
            shapes, dims = shapes + ((w,),), dims + f", {w}"
        add(name, fn, ref, shapes, dims=dims, sizes=RECURRENT_SIZES, covers=("recurrent_sequence",),
            notes="dropout: fixed masks, one per gate, for the inputs and/or for the state")


def _registry():
    specs = []

    def add(*args, **kw):
        specs.append(OpSpec(*args, **kw))

    # unary
    add("neg", lambda x: -x, np.negative, ((2, 3),), dims="a b", covers=("__neg__",))
    add("exp", lambda x: x.exp(), np.exp, ((2, 3),), dims="a b", covers=("exp",))
    add("log", lambda x: x.log(), np.log, ((2, 3),), dims="a b", domain="positive", covers=("log",))
    add("sqrt", lambda x: x.sqrt(), np.sqrt, ((2, 3),), dims="a b", domain="positive", covers=("sqrt",))
    add("tanh", lambda x: x.tanh(), np.tanh, ((2, 3),), dims="a b", covers=("tanh",))
    add("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), ((2, 3),), dims="a b", covers=("sigmoid",))
    add("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), ((2, 3),), dims="a b",
        domain="nonzero", covers=("relu",))
    add("leaky_relu", lambda x: x.leaky_relu(0.2), lambda x: np.where(x > 0, x, 0.2 * x), ((2, 3),),
        dims="a b", domain="nonzero", covers=("leaky_relu",))
    add("abs", lambda x: x.abs(), np.abs, ((2, 3),), dims="a b", domain="nonzero", covers=("abs",))
    add("reciprocal", lambda x: x.reciprocal(), lambda x: 1 / x, ((2, 3),), dims="a b", domain="nonzero",
        covers=("reciprocal",))
    add("square", lambda x: x.square(), np.square, ((2, 3),), dims="a b", covers=("square",))
    add("clip", lambda x: x.clip(-1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), ((2, 3),), dims="a b",
        covers=("clip",), extra={"distinct": True})
    add("astype", lambda x: x.astype(np.float32).astype(np.float64) if x.dtype == np.float64 else x.astype(np.float64),
        lambda x: x.astype(np.float32).astype(np.float64) if x.dtype == np.float64 else x.astype(np.float64),
        ((2, 3),), dims="a b", covers=("astype",), grad_tol=(1e-4, 1e-6), eps=1e-2,
        notes="a float32 round trip: the gradient passes through, the value is rounded")
    # binary, broadcasting
    for name, op, ref, domain in (
        ("add", lambda a, b: a + b, np.add, "real"),
        ("sub", lambda a, b: a - b, np.subtract, "real"),
        ("mul", lambda a, b: a * b, np.multiply, "real"),
        ("div", lambda a, b: a / b, np.divide, "nonzero"),
        ("pow", lambda a, b: a ** b, np.power, "positive"),
    ):
        add(name, op, ref, ((2, 3), (2, 3)), dims="1|a b, a 1|b", domain=domain, broadcast=True,
            covers=(f"__{name if name != 'div' else 'truediv'}__",))
    add("reflected", lambda x: (2.0 - x) * (3.0 + x) / (1.5 ** x) + 0.5 * (1.0 / x),
        lambda x: (2.0 - x) * (3.0 + x) / (1.5 ** x) + 0.5 * (1.0 / x), ((2, 3),), dims="a b", domain="nonzero",
        covers=("__rsub__", "__radd__", "__rmul__", "__rtruediv__", "__rpow__"),
        notes="a number on the left of a tensor")
    add("maximum", lambda a, b: a.maximum(b), np.maximum, ((2, 3), (2, 3)), dims="1|a b, a 1|b", broadcast=True,
        covers=("maximum", "F.maximum"), extra={"distinct": True})
    add("minimum", lambda a, b: F.minimum(a, b), np.minimum, ((2, 3), (2, 3)), dims="1|a b, a 1|b", broadcast=True,
        covers=("minimum", "F.minimum"), extra={"distinct": True})
    add("where", lambda a, b: F.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), ((2, 3), (2, 3)),
        dims="1|a b, a 1|b", domain="nonzero", broadcast=True, covers=("where", "F.where"))
    for name, ref in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                      ("gt", np.greater), ("ge", np.greater_equal)):
        add(name, getattr(__import__("operator"), name), lambda a, b, ref=ref: ref(a, b).astype(a.dtype),
            ((2, 3), (2, 3)), dims="1|a b, a 1|b", differentiable=False, broadcast=True, covers=(f"__{name}__",),
            extra={"distinct": True})
    add("sign", lambda x: x.sign(), np.sign, ((2, 3),), dims="a b", differentiable=False, covers=("sign",))
    # matmul
    add("matmul", lambda a, b: a @ b, np.matmul, ((3, 4), (4, 5)), dims="m k, k n",
        sizes={"m": (1, 5), "k": (1, 6), "n": (1, 5)}, covers=("__matmul__", "matmul"))
    add("matmul_batched", lambda a, b: a @ b, np.matmul, ((2, 3, 4), (4, 2)), dims="b m k, k n",
        covers=("__matmul__",))
    add("matmul_batch_broadcast", lambda a, b: a @ b, np.matmul, ((1, 3, 4), (2, 4, 2)), dims="1|b m k, b|1 k n",
        covers=("__matmul__",), notes="a batch axis of 1 on either side is broadcast")
    add("matmul_vector", lambda a, b: a @ b, np.matmul, ((4,), (2, 4, 3)), dims="k, b k n",
        covers=("__rmatmul__",))
    # reductions
    for name in ("sum", "mean"):
        ref = getattr(np, name)
        add(name, lambda x, name=name: getattr(x, name)(), lambda x, ref=ref: ref(x), ((2, 3, 4),), dims="a b c",
            covers=(name,))
        add(f"{name}_axis", lambda x, name=name: getattr(x, name)(axis=(0, 2), keepdims=True),
            lambda x, ref=ref: ref(x, axis=(0, 2), keepdims=True), ((2, 3, 4),), dims="a b c",
            covers=(name,))
    for name in ("max", "min"):
        ref = getattr(np, name)
        add(name, lambda x, name=name: getattr(x, name)(axis=1), lambda x, ref=ref: ref(x, axis=1),
            ((3, 4),), dims="a b", covers=(name,), extra={"distinct": True})
        add(f"{name}_all", lambda x, name=name: getattr(x, name)(), lambda x, ref=ref: ref(x),
            ((3, 4),), dims="a b", covers=(name,), extra={"distinct": True})
    add("argmax", lambda x: x.argmax(axis=1), lambda x: np.argmax(x, axis=1), ((3, 4),), dims="a b",
        differentiable=False, covers=("argmax",), extra={"distinct": True})
    # movement
    add("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), ((2, 3, 2),), dims="a 3 b",
        covers=("reshape", "flatten"))
    add("transpose", lambda x: x.transpose(), lambda x: x.transpose(), ((2, 3, 4),), dims="a b c",
        covers=("transpose", "T"))
    add("permute", lambda x: x.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0), ((2, 3, 4),), dims="a b c",
        covers=("permute",))
    add("expand", lambda x: x.expand((2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)), ((3, 1),),
        dims="1|3 1|4", covers=("expand",))
    add("getitem", lambda x: x[1:3, :, 2], lambda x: x[1:3, :, 2], ((4, 2, 3),), dims="3|4 a 3|4",
        covers=("__getitem__",))
    add("getitem_step", lambda x: x[::-2, None, 1:], lambda x: x[::-2, None, 1:], ((5, 3),),
        dims="a 2|3|4", sizes={"a": (1, 5)},
        covers=("__getitem__",))
    add("squeeze", lambda x: x.squeeze(1).unsqueeze(0), lambda x: x.squeeze(1)[None], ((3, 1, 2),), dims="a 1 b",
        covers=("squeeze", "unsqueeze", "expand_dims"))
    add("pad", lambda x: x.pad(((1, 0), (2, 1)), value=0.5), lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=0.5),
        ((2, 3),), dims="a b", covers=("pad",))
    add("concatenate", lambda *xs: F.concatenate(list(xs), axis=1), lambda *xs: np.concatenate(xs, axis=1),
        ((2, 3), (2, 2), (2, 1)), dims="a b, a c, a d", covers=("F.concatenate",),
        notes="three inputs: the third starts where the first two end")
    add("stack", lambda a, b: F.stack([a, b], axis=1), lambda a, b: np.stack([a, b], axis=1),
        ((2, 3), (2, 3)), dims="a b, a b", covers=("F.stack",))
    add("contiguous", lambda x: x.T.contiguous(), lambda x: np.ascontiguousarray(x.T), ((2, 3),), dims="a b",
        covers=("contiguous",))
    # softmax family
    add("softmax", lambda x: x.softmax(), _softmax, ((3, 5),), dims="a b", sizes={"b": (1, 5)},
        covers=("F.softmax", "softmax"), notes="the last axis: the fused primitive ops_nn.Softmax")
    add("softmax_first_axis", lambda x: x.softmax(axis=0), lambda x: _softmax(x, axis=0), ((5, 3),),
        dims="a b", sizes={"a": (1, 5)}, covers=("softmax",), notes="another axis: the composed form")
    add("log_softmax", lambda x: x.log_softmax(axis=0), lambda x: np.log(_softmax(x, axis=0)), ((3, 5),),
        dims="a b", sizes={"b": (1, 5)}, covers=("F.log_softmax", "log_softmax"))
    add("cross_entropy_labels", lambda x: F.cross_entropy(x, _LABELS[:x.shape[0]]),
        lambda x: -np.mean(np.log(_softmax(x))[np.arange(x.shape[0]), _LABELS[:x.shape[0]]]), ((5, 4),),
        dims="n 4|5", sizes={"n": (1, 5)}, covers=("F.cross_entropy", "F.one_hot"),
        notes="labels go up to 3: at least 4 classes")
    add("cross_entropy_onehot", lambda x: F.cross_entropy(x, np.eye(4)[_LABELS] * 0.5 + 0.125, reduction="none"),
        lambda x: -(np.log(_softmax(x)) * (np.eye(4)[_LABELS] * 0.5 + 0.125)).sum(axis=1), ((5, 4),),
        dims="5 4", covers=("F.cross_entropy",), notes="the soft targets are one fixed (5, 4) array")
    # convolution, pooling, embedding
    add("conv2d_valid", lambda x, w: F.conv2d(x, w), lambda x, w: _ref_conv2d_direct(x, w, (1, 1), "valid"),
        ((2, 5, 4, 2), (3, 2, 2, 3)), dims="n h w c, kh kw c f", sizes=CONV_SIZES, covers=("F.conv2d",))
    add("conv2d_same_strided", lambda x, w: F.conv2d(x, w, stride=2, padding="same"),
        lambda x, w: _ref_conv2d_direct(x, w, (2, 2), "same"), ((1, 5, 6, 2), (3, 3, 2, 2)),
        dims="n h w c, kh kw c f", sizes=CONV_SIZES, covers=("F.conv2d",),
        notes="an even kernel or an odd input pads more at the bottom and right than at the top and left")
    add("conv1d", lambda x, w: F.conv1d(x, w, padding="same"),
        lambda x, w: _ref_conv2d_direct(x[:, None], w[None], (1, 1), "same")[:, 0], ((2, 6, 2), (3, 2, 3)),
        dims="n h c, kh c f", sizes=CONV1D_SIZES, covers=("F.conv1d",))
    add("max_pool2d", lambda x: F.max_pool2d(x, 2, strides=1), lambda x: _ref_pool(x, (2, 2), (1, 1), np.max),
        ((2, 4, 3, 2),), dims="n h w c", sizes={"n": (1, 2), "h": (2, 5), "w": (2, 5)},
        covers=("F.max_pool2d",), extra={"distinct": True})
    add("avg_pool2d", lambda x: F.avg_pool2d(x, (2, 3), strides=(2, 1)),
        lambda x: _ref_pool(x, (2, 3), (2, 1), np.mean), ((2, 5, 4, 2),), dims="n h w c",
        sizes={"n": (1, 2), "h": (2, 5), "w": (3, 5)}, covers=("F.avg_pool2d",))
    add("max_pool1d", lambda x: F.max_pool1d(x, 2), lambda x: _ref_pool(x[:, None], (1, 2), (1, 2), np.max)[:, 0],
        ((2, 5, 3),), dims="n l c", sizes={"l": (2, 6)}, covers=("F.max_pool1d",), extra={"distinct": True})
    add("avg_pool1d", lambda x: F.avg_pool1d(x, 3, strides=1),
        lambda x: _ref_pool(x[:, None], (1, 3), (1, 1), np.mean)[:, 0], ((2, 5, 3),),
        dims="n l c", sizes={"l": (3, 6)}, covers=("F.avg_pool1d",))
    add("embedding", lambda t: F.embedding(t, _INDICES), lambda t: t[_INDICES], ((5, 3),), dims="5|6 d",
        covers=("F.embedding",),
        notes="index 4 repeats: its gradient rows must add up")
    _chapter7_specs(add)
    _conv_transpose_specs(add)
    _fused_specs(add)
    _recurrent_specs(add)
    return {s.name: s for s in specs}


def _ref_conv2d_transpose(x, w, stride, padding):
    """The textbook scatter: each input pixel adds x[n, i, j] . w[a, b]^T at (i*s + a, j*s + b),
    on a canvas that is then cropped by the 'same' padding (Keras 2 sizes)."""
    from .functional import conv_transpose_length
    from .ops_nn import conv_pads
    n, h, wd, c = x.shape
    kh, kw, f, _ = w.shape
    oh, ow = (conv_transpose_length(h, kh, stride[0], padding), conv_transpose_length(wd, kw, stride[1], padding))
    top, _, left, _ = conv_pads((n, oh, ow, f), (kh, kw), stride, padding)
    canvas = np.zeros((n, max(oh + top, (h - 1) * stride[0] + kh), max(ow + left, (wd - 1) * stride[1] + kw), f),
                      dtype=x.dtype)
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    canvas[:, i * stride[0] + a, j * stride[1] + b, :] += x[:, i, j, :] @ w[a, b].T
    return canvas[:, top:top + oh, left:left + ow, :]


def _conv_transpose_specs(add):
    """Conv2DTranspose (k-backend): a Conv2D's input-gradient path run forward."""
    add("conv2d_transpose_valid", lambda x, w: F.conv2d_transpose(x, w, stride=2),
        lambda x, w: _ref_conv2d_transpose(x, w, (2, 2), "valid"), ((2, 3, 2, 2), (3, 2, 3, 2)),
        dims="n h w c, kh kw f c", sizes={"n": (1, 2), "h": (1, 4), "w": (1, 4), "kh": (1, 3), "kw": (1, 3)},
        covers=("F.conv2d_transpose",), notes="a kernel smaller than the stride leaves rows of zeros")
    add("conv2d_transpose_same", lambda x, w: F.conv2d_transpose(x, w, stride=(2, 1), padding="same"),
        lambda x, w: _ref_conv2d_transpose(x, w, (2, 1), "same"), ((1, 3, 4, 2), (3, 2, 2, 2)),
        dims="n h w c, kh kw f c", sizes={"n": (1, 2), "h": (1, 4), "w": (1, 4), "kh": (1, 3), "kw": (1, 3)},
        covers=("F.conv2d_transpose",), notes="'same' crops the canvas; an even kernel crops more at the end")




def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


_FUSED_REFS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": _sigmoid, "tanh": np.tanh}


def _fused_specs(add):
    """A layer's bias + activation in one kernel (ops_fused.py): the primitive alone, and
    inside the fused Dense and Conv2D ops, every fused activation."""
    for act, ref in _FUSED_REFS.items():
        # relu's kink: z is kept 0.2 or more from 0 ("nonzero") and the bias within 0.1
        add(f"bias_act_{act}", lambda z, b, act=act: F.bias_act(z, b * 0.05, act),
            lambda z, b, ref=ref: ref(z + b * 0.05), ((4, 3), (3,)), dims="n c, c",
            domain="nonzero", covers=("F.bias_act",))
    add("bias_act_no_bias", lambda z: F.bias_act(z, None, "tanh"), np.tanh, ((2, 3, 4),), dims="a b c",
        covers=("F.bias_act",), notes="no bias: one input; a 3-d z is rows of its last axis")
    for act in ("linear", "sigmoid", "tanh"):     # relu's kink is checked on bias_act_relu above
        add(f"dense_{act}", lambda x, w, b, act=act: F.dense(x, w, b, act),
            lambda x, w, b, ref=_FUSED_REFS[act]: ref(x @ w + b), ((3, 4), (4, 2), (2,)), dims="m k, k n, n",
            covers=("F.dense",))
    add("dense_batched_no_bias", lambda x, w: F.dense(x, w, None, "sigmoid"), lambda x, w: _sigmoid(x @ w),
        ((2, 3, 4), (4, 2)), dims="b m k, k n", covers=("F.dense",), notes="(..., K) inputs are rows")
    add("conv2d_bias_act", lambda x, w, b: F.conv2d(x, w, 2, "same", b, "tanh"),
        lambda x, w, b: np.tanh(_ref_conv2d_direct(x, w, (2, 2), "same") + b),
        ((1, 5, 6, 2), (3, 3, 2, 2), (2,)), dims="n h w c, kh kw c f, f", sizes=CONV_SIZES,
        covers=("F.conv2d",))
    add("conv2d_sigmoid_no_bias", lambda x, w: F.conv2d(x, w, 1, "valid", None, "sigmoid"),
        lambda x, w: _sigmoid(_ref_conv2d_direct(x, w, (1, 1), "valid")),
        ((2, 5, 4, 2), (3, 2, 2, 3)), dims="n h w c, kh kw c f", sizes=CONV_SIZES, covers=("F.conv2d",))

REGISTRY = _registry()

# Tensor attributes that are plumbing, not ops (the meta-test checks the rest are covered).
NOT_OPS = {
    "backward", "zero_grad", "numpy", "item", "tolist", "detach", "to", "contiguous_copy", "from_storage",
    "with_view", "full_like", "zeros", "ones", "full", "randn", "shape", "strides", "offset", "dtype",
    "ndim", "size", "backend", "is_leaf", "is_contiguous", "raw_matmul", "view", "device", "requires_grad",
    "grad", "replace_data", "fused_update",
}
