"""The kernels' shared vocabulary (kernels/vocabulary.py) and the shape checks that
kernels/base.py runs, in one place, for every backend."""
import numpy as np
import pytest

from tinygrad_book.kernels import get_backend, vocabulary
from tinygrad_book.kernels.base import (BINARY_OPS, REDUCE_OPS, SHAPE_CHECKS, UNARY_OPS, Backend, View,
                                        conv_output_size, full_view, is_contiguous, prod)
from tinygrad_book.kernels.cpu import jit

BACKENDS = ["numpy", "cpu"]


# --- the vocabulary ------------------------------------------------------------------------
def test_op_codes_are_the_positions_of_the_op_names():
    assert [vocabulary.UNARY_CODES[n] for n in UNARY_OPS] == list(range(len(UNARY_OPS)))
    assert [vocabulary.BINARY_CODES[n] for n in BINARY_OPS] == list(range(len(BINARY_OPS)))
    assert [vocabulary.REDUCE_CODES[n] for n in REDUCE_OPS] == list(range(len(REDUCE_OPS)))
    assert vocabulary.FIRST_COMPARE == BINARY_OPS.index("eq")
    for name in UNARY_OPS + BINARY_OPS:       # a named constant for every op
        assert getattr(vocabulary, name.upper()) == (vocabulary.UNARY_CODES.get(name)
                                                     if name in UNARY_OPS else vocabulary.BINARY_CODES[name])


def _strided_case(rng):
    """A random strided view of a random storage: (storage, shape, strides, offset)."""
    storage = np.arange(500)
    shape = tuple(int(d) for d in rng.integers(1, 5, size=rng.integers(1, 4)))
    strides = tuple(int(s) for s in rng.integers(-3, 6, size=len(shape)))
    offset = sum(-s * (d - 1) for s, d in zip(strides, shape) if s < 0) + int(rng.integers(0, 5))
    return storage, shape, strides, offset


@pytest.mark.parametrize("seed", range(20))
def test_flat_and_row_position_agree_with_numpy_strides(seed):
    storage, shape, strides, offset = _strided_case(np.random.default_rng(seed))
    expected = np.lib.stride_tricks.as_strided(storage[offset:], shape,
                                               tuple(s * storage.itemsize for s in strides)).reshape(-1)
    sh, st = np.array(shape, np.int64), np.array(strides, np.int64)
    for position in (vocabulary.flat_position, jit.flat_position):      # plain Python and compiled
        assert [storage[position(i, sh, st, offset)] for i in range(prod(shape))] == expected.tolist()
    row = shape[-1]
    for position in (vocabulary.row_position, jit.row_position):
        starts = [position(r, sh, st, offset) for r in range(prod(shape[:-1]))]
        assert [storage[s + j * strides[-1]] for s in starts for j in range(row)] == expected.tolist()


def test_shared_helpers():
    assert prod(()) == 1 and prod((2, 3, 4)) == 24 and prod((5, 0)) == 0
    assert conv_output_size(28, 3, 1) == 26 and conv_output_size(28, 3, 2, 1, 1) == 14
    assert conv_output_size(7, 2, 2) == 3                      # the last odd row is dropped, as in Keras
    assert is_contiguous((2, 3), (3, 1)) and is_contiguous((1, 3), (99, 1)) and not is_contiguous((2, 3), (1, 2))
    assert is_contiguous(full_view(np.zeros(6), (2, 3)))


# --- shape checks, one place, every backend --------------------------------------------------
def test_every_backend_primitive_is_checked():
    backends = [get_backend(name) for name in BACKENDS]
    for be in backends:
        for name in SHAPE_CHECKS:
            method = getattr(type(be), name)
            assert hasattr(method, "unchecked"), f"{type(be).__name__}.{name} runs without its shape check"
    abstract = {n for n in vars(Backend) if getattr(getattr(Backend, n), "__isabstractmethod__", False)}
    assert abstract - set(SHAPE_CHECKS) <= {"from_numpy", "to_numpy", "full", "contiguous", "cast"}


def _v(shape, dtype=np.float64):
    return full_view(np.zeros(max(prod(shape), 1), dtype), shape)


