"""The fused bias + activation: forward and backward (dz and the bias column sum)."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import FUSED_ACTIVATIONS, View, contiguous_strides

from .views import check, make

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("act", FUSED_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["offset", "transposed"])
def test_bias_act_forward_and_backward(rng, cuda_backend, ref, act, dtype, kind):
    """5 x 7: more elements than one block of 16 threads; strided z and g."""
    rz, cz = make(rng, cuda_backend, (5, 7), kind, dtype, -3, 3)
    rb, cb = make(rng, cuda_backend, (7,), "sliced", dtype)
    y, want_y = cuda_backend.bias_act(act, cz, cb), ref.bias_act(act, rz, rb)
    check(cuda_backend, ref, y, want_y, (5, 7), dtype)
    rg, cg = make(rng, cuda_backend, (5, 7), kind, dtype)
    ry = View(want_y, (5, 7), contiguous_strides((5, 7)), 0)
    cy = View(cuda_backend.from_numpy(want_y), (5, 7), contiguous_strides((5, 7)), 0)
    dz, db = cuda_backend.bias_act_backward(act, cy, cg)
    want_dz, want_db = ref.bias_act_backward(act, ry, rg)
    check(cuda_backend, ref, dz, want_dz, (5, 7), dtype)
    check(cuda_backend, ref, db, want_db, (7,), dtype)


def test_bias_act_without_bias_and_with_many_columns(rng, cuda_backend, ref):
    """40 columns: more than one block of column-sum threads."""
    rz, cz = make(rng, cuda_backend, (3, 40), "offset")
    check(cuda_backend, ref, cuda_backend.bias_act("sigmoid", cz, None), ref.bias_act("sigmoid", rz, None), (3, 40))
    rg, cg = make(rng, cuda_backend, (3, 40), "broadcast")
    dz, db = cuda_backend.bias_act_backward("linear", cz, cg)
    want_dz, want_db = ref.bias_act_backward("linear", rz, rg)
    check(cuda_backend, ref, dz, want_dz, (3, 40))
    check(cuda_backend, ref, db, want_db, (40,))
