"""kernels/cpu/jit.py's host-side glue, tested directly (found by mutation testing: the
value tests reach it only through whole kernels, and the decorators run at import).

coalesce merges the axes every operand walks as one; is_flat says when the result is a
single unit-stride run (the fast loop). The decorators give every kernel numba's cache,
numpy's error model (x / 0 = inf, not an exception) and released GIL.
"""
import os
import platform
import subprocess
import sys
from importlib import metadata

import numba
import numpy as np
import pytest

from tinygrad_book.kernels import View, get_backend
from tinygrad_book.kernels.cpu import jit


def as_lists(result):
    shape, strides = result
    assert shape.dtype == np.int64 and all(s.dtype == np.int64 for s in strides)
    return shape.tolist(), [s.tolist() for s in strides]


@pytest.mark.parametrize("shape,strides,want", [
    ((2, 3, 4), [(12, 4, 1)], ([24], [[1]])),                      # contiguous: one run
    ((2, 1, 3), [(3, 3, 1), (0, 0, 1)], ([2, 3], [[3, 1], [0, 1]])),  # size 1 dropped; a broadcast axis stays apart
    ((4, 5), [(1, 4)], ([4, 5], [[1, 4]])),                       # transposed: nothing merges
    ((3, 2, 5), [(20, 10, 2)], ([30], [[2]])),                     # a strided run still merges
    ((2, 3, 4), [(12, 4, 1), (1, 2, 6)], ([2, 3, 4], [[12, 4, 1], [1, 2, 6]])),  # merges only if all operands agree
    ((1, 1), [(5, 1), (0, 0)], ([1], [[0], [0]])),                 # all size 1: one element
])
def test_coalesce(shape, strides, want):
    assert as_lists(jit.coalesce(shape, *strides)) == want


@pytest.mark.parametrize("shape,strides,flat", [
    ([7], [1], True), ([1], [9], True), ([7], [2], False), ([2, 3], [3, 1], False), ([2], [0], False)])
def test_is_flat(shape, strides, flat):
    assert bool(jit.is_flat(np.array(shape), np.array(strides))) is flat


def double(x):
    return x * 2.0


@pytest.mark.parametrize("make,parallel,fastmath", [
    (lambda: jit.kernel(), False, False),
    (lambda: jit.kernel(parallel=True, fastmath={"contract"}), True, {"contract"}),
    (lambda: jit.helper(), None, False),
    (lambda: jit.helper(fastmath=True), None, True),
])
def test_decorators_set_numbas_options(make, parallel, fastmath):
    compiled = make()(double)
    options = compiled.targetoptions
    assert options.get("parallel", None if parallel is None else False) == parallel
    assert options.get("fastmath", False) == fastmath
    assert options["nogil"] is True and options["error_model"] == "numpy"
    assert type(compiled._cache).__name__ == "FunctionCache"      # cache=True (NullCache without)
    assert compiled(np.float64(1.5)) == 3.0


@numba.njit
def threads_inside():
    return numba.get_num_threads()


def test_run_keeps_small_work_on_one_thread_and_restores_the_count():
    """Below parallel_min_work() a kernel runs with one thread (a parallel launch costs more
    than the work); at the threshold and above with all of them; the count is restored."""
    most = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(most)
    try:
        threshold = jit.parallel_min_work()
        assert jit.MIN_WORK_FLOOR <= threshold <= jit.MIN_WORK_CEILING or "TINYGRAD_BOOK_PARALLEL_MIN_WORK" in os.environ
        assert jit.run(threads_inside, threshold - 1) == 1
        assert numba.get_num_threads() == most
        assert jit.run(threads_inside, threshold) == most
        assert jit.threads_for(threshold - 1) == 1 and jit.threads_for(threshold) == most
        numba.set_num_threads(1)
        assert jit.run(threads_inside, 1) == 1 and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(most)


@pytest.mark.parametrize("handoff_s,want", [(0.0, 1 << 15), (5e-7, 1 << 15), (1e-6, 40_000), (8e-6, 320_000),
                                             (55e-6, 2_200_000), (1e-3, 1 << 22)])
def test_the_threshold_is_four_handoffs_in_work_units_clamped(handoff_s, want):
    """4 x hand-off / 0.1 ns per unit, within [2^15, 2^22]: 8 us -> 320k, 55 us -> 2.2M."""
    assert jit.threshold_for(handoff_s) == want


