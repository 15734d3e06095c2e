"""Kernel benchmarks: our backends against numpy and PyTorch CPU, same workloads.

    from tinygrad_book import bench
    print(bench.format_table(bench.run(["matmul_1024", "add_1M"])))

The workloads are defined once here (WORKLOADS); `benchmarks/` (pytest-benchmark) imports
them, and the CLI (`tinygrad-book bench`) calls `run`. Each workload can build a
zero-argument callable for these implementations:

    "cpu" / "cuda"  our backend (numba kernels), via the primitive set
    "reference"     the numpy reference backend (kernels/reference.py)
    "numpy"         plain numpy (OpenBLAS for matmul): what a numpy user would write
    "torch"         PyTorch CPU, as many threads as numba (NUMBA_NUM_THREADS) (optional; skipped if missing)

Timing: the first call is timed apart (it includes numba compilation, or loading the
compiled code from numba's cache); then `repeat` windows of at least `window_s` each;
the figure is the median per-call time over windows (the machine is shared and noisy).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .kernels import get_backend
from .kernels.base import View, contiguous_strides


def _backend(impl):
    """Our backend for an implementation name: "reference" is the numpy backend (the
    readable kernels), while "numpy" in these tables means plain numpy calls."""
    return get_backend("numpy" if impl == "reference" else impl)


IMPLS = ("numpy", "torch", "reference", "cpu", "cuda")   # what `vs` and `device` may name


class Unavailable(Exception):
    """An implementation cannot run here (e.g. torch is not installed)."""


def _torch():
    try:
        import torch
    except ImportError as e:  # torch is a benchmark-only extra
        raise Unavailable("torch not installed") from e
    import numba
    torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)   # as many threads as ours (NUMBA_NUM_THREADS)
    return torch


def _view(a: np.ndarray, shape=None) -> View:
    flat = np.ascontiguousarray(a).reshape(-1)
    shape = tuple(a.shape if shape is None else shape)
    return View(flat, shape, contiguous_strides(shape), 0)


def _t(v: View) -> View:
    """The transpose of a (1, R, C) view: metadata only."""
    b, r, c = v.shape
    return View(v.storage, (b, c, r), (v.strides[0], v.strides[2], v.strides[1]), v.offset)


@dataclass
class Workload:
    name: str
    group: str
    build: Callable          # build(impl: str) -> zero-arg callable
    work: float              # flops (unit GFLOP/s) or bytes (unit GB/s) per call
    unit: str                # "GFLOP/s" or "GB/s"
    note: str = ""


def _rng():
    return np.random.default_rng(0)


# --- matmul ----------------------------------------------------------------------

def _matmul(M, K, N):
    def build(impl):
        r = _rng()
        a = r.standard_normal((M, K), dtype=np.float32)
        b = r.standard_normal((K, N), dtype=np.float32)
        if impl == "numpy":
            return lambda: a @ b
        if impl == "torch":
            torch = _torch()
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            return lambda: ta @ tb
        be = _backend(impl)
        va, vb = _view(a, (1, M, K)), _view(b, (1, K, N))
        va = View(be.from_numpy(va.storage), va.shape, va.strides, 0)
        vb = View(be.from_numpy(vb.storage), vb.shape, vb.strides, 0)
        return lambda: be.matmul(va, vb)
    return build


# --- conv2d via im2col -------------------------------------------------------------

CONV_LAYERS = {  # name: (N, H, W, C, F, K)
    "mnist_l1": (64, 28, 28, 1, 32, 3),
    "mnist_l2": (64, 13, 13, 32, 64, 3),
    "mnist_l3": (64, 5, 5, 64, 64, 3),
    "catsdogs_l1": (20, 150, 150, 3, 32, 3),
}


def _conv_flops(layer):
    n, h, w, c, f, k = CONV_LAYERS[layer]
    return 2.0 * n * (h - k + 1) * (w - k + 1) * k * k * c * f


def _conv(layer, backward):
    n, h, w, c, f, k = CONV_LAYERS[layer]
    oh, ow = h - k + 1, w - k + 1
    rows, kkc = n * oh * ow, k * k * c

    def build(impl):
        r = _rng()
        x = r.standard_normal((n, h, w, c), dtype=np.float32)
        wt = r.standard_normal((kkc, f), dtype=np.float32) * 0.1     # (KH*KW*C, F)
        dout = r.standard_normal((rows, f), dtype=np.float32)
        if impl == "torch":
            torch = _torch()
            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_(backward)
            tw = torch.from_numpy(wt.reshape(k, k, c, f)).permute(3, 2, 0, 1).contiguous().requires_grad_(backward)
            if not backward:
                return lambda: torch.nn.functional.conv2d(tx, tw)
            y = torch.nn.functional.conv2d(tx, tw)
            tg = torch.from_numpy(dout.reshape(n, oh, ow, f)).permute(0, 3, 1, 2).contiguous()
            return lambda: torch.autograd.grad(y, (tx, tw), tg, retain_graph=True)
        if impl == "numpy":
            from numpy.lib.stride_tricks import sliding_window_view

            def cols_of(xx):   # (N, OH, OW, C, KH, KW) -> rows in (KH, KW, C) order
                win = sliding_window_view(xx, (k, k), axis=(1, 2))
                return win.transpose(0, 1, 2, 4, 5, 3).reshape(rows, kkc)
            if not backward:
                return lambda: cols_of(x) @ wt
            cols = cols_of(x)

            def bwd():
                dcols = (dout @ wt.T).reshape(n, oh, ow, k, k, c)
                dx = np.zeros_like(x)
                for p in range(k):
                    for q in range(k):
                        dx[:, p:p + oh, q:q + ow, :] += dcols[:, :, :, p, q, :]
                return dx, cols.T @ dout
            return bwd
        be = _backend(impl)
        vx = View(be.from_numpy(x.reshape(-1)), x.shape, contiguous_strides(x.shape), 0)
        vw = View(be.from_numpy(wt.reshape(-1)), (1, kkc, f), (0, f, 1), 0)
        kern, stride, pads = (k, k), (1, 1), (0, 0, 0, 0)
        if not backward:
            def fwd():
                cols = be.im2col(vx, kern, stride, pads)
                return be.matmul(View(cols, (1, rows, kkc), (0, kkc, 1), 0), vw)
            return fwd
        cols = View(be.im2col(vx, kern, stride, pads), (1, rows, kkc), (0, kkc, 1), 0)
        vd = View(be.from_numpy(dout.reshape(-1)), (1, rows, f), (0, f, 1), 0)

        def bwd():
            dcols = be.matmul(vd, _t(vw))                          # dout @ W^T
            dx = be.col2im(View(dcols, (n, oh, ow, k, k, c), contiguous_strides((n, oh, ow, k, k, c)), 0),
                           x.shape, kern, stride, pads)
            dw = be.matmul(_t(cols), vd)                            # cols^T @ dout
            return dx, dw
        return bwd
    return build


# --- max pooling 2 x 2, stride 2 -------------------------------------------------------

POOL_IMAGE = (20, 148, 148, 32)      # the cats-vs-dogs convnet's first pooling (conv1's output)


def _pool_bytes(backward):
    """Bytes a pass must move: the image (read forward, written backward) and the pooled
    values (4 bytes) and argmax (8 bytes), written forward, read backward."""
    n, h, w, c = POOL_IMAGE
    return 4.0 * n * h * w * c + 12.0 * n * (h // 2) * (w // 2) * c


def _maxpool(backward):
    n, h, w, c = POOL_IMAGE
    pooled = (n, h // 2, w // 2, c)

    def build(impl):
        r = _rng()
        x = r.standard_normal(POOL_IMAGE, dtype=np.float32)
        g = r.standard_normal(pooled, dtype=np.float32)
        if impl == "numpy":
            if not backward:     # the four taps as strided slices: no copy of the windows
                return lambda: np.maximum(np.maximum(x[:, 0::2, 0::2], x[:, 0::2, 1::2]),
                                          np.maximum(x[:, 1::2, 0::2], x[:, 1::2, 1::2]))
            # set-up, not timed: which of each window's 4 inputs won, as a flat index into x
            windows = x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(pooled + (4,))
            tap = windows.argmax(axis=-1)
            hh = np.arange(h // 2)[:, None, None] * 2 + tap // 2
            ww = np.arange(w // 2)[None, :, None] * 2 + tap % 2
            flat_index = ((np.arange(n)[:, None, None, None] * h + hh) * w + ww) * c + np.arange(c)

            def bwd():   # windows do not overlap: each input gets at most one gradient
                dx = np.zeros(x.size, dtype=x.dtype)
                dx[flat_index.reshape(-1)] = g.reshape(-1)
                return dx
            return bwd
        if impl == "torch":
            torch = _torch()
            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_(backward)
            if not backward:
                return lambda: torch.nn.functional.max_pool2d(tx, 2)
            y = torch.nn.functional.max_pool2d(tx, 2)
            tg = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous()
            return lambda: torch.autograd.grad(y, tx, tg, retain_graph=True)
        be = _backend(impl)
        vx = View(be.from_numpy(x.reshape(-1)), POOL_IMAGE, contiguous_strides(POOL_IMAGE), 0)
        if not backward:
            return lambda: be.maxpool2d(vx, (2, 2), (2, 2))[0]      # values (argmax is written too)
        _, argmax = be.maxpool2d(vx, (2, 2), (2, 2))
        va = View(argmax, pooled, contiguous_strides(pooled), 0)
        vg = View(be.from_numpy(g.reshape(-1)), pooled, contiguous_strides(pooled), 0)
        return lambda: be.maxpool2d_backward(vg, va, POOL_IMAGE, (2, 2), (2, 2))
    return build


# --- element-wise, reductions --------------------------------------------------------

def _add(shape_a, shape_b):
    def build(impl):
        r = _rng()
        a = r.standard_normal(shape_a, dtype=np.float32)
        b = r.standard_normal(shape_b, dtype=np.float32)
        if impl == "numpy":
            return lambda: a + b
        if impl == "torch":
            torch = _torch()
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            return lambda: ta + tb
        be = _backend(impl)
        va = _view(a)
        # b broadcast to a's shape with stride-0 leading axes: the caller's job per base.py
        pad = len(shape_a) - len(shape_b)
        vb = View(b.reshape(-1), tuple(shape_a), (0,) * pad + contiguous_strides(shape_b), 0)
        return lambda: be.binary("add", va, vb)
    return build


UNARY_NUMPY = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a))}


def _unary(op, n, low=-10.0, high=10.0):
    def build(impl):
        a = _rng().uniform(low, high, n).astype(np.float32)
        if impl == "numpy":
            f = UNARY_NUMPY[op]
            return lambda: f(a)
        if impl == "torch":
            torch = _torch()
            ta, f = torch.from_numpy(a), getattr(torch, op)
            return lambda: f(ta)
        be = _backend(impl)
        va = _view(a)
        return lambda: be.unary(op, va)
    return build


def _sum(shape, axes):
    def build(impl):
        a = _rng().standard_normal(shape, dtype=np.float32)
        if impl == "numpy":
            return lambda: a.sum(axis=axes)
        if impl == "torch":
            torch = _torch()
            ta = torch.from_numpy(a)
            return lambda: ta.sum(dim=axes)
        be = _backend(impl)
        va = _view(a)
        return lambda: be.reduce("sum", va, axes)
    return build


def _bias_relu(rows, C, backward):
    """A layer's bias + ReLU after its matmul: forward y = max(z + b, 0); backward
    dz = g * (y > 0) and db = sum_r dz. Ours is the fused primitive; numpy / torch
    run the same formulas with their own ops."""
    def build(impl):
        r = _rng()
        z = r.standard_normal((rows, C), dtype=np.float32)
        b = r.standard_normal(C, dtype=np.float32)
        g = r.standard_normal((rows, C), dtype=np.float32)
        y = np.maximum(z + b, 0)
        if impl == "numpy":
            if backward:
                return lambda: (lambda dz: (dz, dz.sum(axis=0)))(g * (y > 0))
            return lambda: np.maximum(z + b, 0)
        if impl == "torch":
            torch = _torch()
            tz, tb, tg, ty = (torch.from_numpy(a) for a in (z, b, g, y))
            if backward:
                return lambda: (lambda dz: (dz, dz.sum(dim=0)))(tg * (ty > 0))
            return lambda: torch.relu(tz + tb)
        be = _backend(impl)
        if backward:
            return lambda: be.bias_act_backward("relu", _view(y), _view(g))
        return lambda: be.bias_act("relu", _view(z), _view(b))
    return build


def _xent(n, c):
    def build(impl):
        r = _rng()
        z = r.standard_normal((n, c), dtype=np.float32) * 3
        t = np.eye(c, dtype=np.float32)[r.integers(0, c, n)]
        if impl == "numpy":
            def f():
                s = z - z.max(axis=1, keepdims=True)
                lp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
                return -(t * lp).sum(axis=1), np.exp(lp)
            return f
        if impl == "torch":
            torch = _torch()
            tz, tt = torch.from_numpy(z), torch.from_numpy(t)
            F = torch.nn.functional
            return lambda: (F.cross_entropy(tz, tt, reduction="none"), torch.softmax(tz, 1))
        be = _backend(impl)
        vz, vt = _view(z), _view(t)
        return lambda: be.softmax_xent(vz, vt)
    return build


EMB_V, EMB_D, EMB_IDX = 10000, 64, (128, 500)


def _embedding(scatter):
    n = EMB_IDX[0] * EMB_IDX[1]

    def build(impl):
        r = _rng()
        table = r.standard_normal((EMB_V, EMB_D), dtype=np.float32)
        idx = r.integers(0, EMB_V, n).astype(np.int64)
        src = r.standard_normal((n, EMB_D), dtype=np.float32)
        if impl == "numpy":
            if not scatter:
                return lambda: table[idx]

            def f():
                out = np.zeros_like(table)
                np.add.at(out, idx, src)
                return out
            return f
        if impl == "torch":
            torch = _torch()
            tt, ti, ts = torch.from_numpy(table), torch.from_numpy(idx), torch.from_numpy(src)
            if not scatter:
                return lambda: tt.index_select(0, ti)
            return lambda: torch.zeros_like(tt).index_add_(0, ti, ts)
        be = _backend(impl)
        vi = _view(idx)
        if not scatter:
            vt = _view(table)
            return lambda: be.gather_rows(vt, vi)
        vs = _view(src)
        return lambda: be.scatter_add_rows(vs, vi, EMB_V)
    return build


def _workloads():
    w = [
        Workload("matmul_1024", "matmul", _matmul(1024, 1024, 1024), 2.0 * 1024 ** 3, "GFLOP/s", "fp32 1024^3"),
        Workload("matmul_mlp", "matmul", _matmul(128, 784, 512), 2.0 * 128 * 784 * 512, "GFLOP/s", "128x784 @ 784x512"),
    ]
    for layer in CONV_LAYERS:
        w.append(Workload(f"conv_fwd_{layer}", "conv", _conv(layer, False), _conv_flops(layer), "GFLOP/s",
                          "im2col + matmul"))
        w.append(Workload(f"conv_bwd_{layer}", "conv", _conv(layer, True), 2 * _conv_flops(layer), "GFLOP/s",
                          "dout@W^T + col2im, cols^T@dout"))
    w += [
        Workload("maxpool_fwd_catsdogs_l1", "pool", _maxpool(False), _pool_bytes(False), "GB/s",
                 "2x2 of (20,148,148,32); ours also writes argmax"),
        Workload("maxpool_bwd_catsdogs_l1", "pool", _maxpool(True), _pool_bytes(True), "GB/s",
                 "each gradient to its window's argmax"),
    ]
    n = 1 << 20
    w += [
        Workload("add_1M", "elementwise", _add((n,), (n,)), 12.0 * n, "GB/s", "contiguous fp32"),
        Workload("add_bcast_row", "elementwise", _add((1000, 1000), (1000,)), 8.0 * 10 ** 6 + 4000, "GB/s",
                 "(1000,1000) + (1000,)"),
        Workload("exp_1M", "unary", _unary("exp", n), 8.0 * n, "GB/s", "fp32, x in [-10, 10]"),
        Workload("log_1M", "unary", _unary("log", n, 1e-3, 1e3), 8.0 * n, "GB/s", "fp32, x in [1e-3, 1e3]"),
        Workload("tanh_1M", "unary", _unary("tanh", n), 8.0 * n, "GB/s", "fp32, x in [-10, 10]"),
        Workload("sigmoid_1M", "unary", _unary("sigmoid", n), 8.0 * n, "GB/s", "fp32, numpy: 1 / (1 + exp(-x))"),
        Workload("sum_1M", "reduce", _sum((n,), (0,)), 4.0 * n, "GB/s", "fp32, all axes"),
        Workload("sum_axis0", "reduce", _sum((1000, 1000), (0,)), 4.0e6, "GB/s", "1000x1000 over axis 0"),
        Workload("sum_axis1", "reduce", _sum((1000, 1000), (1,)), 4.0e6, "GB/s", "1000x1000 over axis 1"),
    ]
    rows = 64 * 26 * 26                                 # MNIST convnet layer 1: 32 channels
    w += [
        Workload("bias_relu_fwd", "bias_act", _bias_relu(rows, 32, False), 12.0 * rows * 32, "GB/s",
                 f"({rows}, 32): max(z + b, 0)"),
        Workload("bias_relu_bwd", "bias_act", _bias_relu(rows, 32, True), 12.0 * rows * 32, "GB/s",
                 "g * (y > 0) and its column sum"),
    ]
    for n_, c in ((128, 10), (512, 46), (4096, 1000)):
        w.append(Workload(f"softmax_xent_{n_}x{c}", "softmax_xent", _xent(n_, c), 12.0 * n_ * c, "GB/s",
                          "loss + probs"))
    m = EMB_IDX[0] * EMB_IDX[1]
    w += [
        Workload("gather_rows", "embedding", _embedding(False), 8.0 * m * EMB_D, "GB/s", "10000x64 table, 128x500 idx"),
        Workload("scatter_add_rows", "embedding", _embedding(True), 8.0 * m * EMB_D, "GB/s", "backward of gather"),
    ]
    return {x.name: x for x in w}


WORKLOADS = _workloads()


# --- recurrent training steps (issue 14; benchmarks/test_recurrent.py times the same) ---------
# One training batch of the book's IMDB LSTM (Embedding(10000, 32) + LSTM(32) + Dense(1),
# 500 steps, RMSprop) and of the Jena GRU(32) (240 steps of 6 features, MAE): ours against
# torch.nn.LSTM / nn.GRU at the same sizes. "GFLOP/s" counts the recurrent layer's matrix
# products only, forward and backward: 3 x 2 T (F + u) G u per sample.
RECURRENT_TRAIN = {  # name: (kind, batch, steps, features, units, vocabulary or None)
    "train_imdb_lstm": ("lstm", 128, 500, 32, 32, 10000),
    "train_jena_gru": ("gru", 128, 240, 6, 32, None),
}


def recurrent_batch(name):
    """(x, y) of one batch of the named RECURRENT_TRAIN workload (random, seeded)."""
    _, batch, steps, features, _, vocab = RECURRENT_TRAIN[name]
    r = _rng()
    if vocab:
        return r.integers(1, vocab, (batch, steps)), r.integers(0, 2, (batch, 1)).astype(np.float32)
    return (r.standard_normal((batch, steps, features), dtype=np.float32),
            r.standard_normal((batch, 1), dtype=np.float32))


def torch_recurrent_step(name, x, y):
    """A zero-argument callable: one PyTorch training step on (x, y), the same network."""
    torch = _torch()
    kind, _, _, features, units, vocab = RECURRENT_TRAIN[name]
    nn = torch.nn
    rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(features, units, batch_first=True)
    layers = [nn.Embedding(vocab, features)] if vocab else []
    net = nn.ModuleList(layers + [rnn, nn.Linear(units, 1)])
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss() if vocab else nn.L1Loss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        h = net[0](xt) if vocab else xt
        out, _ = rnn(h)
        opt.zero_grad()
        loss = loss_fn(net[-1](out[:, -1]), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def our_recurrent_step(name, device, x, y):
    """A zero-argument callable: one of our training steps (train_on_batch) on `device`."""
    from . import layers, models, optimizers
    from .kernels import default_device, set_default_device
    kind, _, _, features, units, vocab = RECURRENT_TRAIN[name]
    previous = default_device()
    set_default_device(device)
    try:
        rnn = (layers.LSTM if kind == "lstm" else layers.GRU)(units, input_shape=(None, features))
        if vocab:
            model = models.Sequential([layers.Embedding(vocab, features), rnn, layers.Dense(1, activation="sigmoid")])
            model.compile(optimizers.RMSprop(), "binary_crossentropy")
        else:
            model = models.Sequential([rnn, layers.Dense(1)])
            model.compile(optimizers.RMSprop(), "mae")
    finally:
        set_default_device(previous)

    def step():
        set_default_device(device)
        try:
            return model.train_on_batch(x, y)
        finally:
            set_default_device(previous)
    return step


def _recurrent_train(name):
    def build(impl):
        x, y = recurrent_batch(name)
        if impl == "numpy":
            raise Unavailable("no plain-numpy recurrent layer")
        if impl == "torch":
            return torch_recurrent_step(name, x, y)
        return our_recurrent_step(name, "numpy" if impl == "reference" else impl, x, y)
    return build


def _recurrent_workloads():
    out = {}
    for name, (kind, batch, steps, features, units, _) in RECURRENT_TRAIN.items():
        flops = 3 * 2.0 * batch * steps * (features + units) * units * (4 if kind == "lstm" else 3)
        out[name] = Workload(name, "recurrent", _recurrent_train(name), flops, "GFLOP/s",
                             f"train step b{batch}, {steps} steps, {kind.upper()}({units})")
    return out


WORKLOADS.update(_recurrent_workloads())


def time_callable(fn, repeat=5, window_s=0.05):
    """(first-call seconds, median per-call seconds over `repeat` windows)."""
    first, per_call = time_alternating({"fn": fn}, repeat, window_s)
    return first["fn"], per_call["fn"]


SETTLE_S = 0.2   # > the ~0.13 s OpenBLAS's idle threads spin after a call (docs/kernels-cpu.md)
WARM_S = 0.1     # untimed calls after the pause: the VM's slow spell after idling lasts ~50-70 ms


def settle_seconds() -> float:
    """The pause before each timed window: SETTLE_S when some side computes with more than
    one thread (its idle threads may still hold a core when the next side starts), else 0."""
    return SETTLE_S if max(thread_counts().values()) > 1 else 0.0


def time_alternating(fns: dict, repeat=5, window_s=0.05, settle_s=None):
    """Time several zero-argument callables in turn, window by window (A B C A B C ...),
    so that a burst of load on the shared machine hits all of them alike.

    Each window measures one implementation at its steady state, as inside a training loop,
    not what its neighbour left behind. Before the window: a pause of `settle_s` (default
    `settle_seconds()`, decided at call time), because after a call OpenBLAS's threads spin
    ~0.13 s and hold the core the next implementation needs; then untimed calls for
    `window_s` or WARM_S, whichever is longer, because after a pause the machine is slow
    for tens of ms: in this VM the 128x784x512 product took 3.3-4.5 ms for ~15 calls after
    a 0.2 s sleep, then 1.9 ms (one untimed call was not enough; 50 ms of calls, or of a
    busy main thread, was), and our 1024^3 product at 2 threads took 19-21 and 23-27 ms
    for the first two calls, then 15 ms (~50 ms; 60-70 ms when the third was slow too).
    Both were measured inside the windows (docs/kernels-cpu.md).
    Returns ({name: first-call seconds}, {name: median per-call seconds})."""
    settle_s = settle_seconds() if settle_s is None else settle_s
    first, number = {}, {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fn()
        number[name] = max(1, int(window_s / max(time.perf_counter() - t0, 1e-7)))
    per_call = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if settle_s:
                time.sleep(settle_s)
            warm_until = time.perf_counter() + max(window_s, WARM_S)   # untimed: back to steady state
            while time.perf_counter() < warm_until:
                fn()
            t0 = time.perf_counter()
            for _ in range(number[name]):
                fn()
            per_call[name].append((time.perf_counter() - t0) / number[name])
    return first, {name: statistics.median(t) for name, t in per_call.items()}


def cpu_model() -> str:
    """The CPU's model name as `lscpu` shows it (Linux), else platform's best guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """What a benchmark figure depends on besides our code: CPU, cores, SIMD width, BLAS setting."""
    import os

    from .kernels.cpu import jit
    return (f"CPU: {cpu_model()}, {os.cpu_count()} logical cores, {jit.vector_bytes() * 8}-bit vectors; "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; {thread_line()}; "
            f"ours parallel from {jit.parallel_min_work():,} units of work")


