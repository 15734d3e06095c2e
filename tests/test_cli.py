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


def test_the_bench_module_run_directly_has_help_and_names_an_unknown_kernel():
    env = dict(os.environ, TINYGRAD_BOOK_OFFLINE="1")
    module = [sys.executable, "-m", "tinygrad_book.bench"]
    r = subprocess.run(module + ["--help"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "KERNEL" in r.stdout and "matmul_1024" in r.stdout and "tinygrad-book bench --help" in r.stdout
    r = subprocess.run(module + ["matmul_9999"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "unknown kernel(s) ['matmul_9999']" in r.stderr and "Traceback" not in r.stderr


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
    layer = numba.threading_layer()                   # machine_line started the pool
    assert f"threads: ours {ours} ({layer})," in bench.thread_line()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(ours + 1))
    assert f"UNEQUAL: set OPENBLAS_NUM_THREADS={ours}" in bench.thread_line()
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", str(ours + 2))
    assert bench.thread_counts()["openblas"] == ours + 2


class _FakeClock:
    """perf_counter and sleep for bench.time_alternating: time moves only when the timed
    functions run or the bench sleeps, so what a window counted is exact."""

    def __init__(self):
        self.now, self.events, self.last_sleep_end = 0.0, [], 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, s):
        self.now += s
        self.last_sleep_end = self.now
        self.events.append("sleep")

    def work(self, name, wake_cost, slow_s=0.0):
        """A callable costing 1 s a call, plus `wake_cost` when it is the first call after a pause
        (a sleeping thread pool waking up), and 4 s a call while less than `slow_s` has passed
        since the last pause (the VM slow for a while after idling)."""
        def fn():
            slow = self.now - self.last_sleep_end < slow_s
            self.now += (4.0 if slow else 1.0) + (wake_cost if self.events and self.events[-1] == "sleep" else 0.0)
            self.events.append(name)
        return fn


def test_time_alternating_settles_and_wakes_each_side_before_its_timed_window(monkeypatch):
    from tinygrad_book import bench
    clock = _FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(bench.time, "sleep", clock.sleep)
    fns = {"a": clock.work("a", wake_cost=50.0), "b": clock.work("b", wake_cost=0.0)}
    first, per_call = bench.time_alternating(fns, repeat=2, window_s=0.5, settle_s=0.2)
    assert per_call == {"a": 1.0, "b": 1.0}          # the wake-up call is not in the window
    # first call and calibration of each, then per repeat and side: pause, untimed call, window of 1
    assert clock.events == ["a", "a", "b", "b"] + ["sleep", "a", "a", "sleep", "b", "b"] * 2
    assert first == {"a": 1.0, "b": 1.0}


def test_time_alternating_without_a_pause_still_warms_each_side_untimed(monkeypatch):
    from tinygrad_book import bench
    clock = _FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(bench.time, "sleep", clock.sleep)
    bench.time_alternating({"a": clock.work("a", 0.0)}, repeat=3, window_s=2.5, settle_s=0)
    assert "sleep" not in clock.events
    # first, calibration; per window: untimed calls for 2.5 s (3 of 1 s), then 2 timed
    assert clock.events == ["a"] * (2 + 3 * (3 + 2))


def test_time_alternating_warms_up_for_a_whole_window_after_the_pause(monkeypatch):
    """After a pause the machine may be slow for a while (measured: ~50 ms in this VM):
    the untimed calls last `window_s`, so the window sees the steady state."""
    from tinygrad_book import bench
    clock = _FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(bench.time, "sleep", clock.sleep)
    fns = {"a": clock.work("a", 0.0, slow_s=8.0), "b": clock.work("b", 0.0)}
    _, per_call = bench.time_alternating(fns, repeat=2, window_s=10.0, settle_s=0.5)
    assert per_call == {"a": 1.0, "b": 1.0}


def test_time_alternating_warms_up_for_at_least_warm_s_when_the_window_is_shorter(monkeypatch):
    """A short window (the CLI's 50 ms) still warms up for bench.WARM_S: a 1024^3 product's
    slow spell after the pause outlasted 50 ms of calls."""
    from tinygrad_book import bench
    clock = _FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(bench.time, "sleep", clock.sleep)
    monkeypatch.setattr(bench, "WARM_S", 8.0)
    fns = {"a": clock.work("a", 0.0, slow_s=8.0), "b": clock.work("b", 0.0)}
    _, per_call = bench.time_alternating(fns, repeat=2, window_s=2.0, settle_s=0.5)
    assert per_call == {"a": 1.0, "b": 1.0}


def test_bench_pauses_between_windows_only_when_a_side_runs_several_threads(monkeypatch):
    from tinygrad_book import bench
    monkeypatch.setattr(bench, "thread_counts", lambda: {"ours": 1, "torch": 1, "openblas": 1})
    assert bench.settle_seconds() == 0.0
    monkeypatch.setattr(bench, "thread_counts", lambda: {"ours": 1, "torch": 1, "openblas": 2})
    assert bench.settle_seconds() == bench.SETTLE_S > 0.13     # OpenBLAS's measured idle spin


def test_doctor_names_the_devices_and_the_threading_layer():
    """`doctor` says what this machine runs: numba's thread count and layer (as a fresh
    process with the same environment gets them), each device, the data folder."""
    probe = subprocess.run([sys.executable, "-c", "from tinygrad_book.kernels.cpu import jit; "
                            "import numba; print(numba.config.NUMBA_NUM_THREADS, jit.threading_layer())"],
                           capture_output=True, text=True, timeout=300)
    threads, layer = probe.stdout.split()
    r = run_cli("doctor")
    assert r.returncode == 0, r.stderr
    assert f"{threads} threads on numba's '{layer}' threading layer" in r.stdout
    assert "device 'numpy': available" in r.stdout and "device 'cpu': available" in r.stdout
    assert "device 'cuda': " in r.stdout and "datasets: " in r.stdout
