"""Kernel benchmarks: ours ("cpu") vs the numpy reference backend vs raw numpy vs torch.

Run: python -m pytest benchmarks --benchmark-only
The workloads live in tinygrad_book/bench.py (shared with `tinygrad-book bench`); each
benchmark group is one workload, so the table shows the implementations side by side.
extra_info: rate (GFLOP/s or GB/s, from the median), first_call_s (includes numba
compilation or cache load for "cpu"), warm_up_s (the session's kernel warm-up).
"""
import time

import numba
import pytest

from tinygrad_book import bench

IMPLS = ["cpu", "reference", "numpy", "torch"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(bench.WORKLOADS))
def test_kernel(benchmark, warm_up_s, name, impl):
    wl = bench.WORKLOADS[name]
    try:
        fn = wl.build(impl)
    except bench.Unavailable as e:
        pytest.skip(str(e))
    benchmark.group = name
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    benchmark(fn)
    if not benchmark.stats:          # --benchmark-disable: fn ran once, as a smoke test
        return
    med = benchmark.stats.stats.median
    benchmark.extra_info.update(unit=wl.unit, rate=round(wl.work / med / 1e9, 2), note=wl.note, cpu=bench.cpu_model(),
                                first_call_s=round(first, 4), warm_up_s=round(warm_up_s, 3))


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="needs the JIT")
@pytest.mark.parametrize("kernel", ["matmul.matmul_packed", "elementwise.binary_flat", "reduce.reduce_rows"])
def test_jit_compile_time(benchmark, kernel):
    """Cold compile time of one kernel: a fresh dispatcher (cache=False) on its py_func."""
    import importlib

    import numpy as np

    from tinygrad_book.kernels.cpu.matmul import tiles
    mod_name, fn_name = kernel.split(".")
    mod = importlib.import_module(f"tinygrad_book.kernels.cpu.{mod_name}")
    disp = getattr(mod, fn_name)
    opts = {k: v for k, v in disp.targetoptions.items() if k != "cache"}
    f32 = np.ones(64 * 64, np.float32)
    s3 = np.array([0, 64, 1], np.int64)
    args = {
        "matmul.matmul_packed": (f32, 0, s3, f32, 0, s3, 1, 64, 64, 64, np.array(tiles(np.float32) + (1,), np.int64),
                                 np.zeros(64 * 64, np.float32)),
        "elementwise.binary_flat": (0, f32, f32, np.empty_like(f32)),
        "reduce.reduce_rows": (0, f32, 0, 64, 1, 64, 64, np.float64(0), np.empty(64, np.float32)),
    }[kernel]

    def compile_once():
        fresh = numba.njit(**opts)(disp.py_func)
        fresh(*args)

    benchmark.group = "jit compile"
    benchmark.pedantic(compile_once, rounds=1, iterations=1)
    if benchmark.stats:
        benchmark.extra_info.update(compile_s=round(benchmark.stats.stats.median, 3))