def thread_counts() -> dict:
    """Threads each side computes with: ours (numba), torch (set equal to ours in `_torch`)
    and numpy's OpenBLAS, which reads its count from the environment when it loads
    (OPENBLAS_NUM_THREADS, then OMP_NUM_THREADS; else one per core)."""
    import os

    import numba
    env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    openblas = int(env) if env and env.isdigit() else os.cpu_count()
    ours = numba.config.NUMBA_NUM_THREADS
    return {"ours": ours, "torch": ours, "openblas": openblas}


def thread_line() -> str:
    """The thread counts, and a warning when numpy's differ from ours (ratios then compare
    unequal machines: NUMBA_NUM_THREADS=1 alone leaves OpenBLAS on every core)."""
    from .kernels.cpu import jit
    t = thread_counts()
    line = f"threads: ours {t['ours']} ({jit.threading_layer()}), torch {t['torch']}, numpy/OpenBLAS {t['openblas']}"
    if t["openblas"] != t["ours"]:
        line += f" (UNEQUAL: set OPENBLAS_NUM_THREADS={t['ours']} for a fair ratio to numpy)"
    return line


def run(kernels=None, device="cpu", vs=("numpy", "torch"), repeat=5, window_s=0.05):
    """Benchmark `kernels` (names or group names from WORKLOADS; all if None) on our
    `device` backend and on each of `vs` ("numpy", "torch", "reference"), the
    implementations alternating window by window (time_alternating).
    Returns rows: dicts with kernel, impl, median_ms, first_ms, rate, unit, and the
    ratios of each implementation's speed to numpy's and torch's (>1 = faster)."""
    names = list(WORKLOADS) if not kernels else [
        n for n, w in WORKLOADS.items() if n in kernels or w.group in kernels]
    unknown = [k for k in (kernels or ()) if k not in WORKLOADS and k not in {w.group for w in WORKLOADS.values()}]
    if unknown:
        raise ValueError(f"unknown kernel(s) {unknown}; known: {', '.join(WORKLOADS)}")
    bad = [v for v in (device, *vs) if v not in IMPLS]
    if bad:
        raise ValueError(f"unknown implementation(s) {bad} to compare; known: {', '.join(IMPLS)}")
    impls = [device] + [v for v in vs if v != device]
    rows = []
    for name in names:
        wl = WORKLOADS[name]
        fns, skipped = {}, {}
        for impl in impls:
            try:
                fns[impl] = wl.build(impl)
            except Unavailable as e:
                skipped[impl] = str(e)
        first, times = time_alternating(fns, repeat, window_s)
        for impl in impls:
            row = dict(kernel=name, impl=impl, unit=wl.unit)
            if impl in skipped:
                row.update(skipped=skipped[impl])
            else:
                med = times[impl]
                row.update(median_ms=med * 1e3, first_ms=first[impl] * 1e3, rate=wl.work / med / 1e9)
                for base in ("numpy", "torch"):
                    if base in times:
                        row[f"vs_{base}"] = times[base] / med
            rows.append(row)
    return rows


