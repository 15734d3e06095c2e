"""Every kernel of the package with the concrete signatures it is launched with.

`cuda.compile_ptx` compiles a kernel for a given GPU architecture *without a GPU*
(it needs only NVVM, which `numba-cuda[cu13]` installs). The simulator never
compiles anything, so this is the check that the kernels are valid CUDA: that each
one types, lowers and produces PTX for, by default, sm_90 (H100/H200).

    for name, func, signature in kernel_signatures(): compile_kernel(func, signature, cc=(9, 0))
"""
from __future__ import annotations

import contextlib
import types as pytypes

import numpy as np
from numba import cuda, types

from . import batchnorm, conv, elementwise, indexing, optim, recurrent, reduce, softmax
from .launch import DEFAULT_BLOCK, DEFAULT_TILE
from .matmul import matmul_kernel

FLOATS = (types.float32, types.float64)
INDEX = types.int64[::1]       # indices, shapes and strides: int64 device arrays
I64 = types.int64


def _tuple(n):
    return types.UniTuple(types.int64, n)


def _arr(dtype):
    return dtype[::1]          # storages are flat, C-contiguous device arrays


def kernel_signatures(tile: int = DEFAULT_TILE, block: int = DEFAULT_BLOCK):
    """Yield (name, python function, signature) for every kernel and dtype it serves."""
    for dt in FLOATS + (types.int64,):
        x = _arr(dt)
        yield f"unary_contiguous[{dt}]", elementwise.unary_contiguous, (I64, x, I64, x)
        yield f"unary_strided[{dt}]", elementwise.unary_strided, (I64, x, I64, INDEX, INDEX, x)
        yield f"binary_contiguous[{dt}]", elementwise.binary_contiguous, (I64, x, I64, x, I64, x)
        yield (f"binary_strided[{dt}]", elementwise.binary_strided,
               (I64, x, I64, INDEX, x, I64, INDEX, INDEX, x))
        yield (f"where_strided[{dt}]", elementwise.where_strided,
               (x, I64, INDEX, x, I64, INDEX, x, I64, INDEX, INDEX, x))
        yield f"copy_contiguous[{dt}]", elementwise.copy_contiguous, (x, I64, x)
        yield f"copy_strided[{dt}]", elementwise.copy_strided, (x, I64, INDEX, INDEX, x)
        yield (f"assign_strided[{dt}]", elementwise.assign_strided,
               (x, I64, INDEX, x, I64, INDEX, INDEX, I64))
        yield f"fill[{dt}]", elementwise.fill, (x, dt)
        for op in ("sum", "max", "min"):
            kernel = reduce.reduce_kernel(op, np.dtype(str(dt)), block)
            yield (f"reduce_rows[{op}, {dt}, block={block}]", kernel.py_func,
                   (x, I64, INDEX, INDEX, INDEX, INDEX, I64, I64, x))
        yield f"argmax_rows[{dt}]", reduce.argmax_rows, (x, I64, INDEX, INDEX, I64, I64, INDEX)
    yield "copy_contiguous[float32->float64]", elementwise.copy_contiguous, (
        _arr(types.float32), I64, _arr(types.float64))
    yield "copy_strided[float64->int64]", elementwise.copy_strided, (
        _arr(types.float64), I64, INDEX, INDEX, INDEX)
    for dt in FLOATS:
        x = _arr(dt)
        yield (f"matmul_tiled[{dt}, tile={tile}]", matmul_kernel(tile, np.dtype(str(dt))).py_func,
               (x, I64, _tuple(3), x, I64, _tuple(3), _tuple(4), x))
        yield (f"im2col_gather[{dt}]", conv.im2col_gather,
               (x, I64, _tuple(4), _tuple(3), _tuple(2), _tuple(2), _tuple(2), _tuple(2), x))
        yield (f"col2im_gather[{dt}]", conv.col2im_gather,
               (x, I64, _tuple(3), _tuple(2), _tuple(2), _tuple(2), _tuple(2), x))
        yield (f"maxpool2d_windows[{dt}]", conv.maxpool2d_windows,
               (x, I64, _tuple(4), _tuple(3), _tuple(2), _tuple(2), _tuple(2), x, INDEX))
        yield (f"maxpool2d_gather[{dt}]", conv.maxpool2d_gather,
               (x, I64, INDEX, I64, _tuple(3), _tuple(2), _tuple(2), _tuple(2), x))
        yield (f"gather_rows[{dt}]", indexing.gather_rows,
               (x, I64, _tuple(2), I64, INDEX, I64, I64, I64, x))
        yield (f"scatter_add_rows[{dt}]", indexing.scatter_add_rows,
               (x, I64, _tuple(2), INDEX, I64, I64, I64, I64, x))
        yield f"one_hot_rows[{dt}]", indexing.one_hot_rows, (INDEX, I64, I64, I64, x)
        yield (f"softmax_xent_rows[{dt}]", softmax.softmax_xent_rows,
               (x, I64, _tuple(2), x, I64, _tuple(2), I64, x, x))
        yield f"softmax_rows[{dt}]", softmax.softmax_rows, (x, I64, _tuple(2), I64, I64, x)
        yield f"channel_moments[{dt}]", batchnorm.channel_moments, (x, I64, I64, types.float64, x, x, x)
        yield f"normalize[{dt}]", batchnorm.normalize, (x, I64, x, x, x, x, x)
        yield f"channel_grad_sums[{dt}]", batchnorm.channel_grad_sums, (x, x, I64, I64, x, x, x, x)
        yield f"batchnorm_input_grad[{dt}]", batchnorm.input_grad, (x, x, I64, I64, x, x, x, x, x, x)
        s = dt   # the optimizers' scalars come in the weights' dtype
        yield f"sgd_update[{dt}]", optim.sgd_update, (I64, x, I64, x, I64, x, I64, s, s, types.boolean)
        yield f"rmsprop_update[{dt}]", optim.rmsprop_update, (I64, x, I64, x, I64, x, I64, s, s, s, s, s)
        yield f"adagrad_update[{dt}]", optim.adagrad_update, (I64, x, I64, x, I64, x, I64, s, s)
        yield (f"adam_update[{dt}]", optim.adam_update,
               (I64, x, I64, x, I64, x, I64, x, I64, x, I64, s, s, s, s, s, s, s, types.boolean))
        yield (f"rnn_forward_step[{dt}]", recurrent.forward_step,
               (I64, I64, I64, I64, x, x, x, x, I64, I64, I64, I64, I64, x, x, x))
        yield (f"rnn_backward_gates[{dt}]", recurrent.backward_gates,
               (I64, I64, I64, x, x, x, x, x, x, I64, I64, I64, I64, I64, x))
        yield (f"rnn_backward_reset[{dt}]", recurrent.backward_reset,
               (I64, I64, x, x, x, x, x, I64, I64, I64, I64, x, x))
        yield f"rnn_backward_state[{dt}]", recurrent.backward_state, (I64, I64, x, x, x, I64, I64, I64, x)
        yield (f"rnn_recurrent_kernel_grad[{dt}]", recurrent.recurrent_kernel_grad,
               (I64, types.boolean, x, x, x, x, I64, I64, I64, x))
        yield f"rnn_bias_grad[{dt}]", recurrent.bias_grad, (x, I64, x)
        projection = (x, x, x, I64, I64, I64, I64, I64, x)
        yield f"rnn_input_projection[{dt}]", recurrent.input_projection, projection
        yield f"rnn_input_grad[{dt}]", recurrent.input_grad, projection
        yield f"rnn_kernel_grad[{dt}]", recurrent.kernel_grad, projection


def python_function(kernel):
    """compile_ptx wants the plain Python function, not the @cuda.jit dispatcher."""
    return getattr(kernel, "py_func", kernel)


@contextlib.contextmanager
def device_functions_for(cc):
    """Let device functions compile for `cc` on a machine without a GPU.

    compile_ptx itself needs no GPU, but when a kernel calls a @cuda.jit(device=True)
    function, numba-cuda (0.30) compiles that function for the *current device's*
    compute capability, and asking for the current device needs a driver. Without a
    GPU we answer that one question with the cc we are compiling for; with a GPU
    nothing is changed."""
    from numba.cuda import dispatcher
    if cuda.is_available():
        yield
        return
    original = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=tuple(cc))
    try:
        yield
    finally:
        dispatcher.get_current_device = original


def compile_kernel(func, signature, cc=(9, 0)) -> str:
    """PTX text of one kernel for one signature."""
    with device_functions_for(cc):
        return cuda.compile_ptx(python_function(func), signature, cc=cc)[0]


def compile_all(cc=(9, 0)):
    """{name: ptx text} for every kernel; raises on the first that does not compile."""
    return {name: compile_kernel(func, signature, cc) for name, func, signature in kernel_signatures()}
