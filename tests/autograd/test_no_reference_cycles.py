"""The graph a step builds is freed by reference counting alone, the moment the step's
last reference goes: no op may put a tensor in a reference cycle.

A Function that saved its own output (sigmoid, exp, a fused Dense + ReLU ...) made the
cycle output -> Function -> output. Python frees cycles only when its cyclic collector
runs, and that collector counts objects, not bytes: the book's cats-vs-dogs convnet
(listing 5.5, 150x150 images) grew by ~100 MB a step and was killed for memory after 12
epochs. Now a saved output is a detached alias (autograd/function.py).
"""
import gc

import numpy as np
import pytest

from tinygrad_book import Tensor, layers, models
from tinygrad_book.autograd.function import Function
from tinygrad_book.autograd.registry import REGISTRY, sample_inputs

DIFFERENTIABLE = [s for s in REGISTRY.values() if s.differentiable]


def graph_objects_in_cycles(run):
    """Tensors and Functions that only the cyclic collector would free after run()."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        found = [type(o).__name__ for o in gc.garbage if isinstance(o, (Tensor, Function))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return found


@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=[s.name for s in DIFFERENTIABLE])
def test_no_op_makes_a_reference_cycle(spec):
    arrays = sample_inputs(spec, np.random.default_rng(0))

    def forward_and_backward():
        inputs = [Tensor(a, dtype=np.float64, device="numpy", requires_grad=True) for a in arrays]
        out = spec.fn(*inputs)
        (out * out).sum().backward()

    assert graph_objects_in_cycles(forward_and_backward) == []


def test_a_training_step_leaves_nothing_for_the_cyclic_collector():
    model = models.Sequential([layers.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
                               layers.MaxPooling2D((2, 2)), layers.Flatten(),
                               layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["acc"])
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 8, 8, 1), dtype=np.float32), (rng.random(6) > 0.5).astype(np.float32)
    model.train_on_batch(x, y)                       # builds and compiles outside the check
    assert graph_objects_in_cycles(lambda: model.train_on_batch(x, y)) == []