BAD = [
    ("binary", ("add", _v((2, 3)), _v((3, 2))), "binary add: shapes differ"),
    ("binary", ("plus", _v((2, 3)), _v((2, 3))), "unknown op 'plus'"),
    ("unary", ("exp2", _v((2,))), "unknown op 'exp2'"),
    ("where", (_v((2,)), _v((2,)), _v((3,))), "where: shapes differ"),
    ("assign", (_v((2, 2)), _v((4,))), "assign: shapes differ"),
    ("reduce", ("sum", _v((2, 3)), (2,)), "reduce: axes must be"),
    ("reduce", ("mean", _v((2, 3)), (0,)), "unknown op 'mean'"),
    ("argmax", (_v((2, 3)), 2), "argmax: axis 2"),
    ("matmul", (_v((1, 2, 3)), _v((1, 2, 3))), r"matmul: needs \(B, M, K\)"),
    ("matmul", (_v((2, 3)), _v((3, 2))), r"matmul: needs \(B, M, K\)"),
    ("im2col", (_v((1, 2, 2, 1)), (3, 3), (1, 1), (0, 0, 0, 0)), "larger than the"),
    ("im2col", (_v((1, 4, 4, 1)), (3, 3), (0, 1), (0, 0, 0, 0)), "must be positive"),
    ("col2im", (_v((1, 2, 2, 3, 3, 2)), (1, 4, 4, 1), (3, 3), (1, 1), (0, 0, 0, 0)), "do not fit"),
    ("maxpool2d", (_v((2, 3, 3)), (2, 2), (2, 2)), "NHWC"),
    ("maxpool2d_backward", (_v((1, 2, 2, 3)), _v((1, 2, 2, 3), np.int64), (1, 5, 5, 3), (2, 2), (1, 1)),
     r"g must be the pooled shape \(1, 4, 4, 3\)"),
    ("maxpool2d_backward", (_v((1, 2, 3, 3)), _v((1, 2, 2, 3), np.int64), (1, 5, 6, 3), (2, 2), (2, 2)),
     r"argmax must be the pooled shape \(1, 2, 3, 3\)"),
    ("maxpool2d_backward", (_v((1, 2, 2, 3)), _v((1, 2, 2, 3)), (1, 4, 4, 3), (2, 2), (2, 2)),
     "argmax must be int64"),
    ("maxpool2d_backward", (_v((1, 2, 2, 3)), _v((1, 2, 2, 3), np.int64), (1, 4, 4), (2, 2), (2, 2)), "NHWC"),
    ("gather_rows", (_v((5,)), _v((2,), np.int64)), "rows must have 2 axes"),
    ("scatter_add_rows", (_v((3, 2)), _v((2,), np.int64), 4), "3 rows but 2 indices"),
    ("one_hot", (_v((2, 1), np.int64), 3, np.float32), "labels must have 1 axis"),
    ("softmax_xent", (_v((4, 3)), _v((4, 2))), "softmax_xent: shapes differ"),
    ("softmax_xent", (_v((4,)), _v((4,))), "logits must have 2 axes"),
    ("softmax_rows", (_v((2, 3, 4)),), "softmax_rows: logits must have 2 axes"),
    ("optimizer_update", ("adamw", _v((2,)), _v((2,)), [], {}), "no fused 'adamw'"),
    ("optimizer_update", ("adagrad", _v((2,)), _v((2,)), [_v((2,))], {"lr": 0.1}), "takes hyperparameters"),
    ("optimizer_update", ("adagrad", _v((2,)), _v((3,)), [_v((2,))], {"lr": 0.1, "epsilon": 1e-7}),
     "shapes differ"),
    ("batchnorm_forward", (_v((2, 3, 4)), _v((4,)), _v((4,)), 1e-3), "x must have 2 axes"),
    ("batchnorm_forward", (_v((2, 3)), _v((4,)), _v((3,)), 1e-3), r"must have shape \(3,\), got \(4,\)"),
    ("batchnorm_forward", (_v((0, 3)), _v((3,)), _v((3,)), 1e-3), "at least one row"),
    ("batchnorm_backward", (_v((2, 4)), _v((2, 3)), _v((3,)), _v((3,)), _v((3,))), "batchnorm_backward: shapes differ"),
]


@pytest.mark.parametrize("device", BACKENDS)
@pytest.mark.parametrize("primitive, args, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_shapes_are_refused_with_a_message_naming_the_primitive(device, primitive, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(get_backend(device), primitive)(*args)


def test_a_new_backend_is_checked_without_writing_a_check():
    calls = []

    class Tiny(type(get_backend("numpy"))):   # a backend built on the reference one
        def binary(self, op, a, b):
            calls.append(op)
            return super().binary(op, a, b)

    with pytest.raises(ValueError, match="shapes differ"):
        Tiny().binary("mul", _v((2,)), _v((3,)))
    assert calls == []                                        # refused before the kernel ran
    out = Tiny().binary("mul", _v((2,)), _v((2,)))
    assert calls == ["mul"] and out.shape == (2,)


def test_view_size_is_prod_of_the_shape():
    assert View(np.zeros(4), (2, 2), (2, 1), 0).size == 4 and View(np.zeros(1), (), (), 0).size == 1
