"""Ours against PyTorch on the recurrent benchmark networks (benchmarks/test_recurrent.py),
in alternating pairs, reporting CPU seconds as well as wall seconds per batch:

    PYTHONPATH=. python benchmarks/paired_recurrent.py imdb_lstm THREADS [PAIRS]

On a shared, overloaded machine the wall time mostly measures the scheduler; the CPU
time of a 1-thread run measures the code. Both sides get THREADS threads.
"""
import sys
import time

import numba

from test_recurrent import CASES, data, ours, torch_run  # noqa: E402  (run with benchmarks/ on sys.path)

from tinygrad_book.bench import cpu_model
from tinygrad_book.kernels import set_default_device


def per_batch(fn, batches):
    """(CPU ms, wall ms) per batch of one call of fn."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - c0) / batches * 1e3, (time.perf_counter() - w0) / batches * 1e3


def main(name, threads, pairs):
    import os

    import torch
    numba.set_num_threads(threads)
    set_default_device("cpu")
    model, (x, y) = ours(name), data(name)
    batch, batches, _ = CASES[name]
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)        # compile / load kernels
    theirs = torch_run(name, x, y)
    torch.set_num_threads(threads)
    print(f"{name}, {cpu_model()}, {threads} thread(s) each, load {os.getloadavg()[0]:.1f}")
    for _ in range(pairs):
        a = per_batch(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False), batches)
        b = per_batch(theirs, batches)
        print(f"ours cpu {a[0]:.0f} wall {a[1]:.0f} ms/batch | torch cpu {b[0]:.0f} wall {b[1]:.0f} | "
              f"ratio (torch/ours) cpu {b[0] / a[0]:.2f} wall {b[1] / a[1]:.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