def test_the_handoff_is_measured_once_and_the_environment_overrides_it(monkeypatch):
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    calls = []
    monkeypatch.setattr(jit, "handoff_seconds", lambda: calls.append(1) or 20e-6)
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", None)
    monkeypatch.delenv("TINYGRAD_BOOK_PARALLEL_MIN_WORK", raising=False)
    assert jit.parallel_min_work() == 800_000 and jit.parallel_min_work() == 800_000
    assert calls == [1]
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", None)
    monkeypatch.setenv("TINYGRAD_BOOK_PARALLEL_MIN_WORK", "5000")
    assert jit.parallel_min_work() == 5000 and calls == [1]
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", None)
    monkeypatch.setenv("TINYGRAD_BOOK_PARALLEL_MIN_WORK", "lots")
    with pytest.raises(ValueError, match="TINYGRAD_BOOK_PARALLEL_MIN_WORK.*'lots'"):
        jit.parallel_min_work()


def test_small_work_never_asks_for_the_threshold(monkeypatch):
    """Work under the floor stays serial without measuring (the pool is not started)."""
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", None)
    monkeypatch.setattr(jit, "handoff_seconds", lambda: pytest.fail("measured for small work"))
    assert jit.threads_for(jit.MIN_WORK_FLOOR - 1) == 1
    assert jit.run(threads_inside, jit.MIN_WORK_FLOOR - 1) == 1


def test_handoff_seconds_times_a_real_parallel_loop():
    seconds = jit.handoff_seconds(repeat=5)
    assert 0 < seconds < 1.0


def test_handoff_seconds_pauses_before_each_timed_loop(monkeypatch):
    """Back to back, TBB's threads are still awake: the hand-off a kernel pays after some
    Python is measured with a pause before every call."""
    pauses = []
    monkeypatch.setattr(jit.time, "sleep", pauses.append)
    jit.handoff_seconds(repeat=7, pause_s=3e-4)
    assert pauses == [3e-4] * 7


# --- the threading layer: TBB's library, loaded by path ------------------------------

class _FakeDistribution:
    """What importlib.metadata.distribution returns: `files` (paths relative to the
    package's site-packages) and `locate_file`."""
    def __init__(self, root, names):
        self.root = root
        self.files = [metadata.PackagePath("..", "..", name) for name in names]

    def locate_file(self, file):
        return self.root / "site" / "pkgs" / file


def _fake_tbb(monkeypatch, tmp_path, names, write=()):
    (tmp_path / "site" / "pkgs").mkdir(parents=True)
    for name, content in write:
        (tmp_path / name).write_bytes(content)
    dist, real = _FakeDistribution(tmp_path, names), metadata.distribution
    monkeypatch.setattr(jit.metadata, "distribution", lambda name: dist if name == "tbb" else real(name))


def test_tbb_library_path_is_the_packages_library_file(monkeypatch, tmp_path):
    _fake_tbb(monkeypatch, tmp_path, ["libtbbmalloc.so.2", "libtbb.so.12", "libtbb.so"],
              write=[("libtbb.so.12", b"")])
    assert jit.tbb_library_path() == str(tmp_path / "libtbb.so.12")


def test_tbb_library_path_is_none_without_the_package_or_its_file(monkeypatch, tmp_path):
    assert jit.tbb_library_path("no-such-distribution") is None
    _fake_tbb(monkeypatch, tmp_path, ["libtbb.so.12"])            # listed, not on disk
    assert jit.tbb_library_path() is None


def test_load_tbb_is_none_when_the_file_is_not_a_library(monkeypatch, tmp_path):
    _fake_tbb(monkeypatch, tmp_path, ["libtbb.so.12"], write=[("libtbb.so.12", b"not a shared library")])
    assert jit.load_tbb() is None
    assert jit.load_tbb("no-such-distribution") is None


TBB_PLATFORM = (sys.platform == "linux" and platform.machine() == "x86_64") or \
               (sys.platform == "win32" and platform.machine() == "AMD64")


