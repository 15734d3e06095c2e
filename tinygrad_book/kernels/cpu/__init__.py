"""The "cpu" backend: every primitive of base.Backend as numba-compiled loops.

Each module holds the kernels of one family and says, in its docstring, which
optimisation it demonstrates:

    elementwise.py  SIMD flat loops, parallel chunks, strided rows, op switch outside loops
    reduce.py       partial sums (reassociation), row / column / flat reductions, argmax
    matmul.py       packed, cache-blocked, register-blocked GEMM (no BLAS)
    conv.py         im2col / col2im / maxpool's backward (gathers, race-free) / maxpool with argmax, NHWC
    indexing.py     gather_rows, scatter_add_rows (column-parallel: no atomics), one_hot
    softmax.py      fused stable softmax cross-entropy, one exp per element, each step its own SIMD loop
    vecmath.py      exp, log and tanh for float32 as multiply-adds and bit tricks: loops of them vectorise
    bias_act.py     a layer's bias + activation fused, forward and backward (one pass each)

This file is the glue: it reads a View's shape/strides/offset, picks the fast
contiguous kernel or the general strided one, and allocates the output storage.

Compile cost: the first call of a kernel with new argument types compiles it (0.2-2 s);
`cache=True` writes the machine code next to the module (__pycache__/*.nbi, *.nbc) so
later processes load it quickly. `warm_up()` compiles (or loads) the common float32 /
float64 kernels up front. numba checks only the kernel's own file against its cache: after
editing a helper that other modules import (jit.py, vecmath.py, matmul.py's micro-kernels),
delete `tinygrad_book/kernels/cpu/__pycache__/*.nbi`, or the old code keeps running.

Debugging: `NUMBA_DISABLE_JIT=1 python -m pytest tests/kernels -x` (or any script) runs
every kernel as the plain Python you read: set a breakpoint() inside a kernel and step.
It is slow (pure Python loops), so use small shapes.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from ..base import Backend, View, contiguous_strides, conv_output_size, is_contiguous, prod
from . import batchnorm as bn, bias_act as ba, conv, elementwise as ew, indexing, matmul as mm, optim, recurrent, reduce as rd, softmax
from ..vocabulary import ACTIVATION_CODES, BINARY_CODES, REDUCE_CODES, SUM, UNARY_CODES
from .jit import coalesce, get_num_threads, int64s, is_flat, parallel_pays, run, threads_for

__all__ = ["CpuBackend", "warm_up"]


# Work units for `run`, which weighs them against the parallel threshold. An element-wise
# kernel reports its element count: a memory-bound loop spends ~0.1 ns on an element (1M
# float32 additions took 0.16-0.18 ms on one thread of the Zen 4 VM and no less on two:
# the break-even the threshold aims for). Counting the three arrays an add moves was tried:
# it sent 1M additions and the broadcast add to two threads, where they sometimes took
# twice as long. Some ops compute more than they move: exp, tanh and sigmoid take 0.3-0.5
# ns an element (vecmath), log 0.75, pow 7 (a C library call), and two threads pay for
# them much sooner (exp over 1M: 0.40 ms on one thread, 0.28 on two), so they count
# COSTLY_WEIGHT units an element. Keyed by name: unary and binary op codes are numbered
# apart, so exp's code is sub's.
COSTLY_OPS = frozenset({"exp", "log", "tanh", "sigmoid", "pow"})
COSTLY_WEIGHT = 4


def _elementwise_work(n, op):
    """Work units of an element-wise kernel over n elements, for the op named `op`."""
    return n * COSTLY_WEIGHT if op in COSTLY_OPS else n


def _flat_run(x: View):
    """The storage slice a contiguous view covers (no copy)."""
    return x.storage[x.offset:x.offset + x.size]


def _is_rows(shape, strides) -> bool:
    """A coalesced (rows, C) view stored as one row-major run."""
    return len(shape) == 2 and strides[1] == 1 and strides[0] == shape[1]


def _is_row(shape, strides) -> bool:
    """A coalesced (rows, C) view that repeats one unit-stride row (a broadcast bias)."""
    return len(shape) == 2 and strides[1] == 1 and strides[0] == 0


def _acc0(dtype):
    """The starting value of a sum: float64 for floats (accuracy), int64 for ints."""
    return np.float64(0) if dtype.kind == "f" else np.int64(0)


@functools.lru_cache(maxsize=4096)
def _reduce_plan(shape, strides, axes):
    """How to reduce a view of (shape, strides) over `axes`: (M kept elements, R reduced
    per output, the name of the loop in reduce.py, its layout arguments). Axes map to a
    2-D (kept m, reduced r) problem; each group is coalesced, and the shape of the result
    picks the loop. It depends on the metadata alone, the same at every training step:
    cached (the name, not the function, so a test's spy on reduce.py still sees calls)."""
    nd = len(shape)
    axes = sorted({a % nd for a in axes})
    kept = [d for d in range(nd) if d not in axes]
    m_shape, m_str = [shape[d] for d in kept], [strides[d] for d in kept]
    r_shape, r_str = [shape[d] for d in axes], [strides[d] for d in axes]
    M, R = prod(m_shape), prod(r_shape)
    ms, (mst,) = coalesce(m_shape, m_str)
    rs, (rst,) = coalesce(r_shape, r_str)
    if len(ms) > 1 or len(rs) > 1:
        return M, R, "reduce_general", (ms, mst, rs, rst)
    sm, sr = int(mst[0]), int(rst[0]) if R > 1 else 1
    if M == 1 and sr == 1:
        return M, R, "reduce_flat", (R,)
    if sr == 1 or sm != 1:
        return M, R, "reduce_rows", (sm, sr, M, R)
    return M, R, "reduce_cols", (sr, M, R)


class CpuBackend(Backend):
    name = "cpu"
    optimizer_rules = optim.RULES

    # --- memory ---------------------------------------------------------------------
    def from_numpy(self, array):
        return np.ascontiguousarray(array).reshape(-1).copy()

    def to_numpy(self, x):
        return self.contiguous(x).reshape(x.shape)

    def full(self, size, value, dtype):
        out = np.empty(size, dtype=dtype)
        if size:
            run(ew.fill, size, out, out.dtype.type(value))
        return out

    def _dense(self, x: View):
        """x's elements as a unit-stride run: the storage slice, or a strided copy."""
        return _flat_run(x) if is_contiguous(x) else self.contiguous(x)

    # --- movement -------------------------------------------------------------------
    def contiguous(self, x):
        return self.cast(x, x.dtype)

    def cast(self, x, dtype):
        out = np.empty(x.size, dtype=dtype)
        if x.size:
            self._copy(x, out, 0, None)
        return out

    def assign(self, dst, src):
        if dst.size == 0:
            return
        if np.shares_memory(dst.storage, src.storage):   # overlapping read/write: copy first
            src = View(self.contiguous(src), src.shape, contiguous_strides(src.shape), 0)
        self._copy(src, dst.storage, dst.offset, dst.strides)

    def _copy(self, src: View, dst, d_off, d_strides):
        """dst (at d_off, d_strides; row-major if None) [...] = src[...]."""
        if d_strides is None:
            d_strides = contiguous_strides(src.shape)
        shape, (ss, ds) = coalesce(src.shape, src.strides, d_strides)
        if is_flat(shape, ss) and is_flat(shape, ds):
            n = src.size
            run(ew.copy_flat, n, src.storage[src.offset:src.offset + n], dst[d_off:d_off + n])
        else:
            run(ew.copy_strided, src.size, src.storage, src.offset, ss, dst, d_off, ds, shape)

    # --- element-wise -----------------------------------------------------------------
    def unary(self, op, x):
        code = UNARY_CODES[op]
        out = np.empty(x.size, dtype=x.dtype)
        if x.size:
            shape, (st,) = coalesce(x.shape, x.strides)
            work = _elementwise_work(x.size, op)
            if is_flat(shape, st):
                run(ew.unary_flat, work, code, _flat_run(x), out)
            else:
                run(ew.unary_strided, work, code, x.storage, x.offset, st, shape, out)
        return out

    def binary(self, op, a, b):
        code = BINARY_CODES[op]
        out = np.empty(a.size, dtype=a.dtype)
        if a.size:
            shape, (sa, sb) = coalesce(a.shape, a.strides, b.strides)
            work = _elementwise_work(a.size, op)
            if is_flat(shape, sa) and is_flat(shape, sb):
                run(ew.binary_flat, work, code, _flat_run(a), _flat_run(b), out)
            elif len(shape) == 1 and sa[0] == 1 and sb[0] == 0:    # x > 0
                run(ew.binary_scalar, work, code, _flat_run(a), b.storage[b.offset], False, out)
            elif len(shape) == 1 and sa[0] == 0 and sb[0] == 1:    # 1 - x
                run(ew.binary_scalar, work, code, _flat_run(b), a.storage[a.offset], True, out)
            elif _is_rows(shape, sa) and _is_row(shape, sb):       # x + bias
                run(ew.binary_row, work, code, _flat_run(a), b.storage[b.offset:b.offset + shape[1]], False, out)
            elif _is_row(shape, sa) and _is_rows(shape, sb):       # bias - x
                run(ew.binary_row, work, code, _flat_run(b), a.storage[a.offset:a.offset + shape[1]], True, out)
            else:
                run(ew.binary_strided, work, code, a.storage, a.offset, sa, b.storage, b.offset, sb, shape, out)
        return out

    def where(self, cond, a, b):
        out = np.empty(a.size, dtype=np.result_type(a.dtype, b.dtype))
        if a.size:
            shape, (sc, sa, sb) = coalesce(a.shape, cond.strides, a.strides, b.strides)
            if is_flat(shape, sc) and is_flat(shape, sa) and is_flat(shape, sb):
                run(ew.where_flat, a.size, _flat_run(cond), _flat_run(a), _flat_run(b), out)
            else:
                run(ew.where_strided, a.size, cond.storage, cond.offset, sc, a.storage, a.offset, sa,
                                 b.storage, b.offset, sb, shape, out)
        return out

    # --- reductions -------------------------------------------------------------------
    def reduce(self, op, x, axes):
        code = REDUCE_CODES[op]
        M, R, loop, layout = _reduce_plan(tuple(x.shape), tuple(x.strides), tuple(axes))
        out = np.empty(M, dtype=x.dtype)
        if M == 0:
            return out
        if R == 0:
            if code != SUM:
                raise ValueError(f"zero-size array to reduction operation {op} which has no identity")
            out[:] = 0
            return out
        if loop == "reduce_cols":                  # its row blocks: one per task it may run
            layout += (threads_for(M * R),)
        run(getattr(rd, loop), M * R, code, x.storage, x.offset, *layout, _acc0(x.dtype), out)
        return out

    def argmax(self, x, axis):
        nd = len(x.shape)
        axis %= nd
        others = [d for d in range(nd) if d != axis]
        m_shape = [x.shape[d] for d in others]
        M, R = prod(m_shape), x.shape[axis]
        out = np.empty(M, dtype=np.int64)
        if M == 0:
            return out
        if R == 0:
            raise ValueError("attempt to get argmax of an empty sequence")
        ms, (mst,) = coalesce(m_shape, [x.strides[d] for d in others])
        if len(ms) == 1:
            run(rd.argmax_rows, x.size, x.storage, x.offset, int(mst[0]), x.strides[axis], M, R, out)
        else:            # put the axis last with one strided copy, then rows are unit-stride
            perm = View(x.storage, tuple(m_shape) + (R,),
                        tuple(x.strides[d] for d in others) + (x.strides[axis],), x.offset)
            run(rd.argmax_rows, x.size, self.contiguous(perm), 0, R, 1, M, R, out)
        return out

    # --- contractions -----------------------------------------------------------------
    def matmul(self, a, b):
        B, M, K = a.shape
        N = b.shape[2]
        dtype = np.result_type(a.dtype, b.dtype)
        if B * M * N == 0 or K == 0:
            return np.zeros(B * M * N, dtype=dtype)
        # Not zeroed: every loop stores its first k-slab without reading the output. Zeroing
        # cost a memset of the whole output per product (a cats-vs-dogs conv2 backward's
        # dout @ W^T is 120 MB).
        out = np.empty(B * M * N, dtype=dtype)
        path, work = mm.choose(M, N, K, dtype.itemsize, a.strides[2] == 1), B * M * N * K
        blocks = threads_for(work) if path == "by_block" else 1     # one block per thread
        run(mm.KERNELS[path], work, a.storage, a.offset, int64s(a.strides), b.storage, b.offset, int64s(b.strides),
            B, M, N, K, mm.plan(dtype, blocks), out)
        return out

    def im2col(self, x, kernel, stride, pads):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (top, bottom, left, right) = kernel, stride, pads
        oh = conv_output_size(h, kh, sh, top, bottom)
        ow = conv_output_size(w, kw, sw, left, right)
        out = np.empty(max(n * oh * ow * kh * kw * c, 0), dtype=x.dtype)
        if out.size:
            run(conv.im2col, out.size, self._dense(x), n, h, w, c, kh, kw, sh, sw, top, left, oh, ow, out)
        return out

    def col2im(self, cols, image_shape, kernel, stride, pads):
        n, h, w, c = image_shape
        (kh, kw), (sh, sw), (top, _, left, _) = kernel, stride, pads
        oh, ow = cols.shape[1], cols.shape[2]
        out = np.zeros(n * h * w * c, dtype=cols.dtype)
        if out.size and cols.size:
            run(conv.col2im, cols.size, self._dense(cols), n, h, w, c, kh, kw, sh, sw, top, left, oh, ow, out)
        return out

    def maxpool2d(self, x, kernel, stride):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = conv_output_size(h, kh, sh), conv_output_size(w, kw, sw)
        values = np.empty(n * oh * ow * c, dtype=x.dtype)
        argmax = np.empty(n * oh * ow * c, dtype=np.int64)
        if values.size:
            run(conv.maxpool2d, x.size, self._dense(x), n, h, w, c, kh, kw, sh, sw, oh, ow, values, argmax)
        return values, argmax

    def maxpool2d_backward(self, g, argmax, image_shape, kernel, stride):
        n, h, w, c = image_shape
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = g.shape[1], g.shape[2]
        out = np.empty(n * h * w * c, dtype=g.dtype)
        if out.size:
            run(conv.maxpool2d_backward, out.size, self._dense(g), self._dense(argmax),
                n, h, w, c, kh, kw, sh, sw, oh, ow, out)
        return out

    # --- indexing ---------------------------------------------------------------------
    def gather_rows(self, table, idx):
        V, D = table.shape
        ids = self._dense(idx)
        indexing.check_indices(ids, V, "gather_rows")
        out = np.empty(ids.size * D, dtype=table.dtype)
        if out.size:
            run(indexing.gather_rows, out.size, table.storage, table.offset, table.strides[0], table.strides[1],
                                 V, D, ids, out)
        return out

    def scatter_add_rows(self, src, idx, num_rows):
        D = src.shape[1]
        ids = self._dense(idx)
        indexing.check_indices(ids, num_rows, "scatter_add_rows")
        out = np.zeros(num_rows * D, dtype=src.dtype)
        if out.size and ids.size:
            run(indexing.scatter_add_rows, src.size, src.storage, src.offset, src.strides[0], src.strides[1],
                                      ids, num_rows, D, out)
        return out

    def one_hot(self, labels, num_classes, dtype):
        ids = self._dense(labels)
        indexing.check_indices(ids, num_classes, "one_hot")
        out = np.zeros(ids.size * num_classes, dtype=dtype)
        if out.size:
            run(indexing.one_hot, ids.size, ids, num_classes, out)
        return out

    # --- fused ------------------------------------------------------------------------
    def softmax_xent(self, logits, target):
        n, C = logits.shape
        loss = np.empty(n, dtype=logits.dtype)
        probs = np.empty(n * C, dtype=logits.dtype)
        if n and C:
            run(softmax.softmax_xent, n * C, logits.storage, logits.offset, logits.strides[0], logits.strides[1],
                                 target.storage, target.offset, target.strides[0], target.strides[1],
                                 n, C, loss, probs)
        return loss, probs

    def softmax_rows(self, logits):
        n, C = logits.shape
        probs = np.empty(n * C, dtype=logits.dtype)
        if n and C:
            run(softmax.softmax_rows, n * C, logits.storage, logits.offset, logits.strides[0], logits.strides[1],
                n, C, probs)
        return probs

    # --- optional: fused optimizer updates (optim.py) ----------------------------------------
    def optimizer_update(self, rule, p, g, slots, hyper):
        optim.update(rule, _flat_run(p), self._dense(g), [_flat_run(s) for s in slots], hyper)

    # --- fused batch normalisation (batchnorm.py) ---------------------------------------------
    def _bands(self, M, C):
        """Row bands for the column sums: one per thread, one in all for small inputs."""
        return max(1, min(M, get_num_threads())) if parallel_pays(M * C) else 1

    def batchnorm_forward(self, x, gamma, beta, epsilon):
        M, C = x.shape
        xs = self._dense(x)
        mean, var = bn.moments(xs, M, C, self._bands(M, C))
        inv_std = 1.0 / np.sqrt(var + epsilon)
        scale = self._dense(gamma) * inv_std                 # float64 per-channel constants
        shift = self._dense(beta) - mean * scale
        y = np.empty(M * C, dtype=x.dtype)
        run(bn.scale_shift, M * C, xs, M, C, scale, shift, y)
        return y, mean.astype(x.dtype), var.astype(x.dtype), inv_std.astype(x.dtype)

    def batchnorm_backward(self, g, x, mean, inv_std, gamma):
        M, C = x.shape
        gs, xs = self._dense(g), self._dense(x)
        m, s = self._dense(mean).astype(np.float64), self._dense(inv_std).astype(np.float64)
        dbeta, dgamma = bn.grad_sums(gs, xs, m, s, M, C, self._bands(M, C))
        dx = np.empty(M * C, dtype=x.dtype)
        run(bn.input_grad, M * C, gs, xs, M, C, m, s, self._dense(gamma).astype(np.float64), dbeta, dgamma, dx)
        return dx, dgamma.astype(x.dtype), dbeta.astype(x.dtype)
    # --- fused bias + activation (bias_act.py) -----------------------------------------------
    def bias_act(self, act, x, bias):
        rows, C = x.shape
        out = np.empty(rows * C, dtype=x.dtype)
        if out.size:
            b = np.zeros(C, x.dtype) if bias is None else self._dense(bias).astype(x.dtype, copy=False)
            run(ba.bias_act, _elementwise_work(out.size, act), ACTIVATION_CODES[act], self._dense(x), b, out)
        return out

    def bias_act_backward(self, act, y, g):
        rows, C = y.shape
        dz = np.empty(rows * C, dtype=g.dtype)
        if not dz.size:
            return dz, np.zeros(C, g.dtype)
        partial = np.zeros(((rows + ba.rows_per_task(C) - 1) // ba.rows_per_task(C), C), np.float64)
        run(ba.bias_act_backward, dz.size, ACTIVATION_CODES[act], self._dense(y), self._dense(g), dz, partial)
        return dz, partial.sum(axis=0).astype(g.dtype)

    # --- fused recurrent sequences (recurrent.py) ---------------------------------------------
    def _array(self, x: View):
        """x's elements as a row-major array of x.shape (the storage slice, or a copy)."""
        return self._dense(x).reshape(x.shape)

    def _maybe_array(self, x):
        return None if x is None else self._array(x)

    def rnn_forward(self, kind, x, kernel, recurrent_kernel, bias, input_masks, state_masks, activations,
                    go_backwards):
        return recurrent.forward(kind, self._array(x), self._array(kernel), self._array(recurrent_kernel),
                                 self._maybe_array(bias), self._maybe_array(input_masks),
                                 self._maybe_array(state_masks), activations, go_backwards)

    def rnn_backward(self, kind, d_states, x, kernel, recurrent_kernel, input_masks, state_masks, states, gates,
                     cells, activations, go_backwards, need_dx):
        return recurrent.backward(kind, self._array(d_states), self._array(x), self._array(kernel),
                                  self._array(recurrent_kernel), self._maybe_array(input_masks),
                                  self._maybe_array(state_masks), self._array(states), self._array(gates),
                                  self._maybe_array(cells), activations, go_backwards, need_dx)


def warm_up(dtypes=(np.float32, np.float64)) -> float:
    """Compile (or load from numba's cache) the kernels the library uses most, for
    each dtype, by running every primitive once on tiny contiguous and strided views.
    Returns the seconds it took (compile time, or cache-load time on a warm cache)."""
    t0 = time.perf_counter()
    be = CpuBackend()
    for dt in dtypes:
        dt = np.dtype(dt)
        x = View(np.arange(24, dtype=dt), (2, 3, 4), (12, 4, 1), 0)
        xt = View(x.storage, (4, 3, 2), (1, 4, 12), 0)          # permuted: strided paths
        row = View(np.arange(4, dtype=dt), (2, 3, 4), (0, 0, 1), 0)
        col = View(np.arange(2, dtype=dt), (2, 3, 4), (1, 0, 0), 0)
        be.full(4, 1.0, dt)
        be.contiguous(xt)
        be.cast(x, np.float32 if dt == np.float64 else np.float64)
        be.assign(View(np.zeros(24, dt), xt.shape, (1, 4, 12), 0), x._replace(shape=(4, 3, 2), strides=(6, 2, 1)))
        be.unary("exp", x)
        be.unary("exp", xt)
        be.binary("add", x, row)
        be.binary("add", x, x)
        be.binary("gt", x, View(x.storage, x.shape, (0, 0, 0), 0))
        be.binary("mul", x, col)
        be.where(x, x, row)
        be.where(x, x, x)
        for op in ("sum", "max"):
            be.reduce(op, x, (0, 1, 2))
            be.reduce(op, x, (2,))
            be.reduce(op, x, (0,))
            be.reduce(op, x, (0, 2))
        be.argmax(x, 2)
        a = View(np.ones(2 * 5 * 64, dt), (2, 5, 64), (320, 64, 1), 0)
        b = View(np.ones(2 * 64 * 3, dt), (2, 64, 3), (192, 3, 1), 0)
        be.matmul(a, b)
        be.matmul(View(np.ones(2 * 64 * 600, dt), (1, 64, 2 * 600), (0, 1200, 1), 0),
                  View(np.ones(1200 * 900, dt), (1, 1200, 900), (0, 900, 1), 0))   # large B: by slab
        be.matmul(View(a.storage, (1, 5, 8), (0, 8, 1), 0), View(b.storage, (1, 8, 3), (0, 3, 1), 0))
        img = View(np.ones(2 * 5 * 5 * 3, dt), (2, 5, 5, 3), (75, 15, 3, 1), 0)
        cols = be.im2col(img, (3, 3), (1, 1), (1, 1, 1, 1))
        be.col2im(View(cols, (2, 5, 5, 3, 3, 3), contiguous_strides((2, 5, 5, 3, 3, 3)), 0), img.shape,
                  (3, 3), (1, 1), (1, 1, 1, 1))
        _, won = be.maxpool2d(img, (2, 2), (2, 2))
        be.maxpool2d_backward(View(np.ones(2 * 2 * 2 * 3, dt), (2, 2, 2, 3), (12, 6, 3, 1), 0),
                              View(won, (2, 2, 2, 3), (12, 6, 3, 1), 0), img.shape, (2, 2), (2, 2))
        idx = View(np.array([0, 1, 1], np.int64), (3,), (1,), 0)
        table = View(np.ones(12, dt), (4, 3), (3, 1), 0)
        be.gather_rows(table, idx)
        be.scatter_add_rows(View(np.ones(9, dt), (3, 3), (3, 1), 0), idx, 4)
        be.one_hot(idx, 4, dt)
        be.softmax_xent(table, table)
        for act in ACTIVATION_CODES:
            be.bias_act_backward(act, table, View(be.bias_act(act, table, idx._replace(storage=np.ones(3, dt))),
                                                  table.shape, table.strides, 0))
    return time.perf_counter() - t0
