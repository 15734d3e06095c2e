"""Keep freed memory for the next allocation: glibc malloc settings for training processes.

Every step of `fit` allocates the same large arrays again (im2col's columns, a layer's
output, its gradient) and frees them. glibc's malloc serves large requests with fresh
pages from the kernel (mmap) and hands freed ones back, so the next step's arrays start as
untouched pages, and touching a page costs a page fault. Measured (MNIST convnet, 20-step
slices, AMD EPYC Zen 4 VM, issue 12's ninth round): im2col of conv2 took 1.6 ms inside
training and 0.3 ms on a warm buffer; a slice took 0.62-0.66 s, and 0.41-0.43 s with
`keep_freed_memory()` (PyTorch in the same process: 0.61-0.67 -> 0.44-0.46 s: it allocates
through the same malloc).

Issue 12's tenth round, the same slices with and without it, each against PyTorch in the
same process: MNIST convnet ours 2,300-2,400 -> 4,300-4,800 samples/s (PyTorch 2,800-3,000 ->
3,700-3,850), the MLP 44-47k -> 61-64k (PyTorch 27-28k -> 30-40k).

The price: memory freed by the process stays with it (its resident size stays at its peak),
as with the caching allocators of PyTorch's GPU side or jemalloc. Training applies it: the
command line (`tinygrad-book ...`) at start, and `Model.fit`, `fit_generator` and
`train_on_batch` at their first call (`for_training`). TINYGRAD_BOOK_KEEP_FREED_MEMORY=0
turns it off for all of them.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's malloc.h parameter numbers
DEFAULT_BYTES = 1 << 30


def keep_freed_memory(threshold: int = DEFAULT_BYTES, libc=None) -> bool:
    """Ask glibc's malloc to serve requests below `threshold` bytes from its heap (not
    fresh mmap pages) and to keep up to `threshold` freed bytes instead of returning them.
    True when applied; False where there is no glibc (macOS, Windows, musl) or it refused."""
    if libc is None:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
        except OSError:
            libc = None
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold))) and bool(mallopt(M_TRIM_THRESHOLD, int(threshold)))


def keep_freed_memory_unless_disabled() -> bool:
    """keep_freed_memory(), unless TINYGRAD_BOOK_KEEP_FREED_MEMORY is "0" (the command line's switch)."""
    if os.environ.get("TINYGRAD_BOOK_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    return keep_freed_memory()


@functools.lru_cache(maxsize=None)
def for_training() -> bool:
    """keep_freed_memory_unless_disabled(), once per process: what `fit` and
    `train_on_batch` call before their first step (later calls return the first answer)."""
    return keep_freed_memory_unless_disabled()
