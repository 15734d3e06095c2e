"""What every cpu kernel module shares: the numba decorator settings and view helpers.

Kernels are top-level `@kernel` functions: numba compiles one machine-code version per
argument-type combination (float32, float64, int64 storages) and, because they are
top-level and take no functions as arguments, `cache=True` stores that code on disk so
the next process loads it in milliseconds instead of compiling it again.

Debugging: run with `NUMBA_DISABLE_JIT=1` and every kernel is the plain Python function
you read here (`prange` becomes `range`), so `breakpoint()` or pdb can step through it.
Nothing in this package needs numba-only APIs at import time.
"""
from __future__ import annotations

import ctypes
import functools
import os
import time
import types
from importlib import metadata

# numba runs `prange` loops on a "threading layer": TBB, OpenMP or its own workqueue, the
# first of those that loads. TBB is the one we want. Its threads, having finished their
# share, keep looking for work for a moment, yielding the core to anyone who needs it,
# then sleep; and the calling thread runs any chunk that no other thread has taken yet.
# So a kernel that follows another within microseconds finds the worker awake (an empty
# parallel loop: 1.5 us back to back, ~10 us after a pause, on the 2-core VM), and on a
# loaded machine the caller does the work itself instead of waiting for a worker that
# has no core. (OpenMP has to choose: spinning, fast when idle, made every parallel
# kernel take a scheduler slice under load; sleeping costs a 40-60 us wake-up per kernel
# in this VM. docs/kernels-cpu.md, "Threads on a shared machine".)
#
# numba links TBB's library by name (libtbb.so.12), but pip puts the `tbb` package's
# copy in the environment's lib/ folder, where the dynamic loader does not look, so
# numba silently falls back to OpenMP. Loading the library by its path first lets
# numba's layer find it among the libraries already loaded.
TBB_LIBRARY_NAMES = ("libtbb.so.12", "libtbb.12.dylib", "tbb12.dll")


