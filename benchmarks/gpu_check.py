"""Kernel benchmarks for the "cuda" backend on a real NVIDIA GPU (run by gpu_check.sh).

    python benchmarks/gpu_check.py --out gpu_check.txt [--quick]

Figures: matmul (B=1, 4096^3, fp32) in GFLOP/s beside torch / cupy when installed;
element-wise, reduction and softmax_xent in GB/s (bytes that must move at least once);
and, when the autograd/nn layers exist, one epoch of the book's MLP (784-512-10,
RMSprop, batch 128) on MNIST-shaped random data. Each part is guarded: a missing
library or a failure is reported and the rest still runs. Times are medians of
several synchronised runs after a warm-up (the first call compiles).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LINES: list = []


def report(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def median_seconds(fn, repeats=5, warmup=1):
    from numba import cuda
    for _ in range(warmup):
        fn()
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def guarded(title):
    def wrap(fn):
        def run(*args, **kwargs):
            report(f"== {title}")
            try:
                fn(*args, **kwargs)
            except Exception as error:   # report and carry on: one broken part must not hide the rest
                report(f"   FAILED: {type(error).__name__}: {error}")
                report("   " + traceback.format_exc(limit=3).replace("\n", "\n   "))
        return run
    return wrap


@guarded("device")
def device_info():
    import numba
    from numba import cuda
    dev = cuda.get_current_device()
    name = getattr(dev, "name", "simulated device")
    report(f"   {name.decode() if isinstance(name, bytes) else name}, "
           f"cc {dev.compute_capability}, numba {numba.__version__}, "
           f"simulator {bool(numba.config.ENABLE_CUDASIM)}")


def views(backend, *arrays):
    from tinygrad_book.kernels.base import full_view
    return [full_view(backend.from_numpy(a), a.shape) for a in arrays]


@guarded("matmul fp32 (1, n, n) @ (1, n, n)")
def bench_matmul(backend, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1, n, n), dtype=np.float32)
    b = rng.standard_normal((1, n, n), dtype=np.float32)
    va, vb = views(backend, a, b)
    flops = 2.0 * n ** 3
    t = median_seconds(lambda: backend.matmul(va, vb), repeats=3)
    report(f"   tinygrad_book cuda (tile {backend.launch.tile}): {flops / t / 1e9:9.1f} GFLOP/s  ({t * 1e3:.1f} ms)")
    # correctness on a corner of the result against numpy in float64
    out = backend.matmul(va, vb).copy_to_host().reshape(n, n)
    want = a[0, :64].astype(np.float64) @ b[0, :, :64].astype(np.float64)
    err = float(np.max(np.abs(out[:64, :64] - want)) / np.max(np.abs(want)))
    report(f"   max relative error vs float64 numpy (64x64 corner): {err:.2e}")
    for tile in (8, 32):
        from tinygrad_book.kernels.cuda import CudaBackend
        other = CudaBackend(tile=tile)
        va2, vb2 = views(other, a, b)
        t2 = median_seconds(lambda: other.matmul(va2, vb2), repeats=3)
        report(f"   tinygrad_book cuda (tile {tile}): {flops / t2 / 1e9:9.1f} GFLOP/s")
    try:
        import torch
        if torch.cuda.is_available():
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
            for tf32 in (False, True):
                torch.backends.cuda.matmul.allow_tf32 = tf32
                ta @ tb
                torch.cuda.synchronize()
                times = []
                for _ in range(5):
                    s = time.perf_counter()
                    ta @ tb
                    torch.cuda.synchronize()
                    times.append(time.perf_counter() - s)
                tt = statistics.median(times)
                report(f"   torch {torch.__version__} (tf32={tf32}): {flops / tt / 1e9:9.1f} GFLOP/s")
        else:
            report("   torch: installed without CUDA")
    except ImportError:
        report("   torch: not installed")
    try:
        import cupy
        ca, cb = cupy.asarray(a), cupy.asarray(b)
        ca @ cb
        cupy.cuda.runtime.deviceSynchronize()
        times = []
        for _ in range(5):
            s = time.perf_counter()
            ca @ cb
            cupy.cuda.runtime.deviceSynchronize()
            times.append(time.perf_counter() - s)
        report(f"   cupy {cupy.__version__}: {flops / statistics.median(times) / 1e9:9.1f} GFLOP/s")
    except ImportError:
        report("   cupy: not installed")


@guarded("element-wise and reduction (fp32)")
def bench_elementwise(backend, n):
    from tinygrad_book.kernels.base import View
    rng = np.random.default_rng(1)
    side = int(np.sqrt(n))
    a = rng.standard_normal(side * side, dtype=np.float32)
    b = rng.standard_normal(side * side, dtype=np.float32)
    va, vb = views(backend, a, b)
    nbytes = 4 * a.size
    cases = [
        ("binary add, contiguous", lambda: backend.binary("add", va, vb), 3 * nbytes),
        ("unary exp, contiguous", lambda: backend.unary("exp", va), 2 * nbytes),
        ("unary sigmoid, contiguous", lambda: backend.unary("sigmoid", va), 2 * nbytes),
    ]
    ta = View(va.storage, (side, side), (1, side), 0)           # a transposed view: the strided path
    row = View(vb.storage, (side, side), (0, 1), 0)             # one row broadcast down (stride 0)
    cases += [
        ("binary mul, transposed x broadcast (strided)", lambda: backend.binary("mul", ta, row), 2 * nbytes + 4 * side),
        ("contiguous() of a transposed view", lambda: backend.contiguous(ta), 2 * nbytes),
        ("reduce sum, all elements", lambda: backend.reduce("sum", va, (0,)), nbytes),
        ("reduce max over rows (side x side, axis 1)",
         lambda: backend.reduce("max", View(va.storage, (side, side), (side, 1), 0), (1,)), nbytes),
    ]
    for name, fn, moved in cases:
        t = median_seconds(fn)
        report(f"   {name:48s} {moved / t / 1e9:8.1f} GB/s  ({t * 1e3:.2f} ms, n={a.size})")


@guarded("softmax_xent (fp32)")
def bench_softmax(backend, rows):
    rng = np.random.default_rng(2)
    for classes in (10, 1000):
        n = rows if classes == 10 else rows // 16
        z = rng.standard_normal((n, classes), dtype=np.float32) * 5
        target = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
        vz, vt = views(backend, z, target)
        t = median_seconds(lambda: backend.softmax_xent(vz, vt))
        moved = 4 * (3 * n * classes + n)     # read logits and targets, write probs and loss
        report(f"   ({n}, {classes}): {moved / t / 1e9:8.1f} GB/s  ({t * 1e3:.2f} ms)")


@guarded("MLP 784-512-10, RMSprop, batch 128, one epoch of 60000 MNIST-shaped random samples")
def bench_mlp(samples):
    try:
        import tinygrad_book
        models, layers = tinygrad_book.models, tinygrad_book.layers
        tinygrad_book.Tensor   # noqa: B018 - the autograd layer must exist too
    except (ImportError, AttributeError) as error:
        report(f"   skipped: the nn layer is not there yet ({type(error).__name__}: {error})")
        return
    tinygrad_book.set_default_device("cuda")
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (samples, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]

    def build():
        model = models.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                                   layers.Dense(10, activation="softmax")])
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    warm = build()
    start = time.perf_counter()
    warm.fit(x[:256], y[:256], epochs=1, batch_size=128, verbose=0)   # compiles every kernel
    report(f"   warm-up (compile) {time.perf_counter() - start:.1f} s")
    model = build()
    start = time.perf_counter()
    history = model.fit(x, y, epochs=1, batch_size=128, verbose=0)
    from numba import cuda
    cuda.synchronize()
    seconds = time.perf_counter() - start
    loss = history.history.get("loss", [float("nan")])[-1] if hasattr(history, "history") else float("nan")
    report(f"   one epoch: {seconds:.1f} s, {samples / seconds:,.0f} samples/s, loss {loss:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="append the figures to this file")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args()
    os.environ.pop("TINYGRAD_BOOK_CUDA_TILE", None)   # benchmark the defaults, not test sizes
    os.environ.pop("TINYGRAD_BOOK_CUDA_BLOCK", None)
    started = time.perf_counter()
    try:
        from tinygrad_book.kernels import get_backend
        backend = get_backend("cuda")
        report(f"== backend {backend!r}")
    except Exception as error:
        report(f"== the cuda backend cannot start: {type(error).__name__}: {error}")
        backend = None
    if backend is not None:
        device_info()
        bench_matmul(backend, 512 if args.quick else 4096)
        bench_elementwise(backend, 1 << (16 if args.quick else 26))
        bench_softmax(backend, 1 << (12 if args.quick else 20))
        bench_mlp(1024 if args.quick else 60000)
    report(f"== benchmarks took {time.perf_counter() - started:.0f} s")
    if args.out:
        with open(args.out, "a") as handle:
            handle.write("\n".join(LINES) + "\n")


if __name__ == "__main__":
    main()
