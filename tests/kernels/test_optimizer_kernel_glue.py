"""kernels/cpu/optim.update, the glue between the optimizers and the fused kernels: each
rule hands its kernel every hyperparameter, in the kernel's order and in the weights' own
dtype (float32 weights get float32 arithmetic, and one compiled kernel per dtype). Found by
mutation testing: a float64 scalar, or a flush threshold lost on the way, changes the
update only by rounding or in rare cases, which the value tests do not see.
"""
import numpy as np
import pytest

from tinygrad_book.kernels.cpu import optim

HYPER = {"lr": 0.01, "lr_t": 0.02, "momentum": 0.9, "nesterov": True, "rho": 0.9, "epsilon": 1e-7,
         "flush_below": 1e-30, "beta_1": 0.8, "beta_2": 0.95, "amsgrad": False}
# the scalars each kernel takes after its arrays, in order
SCALARS = {"sgd": ["lr", "momentum"],
           "rmsprop": ["lr", "rho", "1-rho", "epsilon", "flush_below"],
           "adagrad": ["lr", "epsilon"],
           "adam": ["lr_t", "beta_1", "1-beta_1", "beta_2", "1-beta_2", "epsilon", "flush_below"]}
SLOTS = {"sgd": 1, "rmsprop": 1, "adagrad": 1, "adam": 2}


def expected(name):
    if name.startswith("1-"):
        return 1.0 - HYPER[name[2:]]
    return HYPER[name]


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(optim, "run", lambda kernel, work, *args: seen.append((kernel, work, args)))
    return seen


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", list(SCALARS))
def test_every_hyperparameter_reaches_the_kernel_in_the_weights_dtype(calls, rule, dtype):
    p, g = np.ones(5, dtype), np.ones(5, dtype)
    slots = [np.zeros(5, dtype) for _ in range(SLOTS[rule])]
    optim.update(rule, p, g, slots, HYPER)
    (kernel, work, args), = calls
    assert kernel is getattr(optim, f"{rule}_update") and work == p.size
    n_arrays = {"sgd": 3, "rmsprop": 3, "adagrad": 3, "adam": 5}[rule]
    assert args[0] is p and args[1] is g
    scalars = args[n_arrays:n_arrays + len(SCALARS[rule])]
    for name, value in zip(SCALARS[rule], scalars):
        assert type(value) is np.dtype(dtype).type, f"{rule}: {name} is {type(value).__name__}"
        assert value == dtype(expected(name)), f"{rule}: {name}"
    flags = args[n_arrays + len(SCALARS[rule]):]
    assert flags == {"sgd": (True,), "adam": (False,)}.get(rule, ())


def test_scalars_take_the_given_dtype():
    assert [type(v) for v in optim.scalars(np.float32, 0.1, 2)] == [np.float32, np.float32]
    assert optim.scalars(np.float64, 0.1) == (0.1,) and type(optim.scalars(np.float64, 0.1)[0]) is np.float64


def test_an_unknown_rule_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown optimizer rule 'adadelta'"):
        optim.update("adadelta", np.ones(2), np.ones(2), [], HYPER)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_gets_its_running_maximum_only_with_amsgrad(calls, amsgrad):
    p, g = np.ones(3), np.ones(3)
    m, v, vmax = np.zeros(3), np.zeros(3), np.zeros(3)
    optim.update("adam", p, g, [m, v, vmax] if amsgrad else [m, v], {**HYPER, "amsgrad": amsgrad})
    (_, _, args), = calls
    assert args[2] is m and args[3] is v and args[4] is (vmax if amsgrad else v) and args[-1] is amsgrad


def test_sgd_without_momentum_needs_no_slot(calls):
    p, g = np.ones(3), np.ones(3)
    optim.update("sgd", p, g, [], {**HYPER, "momentum": 0.0, "nesterov": False})
    (_, _, args), = calls
    assert args[2] is g and args[4] == 0.0 and args[5] is False
