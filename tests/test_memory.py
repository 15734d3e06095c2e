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
