"""im2col, col2im (adjoint) and maxpool2d on NHWC images."""
import numpy as np
import pytest

from tinygrad_book.kernels.base import View, contiguous_strides

from .views import check, make, pair

DTYPES = [np.float32, np.float64]
# image (N, H, W, C), kernel, stride, pads (top, bottom, left, right). Together they
# pad every side, alone and with stride 2 on both axes: a kernel that gets one bound
# wrong (h <= H instead of h < H) reads the next image's first row, or, after the
# last image, the NaN sentinels that follow every storage (views.py).
GEOMETRIES = [
    ((1, 5, 6, 2), (3, 2), (2, 1), (1, 0, 1, 1)),
    ((2, 4, 5, 1), (2, 2), (1, 1), (0, 0, 0, 0)),
    ((2, 5, 6, 2), (3, 3), (2, 2), (1, 2, 1, 2)),     # more padding at the bottom and right
    ((2, 4, 4, 1), (2, 2), (2, 2), (0, 1, 0, 1)),     # bottom and right only
    ((1, 3, 5, 2), (2, 3), (1, 2), (1, 1, 2, 1)),     # every side, uneven
]


def cols_shape(image, kernel, stride, pads):
    n, h, w, c = image
    oh = (h + pads[0] + pads[1] - kernel[0]) // stride[0] + 1
    ow = (w + pads[2] + pads[3] - kernel[1]) // stride[1] + 1
    return (n, oh, ow, kernel[0], kernel[1], c)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("image,kernel,stride,pads", GEOMETRIES)
def test_im2col(rng, cuda_backend, ref, image, kernel, stride, pads, dtype):
    r, c = make(rng, cuda_backend, image, "offset", dtype)
    check(cuda_backend, ref, cuda_backend.im2col(c, kernel, stride, pads),
          ref.im2col(r, kernel, stride, pads), cols_shape(image, kernel, stride, pads), dtype)


@pytest.mark.parametrize("image,kernel,stride,pads", GEOMETRIES[2:4])
def test_im2col_of_a_strided_image(rng, cuda_backend, ref, image, kernel, stride, pads):
    r, c = make(rng, cuda_backend, image, "transposed", np.float64)
    check(cuda_backend, ref, cuda_backend.im2col(c, kernel, stride, pads),
          ref.im2col(r, kernel, stride, pads), cols_shape(image, kernel, stride, pads))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("image,kernel,stride,pads", GEOMETRIES)
def test_col2im(rng, cuda_backend, ref, image, kernel, stride, pads, dtype):
    shape = cols_shape(image, kernel, stride, pads)
    r, c = make(rng, cuda_backend, shape, "offset", dtype)
    check(cuda_backend, ref, cuda_backend.col2im(c, image, kernel, stride, pads),
          ref.col2im(r, image, kernel, stride, pads), image, dtype)


@pytest.mark.parametrize("image,kernel,stride,pads", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(rng, cuda_backend, image, kernel, stride, pads):
    """<im2col(x), y> == <x, col2im(y)> for random x, y."""
    shape = cols_shape(image, kernel, stride, pads)
    x, y = rng.normal(size=image), rng.normal(size=shape)
    xv = View(cuda_backend.from_numpy(x), image, contiguous_strides(image), 0)
    yv = View(cuda_backend.from_numpy(y), shape, contiguous_strides(shape), 0)
    cols = cuda_backend.im2col(xv, kernel, stride, pads).copy_to_host()
    img = cuda_backend.col2im(yv, image, kernel, stride, pads).copy_to_host()
    np.testing.assert_allclose(cols @ y.reshape(-1), x.reshape(-1) @ img, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride", [((2, 2), (2, 2)), ((3, 2), (1, 2))])
def test_maxpool2d_values_and_argmax_with_ties(rng, cuda_backend, ref, kernel, stride, dtype):
    image = (2, 5, 6, 3)
    host = rng.integers(0, 4, size=int(np.prod(image))).astype(dtype)   # ties: the first wins
    r, c = pair(cuda_backend, host, image, contiguous_strides(image), 0)
    values, argmax = cuda_backend.maxpool2d(c, kernel, stride)
    want_values, want_argmax = ref.maxpool2d(r, kernel, stride)
    n, h, w, ch = image
    out = (n, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1, ch)
    check(cuda_backend, ref, values, want_values, out, dtype)
    check(cuda_backend, ref, argmax, want_argmax, out, np.int64)


def test_maxpool2d_of_a_strided_image(rng, cuda_backend, ref):
    r, c = make(rng, cuda_backend, (1, 4, 5, 2), "sliced", np.float32)
    values, argmax = cuda_backend.maxpool2d(c, (2, 2), (2, 2))
    want_values, want_argmax = ref.maxpool2d(r, (2, 2), (2, 2))
    check(cuda_backend, ref, values, want_values, (1, 2, 2, 2))
    check(cuda_backend, ref, argmax, want_argmax, (1, 2, 2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride", [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((2, 2), (3, 3))])
@pytest.mark.parametrize("kind", ["offset", "transposed"])
def test_maxpool2d_backward_gathers_each_gradient_at_its_argmax(rng, cuda_backend, ref, kernel, stride, kind,
                                                                dtype):
    """Overlapping windows (3 x 2, stride 1 down), the zoo's 2 x 2, and windows that skip
    rows and columns (their inputs get 0). Integer images with ties and integer gradients:
    the sums are exact. g is a strided view (offset or transposed, sentinels in its gaps)."""
    image = (2, 7, 8, 3)
    host = rng.integers(0, 4, size=int(np.prod(image))).astype(dtype)
    r, c = pair(cuda_backend, host, image, contiguous_strides(image), 0)
    _, want_argmax = ref.maxpool2d(r, kernel, stride)
    _, argmax = cuda_backend.maxpool2d(c, kernel, stride)
    n, h, w, ch = image
    pooled = (n, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1, ch)
    rg, cg = make(rng, cuda_backend, pooled, kind, dtype, low=-4, high=4)
    rg = View(np.round(rg.storage), rg.shape, rg.strides, rg.offset)
    cg = View(cuda_backend.from_numpy(rg.storage), cg.shape, cg.strides, cg.offset)
    got = cuda_backend.maxpool2d_backward(cg, View(argmax, pooled, contiguous_strides(pooled), 0), image,
                                          kernel, stride)
    want = ref.maxpool2d_backward(rg, View(want_argmax, pooled, contiguous_strides(pooled), 0), image,
                                  kernel, stride)
    check(cuda_backend, ref, got, want, image, dtype)
