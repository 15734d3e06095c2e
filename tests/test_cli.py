"""`tinygrad-book gradcheck` and `bench`, and the public gradcheck()."""
import os
import subprocess
import sys

import numpy as np

from tinygrad_book import Tensor, gradcheck


def run_cli(*args):
    env = dict(os.environ, TINYGRAD_BOOK_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "tinygrad_book.cli", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_gradcheck_prints_a_table():
    r = run_cli("gradcheck", "mul", "conv2d_valid", "embedding")
    assert r.returncode == 0, r.stderr
    assert "max abs error" in r.stdout and "max rel error" in r.stdout
    for op in ("mul", "conv2d_valid", "embedding"):
        assert op in r.stdout
    assert "3 passed, 0 failed" in r.stdout


def test_gradcheck_unknown_op_lists_known_ones():
    r = run_cli("gradcheck", "convolve")
    assert r.returncode == 2
    assert "unknown op(s): convolve" in r.stderr and "known ops:" in r.stderr and "conv1d" in r.stderr


def test_gradcheck_function_reports_per_input_errors():
    a = Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]), dtype="float64")
    b = Tensor(np.array([1.5, -0.3]), dtype="float64")
    ea, eb = gradcheck(lambda x, y: (x * y).tanh(), a, b)
    assert ea.max_abs < 1e-8 and eb.max_abs < 1e-8 and ea.passed() and eb.passed()


def test_gradcheck_catches_a_wrong_backward():
    from tinygrad_book.autograd.function import Function

    class BadSquare(Function):          # backward forgets the factor 2
        def forward(self, x):
            self.save(x)
            return x.from_storage(x.backend.binary("mul", x.view, x.view), x.shape)

        def backward(self, g):
            (x,) = self.saved
            return (g * x,)

    (err,) = gradcheck(lambda x: BadSquare.apply(x), Tensor([1.0, 2.0], dtype="float64"))
    assert not err.passed() and abs(err.max_rel - 0.5) < 1e-6   # analytic is half the truth


def test_bench_unknown_kernel_lists_known_ones():
    r = run_cli("bench", "matmul_9999")
    assert r.returncode == 2
    assert "unknown kernel(s) ['matmul_9999']" in r.stderr and "matmul_1024" in r.stderr


def _flat_outputs(result):
    """A workload's output(s) as flat float64 arrays (storages, tensors or numpy)."""
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    return [np.asarray(o, dtype=np.float64).ravel() for o in outputs]


def test_every_bench_workload_computes_what_numpy_computes():
    """The benchmark workloads are code too: on every impl each must run (not be timed)
    and give numpy's result, or a benchmark would time a wrong computation."""
    from tinygrad_book import bench
    for name, workload in bench.WORKLOADS.items():
        if workload.group == "recurrent":      # training steps, no numpy counterpart: tests/test_bench_recurrent.py
            continue
        want = _flat_outputs(workload.build("numpy")())
        for impl in ("cpu", "reference"):
            got = _flat_outputs(workload.build(impl)())
            assert len(got) == len(want), f"{name} on {impl}: {len(got)} outputs, numpy has {len(want)}"
            for g, w in zip(got, want):
                scale = np.abs(w).max() if w.size else 0.0   # float32 sums of many terms: relative to the largest
                np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4 * scale, err_msg=f"{name} on {impl}")


def test_bench_machine_line_names_each_sides_threads_and_flags_unequal_ones(monkeypatch):
    """A ratio to numpy compares like with like only if OpenBLAS runs as many threads as we
    do: the table's first line says both, and warns when they differ."""
    import numba

    from tinygrad_book import bench
    ours = numba.config.NUMBA_NUM_THREADS
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(ours))
    assert bench.thread_counts() == {"ours": ours, "torch": ours, "openblas": ours}
    assert "UNEQUAL" not in bench.machine_line() and f"numpy/OpenBLAS {ours}" in bench.machine_line()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(ours + 1))
    assert f"UNEQUAL: set OPENBLAS_NUM_THREADS={ours}" in bench.thread_line()
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", str(ours + 2))
    assert bench.thread_counts()["openblas"] == ours + 2