def tbb_library_path(distribution: str = "tbb") -> str | None:
    """The path of TBB's shared library as the pip package `distribution` installed it,
    or None when that package (or the file) is missing."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name in TBB_LIBRARY_NAMES:
            path = os.path.normpath(dist.locate_file(file))
            if os.path.exists(path):
                return path
    return None


def load_tbb(distribution: str = "tbb") -> str | None:
    """Load TBB's library (RTLD_GLOBAL) so that numba's TBB layer can start; returns its
    path, or None when there is none to load (numba then uses OpenMP)."""
    path = tbb_library_path(distribution)
    if path is None:
        return None
    try:
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None
    return path


TBB_LIBRARY = load_tbb()

# Where numba falls back to OpenMP (no `tbb` package): threads that wait must sleep,
# not spin. At the end of every parallel loop a libgomp thread that finished its share
# spins, by default for ~300k iterations, waiting for the others. On a shared machine
# (more runnable threads than cores) the spinning thread holds the very core its partner
# needs: measured on the 2-core machine under load 6, *every* parallel kernel took
# 8.0 ms (a scheduler time slice) instead of 8 us, with 2 threads slower than 1.
# "passive" makes waiting threads sleep at once. It must be set before libgomp starts,
# i.e. before the first parallel kernel runs; a value the user exported wins. It is set
# under TBB too: it applies to every libgomp in the process, torch's included, and torch
# spinning beside us is that same slow case on a loaded machine (the MLP step under load
# 3-4: 13.5 ms with torch passive, 120 ms spinning; docs/kernels-cpu.md).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")



def _target_features() -> str:
    """The LLVM target features numba compiles for: the host's, and on AVX-512 machines
    "-prefer-256-bit" as well. LLVM's tuning for Intel server cores prefers 256-bit
    vectors, so numba emitted only ymm registers there even with AVX-512 (half the width
    the hardware has). A NUMBA_CPU_FEATURES the user exported wins. The string is the same
    in every process on one machine, so numba's on-disk cache (keyed by target CPU and
    features) keeps hitting."""
    if "NUMBA_CPU_FEATURES" in os.environ:
        return os.environ["NUMBA_CPU_FEATURES"]
    import llvmlite.binding as llvm
    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        features += ",-prefer-256-bit"
        os.environ["NUMBA_CPU_FEATURES"] = features
    return features


TARGET_FEATURES = _target_features()

import numpy as np  # noqa: E402
import numba  # noqa: E402
from numba import get_num_threads, njit, prange, set_num_threads  # noqa: E402,F401  (prange: kernel modules)

from .. import vocabulary  # noqa: E402

if os.environ.get("NUMBA_CPU_FEATURES") and numba.config.CPU_FEATURES != os.environ["NUMBA_CPU_FEATURES"]:
    numba.config.reload_config()          # numba was imported before us: let it see the features


def vector_bytes(features: str = TARGET_FEATURES) -> int:
    """Width of the widest SIMD register the compiled code uses: 64 (AVX-512), 32 (AVX),
    16 (SSE / anything else)."""
    flags = set(features.split(","))
    if "+avx512f" in flags:
        return 64
    return 32 if "+avx" in flags else 16


def vector_registers(features: str = TARGET_FEATURES) -> int:
    """How many SIMD registers: 32 with AVX-512 (zmm0-31), else 16."""
    return 32 if "+avx512f" in set(features.split(",")) else 16


SYSFS_CACHE = "/sys/devices/system/cpu/cpu0/cache"


def cache_bytes(level: int, default: int, base: str = SYSFS_CACHE) -> int:
    """Size of this core's data cache at `level` (1, 2, 3), read from Linux's sysfs
    (`base`: one folder per cache, index0, index1, ..., each with files level, type, size);
    `default` where that is unavailable (another OS, a container hiding it)."""
    try:
        for index in sorted(os.listdir(base)):
            path = os.path.join(base, index)
            if not index.startswith("index"):
                continue
            with open(os.path.join(path, "level")) as f_level, open(os.path.join(path, "type")) as f_type:
                if int(f_level.read()) != level or f_type.read().strip() == "Instruction":
                    continue
            with open(os.path.join(path, "size")) as f_size:
                text = f_size.read().strip()
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
            return int(text.rstrip("KMG")) * scale
    except (OSError, ValueError):
        pass
    return default


# error_model="numpy": x / 0 gives inf/nan as in numpy instead of raising ZeroDivisionError.
_BASE = dict(cache=True, error_model="numpy", nogil=True)


def kernel(parallel: bool = False, fastmath=False):
    """The decorator for a top-level, cacheable kernel. A parallel kernel also gets a
    serial twin, `kernel.serial`: the same code compiled without threads (`prange` is then
    `range`), which `run` calls when the work is too small to share. Running the parallel
    kernel on one thread instead meant setting numba's thread count and back (a lock each
    time) and entering the OpenMP runtime: 7.2 us for an 8-element add, against 0.7 us for
    the twin, and a small model's step makes dozens of such calls."""
    def decorate(fn):
        compiled = njit(parallel=parallel, fastmath=fastmath, **_BASE)(fn)
        if parallel:
            compiled.serial = njit(parallel=False, fastmath=fastmath, **_BASE)(_renamed(fn, "_serial"))
        return compiled
    return decorate


