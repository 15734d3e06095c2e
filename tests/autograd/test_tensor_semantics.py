"""What backward, grad, no_grad, detach, views and errors mean, pinned down."""
import numpy as np
import pytest

from tinygrad_book import Tensor, no_grad
from tinygrad_book.autograd import functional as F

from ..conftest import DEVICES


@pytest.fixture(params=DEVICES)
def dev(request):
    return request.param


def test_gradients_accumulate_on_leaves_until_zeroed(dev):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, device=dev)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())   # backward twice = 2x
    x.zero_grad()
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3, 3])


def test_backward_twice_through_the_same_graph_doubles(dev):
    x = Tensor([[1.0, -2.0]], requires_grad=True, device=dev)
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_non_scalar_backward_needs_a_gradient(dev):
    x = Tensor(np.ones((2, 3)), requires_grad=True, device=dev)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*grad="):
        (x * 2).backward()
    (x * 2).backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_no_grad_records_nothing(dev):
    x = Tensor([1.0], requires_grad=True, device=dev)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph(dev):
    x = Tensor([2.0], requires_grad=True, device=dev)
    y = x * x.detach()          # d/dx = x (only the first factor is differentiated)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_intermediate_gradients_are_not_kept(dev):
    x = Tensor([1.0, 2.0], requires_grad=True, device=dev)
    h = x * 2
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_views_share_storage_and_copy_only_when_needed(dev):
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), device=dev)
    t = x.transpose((2, 0, 1))
    assert t.view.storage is x.view.storage and t.strides == (1, 12, 4)
    e = Tensor(np.arange(3.0), device=dev).reshape(3, 1).expand((3, 5))
    assert e.strides == (1, 0)                       # broadcast: stride 0, no copy
    s = x[1:, :, 2]
    assert s.view.storage is x.view.storage and s.offset == 14 and s.shape == (1, 3)
    np.testing.assert_array_equal(s.numpy(), x.numpy()[1:, :, 2])
    r = x.reshape(6, 4)
    assert r.view.storage is x.view.storage          # contiguous: reshape is a view
    rt = t.reshape(4, 6)                             # permuted: reshape must copy
    assert rt.view.storage is not x.view.storage
    np.testing.assert_array_equal(rt.numpy(), x.numpy().transpose(2, 0, 1).reshape(4, 6))
    u = x.unsqueeze(0).squeeze(0)
    assert u.view.storage is x.view.storage and u.shape == x.shape


def test_dtypes(dev):
    assert Tensor([1.0]).dtype == np.float32
    assert Tensor(np.ones(2, np.float64)).dtype == np.float32       # Keras' floatx
    assert Tensor(np.ones(2), dtype="float64").dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    a = Tensor([1.0], device=dev) + Tensor([1.0], dtype="float64", device=dev)
    assert a.dtype == np.float64
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], requires_grad=True)


def test_a_gradient_has_the_dtype_of_its_tensor_across_a_cast(dev):
    x = Tensor([1.0, 2.0], requires_grad=True, device=dev)          # float32
    (x.astype("float64") * Tensor([3.0, 4.0], dtype="float64", device=dev)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_error_messages_name_the_op_and_both_shapes(dev):
    a = Tensor(np.ones((2, 3)), device=dev)
    b = Tensor(np.ones((4, 3)), device=dev)
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4, 3\)"):
        a + b
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(4, 3\)"):
        a * b
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 3\) do not align"):
        a @ b
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        a.reshape(4, 2)
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels but the kernel expects 2"):
        F.conv2d(Tensor(np.ones((1, 4, 4, 3)), device=dev), Tensor(np.ones((2, 2, 2, 5)), device=dev))
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 2"):
        a[5]


def test_mixing_devices_is_an_error_naming_both():
    if len(DEVICES) < 2:
        pytest.skip("needs two devices in this test process")
    a = Tensor([1.0], device=DEVICES[0])
    b = Tensor([1.0], device=DEVICES[1])
    with pytest.raises(ValueError, match=f"different devices: '{DEVICES[0]}' and '{DEVICES[1]}'"):
        a + b


