"""utils.memory: glibc malloc settings for training processes."""
import sys

import pytest

from tinygrad_book.utils import memory


class FakeLibc:
    def __init__(self, answer=1):
        self.calls, self.answer = [], answer

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return self.answer


def test_it_sets_both_thresholds():
    libc = FakeLibc()
    assert memory.keep_freed_memory(1 << 20, libc=libc) is True
    assert libc.calls == [(memory.M_MMAP_THRESHOLD, 1 << 20), (memory.M_TRIM_THRESHOLD, 1 << 20)]


def test_a_refusal_or_no_glibc_reports_false():
    assert memory.keep_freed_memory(libc=FakeLibc(answer=0)) is False
    assert memory.keep_freed_memory(libc=object()) is False      # no mallopt: not glibc


def test_the_switch_turns_it_off(monkeypatch):
    called = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda *a, **k: called.append(1) or True)
    monkeypatch.setenv("TINYGRAD_BOOK_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory_unless_disabled() is False and called == []
    monkeypatch.setenv("TINYGRAD_BOOK_KEEP_FREED_MEMORY", "1")
    assert memory.keep_freed_memory_unless_disabled() is True and called == [1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_this_linux_glibc_accepts_it():
    assert memory.keep_freed_memory() is True


def test_the_command_line_applies_it(monkeypatch, capsys):
    from tinygrad_book import cli
    called = []
    monkeypatch.setattr(memory, "keep_freed_memory_unless_disabled", lambda: called.append(1) or True)
    assert cli.main(["zoo", "list"]) == 0
    assert called == [1]


def test_for_training_applies_it_once_per_process(monkeypatch):
    called = []
    monkeypatch.setattr(memory, "keep_freed_memory_unless_disabled", lambda: called.append(1) or True)
    memory.for_training.cache_clear()
    try:
        assert memory.for_training() is True and memory.for_training() is True
        assert called == [1]
    finally:
        memory.for_training.cache_clear()


def test_for_training_honours_the_switch(monkeypatch):
    libc_calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda *a, **k: libc_calls.append(1) or True)
    monkeypatch.setenv("TINYGRAD_BOOK_KEEP_FREED_MEMORY", "0")
    memory.for_training.cache_clear()
    try:
        assert memory.for_training() is False and libc_calls == []
    finally:
        memory.for_training.cache_clear()


@pytest.mark.parametrize("how", ["fit", "fit_generator", "train_on_batch"])
def test_training_applies_it_before_the_first_step(monkeypatch, how):
    """fit, fit_generator and train_on_batch call for_training before any step runs (the
    spy records how many optimizer steps had been taken when it was called: none)."""
    import numpy as np
    from tinygrad_book import layers, models
    from tinygrad_book.nn import training
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    steps_at_call = []
    monkeypatch.setattr(training, "keep_freed_memory_for_training",
                        lambda: steps_at_call.append(model.optimizer.iterations) or True)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    if how == "fit":
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    elif how == "fit_generator":
        model.fit_generator(iter([(x, y)] * 2), steps_per_epoch=2, epochs=1, verbose=0)
    else:
        model.train_on_batch(x, y)
    assert len(steps_at_call) == 1 and int(steps_at_call[0]) == 0