def _renamed(fn, suffix):
    """A copy of the function `fn` whose name ends in `suffix`: numba names its on-disk
    cache files after the function's qualified name, so the twin's code does not
    overwrite the parallel kernel's."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    twin.__qualname__, twin.__module__, twin.__doc__ = fn.__qualname__ + suffix, fn.__module__, fn.__doc__
    return twin


def helper(fastmath=False):
    """The decorator for a small function called from kernels (compiled into each caller)."""
    return njit(fastmath=fastmath, error_model="numpy", nogil=True, cache=True)


# Below this much work (elements touched, or multiply-adds) a kernel runs on the calling
# thread alone. Starting a parallel loop hands work to the other threads and waits for
# the slowest, and what that costs depends on the machine and the threading layer: with
# OpenMP threads that sleep, ~8 us median on one host of the 2-core VM and ~40-60 us on
# another (AMD EPYC Zen 4, 2026-12-03), where a sum of 1M floats ran in 82 us on one
# thread and 193 us on two; with TBB ~10 us there. So the threshold is measured, once per
# process, at the first kernel big enough to ask (`parallel_min_work`): an empty parallel
# loop, each call after a 0.1 ms pause, since in a training step a kernel follows some
# Python (back to back, TBB's threads are still awake and it costs 1.5 us: too
# optimistic). Two threads pay when one thread's time is above twice the hand-off; under
# OpenMP a real kernel's hand-off was about twice the empty loop's (the worker also
# starts cold: a 1000 x 1000 column sum took 105-110 us on one thread and 150-170 us on
# two, against a ~45 us empty loop); and a unit of work (an element added, a
# multiply-add inside a product) costs ~0.1 ns; an exp or a tanh counts as several
# (cpu/__init__.py's `_elementwise_work`). So the threshold is 4 x hand-off / 0.1 ns,
# clamped to [MIN_WORK_FLOOR, MIN_WORK_CEILING]. Under TBB a real kernel's hand-off is
# about the empty loop's (a 64K-float add: 10.7 us on one thread, 15.7 on two), so the
# same formula sits ~4x above the add's break-even (~100K elements): a few microseconds
# lost on a mid-size kernel, never a slow one. TINYGRAD_BOOK_PARALLEL_MIN_WORK overrides.
MIN_WORK_FLOOR, MIN_WORK_CEILING = 1 << 15, 1 << 22
SECONDS_PER_UNIT = 1e-10
PARALLEL_MIN_WORK = None        # decided by parallel_min_work() at the first call
HANDOFF_PAUSE_S = 1e-4          # Python between two kernels, as handoff_seconds imitates it


@njit(parallel=True, cache=True)
def _empty_loop(flags):
    """The smallest parallel loop: what `handoff_seconds` times."""
    for t in prange(flags.size):              # one task per thread, nothing to do
        flags[t] += 1


def handoff_seconds(repeat=25, pause_s=HANDOFF_PAUSE_S) -> float:
    """The median wall time of a parallel loop with one empty task per thread, each call
    after a pause of `pause_s`: what handing work to the other threads and waiting for
    them costs on this machine now, when the kernel before was not just now."""
    flags = np.zeros(get_num_threads(), np.int64)
    for _ in range(3):                        # load or compile, start the pool
        _empty_loop(flags)
    times = []
    for _ in range(repeat):
        time.sleep(pause_s)
        start = time.perf_counter()
        _empty_loop(flags)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def threshold_for(handoff_s: float) -> int:
    """The work below which one thread beats all of them, for a measured hand-off."""
    return int(min(MIN_WORK_CEILING, max(MIN_WORK_FLOOR, round(4 * handoff_s / SECONDS_PER_UNIT))))


def parallel_min_work() -> int:
    """PARALLEL_MIN_WORK, measured at the first call in this process (see above). Only
    work of at least MIN_WORK_FLOOR asks, so a process whose kernels are all small never
    starts the thread pool (a fork after it started can hang)."""
    global PARALLEL_MIN_WORK
    if PARALLEL_MIN_WORK is None:
        given = os.environ.get("TINYGRAD_BOOK_PARALLEL_MIN_WORK")
        if given:
            if not given.strip().isdigit():
                raise ValueError(f"TINYGRAD_BOOK_PARALLEL_MIN_WORK must be a whole number of work units "
                                 f"(elements or multiply-adds), got {given!r}")
            PARALLEL_MIN_WORK = int(given)
        elif numba.config.NUMBA_NUM_THREADS == 1:
            PARALLEL_MIN_WORK = MIN_WORK_FLOOR            # one thread: nothing to hand off
        else:
            PARALLEL_MIN_WORK = threshold_for(handoff_seconds())
    return PARALLEL_MIN_WORK


def parallel_pays(work) -> bool:
    """Whether `work` units are worth handing to several threads: more than one thread
    exists and the work reaches parallel_min_work() (work under MIN_WORK_FLOOR never
    asks, so it never measures)."""
    return numba.config.NUMBA_NUM_THREADS > 1 and work >= MIN_WORK_FLOOR and work >= parallel_min_work()


def threading_layer() -> str:
    """The threading layer numba's parallel kernels run on: "tbb", "omp" or "workqueue"
    (asking starts the pool if it has not started)."""
    get_num_threads()                         # numba starts its layer on first use
    return numba.threading_layer()


def threads_for(work):
    """How many threads `run(kernel, work, ...)` computes with: one unless
    parallel_pays(work), else numba's count for the calling thread (asking costs a lock,
    ~2.5 us: only kernels that cut their work by thread count ask)."""
    return get_num_threads() if parallel_pays(work) else 1


def run(kernel, work, *args):
    """kernel(*args), on this thread only when `work` is below parallel_min_work() (or
    numba has one thread): through the kernel's serial twin where it has one, else with
    numba's thread count set to one for the call (it is per calling thread; `prange` then
    runs as a plain loop)."""
    if parallel_pays(work):
        return kernel(*args)
    serial = getattr(kernel, "serial", None)          # kernel(parallel=True)'s twin
    if serial is not None:
        return serial(*args)
    if numba.config.NUMBA_NUM_THREADS == 1:
        return kernel(*args)
    threads = get_num_threads()
    if threads == 1:
        return kernel(*args)
    set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        set_num_threads(threads)


def coalesce(shape, *all_strides):
    """Merge neighbouring axes that every operand walks as one axis; drop size-1 axes.

    A permuted or sliced view of rank 4 often walks like a rank-1 or rank-2 one: axis
    i and i+1 merge when, for every operand, stride[i] == stride[i+1] * shape[i+1].
    Fewer axes = longer inner loops = less index arithmetic per element.
    Returns (shape, [strides per operand]) as int64 arrays, rank >= 1.

    The answer depends on the metadata alone, and a training step asks the same
    questions every step, so it is cached (`_coalesced`): ~0.5 us instead of ~13 us of
    Python and five small numpy arrays per kernel launch. The arrays are therefore
    shared between calls and read-only (a kernel that wrote into them would fail to
    compile, not silently change the next answer).
    """
    return _coalesced(tuple(shape), tuple(tuple(s) for s in all_strides))


@functools.lru_cache(maxsize=4096)
def _coalesced(shape, all_strides):
    dims = [(d, [s[i] for s in all_strides]) for i, d in enumerate(shape) if d != 1]
    if not dims:
        return int64s((1,)), tuple(int64s((0,)) for _ in all_strides)
    merged = [dims[0]]
    for d, ss in dims[1:]:
        pd, ps = merged[-1]
        if all(p == s * d for p, s in zip(ps, ss)):
            merged[-1] = (pd * d, ss)
        else:
            merged.append((d, ss))
    strides = tuple(int64s(tuple(ss[k] for _, ss in merged)) for k in range(len(all_strides)))
    return int64s(tuple(d for d, _ in merged)), strides


@functools.lru_cache(maxsize=4096)
def int64s(values: tuple) -> np.ndarray:
    """A tuple of ints (a shape, strides, a GEMM's blocking) as the int64 array kernels
    take. Cached, so read-only: one array serves every call with the same values."""
    array = np.array(values, np.int64)
    array.flags.writeable = False
    return array


def is_flat(shape, strides) -> bool:
    """True when a coalesced (shape, strides) is one unit-stride run."""
    return len(shape) == 1 and (strides[0] == 1 or shape[0] == 1)


# The index arithmetic of a strided view, written once in kernels/vocabulary.py as plain
# Python and compiled here for the cpu (kernels/cuda/strided.py compiles the same function
# for the GPU).
row_position = helper()(vocabulary.row_position)
flat_position = helper()(vocabulary.flat_position)
