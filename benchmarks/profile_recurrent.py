"""Where a training step of the recurrent benchmark networks (benchmarks/test_recurrent.py)
spends its time: CPU milliseconds per batch of every kernel launch (`time.thread_time`
around each jit.run), by kernel name (matmuls also by their call shape), one thread:

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/profile_recurrent.py imdb_lstm [EPOCHS]
"""
import sys
import time
from collections import defaultdict

import numba

from test_recurrent import CASES, data, ours  # noqa: E402  (run with benchmarks/ on sys.path)

from tinygrad_book.kernels import set_default_device
from tinygrad_book.kernels.cpu import jit


def timed_runs():
    """Replace jit.run (and every module's imported copy of it) by a timed one; returns the
    (milliseconds, calls) tallies by kernel name."""
    spent, calls = defaultdict(float), defaultdict(int)
    run = jit.run

    def timed(kernel, work, *args):
        t = time.thread_time()
        result = run(kernel, work, *args)
        name = getattr(kernel, "__name__", str(kernel))
        if name.startswith("matmul"):
            name += str(tuple(int(a) for a in args[6:10]))
        spent[name] += time.thread_time() - t
        calls[name] += 1
        return result
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("tinygrad_book") and getattr(module, "run", None) is run:
            module.run = timed
    jit.run = timed
    return spent, calls


def main(name, epochs):
    numba.set_num_threads(1)
    set_default_device("cpu")
    model, (x, y) = ours(name), data(name)
    batch, batches, _ = CASES[name]
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)        # compile / load kernels
    spent, calls = timed_runs()
    t = time.thread_time()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=False)
    batches *= epochs
    total = (time.thread_time() - t) / batches * 1e3
    print(f"{name}: {total:.1f} CPU ms a batch, kernels {sum(spent.values()) / batches * 1e3:.1f}")
    for kernel_name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {seconds / batches * 1e3:7.2f} ms  {calls[kernel_name] // batches:4d} calls  {kernel_name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "imdb_lstm", int(sys.argv[2]) if len(sys.argv) > 2 else 1)
