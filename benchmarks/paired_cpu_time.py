"""Ours against PyTorch / numpy in CPU time of the computing thread, alternating in one
process (issue 12): on a machine shared with other jobs the wall time mostly measures the
scheduler, the CPU time of a one-thread run measures the code.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=. python benchmarks/paired_cpu_time.py [mlp] [KERNEL ...] [--pairs N]

`mlp`: the book's MLP training step (benchmarks/test_training.py: 784-512-10, batch 128,
RMSprop, accuracy metric), 20-step slices of `fit`, ours and torch in turn; prints ms per
step and torch/ours per pair. KERNEL: `matmul_mlp_x` (128x784 @ 784x512, the forward),
`matmul_mlp_dw` (its weight gradient, (784x128)^T-strided @ 128x512), or any name of
`tinygrad_book.bench.WORKLOADS` (sum_axis0, add_1M, ...), against numpy: ms per call and
numpy/ours per window. Ratios > 1: ours is faster. Run it with one thread on every side
(the environment above): `time.thread_time` sees only the calling thread.
"""
import statistics
import sys
import time

import numpy as np

from test_training import CASES, ours_epoch_slice, torch_epoch_slice  # noqa: E402  (benchmarks/ on sys.path)

from tinygrad_book.bench import WORKLOADS, cpu_model, thread_line
from tinygrad_book.kernels import get_backend, set_default_device
from tinygrad_book.kernels.base import View

clock = time.thread_time


def cpu_seconds(fn, number=1):
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number


def mlp(pairs):
    steps = CASES["mlp"][3]
    set_default_device("cpu")
    ours = ours_epoch_slice("mlp")
    theirs = torch_epoch_slice("mlp")
    ours()
    ratios = []
    for _ in range(pairs):
        a, b = cpu_seconds(ours) / steps, cpu_seconds(theirs) / steps
        ratios.append(b / a)
        print(f"mlp step: ours {a * 1e3:.2f} ms, torch {b * 1e3:.2f} ms, torch/ours {b / a:.3f}", flush=True)
    print(f"mlp median torch/ours {statistics.median(ratios):.3f}")


def _gemm(transposed_a):
    """The MLP's big products on our backend and in numpy: x @ W, or x^T @ dz with x^T a
    strided view (as Dense.backward passes it)."""
    r = np.random.default_rng(0)
    be = get_backend("cpu")
    if transposed_a:
        x, dz = r.random((128, 784), dtype=np.float32), r.random((128, 512), dtype=np.float32)
        a = View(x.reshape(-1), (1, 784, 128), (0, 1, 784), 0)
        b = View(dz.reshape(-1), (1, 128, 512), (0, 512, 1), 0)
        return (lambda: be.matmul(a, b)), (lambda: x.T @ dz)
    x, w = r.random((128, 784), dtype=np.float32), r.random((784, 512), dtype=np.float32)
    a = View(x.reshape(-1), (1, 128, 784), (0, 784, 1), 0)
    b = View(w.reshape(-1), (1, 784, 512), (0, 512, 1), 0)
    return (lambda: be.matmul(a, b)), (lambda: x @ w)


def kernel(name, pairs, window_s=0.1):
    if name in ("matmul_mlp_x", "matmul_mlp_dw"):
        ours, numpy_ = _gemm(name.endswith("dw"))
    else:
        ours, numpy_ = WORKLOADS[name].build("cpu"), WORKLOADS[name].build("numpy")
    ours(), numpy_()
    number = {f: max(1, int(window_s / max(cpu_seconds(f), 1e-7))) for f in (ours, numpy_)}
    ratios, times = [], []
    for _ in range(pairs):
        a, b = cpu_seconds(ours, number[ours]), cpu_seconds(numpy_, number[numpy_])
        ratios.append(b / a)
        times.append((a, b))
    a, b = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
    print(f"{name}: ours {a * 1e3:.3f} ms, numpy {b * 1e3:.3f} ms, numpy/ours median {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f})", flush=True)


def main(args):
    pairs = 5
    if "--pairs" in args:
        i = args.index("--pairs")
        pairs, args = int(args[i + 1]), args[:i] + args[i + 2:]
    import os
    print(f"CPU: {cpu_model()}; {thread_line()}; load {os.getloadavg()[0]:.1f}; CPU time of this thread")
    for name in args or ["mlp", "matmul_mlp_x", "matmul_mlp_dw", "sum_axis0", "add_1M", "add_bcast_row"]:
        mlp(pairs) if name == "mlp" else kernel(name, pairs)


if __name__ == "__main__":
    main(sys.argv[1:])