def format_table(rows) -> str:
    """A plain-text table of `run`'s rows."""
    head = f"{'kernel':<26} {'impl':<10} {'median ms':>10} {'first ms':>9} {'rate':>9} {'unit':<8} {'vs numpy':>8} {'vs torch':>8}"
    lines = [machine_line(), head, "-" * len(head)]
    for r in rows:
        if "median_ms" not in r:
            lines.append(f"{r['kernel']:<26} {r['impl']:<10} skipped: {r.get('skipped', '')}")
            continue
        ratio = lambda k: f"{r[k]:8.2f}" if k in r else f"{'-':>8}"  # noqa: E731
        lines.append(f"{r['kernel']:<26} {r['impl']:<10} {r['median_ms']:10.3f} {r['first_ms']:9.1f} "
                     f"{r['rate']:9.1f} {r['unit']:<8} {ratio('vs_numpy')} {ratio('vs_torch')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """python -m tinygrad_book.bench [KERNEL ...]: ours against numpy and torch. The same as
    `tinygrad-book bench`, which also has --device and --vs (this module does not import the
    command line, which imports it)."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m tinygrad_book.bench",
                                     description="Time the kernels against numpy and PyTorch, alternating.",
                                     epilog="More options (--device, --vs): tinygrad-book bench --help")
    parser.add_argument("kernels", nargs="*", metavar="KERNEL",
                        help=f"workloads or groups (default: all): {', '.join(WORKLOADS)}")
    args = parser.parse_args(argv)
    try:
        rows = run(args.kernels or None)
    except ValueError as e:                      # an unknown kernel: the message lists the known ones
        parser.error(str(e))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
