"""The registry is complete: an op nobody registered is an op nobody checks."""
import inspect

import numpy as np

from tinygrad_book import Tensor
from tinygrad_book.autograd import functional as F
from tinygrad_book.autograd.registry import DRAWN_SIZE, NOT_OPS, REGISTRY, draw_shapes

COVERED = {name for spec in REGISTRY.values() for name in spec.covers}


def tensor_ops():
    names = set()
    for name, _ in inspect.getmembers(Tensor):
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        if name.startswith("__") and name not in _DUNDER_OPS:
            continue
        if name not in NOT_OPS:
            names.add(name)
    return names


_DUNDER_OPS = {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
               "__rtruediv__", "__pow__", "__rpow__", "__neg__", "__matmul__", "__rmatmul__",
               "__getitem__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}


def test_every_tensor_op_is_registered():
    missing = sorted(tensor_ops() - COVERED)
    assert not missing, f"Tensor ops without a registry entry: {missing}"


def test_every_functional_op_is_registered():
    public = {f"F.{name}" for name, obj in vars(F).items()
              if inspect.isfunction(obj) and obj.__module__ == F.__name__ and not name.startswith("_")}
    missing = sorted(public - COVERED)
    assert not missing, f"functional ops without a registry entry: {missing}"


def test_every_spec_is_complete():
    for spec in REGISTRY.values():
        assert callable(spec.fn) and callable(spec.ref), spec.name
        assert spec.shapes and all(isinstance(s, tuple) for s in spec.shapes), spec.name
        assert len(spec.tol32) == 2 and len(spec.tol64) == 2 and len(spec.grad_tol) == 2, spec.name
        assert spec.domain in ("real", "positive", "nonzero", "away_from_kinks"), spec.name
        assert spec.covers, f"{spec.name} says which ops it covers"


def test_non_differentiable_ops_are_exactly_the_comparisons_sign_and_argmax():
    nondiff = {s.name for s in REGISTRY.values() if not s.differentiable}
    assert nondiff == {"eq", "ne", "lt", "le", "gt", "ge", "sign", "argmax"}


def test_meta_test_would_catch_a_new_op(monkeypatch):
    monkeypatch.setattr(Tensor, "cube", lambda self: self * self * self, raising=False)
    assert "cube" in tensor_ops() - COVERED


def test_registry_references_are_real_numpy():
    x = np.linspace(0.5, 2, 6).reshape(2, 3)
    assert np.allclose(REGISTRY["log"].ref(x), np.log(x))


def _example_fits_pattern(spec):
    """The spec's example shapes are one draw of its `dims` pattern."""
    inputs = [axes.split() for axes in spec.dims.split(",")]
    if len(inputs) != len(spec.shapes):
        return False
    bound = {}
    for tokens, shape in zip(inputs, spec.shapes):
        if len(tokens) != len(shape):
            return False
        for token, n in zip(tokens, shape):
            def fits(option):
                if option.isdigit():
                    return int(option) == n
                low, high = spec.sizes.get(option, DRAWN_SIZE)
                return low <= n <= high and bound.setdefault(option, n) == n
            if not any(fits(o) for o in token.split("|")):
                return False
    return True


def test_every_spec_says_how_its_shapes_are_drawn():
    for spec in REGISTRY.values():
        assert spec.dims, f"{spec.name}: declare dims=, how tests draw its shapes (e.g. dims=\"a b\")"
        assert _example_fits_pattern(spec), f"{spec.name}: example shapes {spec.shapes} do not fit dims {spec.dims!r}"
        letters = {o for t in spec.dims.replace(",", " ").split() for o in t.split("|") if not o.isdigit()}
        assert set(spec.sizes) <= letters, f"{spec.name}: sizes for letters not in dims: {set(spec.sizes) - letters}"


def test_drawn_shapes_include_size_one_and_broadcast_axes():
    smallest = {name: draw_shapes(spec, lambda _, low, high: low) for name, spec in REGISTRY.items()}
    largest = {name: draw_shapes(spec, lambda _, low, high: high) for name, spec in REGISTRY.items()}
    assert smallest["neg"] == [(1, 1)] and largest["neg"] == [(4, 4)]
    assert smallest["add"] == [(1, 1), (1, 1)] and largest["add"] == [(4, 4), (4, 4)]
    assert draw_shapes(REGISTRY["add"], lambda name, low, high: low if name.endswith("?") else 3) == [(1, 3), (3, 1)]
    assert largest["matmul"] == [(5, 6), (6, 5)] and smallest["conv2d_valid"][0][1] == 3
