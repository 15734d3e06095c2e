"""Batched matmul, tiled through shared memory: a (B, M, K) @ b (B, K, N) -> (B, M, N).

Launch shape: grid (ceil(N/T), ceil(M/T), min(B, 65535)), block (T, T), T = the tile.
Thread (tx, ty) of block (bx, by, bz) owns out[batch, by*T + ty, bx*T + tx].

Why tiles: a naive kernel reads 2K numbers from global memory per output. Here a
block walks K in steps of T; at each step every thread loads ONE element of a's
(T x T) tile and ONE of b's into shared memory, a barrier makes both tiles complete,
and then each thread does T multiply-adds from shared memory. Global traffic drops
by a factor of T.

Bounds: M, N, K need not be multiples of T. Loads outside a or b store 0 into the
tile (0 adds nothing to the dot product), so the inner loop has no checks; only the
final store is guarded. Every thread runs every barrier, even threads whose output
lies outside the matrix: they still load their share of the tiles.

a and b are read through their strides (transposed operands, stride-0 batch
broadcast need no copy). The kernel is built per (tile, dtype): the tile is the size
of the shared arrays and must be a compile-time constant.
"""
from __future__ import annotations

import functools

import numba
import numpy as np
from numba import cuda

from .elementwise import fill


@functools.lru_cache(maxsize=None)
def matmul_kernel(tile: int, dtype):
    element = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def matmul_tiled(a, a_offset, a_strides, b, b_offset, b_strides, sizes, out):
        """a_strides (batch, row, k), b_strides (batch, k, col), sizes (B, M, N, K);
        out row-major (B, M, N). Launch: see matmul.py."""
        a_tile = cuda.shared.array((tile, tile), element)
        b_tile = cuda.shared.array((tile, tile), element)
        num_batches, m, n, k_size = sizes
        a_sb, a_sm, a_sk = a_strides
        b_sb, b_sk, b_sn = b_strides
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row = cuda.blockIdx.y * tile + ty
        col = cuda.blockIdx.x * tile + tx
        for batch in range(cuda.blockIdx.z, num_batches, cuda.gridDim.z):
            acc = element(0)
            for k0 in range(0, k_size, tile):
                ka, kb = k0 + tx, k0 + ty
                if row < m and ka < k_size:       # a's tile: rows of out, columns k0..k0+T
                    a_tile[ty, tx] = a[a_offset + batch * a_sb + row * a_sm + ka * a_sk]
                else:
                    a_tile[ty, tx] = 0
                if kb < k_size and col < n:       # b's tile: rows k0..k0+T, columns of out
                    b_tile[ty, tx] = b[b_offset + batch * b_sb + kb * b_sk + col * b_sn]
                else:
                    b_tile[ty, tx] = 0
                cuda.syncthreads()                # both tiles complete before anyone reads
                for k in range(tile):
                    acc += a_tile[ty, k] * b_tile[k, tx]
                cuda.syncthreads()                # everyone done reading before the next load
            if row < m and col < n:
                out[(batch * m + row) * n + col] = acc

    return matmul_tiled


def matmul(launch, a, b):
    (num_batches, m, k), n = a.shape, b.shape[2]
    dtype = np.result_type(a.dtype, b.dtype)
    out = cuda.device_array(num_batches * m * n, dtype)
    if out.shape[0] == 0:
        return out
    if k == 0:                                    # an empty sum: all zeros
        fill[launch.grid_stride(out.shape[0])](out, dtype.type(0))
        return out
    grid, block = launch.tiles(m, n, num_batches)
    kernel = matmul_kernel(launch.tile, dtype)
    kernel[grid, block](a.storage, a.offset, tuple(a.strides), b.storage, b.offset, tuple(b.strides),
                        (num_batches, m, n, k), out)
    return out
