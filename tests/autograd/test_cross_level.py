"""The two engines agree: on small random expressions, the scalar engine (one
number at a time) and the tensor engine (whole arrays) give the same values and
the same gradients."""
import numpy as np
from hypothesis import given, strategies as st

from tinygrad_book import Scalar, Tensor

from ..conftest import DEVICES

UNARY = ["exp", "tanh", "sigmoid", "relu", "neg"]
BINARY = ["add", "sub", "mul", "div"]


def expression(ops):
    """Turn a drawn recipe into a function usable on Scalars and on Tensors alike."""
    def f(a, b):
        x, y = a, b
        for kind, name in ops:
            if kind == "u":
                x = -x if name == "neg" else getattr(x, name)()
            elif name == "add":
                x = x + y
            elif name == "sub":
                x = x - y * 0.5
            elif name == "mul":
                x = x * y
            else:
                x = x / (y * y + 1.0)
            x, y = y, x
        return x * 0.7 + y
    return f


recipes = st.lists(st.one_of(st.tuples(st.just("u"), st.sampled_from(UNARY)),
                             st.tuples(st.just("b"), st.sampled_from(BINARY))), min_size=1, max_size=6)


@given(ops=recipes, seed=st.integers(0, 10_000))
def test_scalar_and_tensor_engines_agree(ops, seed):
    f = expression(ops)
    rng = np.random.default_rng(seed)
    a_vals = rng.uniform(-1.5, 1.5, 4)
    b_vals = rng.uniform(-1.5, 1.5, 4)
    for device in DEVICES:
        a = Tensor(a_vals, dtype="float64", requires_grad=True, device=device)
        b = Tensor(b_vals, dtype="float64", requires_grad=True, device=device)
        out = f(a, b)
        out.sum().backward()
        for i in range(4):
            sa, sb = Scalar(a_vals[i]), Scalar(b_vals[i])
            s_out = f(sa, sb)
            s_out.backward()
            np.testing.assert_allclose(out.numpy()[i], s_out.data, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(a.grad.numpy()[i], sa.grad, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(b.grad.numpy()[i], sb.grad, rtol=1e-10, atol=1e-12)
