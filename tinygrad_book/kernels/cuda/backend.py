"""CudaBackend: base.Backend's primitives as numba-cuda kernel launches.

Storages are flat 1-D numba device arrays (`cuda.to_device`, `cuda.device_array`);
a primitive's result stays on the device and feeds the next primitive directly.
Only `to_numpy` copies back to the host.

Each method is a few lines of host code: pick a kernel (contiguous fast path or the
strided one), size its launch (launch.py), allocate the output, launch. The kernels
and their launch shapes are documented in their own modules.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..base import Backend, View, contiguous_strides, conv_output_size, is_contiguous
from . import batchnorm, bias_act, conv, elementwise, indexing, optim, recurrent, reduce, softmax
from ..vocabulary import ACTIVATION_CODES, BINARY_CODES, UNARY_CODES
from .availability import require_cuda
from .launch import Launch
from .matmul import matmul as matmul_launch
from .strided import device_index


class CudaBackend(Backend):
    """Kernels on an NVIDIA GPU (or numba's simulator under NUMBA_ENABLE_CUDASIM=1).

    tile: matmul tile edge (block = tile x tile threads); block: threads per block
    for 1-D kernels and reductions (power of two); max_blocks: cap of grid-stride
    grids. Defaults come from TINYGRAD_BOOK_CUDA_TILE / TINYGRAD_BOOK_CUDA_BLOCK."""

    name = "cuda"
    optimizer_rules = optim.RULES

    def __init__(self, tile: int | None = None, block: int | None = None,
                 max_blocks: int | None = None):
        require_cuda()   # ImportError / CudaUnavailableError that say how to fix it
        self.launch = Launch.from_env(tile, block, max_blocks)

    def __repr__(self):
        return f"CudaBackend(tile={self.launch.tile}, block={self.launch.block})"

    # --- helpers ---------------------------------------------------------------------
    def _grid(self, n):
        return self.launch.grid_stride(n)

    @staticmethod
    def _empty(size, dtype):
        return cuda.device_array(int(size), np.dtype(dtype))

    # --- memory ----------------------------------------------------------------------
    def from_numpy(self, array):
        return cuda.to_device(np.ascontiguousarray(array).reshape(-1))

    def to_numpy(self, x):
        if x.size == 0:
            return np.empty(x.shape, x.dtype)
        if is_contiguous(x):      # a slice of the storage is already the answer
            flat = x.storage[x.offset:x.offset + x.size].copy_to_host()
        else:
            flat = self.contiguous(x).copy_to_host()
        return flat.reshape(x.shape)

    def full(self, size, value, dtype):
        out = self._empty(size, dtype)
        if size:
            elementwise.fill[self._grid(size)](out, np.dtype(dtype).type(value))
        return out

    # --- movement --------------------------------------------------------------------
    def contiguous(self, x):
        return self.cast(x, x.dtype)

    def cast(self, x, dtype):
        out = self._empty(x.size, dtype)
        if x.size == 0:
            return out
        if is_contiguous(x):
            elementwise.copy_contiguous[self._grid(x.size)](x.storage, x.offset, out)
        else:
            elementwise.copy_strided[self._grid(x.size)](
                x.storage, x.offset, device_index(x.shape), device_index(x.strides), out)
        return out

    def assign(self, dst, src):
        if dst.size == 0:
            return
        if src.storage is dst.storage:
            # reading and writing one storage: threads could read what others already
            # overwrote. Copy the source out first (numpy does the same internally).
            src = View(self.contiguous(src), src.shape, contiguous_strides(src.shape), 0)
        elementwise.assign_strided[self._grid(dst.size)](
            dst.storage, dst.offset, device_index(dst.strides), src.storage, src.offset,
            device_index(src.strides), device_index(dst.shape), dst.size)

    # --- element-wise ----------------------------------------------------------------
    def unary(self, op, x):
        code = UNARY_CODES[op]
        out = self._empty(x.size, x.dtype)
        if x.size == 0:
            return out
        if is_contiguous(x):
            elementwise.unary_contiguous[self._grid(x.size)](code, x.storage, x.offset, out)
        else:
            elementwise.unary_strided[self._grid(x.size)](
                code, x.storage, x.offset, device_index(x.shape), device_index(x.strides), out)
        return out

    def binary(self, op, a, b):
        code = BINARY_CODES[op]
        out = self._empty(a.size, a.dtype)
        if a.size == 0:
            return out
        if is_contiguous(a) and is_contiguous(b):
            elementwise.binary_contiguous[self._grid(a.size)](
                code, a.storage, a.offset, b.storage, b.offset, out)
        else:
            elementwise.binary_strided[self._grid(a.size)](
                code, a.storage, a.offset, device_index(a.strides),
                b.storage, b.offset, device_index(b.strides), device_index(a.shape), out)
        return out

    def where(self, cond, a, b):
        out = self._empty(a.size, np.result_type(a.dtype, b.dtype))
        if a.size == 0:
            return out
        elementwise.where_strided[self._grid(a.size)](
            cond.storage, cond.offset, device_index(cond.strides),
            a.storage, a.offset, device_index(a.strides),
            b.storage, b.offset, device_index(b.strides), device_index(a.shape), out)
        return out

    # --- reductions ------------------------------------------------------------------
    def reduce(self, op, x, axes):
        if op not in reduce.COMBINE:
            raise ValueError(f"unknown reduce op {op!r}")
        return reduce.reduce(self.launch, op, x, tuple(sorted(axes)))

    def argmax(self, x, axis):
        return reduce.argmax(self.launch, x, axis)

    # --- contractions ----------------------------------------------------------------
    def matmul(self, a, b):
        return matmul_launch(self.launch, a, b)

    def im2col(self, x, kernel, stride, pads):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (top, bottom, left, right) = kernel, stride, pads
        oh, ow = conv_output_size(h, kh, sh, top, bottom), conv_output_size(w, kw, sw, left, right)
        out = self._empty(n * max(oh, 0) * max(ow, 0) * kh * kw * c, x.dtype)
        if out.shape[0]:
            conv.im2col_gather[self._grid(out.shape[0])](
                x.storage, x.offset, tuple(x.strides), (h, w, c), (oh, ow), (kh, kw), (sh, sw),
                (top, left), out)
        return out

    def col2im(self, cols, image_shape, kernel, stride, pads):
        n, h, w, c = image_shape
        (kh, kw), (sh, sw), (top, _bottom, left, _right) = kernel, stride, pads
        oh, ow = cols.shape[1], cols.shape[2]
        dense = self._dense(cols)
        out = self._empty(n * h * w * c, dense.dtype)
        if out.shape[0]:
            conv.col2im_gather[self._grid(out.shape[0])](
                dense.storage, dense.offset, (h, w, c), (oh, ow), (kh, kw), (sh, sw), (top, left), out)
        return out

    def maxpool2d(self, x, kernel, stride):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = conv_output_size(h, kh, sh), conv_output_size(w, kw, sw)
        size = n * oh * ow * c
        values, argmax = self._empty(size, x.dtype), self._empty(size, np.int64)
        if size:
            conv.maxpool2d_windows[self._grid(size)](
                x.storage, x.offset, tuple(x.strides), (h, w, c), (oh, ow), (kh, kw), (sh, sw),
                values, argmax)
        return values, argmax

    def maxpool2d_backward(self, g, argmax, image_shape, kernel, stride):
        n, h, w, c = image_shape
        dense_g, dense_argmax = self._dense(g), self._dense(argmax)
        out = self._empty(n * h * w * c, dense_g.dtype)
        if out.shape[0]:
            conv.maxpool2d_gather[self._grid(out.shape[0])](
                dense_g.storage, dense_g.offset, dense_argmax.storage, dense_argmax.offset, (h, w, c),
                (g.shape[1], g.shape[2]), tuple(kernel), tuple(stride), out)
        return out

    # --- indexing --------------------------------------------------------------------
    def gather_rows(self, table, idx):
        num_rows, width = table.shape
        out = self._empty(idx.shape[0] * width, table.dtype)
        if out.shape[0]:
            indexing.gather_rows[self._grid(out.shape[0])](
                table.storage, table.offset, tuple(table.strides), num_rows,
                idx.storage, idx.offset, idx.strides[0], width, out)
        return out

    def scatter_add_rows(self, src, idx, num_rows):
        n, width = src.shape
        out = self.full(num_rows * width, 0, src.dtype)
        if n * width:
            indexing.scatter_add_rows[self._grid(n * width)](
                src.storage, src.offset, tuple(src.strides), idx.storage, idx.offset,
                idx.strides[0], width, n * width, out)
        return out

    def one_hot(self, labels, num_classes, dtype):
        n = labels.shape[0]
        out = self.full(n * num_classes, 0, dtype)
        if n and num_classes:
            indexing.one_hot_rows[self._grid(n)](labels.storage, labels.offset, labels.strides[0],
                                                 num_classes, out)
        return out

    # --- fused -----------------------------------------------------------------------
    def softmax_xent(self, logits, target):
        n, num_classes = logits.shape
        loss, probs = self._empty(n, logits.dtype), self._empty(n * num_classes, logits.dtype)
        if n and num_classes:
            softmax.softmax_xent_rows[self._grid(n)](
                logits.storage, logits.offset, tuple(logits.strides),
                target.storage, target.offset, tuple(target.strides), num_classes, loss, probs)
        return loss, probs

    def softmax_rows(self, logits):
        n, num_classes = logits.shape
        probs = self._empty(n * num_classes, logits.dtype)
        if n and num_classes:
            softmax.softmax_rows[self._grid(n)](logits.storage, logits.offset, tuple(logits.strides), n,
                                                num_classes, probs)
        return probs

    # --- fused bias + activation (bias_act.py) ---------------------------------------------
    def bias_act(self, act, x, bias):
        rows, num_cols = x.shape
        out = self._empty(rows * num_cols, x.dtype)
        if rows * num_cols:
            x = self._dense(x)
            b = self._dense(bias) if bias is not None else x      # x: an unused placeholder
            bias_act.bias_act[self._grid(out.size)](ACTIVATION_CODES[act], x.storage, x.offset, b.storage,
                                                    b.offset, bias is not None, num_cols, out)
        return out

    def bias_act_backward(self, act, y, g):
        rows, num_cols = y.shape
        dz, db = self._empty(rows * num_cols, g.dtype), self._empty(num_cols, g.dtype)
        if rows * num_cols:
            y, g = self._dense(y), self._dense(g)
            bias_act.bias_act_slope[self._grid(dz.size)](ACTIVATION_CODES[act], y.storage, y.offset,
                                                         g.storage, g.offset, dz)
        if num_cols:
            bias_act.column_sums[self._grid(num_cols)](dz, rows, db)
        return dz, db

    def _dense(self, x):
        """x itself when its elements are already row-major from x.offset, else a copy."""
        if is_contiguous(x):
            return x
        return View(self.contiguous(x), x.shape, contiguous_strides(x.shape), 0)

    # --- fused batch normalisation (batchnorm.py) ---------------------------------------------
    def _run(self, x):
        """x's elements as a flat row-major device array: a slice of its storage, or a copy."""
        dense = self._dense(x)
        return dense.storage[dense.offset:dense.offset + x.size]

    def batchnorm_forward(self, x, gamma, beta, epsilon):
        rows, channels = x.shape
        mean, var, inv_std = (self._empty(channels, x.dtype) for _ in range(3))
        y = self._empty(rows * channels, x.dtype)
        xs = self._run(x)
        batchnorm.channel_moments[self._grid(channels)](xs, rows, channels, float(epsilon), mean, var, inv_std)
        batchnorm.normalize[self._grid(rows * channels)](xs, channels, mean, inv_std, self._run(gamma),
                                                         self._run(beta), y)
        return y, mean, var, inv_std

    def batchnorm_backward(self, g, x, mean, inv_std, gamma):
        rows, channels = x.shape
        gs, xs, m, s = self._run(g), self._run(x), self._run(mean), self._run(inv_std)
        dgamma, dbeta = self._empty(channels, x.dtype), self._empty(channels, x.dtype)
        dx = self._empty(rows * channels, x.dtype)
        batchnorm.channel_grad_sums[self._grid(channels)](gs, xs, rows, channels, m, s, dgamma, dbeta)
        batchnorm.input_grad[self._grid(rows * channels)](gs, xs, rows, channels, m, s, self._run(gamma),
                                                          dgamma, dbeta, dx)
        return dx, dgamma, dbeta

    # --- optional: fused optimizer updates (optim.py) ----------------------------------------
    def optimizer_update(self, rule, p, g, slots, hyper):
        if p.size == 0:
            return
        g = self._dense(g)
        t = np.dtype(p.dtype).type
        h = {k: (t(v) if isinstance(v, float) else v) for k, v in hyper.items()}
        runs = [(x.storage, x.offset) for x in (p, g, *slots)]
        launch = self._grid(p.size)
        if rule == "sgd":
            v = runs[2] if slots else runs[1]
            optim.sgd_update[launch](p.size, *runs[0], *runs[1], *v, h["lr"], t(h["momentum"]),
                                     bool(h["nesterov"]))
        elif rule == "rmsprop":
            optim.rmsprop_update[launch](p.size, *runs[0], *runs[1], *runs[2], h["lr"], h["rho"],
                                         t(1.0 - h["rho"]), h["epsilon"], h["flush_below"])
        elif rule == "adagrad":
            optim.adagrad_update[launch](p.size, *runs[0], *runs[1], *runs[2], h["lr"], h["epsilon"])
        elif rule == "adam":
            w = runs[4] if h["amsgrad"] else runs[3]
            optim.adam_update[launch](p.size, *runs[0], *runs[1], *runs[2], *runs[3], *w, h["lr_t"],
                                      h["beta_1"], t(1.0 - h["beta_1"]), h["beta_2"], t(1.0 - h["beta_2"]),
                                      h["epsilon"], h["flush_below"], bool(h["amsgrad"]))
        else:
            raise ValueError(f"unknown optimizer rule {rule!r}")

    # --- fused recurrent sequences (recurrent.py) ---------------------------------------------
    def _compact(self, x):
        """x as a View whose elements are row-major from storage index 0 (a copy if needed)."""
        if is_contiguous(x) and x.offset == 0:
            return x
        return View(self.contiguous(x), x.shape, contiguous_strides(x.shape), 0)

    def _masks(self, masks, gates, n, size, dtype):
        if masks is None:
            return recurrent.ones_masks(self, gates, n, size, dtype)
        return self._compact(masks).storage

    def rnn_forward(self, kind, x, kernel, recurrent_kernel, bias, input_masks, state_masks, activations,
                    go_backwards):
        n, steps, features = x.shape
        u, width = recurrent_kernel.shape
        x_masks = self._masks(input_masks, width // u, n, features, x.dtype)
        gx = recurrent.project_inputs(self, self._compact(x), self._compact(kernel), u, x_masks)
        masks = self._masks(state_masks, width // u, n, u, x.dtype)
        bias = self.full(width, 0, x.dtype) if bias is None else self._compact(bias).storage
        return recurrent.forward(self, kind, View(gx, (n, steps, width), contiguous_strides((n, steps, width)), 0),
                                 self._compact(recurrent_kernel), bias, masks, activations, go_backwards)

    def rnn_backward(self, kind, d_states, x, kernel, recurrent_kernel, input_masks, state_masks, states, gates,
                     cells, activations, go_backwards, need_dx):
        n, _, features = x.shape
        u, width = recurrent_kernel.shape
        masks = self._masks(state_masks, width // u, n, u, x.dtype)
        d_gx, d_recurrent_kernel, d_bias = recurrent.backward(
            self, kind, self._compact(d_states), self._compact(recurrent_kernel), masks, self._compact(states),
            self._compact(gates), None if cells is None else self._compact(cells), activations, go_backwards)
        x_masks = self._masks(input_masks, width // u, n, features, x.dtype)
        dx, d_kernel = recurrent.project_inputs_backward(self, self._compact(x), self._compact(kernel), u, x_masks,
                                                         d_gx, need_dx)
        return dx, d_kernel, d_recurrent_kernel, d_bias
