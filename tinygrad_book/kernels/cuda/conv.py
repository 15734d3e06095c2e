"""Convolution helpers on NHWC images: im2col, col2im, and max pooling with argmax.

Convolution itself is im2col followed by one matmul (see matmul.py); its backward is
a matmul followed by col2im. All three kernels run one thread per *output* element
on a 1-D grid-stride loop (`Launch.grid_stride`), and each thread recovers its
coordinates from its flat index by mixed-radix division (last axis fastest).

Geometry travels as small tuples: image (H, W, C), out_hw (OH, OW), kernel (KH, KW),
stride (SH, SW), pad (top, left). The bottom/right padding only shows up in OH, OW.
"""
from __future__ import annotations

from numba import cuda


@cuda.jit
def im2col_gather(x, x_offset, x_strides, image, out_hw, kernel, stride, pad, out):
    """out (N, OH, OW, KH, KW, C) row-major; one thread per element:
    out[n, i, j, p, q, c] = x[n, i*SH + p - top, j*SW + q - left, c], 0 in the padding."""
    h_size, w_size, c_size = image
    oh_size, ow_size = out_hw
    kh_size, kw_size = kernel
    sn, sh, sw, sc = x_strides
    for e in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        c = e % c_size
        rest = e // c_size
        q = rest % kw_size
        rest //= kw_size
        p = rest % kh_size
        rest //= kh_size
        j = rest % ow_size
        rest //= ow_size
        i = rest % oh_size
        n = rest // oh_size
        h = i * stride[0] + p - pad[0]
        w = j * stride[1] + q - pad[1]
        if 0 <= h < h_size and 0 <= w < w_size:
            out[e] = x[x_offset + n * sn + h * sh + w * sw + c * sc]
        else:
            out[e] = 0


@cuda.jit(device=True)
def image_coords(e, h_size, w_size, c_size):
    """(n, h, w, c) of element e of a row-major (N, H, W, C) array: an image, or the
    (N, OH, OW, C) grid of pooling windows."""
    c = e % c_size
    rest = e // c_size
    w = rest % w_size
    rest //= w_size
    return rest // h_size, rest % h_size, w, c


@cuda.jit(device=True)
def window_of(x, tap, pad_before, stride, count):
    """The window (output row or column) whose tap `tap` read image coordinate x, or -1:
    window i read x with that tap exactly when i*stride + tap - pad_before == x."""
    start = x + pad_before - tap
    if start < 0 or start % stride != 0 or start // stride >= count:
        return -1
    return start // stride


@cuda.jit
def col2im_gather(cols, cols_offset, image, out_hw, kernel, stride, pad, out):
    """out (N, H, W, C) row-major, cols contiguous (N, OH, OW, KH, KW, C) from cols_offset.

    The adjoint of im2col as a *gather*: one thread per image element sums every
    patch entry that copied it, so no two threads write the same address (no
    atomics, and a deterministic order). Image row h was read by tap p of output row
    i exactly when i*SH + p - top == h, i.e. (h + top - p) is a multiple of SH."""
    h_size, w_size, c_size = image
    oh_size, ow_size = out_hw
    kh_size, kw_size = kernel
    for e in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        n, h, w, c = image_coords(e, h_size, w_size, c_size)
        acc = 0.0
        for p in range(kh_size):
            i = window_of(h, p, pad[0], stride[0], oh_size)
            if i < 0:
                continue
            for q in range(kw_size):
                j = window_of(w, q, pad[1], stride[1], ow_size)
                if j < 0:
                    continue
                acc += cols[cols_offset + ((((n * oh_size + i) * ow_size + j) * kh_size + p)
                                           * kw_size + q) * c_size + c]
        out[e] = acc


@cuda.jit
def maxpool2d_windows(x, x_offset, x_strides, image, out_hw, kernel, stride, values, argmax):
    """values, argmax (N, OH, OW, C) row-major; one thread per output window (no padding).
    values = the window's first maximum; argmax = its row-major flat index into
    x.shape (N, H, W, C), which the backward scatter-adds into."""
    h_size, w_size, c_size = image
    oh_size, ow_size = out_hw
    kh_size, kw_size = kernel
    sn, sh, sw, sc = x_strides
    for e in range(cuda.grid(1), values.shape[0], cuda.gridsize(1)):
        n, i, j, c = image_coords(e, oh_size, ow_size, c_size)     # the window's (n, i, j, c)
        h0, w0 = i * stride[0], j * stride[1]
        best = x[x_offset + n * sn + h0 * sh + w0 * sw + c * sc]
        best_h, best_w = h0, w0
        for p in range(kh_size):
            for q in range(kw_size):
                v = x[x_offset + n * sn + (h0 + p) * sh + (w0 + q) * sw + c * sc]
                if v > best:                      # strict: the first maximum (row-major) wins
                    best, best_h, best_w = v, h0 + p, w0 + q
        values[e] = best
        argmax[e] = ((n * h_size + best_h) * w_size + best_w) * c_size + c


@cuda.jit
def maxpool2d_gather(g, g_offset, argmax, a_offset, image, out_hw, kernel, stride, out):
    """out (N, H, W, C) row-major, g and argmax contiguous (N, OH, OW, C) from their offsets.

    The backward of maxpool2d as a gather, like col2im_gather: one thread per image
    element sums g over the windows that contain it and chose it (argmax == its own flat
    index), so no zeroed output, no atomics, and argmax is only compared, never used as
    an address."""
    h_size, w_size, c_size = image
    oh_size, ow_size = out_hw
    kh_size, kw_size = kernel
    for e in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        n, h, w, c = image_coords(e, h_size, w_size, c_size)
        acc = 0.0
        for p in range(kh_size):
            i = window_of(h, p, 0, stride[0], oh_size)      # pooling has no padding
            if i < 0:
                continue
            for q in range(kw_size):
                j = window_of(w, q, 0, stride[1], ow_size)
                if j < 0:
                    continue
                k = ((n * oh_size + i) * ow_size + j) * c_size + c
                if argmax[a_offset + k] == e:
                    acc += g[g_offset + k]
        out[e] = acc
