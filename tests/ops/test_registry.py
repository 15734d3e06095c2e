"""Every registered op, on every device, against six properties.

Each example draws a seed and the input shapes (from the spec's `dims`, with size-1
and broadcast axes among them), so hypothesis explores shapes and shrinks a failure
to the smallest one.

1. forward equals the numpy reference (float32 and float64 tolerances);
2. backward equals central differences for every element (float64, random cotangent);
3. broadcasting: binary ops on numpy-broadcastable shape pairs, values and gradients;
4. non-contiguous inputs (permuted and sliced views) give the same values and gradients;
5. repeated inputs f(x, x): gradients from both uses add up;
6. inputs are not mutated by forward or backward.
"""
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_book import Tensor, gradcheck
from tinygrad_book.autograd.registry import REGISTRY, draw_shapes, sample_inputs

from ..conftest import DEVICES, fewer_examples

SPECS = list(REGISTRY.values())
DIFFERENTIABLE = [s for s in SPECS if s.differentiable]
BROADCASTING = [s for s in SPECS if s.broadcast]
REPEATABLE = [s for s in DIFFERENTIABLE if s.arity >= 2 and len(set(s.shapes)) == 1]

seeds = st.integers(0, 2**31 - 1)


def drawn_inputs(spec, data, seed, dtype=np.float64):
    """Shapes drawn from the spec's pattern, then values from the seed."""
    shapes = draw_shapes(spec, lambda name, low, high: data.draw(st.integers(low, high), label=name))
    return sample_inputs(spec, np.random.default_rng(seed), shapes=shapes, dtype=dtype)

# In the CUDA simulator (about a thousand threads a second) the central differences'
# many forward passes run on the numpy backend; backward still runs on the device.
NUMERIC_DEVICE = os.environ.get("TINYGRAD_BOOK_NUMERIC_DEVICE") or None


def ids(specs):
    return [s.name for s in specs]


def tensors(arrays, device, dtype=np.float64, requires_grad=False):
    return [Tensor(a, dtype=dtype, device=device, requires_grad=requires_grad) for a in arrays]


def assert_grads_match(spec, results):
    rtol, atol = spec.grad_tol
    for i, r in enumerate(results):
        if r is not None:
            np.testing.assert_allclose(r.analytic, r.numeric, rtol=rtol, atol=atol,
                                       err_msg=f"{spec.name}: gradient of input {i}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
@given(data=st.data(), seed=seeds)
def test_forward_matches_reference(spec, dtype, device, data, seed):
    arrays = drawn_inputs(spec, data, seed, dtype)
    out = spec.fn(*tensors(arrays, device, dtype))
    expected = spec.ref(*arrays)
    assert out.shape == np.shape(expected), f"{spec.name}: shape {out.shape} vs {np.shape(expected)}"
    if spec.differentiable and spec.name != "astype":   # a float op keeps its inputs' float type
        assert out.dtype == np.dtype(dtype), f"{spec.name}: {dtype.__name__} inputs gave {out.dtype}"
    rtol, atol = spec.tol32 if dtype == np.float32 else spec.tol64
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=atol, err_msg=spec.name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=ids(DIFFERENTIABLE))
@given(data=st.data(), seed=seeds)
def test_backward_matches_central_differences(spec, device, data, seed):
    arrays = drawn_inputs(spec, data, seed)
    results = gradcheck(spec.fn, *tensors(arrays, device, requires_grad=True), seed=seed, eps=spec.eps, numeric_device=NUMERIC_DEVICE)
    assert_grads_match(spec, results)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", BROADCASTING, ids=ids(BROADCASTING))
@given(data=st.data(), seed=seeds)
def test_broadcasting(spec, device, data, seed):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)).input_shapes
    arrays = sample_inputs(spec, np.random.default_rng(seed), shapes=shapes)
    out = spec.fn(*tensors(arrays, device))
    np.testing.assert_allclose(out.numpy(), spec.ref(*arrays), rtol=1e-10, atol=1e-12, err_msg=spec.name)
    if spec.differentiable:
        results = gradcheck(spec.fn, *tensors(arrays, device, requires_grad=True), seed=seed, eps=spec.eps, numeric_device=NUMERIC_DEVICE)
        assert_grads_match(spec, results)
        for r, a in zip(results, arrays):
            assert r.analytic.shape == a.shape   # the sum-reduction undid the broadcast


def non_contiguous(array, device, how):
    """The same values as `array`, seen through a permuted or a sliced view."""
    if how == "permuted":
        base = Tensor(np.ascontiguousarray(array.T), dtype=array.dtype, device=device)
        return base.T
    padded = np.zeros(tuple(2 * d + 1 for d in array.shape), dtype=array.dtype)
    padded[tuple(slice(1, None, 2) for _ in array.shape)] = array
    base = Tensor(padded, dtype=array.dtype, device=device)
    return base[tuple(slice(1, None, 2) for _ in array.shape)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("how", ["permuted", "sliced"])
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
@fewer_examples(0.5)              # two layouts: half the profile's examples each
@given(data=st.data(), seed=seeds)
def test_non_contiguous_inputs(spec, how, device, data, seed):
    arrays = drawn_inputs(spec, data, seed)
    views = [non_contiguous(a, device, how) for a in arrays]
    if how == "sliced":
        assert not any(v.is_contiguous() for v in views if v.size > 1)
    np.testing.assert_allclose(spec.fn(*views).numpy(), spec.ref(*arrays), rtol=1e-10, atol=1e-12)
    if spec.differentiable:
        leaves = tensors(arrays, device, requires_grad=True)

        def through_views(*xs):  # the op sees views; gradcheck perturbs the leaves
            return spec.fn(*[x.T.contiguous().T if how == "permuted" else x.pad([(1, 1)] * x.ndim)[
                tuple(slice(1, -1) for _ in x.shape)] for x in xs])
        assert_grads_match(spec, gradcheck(through_views, *leaves, seed=seed, eps=spec.eps, numeric_device=NUMERIC_DEVICE))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", REPEATABLE, ids=ids(REPEATABLE))
@given(data=st.data(), seed=seeds)
def test_repeated_input(spec, device, data, seed):
    x = drawn_inputs(spec, data, seed)[0]
    results = gradcheck(lambda t: spec.fn(*[t] * spec.arity), *tensors([x], device, requires_grad=True), seed=seed, eps=spec.eps, numeric_device=NUMERIC_DEVICE)
    assert_grads_match(spec, results)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_inputs_not_mutated(spec, device):
    arrays = sample_inputs(spec, np.random.default_rng(1))
    inputs = tensors(arrays, device, requires_grad=spec.differentiable)
    out = spec.fn(*inputs)
    if spec.differentiable:
        out.backward(Tensor(np.ones(out.shape), dtype=out.dtype, device=device))
    for t, a in zip(inputs, arrays):
        np.testing.assert_array_equal(t.numpy(), a, err_msg=f"{spec.name} changed its input")