@pytest.mark.skipif(not TBB_PLATFORM, reason="the tbb package is a dependency on Linux x86_64 and Windows only")
def test_parallel_kernels_run_on_tbb_in_a_fresh_process():
    """pyproject installs `tbb` here; without jit's load numba finds no libtbb and takes
    OpenMP (the user's NUMBA_THREADING_LAYER, removed here, would win)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    code = "from tinygrad_book.kernels.cpu import jit; print(jit.TBB_LIBRARY is not None, jit.threading_layer())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "tbb"]


@jit.kernel(parallel=True)
def _double_into(x, out):
    for i in jit.prange(x.shape[0]):
        out[i] = 2 * x[i]


def test_a_parallel_kernel_has_a_serial_twin_and_run_uses_it_for_small_work(monkeypatch):
    """The twin is the same code without threads, cached under its own name; small work goes
    to it, work past the threshold to the parallel kernel."""
    assert _double_into.serial.py_func.__qualname__.endswith("_serial")
    assert _double_into.serial.py_func.__code__ is _double_into.py_func.__code__
    x = np.arange(5.0)
    out = np.zeros(5)
    _double_into.serial(x, out)
    np.testing.assert_array_equal(out, 2 * x)
    calls = []

    class Spy:
        def __init__(self, name):
            self.name = name

        def __call__(self, *args):
            calls.append(self.name)

    spy = Spy("parallel")
    spy.serial = Spy("serial")
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", 1 << 16)
    jit.run(spy, 10)
    jit.run(spy, (1 << 16) - 1)
    jit.run(spy, 1 << 16)
    want_big = "parallel" if numba.config.NUMBA_NUM_THREADS > 1 else "serial"
    assert calls == ["serial", "serial", want_big]


def test_a_serial_kernel_has_no_twin():
    @jit.kernel()
    def plain(x):
        return x
    assert not hasattr(plain, "serial")


def test_elementwise_kernels_report_their_elements_and_weigh_costly_ops(monkeypatch):
    """`run` decides serial or parallel from the work it is told. An element-wise kernel
    reports its element count, times COSTLY_WEIGHT for exp, log, tanh, sigmoid and pow
    (they compute more than they move). By name: sub shares exp's integer code and must
    not count as costly."""
    from tinygrad_book.kernels import cpu as cpu_backend
    seen = []
    real_run = cpu_backend.run
    monkeypatch.setattr(cpu_backend, "run", lambda kernel, work, *args: (seen.append(work), real_run(kernel, work, *args))[1])
    be = get_backend("cpu")
    n = 1000
    x = View(np.linspace(0.5, 2.0, n), (n,), (1,), 0)
    rows = View(x.storage, (100, 10), (10, 1), 0)
    bias = View(np.ones(10), (100, 10), (0, 1), 0)
    scalar = View(np.ones(1), (n,), (0,), 0)
    w = cpu_backend.COSTLY_WEIGHT
    assert w > 1
    calls = [(lambda: be.binary("add", x, x), n), (lambda: be.binary("sub", x, x), n),
             (lambda: be.binary("pow", x, x), n * w), (lambda: be.binary("gt", x, scalar), n),
             (lambda: be.binary("pow", rows, bias), n * w), (lambda: be.unary("neg", x), n),
             (lambda: be.unary("exp", x), n * w), (lambda: be.unary("log", x), n * w),
             (lambda: be.unary("tanh", x), n * w), (lambda: be.unary("sigmoid", x), n * w),
             (lambda: be.unary("tanh", View(x.storage, (500,), (2,), 0)), 500 * w),
             (lambda: be.bias_act("sigmoid", rows, View(np.ones(10), (10,), (1,), 0)), n * w),
             (lambda: be.bias_act("relu", rows, View(np.ones(10), (10,), (1,), 0)), n)]
    for call, want in calls:
        seen.clear()
        call()
        assert seen == [want]


FORK_AFTER_THREADS = """
import multiprocessing as mp, numpy as np
from tinygrad_book.kernels.cpu import jit
jit._empty_loop(np.zeros(2, np.int64))                 # the pool has started
def child(q):
    flags = np.zeros(2, np.int64)
    jit._empty_loop(flags)
    q.put(int(flags.sum()))
ctx = mp.get_context("fork")
q = ctx.Queue()
p = ctx.Process(target=child, args=(q,))
p.start()
print(q.get(timeout=60))
p.join(60)
"""


@pytest.mark.skipif(not (TBB_PLATFORM and sys.platform == "linux"), reason="fork: Linux, with the tbb package")
def test_a_process_forked_after_parallel_kernels_can_run_them():
    """GNU OpenMP terminates such a child ("fork() called from a process already using GNU
    OpenMP"); TBB lets it start its own pool (multiprocessing's default start on Linux)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", FORK_AFTER_THREADS], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.split() == ["2"], out.stderr

