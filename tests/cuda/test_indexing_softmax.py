"""gather_rows, scatter_add_rows (repeated indices), one_hot, softmax_xent, softmax_rows."""
import numpy as np
import pytest

from .views import check, make, pair

DTYPES = [np.float32, np.float64]


def index_view(cuda_backend, idx):
    idx = np.asarray(idx, dtype=np.int64)
    return pair(cuda_backend, idx, idx.shape, (1,), 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_rows(rng, cuda_backend, ref, dtype):
    rt, ct = make(rng, cuda_backend, (6, 5), "transposed", dtype)
    ri, ci = index_view(cuda_backend, [5, 0, 2, 2, -1, 3, 0])
    check(cuda_backend, ref, cuda_backend.gather_rows(ct, ci), ref.gather_rows(rt, ri), (7, 5), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_add_rows_accumulates_repeated_indices(rng, cuda_backend, ref, dtype):
    rs, cs = make(rng, cuda_backend, (7, 5), "offset", dtype)
    ri, ci = index_view(cuda_backend, [1, 3, 1, 1, 0, 3, 5])   # row 1 three times, 3 twice
    check(cuda_backend, ref, cuda_backend.scatter_add_rows(cs, ci, 6),
          ref.scatter_add_rows(rs, ri, 6), (6, 5), dtype)


def test_scatter_add_rows_is_the_adjoint_of_gather_rows(rng, cuda_backend, ref):
    rs, cs = make(rng, cuda_backend, (5, 3), "broadcast", np.float64)
    ri, ci = index_view(cuda_backend, [2, 2, 2, 0, 2])
    check(cuda_backend, ref, cuda_backend.scatter_add_rows(cs, ci, 4),
          ref.scatter_add_rows(rs, ri, 4), (4, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_hot(cuda_backend, ref, dtype):
    rl, cl = index_view(cuda_backend, [3, 0, 9, 3, 5])
    check(cuda_backend, ref, cuda_backend.one_hot(cl, 10, dtype), ref.one_hot(rl, 10, dtype), (5, 10), dtype)


def targets(rng, n, classes, soft, dtype):
    if soft:
        t = rng.uniform(0, 1, (n, classes))
        return (t / t.sum(axis=1, keepdims=True)).astype(dtype)
    return np.eye(classes, dtype=dtype)[rng.integers(0, classes, n)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 1e4])
@pytest.mark.parametrize("soft", [False, True])
def test_softmax_xent(rng, cuda_backend, ref, dtype, scale, soft):
    """scale 1e4: logits far past exp's range; the shifted form must stay finite."""
    rz, cz = make(rng, cuda_backend, (5, 7), "offset", dtype, -scale, scale)
    rt, ct = pair(cuda_backend, targets(rng, 5, 7, soft, dtype), (5, 7), (7, 1), 0)
    loss, probs = cuda_backend.softmax_xent(cz, ct)
    want_loss, want_probs = ref.softmax_xent(rz, rt)
    assert np.all(np.isfinite(loss.copy_to_host()))
    check(cuda_backend, ref, loss, want_loss, (5,), dtype)
    check(cuda_backend, ref, probs, want_probs, (5, 7), dtype)


def test_softmax_xent_of_transposed_logits(rng, cuda_backend, ref):
    rz, cz = make(rng, cuda_backend, (5, 7), "transposed", np.float64, -50, 50)
    rt, ct = make(rng, cuda_backend, (5, 7), "broadcast", np.float64, 0, 1)
    loss, probs = cuda_backend.softmax_xent(cz, ct)
    want_loss, want_probs = ref.softmax_xent(rz, rt)
    check(cuda_backend, ref, loss, want_loss, (5,))
    check(cuda_backend, ref, probs, want_probs, (5, 7))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_rows(rng, cuda_backend, ref, dtype, scale):
    """scale 1e4: logits far past exp's range; the shifted form must stay finite."""
    rz, cz = make(rng, cuda_backend, (5, 7), "transposed", dtype, -scale, scale)
    probs = cuda_backend.softmax_rows(cz)
    assert np.all(np.isfinite(probs.copy_to_host()))
    check(cuda_backend, ref, probs, ref.softmax_rows(rz), (5, 7), dtype)