def test_softmax_and_cross_entropy_are_stable_for_large_logits(dev):
    z = Tensor([[1000.0, 0.0, -1000.0], [5e4, 5e4, 0.0]], requires_grad=True, device=dev)
    p = F.softmax(z).numpy()
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    loss = F.cross_entropy(z, [0, 1])
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), np.log(2) / 2, rtol=1e-5)
    assert np.isfinite(F.log_softmax(z).numpy()).all()


def test_item_and_numpy_round_trip(dev):
    x = Tensor(np.arange(6).reshape(2, 3), dtype="float64", device=dev)
    assert x[1, 2].item() == 5.0
    np.testing.assert_array_equal(x.numpy(), np.arange(6).reshape(2, 3))
    with pytest.raises(ValueError, match="one element"):
        x.item()


def test_backward_skips_gradients_nobody_asked_for(dev):
    x = Tensor(np.arange(6.0).reshape(2, 3), device=dev)                 # data: no gradient wanted
    w = Tensor(np.ones((3, 4)), requires_grad=True, device=dev)
    y = x @ w
    matmul_node = y._ctx.parents[0]._ctx                                 # (1,2,3) @ (1,3,4) under reshapes
    assert matmul_node.needs_input_grad == (False, True)
    assert matmul_node.backward(Tensor(np.ones((1, 2, 4)), device=dev))[0] is None
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.repeat(x.numpy().sum(axis=0)[:, None], 4, axis=1))
    img = Tensor(np.random.default_rng(0).standard_normal((1, 5, 5, 2)), device=dev)
    k = Tensor(np.ones((3, 3, 2, 1)), requires_grad=True, device=dev)
    out = F.conv2d(img, k)
    assert out._ctx.backward(Tensor(np.ones(out.shape), device=dev))[0] is None


@pytest.mark.parametrize("make", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
                                  lambda a, b: a.maximum(b), lambda a, b: a.minimum(b), lambda a, b: a ** b],
                         ids=["add", "sub", "mul", "div", "maximum", "minimum", "pow"])
def test_every_binary_op_skips_the_gradient_of_an_input_that_needs_none(make, dev):
    r = np.random.default_rng(3)
    for want in ((True, False), (False, True)):
        a = Tensor(r.uniform(0.5, 2, (2, 3)), requires_grad=want[0], dtype="float64", device=dev)
        b = Tensor(r.uniform(0.5, 2, (2, 3)), requires_grad=want[1], dtype="float64", device=dev)
        grads = make(a, b)._ctx.backward(Tensor(np.ones((2, 3)), device=dev))
        assert [g is not None for g in grads] == list(want)


def test_where_skips_the_gradient_of_a_branch_that_needs_none(dev):
    cond = Tensor(np.array([1.0, 0.0, 1.0]), device=dev)
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, device=dev)
    b = Tensor(np.array([4.0, 5.0, 6.0]), device=dev)
    grads = cond.where(a, b)._ctx.backward(Tensor(np.ones(3), device=dev))
    assert grads[0] is None and grads[2] is None
    np.testing.assert_array_equal(grads[1].numpy(), [1.0, 0.0, 1.0])


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_are_tensor_methods(axis, dev):
    z = np.random.default_rng(4).standard_normal((3, 4)) * 30            # large: the shift matters
    x = Tensor(z, requires_grad=True, dtype="float64", device=dev)
    shifted = z - z.max(axis=axis, keepdims=True)
    expected_log = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(x.log_softmax(axis).numpy(), expected_log, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.softmax(axis).numpy(), np.exp(expected_log), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.softmax(x, axis).numpy(), x.softmax(axis).numpy(), rtol=0)
    cotangent = np.random.default_rng(5).standard_normal(z.shape)
    x.log_softmax(axis).backward(Tensor(cotangent, dtype="float64", device=dev))
    # d log_softmax: g - softmax * sum(g) along the axis
    expected = cotangent - np.exp(expected_log) * cotangent.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
