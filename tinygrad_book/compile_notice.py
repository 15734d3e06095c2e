"""'compiling kernels (first run, about N s)': one line before numba's first, silent, compile.

The cpu kernels are compiled by numba the first time they run and stored on disk
(`cache=True`: an index file `<module>.<function>-<line>.py3X.nbi` beside the machine code,
in the kernels' `__pycache__`, or under `NUMBA_CACHE_DIR`). A first `train` therefore sat
silent for about 15 s after "Epoch 1/5". Whether the cache is cold is read from those index
files: a kernel whose index file is missing has never been compiled on this machine.
"""
from __future__ import annotations

import os
import sys

# The first `train ch2-mnist-dense` compiled 27 of the 38 cpu kernels in about 15 s on a quiet
# 2-core machine (issue 11), so about 0.4 s per cold kernel counted here. (Under load, 5
# processes on those 2 cores, the same compile took 90 s: the line says "about".)
SECONDS_PER_KERNEL = 0.4

_announced = [False]


def cpu_kernels() -> list:
    """The numba dispatchers of the cpu backend (each cacheable kernel once)."""
    from numba.core.dispatcher import Dispatcher

    from .kernels import get_backend
    get_backend("cpu")   # imports the kernel modules
    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("tinygrad_book.kernels.cpu") and module is not None:
            for value in vars(module).values():
                if isinstance(value, Dispatcher):
                    found[id(value)] = value
    return list(found.values())


def uncompiled(kernels) -> list:
    """The kernels whose on-disk cache index does not exist yet."""
    cold = []
    for k in kernels:
        index = getattr(getattr(getattr(k, "_cache", None), "_cache_file", None), "_index_path", None)
        if index is not None and not os.path.exists(index):
            cold.append(k)
    return cold


def compile_estimate_seconds(count: int) -> int:
    return max(1, round(count * SECONDS_PER_KERNEL))


def announce_compile(device="cpu", stream=None) -> bool:
    """Print the notice once per process, if `device` is the numba cpu backend and most of its
    kernels were never compiled here. Returns whether it printed."""
    if _announced[0] or device != "cpu" or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return False
    kernels = cpu_kernels()
    cold = uncompiled(kernels)
    if len(cold) * 2 < len(kernels):   # mostly cached: a few new ones compile in a moment
        return False
    _announced[0] = True
    print(f"compiling kernels (first run, about {compile_estimate_seconds(len(cold))} s; "
          "numba caches them for the next runs)", file=stream or sys.stdout, flush=True)
    return True
