"""One training step of a zoo model, compared across devices.

The zoo tests trust the numpy device (the readable reference backend): a model's first
step on the fast device must start from the same weights, give the same loss and move the
weights to the same place.
"""
from typing import NamedTuple

import numpy as np
import pytest

from tinygrad_book.autograd import default_device, set_default_device
from tinygrad_book.nn import clear_session, set_seed


class Step(NamedTuple):
    loss: np.ndarray        # every number train_on_batch returned (loss, metrics)
    start: list             # the weights before the step
    end: list               # the weights after it
    model: object


def one_step(build, x, y, device):
    """Build a model with seed 0 on `device` and train it on one batch (x, y)."""
    before = default_device()
    set_default_device(device)
    try:
        clear_session()
        set_seed(0)
        model = build()
        start = [w.copy() for w in model.get_weights()]
        loss = np.ravel(model.train_on_batch(x, y))
        return Step(loss, start, model.get_weights(), model)
    finally:
        set_default_device(before)


def assert_same_start_and_loss(ref, step, label, loss_rtol=1e-4, rtol=2e-3, atol=2e-5):
    """The two steps start from the same weights and give the same loss, and the reference
    step moves some weight by more than the tolerance the ends are compared with (rtol,
    atol): else "no step at all" would pass the comparison."""
    for a, b in zip(step.start, ref.start):
        np.testing.assert_array_equal(a, b, err_msg=f"{label}: the same starting point")
    np.testing.assert_allclose(step.loss, ref.loss, rtol=loss_rtol, err_msg=f"{label}: loss")
    moved = any(not np.allclose(end, start, rtol=rtol, atol=atol) for end, start in zip(ref.end, ref.start))
    assert moved, f"{label}: the step must change the weights for the comparison to mean anything"


def assert_one_step_matches_the_numpy_device(build, x, y, label, device="cpu",
                                             loss_rtol=1e-4, rtol=2e-3, atol=2e-5):
    """The step on `device` equals the numpy device's step (same start, loss and end).

    atol: RMSprop divides by sqrt(a) + 1e-7, so where a gradient is ~1e-7 float32 rounding
    moves the step by up to ~lr * 1e-3; a wrong gradient moves it by ~lr."""
    ref, step = one_step(build, x, y, "numpy"), one_step(build, x, y, device)
    assert_same_start_and_loss(ref, step, label, loss_rtol, rtol, atol)
    for i, (a, b) in enumerate(zip(step.end, ref.end)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{label}: weight {i}")


def assert_steps_lower_the_loss(build, x, y, steps, label):
    """A few steps on one batch lower that batch's loss (evaluated without dropout's noise)."""
    set_seed(0)
    model = build()
    loss = lambda: float(np.atleast_1d(model.evaluate(x, y, verbose=0))[0])  # noqa: E731
    before = loss()
    for _ in range(steps):
        model.train_on_batch(x, y)
    assert loss() < before, f"{label}: {steps} steps on one batch did not lower its loss"


def step_tests(cases, steps):
    """The two tests each chapter runs on its ``cases`` ({entry id: (builder, x, y)}): one step
    matches the numpy device, and ``steps`` steps on the batch lower its loss. A module assigns
    the pair to names starting with ``test_`` so that pytest collects them."""
    @pytest.mark.parametrize("entry_id", list(cases))
    def test_one_step_matches_the_numpy_device(entry_id):
        build, x, y = cases[entry_id]
        assert_one_step_matches_the_numpy_device(build, x, y, entry_id)

    @pytest.mark.parametrize("entry_id", list(cases))
    def test_steps_on_one_batch_lower_the_loss(entry_id):
        build, x, y = cases[entry_id]
        assert_steps_lower_the_loss(build, x, y, steps, entry_id)

    return test_one_step_matches_the_numpy_device, test_steps_on_one_batch_lower_the_loss
