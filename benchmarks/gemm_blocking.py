"""Our GEMM under several blockings (and loops), against numpy, on ONE thread, in CPU time:
the figures issue 12's ninth round chose KC from (docs/kernels-cpu.md).

    PYTHONPATH=. python benchmarks/gemm_blocking.py 1024x1024x1024 "KC=128" "KC=256" "KC=512"
    PYTHONPATH=. python benchmarks/gemm_blocking.py 43264x9x32 "small_k:" "by_block:" "by_slab:"
    DT=float64 AT=1 PYTHONPATH=. python benchmarks/gemm_blocking.py 2000x9x512 "KC=512"

Each spec is `[loop:]NAME=VALUE ...` over MR, NR, MC, KC, NC (the rest: this machine's
`matmul.tiles`); without a loop, the one `matmul.choose` picks. MR and NR are compiled into
the micro-kernel: change them only together with VECTOR_BYTES. AT=1 makes A column-major.
Configurations run in turn, batch by batch (ROUNDS rounds), so a burst of load hits all of
them; the figure is the median CPU time per call (`time.thread_time`), which a shared
machine's other processes disturb far less than wall time.
"""
import os
import sys
import time

import contextlib

import numba
import numpy as np

from tinygrad_book.kernels.cpu import jit, matmul as mm

DT = np.dtype(os.environ.get("DT", "float32"))
FIELDS = ["MR", "NR", "MC", "KC", "NC"]


def blocking(spec):
    values = list(mm.tiles(DT))
    for pair in spec.split():
        name, value = pair.split("=")
        values[FIELDS.index(name)] = int(value)
    return jit.int64s(tuple(values) + (1,))          # one block: one thread


def _one_blas_thread():
    """numpy's OpenBLAS on one thread too: threadpoolctl where installed, else the
    environment must say so (OPENBLAS_NUM_THREADS=1, read when numpy loads)."""
    try:
        import threadpoolctl
    except ImportError:
        if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
            print("note: numpy may use several threads; set OPENBLAS_NUM_THREADS=1 (or install threadpoolctl)")
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def main(argv):
    numba.set_num_threads(1)
    M, K, N = map(int, argv[0].split("x"))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K), dtype=DT)
    if os.environ.get("AT"):
        a = np.ascontiguousarray(a.T).T
    b = rng.standard_normal((K, N), dtype=DT)
    a_flat = a.T.reshape(-1) if os.environ.get("AT") else a.reshape(-1)
    a_strides = jit.int64s((0,) + tuple(s // a.itemsize for s in a.strides))
    out, numpy_out = np.empty((M, N), DT), np.empty((M, N), DT)
    fns = {}
    for spec in argv[1:]:
        loop, _, fields = spec.rpartition(":")
        loop = loop or mm.choose(M, N, K, DT.itemsize, a.strides[1] == a.itemsize)
        plan = blocking(fields)

        def ours(loop=loop, plan=plan):
            mm.KERNELS[loop](a_flat, 0, a_strides, b.reshape(-1), 0, jit.int64s((0, N, 1)), 1, M, N, K, plan,
                             out.reshape(-1))
        ours()
        np.testing.assert_allclose(out, a @ b, rtol=1e-3, atol=1e-3 * np.sqrt(K))
        fns[f"{loop}:{fields}"] = ours
    fns["numpy"] = lambda: np.matmul(a, b, out=numpy_out)
    calls = max(1, int(3e7 / (M * N * K)))
    times = {name: [] for name in fns}
    with _one_blas_thread():
        for _ in range(int(os.environ.get("ROUNDS", "30"))):
            for name, fn in fns.items():
                fn()
                start = time.thread_time()
                for _ in range(calls):
                    fn()
                times[name].append((time.thread_time() - start) / calls)
    flops = 2 * M * N * K / 1e9
    median = {name: float(np.median(t)) for name, t in times.items()}
    print(f"{M}x{K}x{N} {DT}, one thread, CPU time; tiles {mm.tiles(DT)}")
    for name in fns:
        print(f"  {name:28s} {flops / median[name]:7.1f} GFLOP/s   ours/numpy {median['numpy'] / median[name]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
