"""`tinygrad-book`: the command line.

    tinygrad-book train ch2-mnist-dense          train a network from the book
    tinygrad-book zoo list | zoo show ID         the book's networks
    tinygrad-book gradcheck [OP ...]             check every op's backward
    tinygrad-book bench [KERNEL ...]             time the kernels against numpy / torch
    tinygrad-book doctor                         what this machine can run

Errors print one line, `error: ...`, and exit 1 (2 for a bad option or an unknown name);
`--debug` (anywhere on the line) shows the traceback instead. Ctrl-C prints "interrupted"
and exits 130, as a shell does.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys

import numpy as np

from . import cli_types as T


def cmd_gradcheck(args) -> int:
    """Run the op registry's gradient checks and print a table."""
    from .autograd.gradcheck import gradcheck
    from .autograd.registry import REGISTRY, sample_inputs
    from .autograd.tensor import Tensor

    names = args.ops or [n for n, s in REGISTRY.items() if s.differentiable]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"unknown op(s): {', '.join(unknown)}", file=sys.stderr)
        for n in unknown:
            close = difflib.get_close_matches(n, REGISTRY, n=3)
            if close:
                print(f"  {n}: did you mean {', '.join(close)}?", file=sys.stderr)
        print(f"known ops: {' '.join(sorted(REGISTRY))}", file=sys.stderr)
        return 2
    dtype = np.dtype(args.dtype)
    rows, failures = [], 0
    for name in names:
        spec = REGISTRY[name]
        if not spec.differentiable:
            rows.append((name, "-", "-", "no gradient"))
            continue
        arrays = sample_inputs(spec, np.random.default_rng(args.seed), dtype=dtype)
        inputs = [Tensor(a, dtype=dtype, device=args.device, requires_grad=True) for a in arrays]
        results = [r for r in gradcheck(spec.fn, *inputs, seed=args.seed, eps=spec.eps) if r is not None]
        rtol, atol = spec.grad_tol if dtype == np.float64 else (1e-2, 1e-3)
        ok = all(r.passed(rtol, atol) for r in results)
        failures += not ok
        rows.append((name, f"{max(r.max_abs for r in results):.2e}",
                     f"{max(r.max_rel for r in results):.2e}", "pass" if ok else "FAIL"))
    print(f"gradcheck on device {args.device!r}, {dtype.name}, central differences, every element\n")
    print(f"{'op':<24}{'max abs error':>15}{'max rel error':>15}  result")
    for row in rows:
        print(f"{row[0]:<24}{row[1]:>15}{row[2]:>15}  {row[3]}")
    print(f"\n{len(rows) - failures} passed, {failures} failed")
    return 1 if failures else 0


def cmd_bench(args) -> int:
    from . import bench
    try:
        rows = bench.run(kernels=args.kernels or None, device=args.device, vs=args.vs)
    except ValueError as e:          # an unknown kernel name: the message lists the known ones
        print(e, file=sys.stderr)
        return 2
    print(bench.format_table(rows))
    return 0


def cmd_doctor(args) -> int:
    """Say what this machine can run: which devices, which optional packages."""
    import platform

    from .kernels import DEVICES, get_backend
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    try:
        import numba
        from .kernels.cpu import jit
        print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads on numba's "
              f"{jit.threading_layer()!r} threading layer")
    except ImportError:
        print("numba: not installed")
    for device in DEVICES:
        try:
            get_backend(device)
            print(f"device {device!r}: available")
        except Exception as e:  # the backend's own message says what is missing
            print(f"device {device!r}: unavailable ({e})")
    data = os.environ.get("TINYGRAD_BOOK_DATA")
    print(f"datasets: {data or '~/.tinygrad_book/datasets (set TINYGRAD_BOOK_DATA to use a local copy)'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gradcheck", help="check every op's backward against central differences")
    g.add_argument("ops", nargs="*", metavar="OP", help="op names (default: all differentiable ops)")
    g.add_argument("--device", default="numpy", choices=T.DEVICES, help="default: numpy")
    g.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    g.add_argument("--seed", type=T.seed, default=0)
    g.set_defaults(func=cmd_gradcheck)

    b = sub.add_parser("bench", help="time the kernels against numpy and PyTorch")
    b.add_argument("kernels", nargs="*", metavar="KERNEL")
    b.add_argument("--device", default="cpu", choices=T.DEVICES)
    b.add_argument("--vs", default=("numpy", "torch"), type=T.impl_list,
                   help=f"comma-separated, from {','.join(T.BENCH_IMPLS)} (default: numpy,torch)")
    b.set_defaults(func=cmd_bench)

    d = sub.add_parser("doctor", help="what this machine can run")
    d.set_defaults(func=cmd_doctor)

    from .zoo.cli import register
    register(sub)                       # zoo list/show, train, evaluate, reproduce
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv              # accepted anywhere, also after the command
    argv = [a for a in argv if a != "--debug"]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        from .utils.memory import keep_freed_memory_unless_disabled
        keep_freed_memory_unless_disabled()   # a training step's arrays reuse freed pages
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns any error into one line
        if debug:
            raise
        print(f"error: {T.one_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
