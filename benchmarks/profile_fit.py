"""Where a training step's time goes: numba kernels vs everything else (Python: autograd
graph, views, allocation, layer and optimizer code), per batch, for the benchmark networks.

    PYTHONPATH=. python benchmarks/profile_fit.py [--cpu-time] [mlp convnet catsdogs]

--cpu-time counts this thread's CPU time (time.thread_time) instead of wall time: on a
machine loaded by other jobs the wall time of a step swings by 50% from run to run,
the CPU time of a one-thread run (NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1) hardly at all
(with more threads it would miss the worker threads' share).

Every cpu kernel is launched through `jit.run` (the backend glue and the fused optimizer
call it), so wrapping that one function times all kernel work; the rest of `fit`'s wall
time is overhead. It also counts the autograd Functions recorded per batch (each is
Python work: an object, its forward, later its backward). Prints a markdown table
(docs/kernels-cpu.md) and the top kernels.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict

from test_training import CASES, _data  # noqa: E402  (run from benchmarks/ or with it on sys.path)

from tinygrad_book import optimizers
from tinygrad_book.autograd.function import Function
from tinygrad_book.bench import cpu_model
from tinygrad_book.kernels import cpu as cpu_backend
from tinygrad_book.kernels import set_default_device
from tinygrad_book.kernels.cpu import jit, optim


clock = time.perf_counter


def profile(name):
    """(ms per batch total, ms per batch in kernels, {kernel: ms per batch}, Functions per batch)."""
    build, _, batch, steps, loss = CASES[name]
    set_default_device("cpu")
    model = build()
    model.compile(optimizers.RMSprop(), loss)
    x, y = _data(name)
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)       # compile / load kernels
    spent = defaultdict(float)

    def timed_run(kernel, work, *args):
        t0 = clock()
        try:
            return jit.run(kernel, work, *args)
        finally:
            spent[getattr(kernel, "__name__", str(kernel))] += clock() - t0
    applied = [0]
    plain_apply = Function.__dict__["apply"]

    def counted_apply(cls, *inputs, **params):
        applied[0] += 1
        return plain_apply.__func__(cls, *inputs, **params)
    cpu_backend.run, optim.run = timed_run, timed_run
    Function.apply = classmethod(counted_apply)
    try:
        t0 = clock()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        total = clock() - t0
    finally:
        cpu_backend.run, optim.run = jit.run, jit.run
        Function.apply = plain_apply
    per = 1e3 / steps
    return total * per, sum(spent.values()) * per, {k: v * per for k, v in spent.items()}, applied[0] / steps


def main(names):
    global clock
    if "--cpu-time" in names:
        names, clock = [n for n in names if n != "--cpu-time"], time.thread_time
    print(f"CPU: {cpu_model()}; {'CPU time of this thread' if clock is time.thread_time else 'wall time'}\n")
    print("| network | batch | ms/batch | kernels ms | other (Python) ms | kernel share | Functions/batch "
          "| top kernels (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        total, kernels, by_kernel, functions = profile(name)
        top = ", ".join(f"{k} {v:.1f}" for k, v in sorted(by_kernel.items(), key=lambda kv: -kv[1])[:4])
        print(f"| {name} | {CASES[name][2]} | {total:.1f} | {kernels:.1f} | {total - kernels:.1f} | "
              f"{kernels / total:.0%} | {functions:.0f} | {top} |")


if __name__ == "__main__":
    main(sys.argv[1:] if [a for a in sys.argv[1:] if a != "--cpu-time"] else sys.argv[1:] + list(CASES))
