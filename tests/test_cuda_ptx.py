"""Every CUDA kernel compiles to PTX for sm_90 (H100/H200), with no GPU needed.

The simulator suite (tests/cuda) checks what kernels compute, but the simulator runs
them as Python and never compiles them: a kernel using a feature the CUDA target
lacks would pass there and fail on a GPU. This test closes that gap in the normal
process (it must NOT run under NUMBA_ENABLE_CUDASIM, which replaces the compiler).
"""
import os

import pytest

pytest.importorskip("numba_cuda", reason='numba-cuda is not installed (pip install "tinygrad-book[cuda]")')

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the CUDA simulator does not compile kernels; run this test without "
                "NUMBA_ENABLE_CUDASIM", allow_module_level=True)

from tinygrad_book.kernels.cuda import ptx  # noqa: E402

SIGNATURES = list(ptx.kernel_signatures())


def test_every_kernel_module_is_listed():
    """A new @cuda.jit kernel must be added to ptx.kernel_signatures()."""
    from numba.cuda.dispatcher import CUDADispatcher

    from tinygrad_book.kernels.cuda import batchnorm, conv, elementwise, indexing, recurrent, reduce, softmax
    listed = {getattr(func, "__name__", "") for _, func, _ in SIGNATURES}
    for module in (batchnorm, conv, elementwise, indexing, recurrent, reduce, softmax):
        for name, value in vars(module).items():
            if isinstance(value, CUDADispatcher) and not value.targetoptions.get("device"):
                assert name in listed, f"{module.__name__}.{name} is missing from ptx.kernel_signatures()"
    assert {"matmul_tiled", "reduce_rows"} <= listed


@pytest.mark.parametrize("name,func,signature", SIGNATURES, ids=[s[0] for s in SIGNATURES])
def test_kernel_compiles_for_sm_90(name, func, signature):
    text = ptx.compile_kernel(func, signature, cc=(9, 0))
    assert ".target sm_90" in text
    assert ".entry" in text      # a kernel, not only device functions


def test_float32_matmul_stays_in_float32():
    """The accumulator is typed from the element dtype: no float64 in the inner loop."""
    import numpy as np
    from numba import types
    kernel = ptx.matmul_kernel(16, np.dtype(np.float32))
    x, t3 = types.float32[::1], types.UniTuple(types.int64, 3)
    text = ptx.compile_kernel(kernel, (x, types.int64, t3, x, types.int64, t3,
                                       types.UniTuple(types.int64, 4), x))
    assert "fma.rn.f32" in text and ".f64" not in text
