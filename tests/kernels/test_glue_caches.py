"""The host-side caches of the glue (issue 12, fifth round): coalesced layouts, int64
metadata arrays, row-major strides and contiguity, and the cpu reduction's plan.

A cache keyed by metadata may only ever return what the uncached computation would: for
the same shape with other strides, for lists as well as tuples, and whatever happened to
the data in between (the data is not part of any key). The cached arrays are shared, so
they must be read-only."""
import itertools

import numpy as np
import pytest

from tinygrad_book.kernels import View, get_backend
from tinygrad_book.kernels import base
from tinygrad_book.kernels.cpu import jit


def uncached_coalesce(shape, *all_strides):
    """The rule of jit.coalesce written out again, with no cache."""
    dims = [(d, [s[i] for s in all_strides]) for i, d in enumerate(shape) if d != 1]
    if not dims:
        return [1], [[0] for _ in all_strides]
    merged = [dims[0]]
    for d, ss in dims[1:]:
        pd, ps = merged[-1]
        merged[-1:] = [(pd * d, ss)] if all(p == s * d for p, s in zip(ps, ss)) else [(pd, ps), (d, ss)]
    return [d for d, _ in merged], [[ss[k] for _, ss in merged] for k in range(len(all_strides))]


def layouts():
    """Several stride sets for each of a few shapes: row-major, permuted, broadcast, sliced."""
    for shape in [(2, 3, 4), (1, 5, 1), (4, 1, 6), (3, 3)]:
        row_major = base.contiguous_strides(shape)
        yield shape, row_major
        yield shape, tuple(2 * s for s in row_major)                       # every other element
        yield shape, tuple(0 if i == 0 else s for i, s in enumerate(row_major))   # broadcast axis 0
        yield shape, tuple(reversed(base.contiguous_strides(tuple(reversed(shape)))))  # column-major


LAYOUTS = list(layouts())


@pytest.mark.parametrize("first,second", list(itertools.product(LAYOUTS, LAYOUTS))[::3])
def test_coalesce_answers_as_uncached_whatever_came_before(first, second):
    """Asked in any order (the second question finds the first in the cache), with one or
    two operands, as tuples or lists: the uncached rule's answer."""
    for (shape, strides), other in ((first, second[1]), (second, first[1])):
        if len(other) != len(strides):
            other = strides
        for args in ((strides,), (strides, other), (list(strides), list(other))):
            got_shape, got_strides = jit.coalesce(list(shape) if isinstance(args[0], list) else shape, *args)
            want_shape, want_strides = uncached_coalesce(shape, *args)
            assert got_shape.tolist() == want_shape
            assert [s.tolist() for s in got_strides] == want_strides
            assert got_shape.dtype == np.int64 and all(s.dtype == np.int64 for s in got_strides)


def test_cached_metadata_arrays_are_shared_and_read_only():
    shape, (strides,) = jit.coalesce((4, 5), (1, 4))
    again, (strides_again,) = jit.coalesce((4, 5), (1, 4))
    assert again is shape and strides_again is strides          # served from the cache
    for array in (shape, strides, jit.int64s((3, 1))):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 7
    assert jit.int64s((3, 1)) is jit.int64s((3, 1)) and jit.int64s((3, 1)).tolist() == [3, 1]
    assert jit.int64s((3, 1)) is not jit.int64s((3, 2))


@pytest.mark.parametrize("shape,strides", LAYOUTS + [((2, 3), (3, 1)), ((2, 3), (1, 2)), ((0, 3), (3, 1)),
                                                     ((), ()), ((5,), (1,)), ((5,), (-1,))])
def test_contiguity_and_strides_answer_as_uncached(shape, strides):
    expected, step = [], 1
    for d in reversed(shape):
        expected.insert(0, step)
        step *= max(d, 1)
    assert base.contiguous_strides(shape) == tuple(expected) == base.contiguous_strides(list(shape))
    want = all(s == e for d, s, e in zip(shape, strides, expected) if d != 1)
    assert base.is_contiguous(shape, strides) is want
    assert base.is_contiguous(View(np.zeros(1), shape, strides, 0)) is want
    assert base.is_contiguous(list(shape), list(strides)) is want


def _strided(storage, shape, strides, offset=0):
    return View(storage, shape, strides, offset)


@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)])
@pytest.mark.parametrize("op", ["sum", "max"])
def test_reduce_plan_same_shape_other_strides_and_new_data(axes, op):
    """One shape reduced through four layouts of one storage, in turn, twice, with the
    storage rewritten in place between the rounds: each answer is numpy's for the data
    the view shows now (the cached plan is keyed by layout, never by data)."""
    cpu = get_backend("cpu")
    r = np.random.default_rng(len(axes))
    storage = r.standard_normal(2 * 3 * 4 * 2).astype(np.float64)
    shape = (2, 3, 4)
    views = [((24, 8, 2), 0), ((24, 8, 2), 1), ((1, 2, 6), 0), ((0, 8, 2), 3)]   # strided, offset, permuted, broadcast
    for _ in range(2):
        for strides, offset in views:
            x = np.lib.stride_tricks.as_strided(storage[offset:], shape, [s * 8 for s in strides])
            got = cpu.reduce(op, _strided(storage, shape, strides, offset), axes)
            want = getattr(x, op)(axis=axes)
            np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-12, atol=1e-12)
        storage[:] = r.standard_normal(storage.size)                  # in place: same storage, new data


def test_binary_and_unary_glue_follow_in_place_changes_and_other_strides():
    cpu = get_backend("cpu")
    a = np.arange(12, dtype=np.float32)
    b = np.arange(12, dtype=np.float32)[::-1].copy()
    row_major, transposed = ((3, 4), (4, 1)), ((3, 4), (1, 3))
    for step in range(2):
        for (shape, sa), (_, sb) in itertools.product((row_major, transposed), repeat=2):
            x = np.lib.stride_tricks.as_strided(a, shape, [s * 4 for s in sa])
            y = np.lib.stride_tricks.as_strided(b, shape, [s * 4 for s in sb])
            np.testing.assert_array_equal(cpu.binary("sub", View(a, shape, sa, 0), View(b, shape, sb, 0)),
                                          (x - y).reshape(-1))
            np.testing.assert_array_equal(cpu.unary("neg", View(a, shape, sa, 0)), (-x).reshape(-1))
        a *= 3                                                           # in place, between the rounds
        cpu.assign(View(b, (12,), (1,), 0), View(a[::-1].copy(), (12,), (1,), 0))
