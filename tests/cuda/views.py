"""Build the same strided View on the numpy reference and on the cuda backend."""
from __future__ import annotations

import numpy as np

from tinygrad_book.kernels.base import View, contiguous_strides

LAYOUTS = ("contiguous", "offset", "transposed", "broadcast", "sliced")
TOL = {np.dtype(np.float32): dict(rtol=2e-5, atol=1e-6),
       np.dtype(np.float64): dict(rtol=1e-12, atol=1e-13),
       np.dtype(np.int64): dict(rtol=0, atol=0)}


# Every host storage is followed by TAIL sentinels, and the elements a view skips
# (an offset's prefix, a slice's gaps) are sentinels too: NaN for floats, the most
# negative integer for ints. A kernel that reads past its view then returns a wrong
# *value*, which the comparison shows on a real GPU as well as in the simulator
# (where only reads past the whole storage raise).
TAIL = 64     # longer than an image row in these tests: an overrun lands in it


def sentinel(dtype):
    dtype = np.dtype(dtype)
    return np.iinfo(dtype).min if dtype.kind == "i" else np.nan


def values(rng, n, dtype, low=-2.0, high=2.0):
    dtype = np.dtype(dtype)
    if dtype.kind == "i":
        return rng.integers(int(low), int(high) + 1, size=n).astype(dtype)
    return rng.uniform(low, high, size=n).astype(dtype)


def with_sentinels(used, dtype, prefix=0, every=1):
    """A storage: `prefix` sentinels, then `used` at every `every`-th place (sentinels
    between), then TAIL sentinels."""
    host = np.full(prefix + every * len(used) + TAIL, sentinel(dtype), dtype=np.dtype(dtype))
    host[prefix:prefix + every * len(used):every] = used
    return host


def layout(rng, shape, kind, dtype, low=-2.0, high=2.0):
    """(flat host storage, strides, offset) viewing `shape` in one of LAYOUTS."""
    shape = tuple(shape)
    size = int(np.prod(shape))
    data = values(rng, size, dtype, low, high)
    if kind == "contiguous":
        return with_sentinels(data, dtype), contiguous_strides(shape), 0
    if kind == "offset":              # three elements nobody should read come first
        return with_sentinels(data, dtype, prefix=3), contiguous_strides(shape), 3
    if kind == "transposed":          # storage holds the reversed shape; strides reversed
        rev = contiguous_strides(shape[::-1])
        return with_sentinels(data, dtype), tuple(reversed(rev)), 0
    if kind == "broadcast":           # the first axis repeats (stride 0)
        inner = int(np.prod(shape[1:]))
        return with_sentinels(data[:inner], dtype), (0,) + contiguous_strides(shape[1:]), 0
    if kind == "sliced":              # every other element, from 1
        strides = tuple(2 * s for s in contiguous_strides(shape))
        return with_sentinels(data, dtype, prefix=1, every=2), strides, 1
    raise ValueError(kind)


def pair(cuda_backend, host, shape, strides, offset):
    """(reference View, cuda View) of one host storage."""
    return (View(np.array(host), tuple(shape), tuple(strides), offset),
            View(cuda_backend.from_numpy(host), tuple(shape), tuple(strides), offset))


def make(rng, cuda_backend, shape, kind="contiguous", dtype=np.float64, low=-2.0, high=2.0):
    host, strides, offset = layout(rng, shape, kind, dtype, low, high)
    return pair(cuda_backend, host, shape, strides, offset)


def check(cuda_backend, ref, cuda_storage, ref_storage, shape, dtype=None):
    """Compare a cuda result storage with the reference's, as arrays of `shape`."""
    got = cuda_backend.to_numpy(View(cuda_storage, tuple(shape), contiguous_strides(shape), 0))
    want = np.asarray(ref_storage).reshape(shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, **TOL.get(got.dtype, dict(rtol=0, atol=0)))
