"""The zoo's commands for ``tinygrad-book``: ``zoo list|show``, ``train``, ``evaluate``, ``reproduce``.

``register(subparsers)`` is called by ``tinygrad_book/cli.py``. Every handler returns the exit
code: 0 success, 1 a dataset is missing or damaged (the loader's message, no traceback),
2 an unknown id (with the nearest ids) or an empty selection. Options are checked by their
argparse types (``cli_types``) before anything loads or trains.
"""
from __future__ import annotations

import functools
import inspect
import sys

from ..autograd import DEVICES, default_device, set_default_device
from .. import cli_types as T


def register(subparsers):
    """Add ``zoo``, ``train``, ``evaluate`` and ``reproduce`` to the argparse ``subparsers``."""
    zoo = subparsers.add_parser("zoo", help="the book's networks: list, show ID")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", metavar="{list,show}")
    p = zoo_sub.add_parser("list", help="every entry, its book result and the last result here")
    p.add_argument("--chapters", type=T.chapters, default=None, help="e.g. 2,3")
    p.set_defaults(func=cmd_list)
    p = zoo_sub.add_parser("show", help="book reference, code, model summary, settings")
    p.add_argument("id")
    p.set_defaults(func=cmd_show)
    zoo.set_defaults(func=lambda args: (zoo.print_help(), 2)[1])

    p = subparsers.add_parser("train", help="train a network of the book with its settings")
    p.add_argument("id")
    _training_options(p)
    p.add_argument("--plot", metavar="FILE.png", type=T.plot_file, help="draw the training/validation curves")
    p.add_argument("--save", metavar="FILE", type=T.output_file, help="save the trained weights")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.add_argument("--other-seeds", type=T.non_negative_int, default=0, metavar="N",
                   help="also train with the next N seeds (independent runs: use with --scheduler)")
    p.add_argument("--scheduler", type=_scheduler_option, default=None, metavar="local[:N]|tcp://HOST:PORT",
                   help="run each seed as a task on Dask (docs/scale-out.md)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("evaluate", help="evaluate saved weights on the entry's test data")
    p.add_argument("id")
    p.add_argument("--weights", required=True, metavar="FILE")
    p.add_argument("--device", choices=DEVICES, default=None)
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser("reproduce", help="train entries with the book's settings; "
                                                "write docs/results.md (book vs ours)")
    p.add_argument("--chapters", type=T.chapters, default=None, help="e.g. 2,3,4 (default: all)")
    p.add_argument("--ids", nargs="+", default=None, help="entry ids (comma or space separated)")
    p.add_argument("--out", type=T.results_file, default="docs/results.md",
                   help="the markdown file, or a folder for FOLDER/results.md (default: docs/results.md)")
    p.add_argument("--seed", type=T.seed, default=0)
    p.add_argument("--device", choices=DEVICES, default=None)
    p.add_argument("--reduced", action="store_true",
                   help="entries with a reduced schedule run it, e.g. the 500-epoch Boston K-fold "
                        "with 200 epochs (reported as REDUCED)")
    p.add_argument("--other-seeds", type=T.non_negative_int, default=0, metavar="N",
                   help="also train each entry with the next N seeds; the verdict is then the one of "
                        "the mean over all the seeds")
    p.add_argument("--render-only", action="store_true",
                   help="only regenerate the markdown and curves from docs/results.json")
    p.add_argument("--quiet", action="store_true")
    _scale_out_options(p)
    p.set_defaults(func=cmd_reproduce)


def _scheduler_option(text):
    from .scaleout import scheduler_option
    return scheduler_option(text)


def _scale_out_options(p):
    """--scheduler and --resume (docs/scale-out.md; the code is zoo/scaleout.py)."""
    p.add_argument("--scheduler", type=_scheduler_option, default=None, metavar="local[:N]|tcp://HOST:PORT",
                   help="run each entry x seed as a task on Dask: local:N starts N worker processes "
                        "(default one per core), an address joins a running scheduler")
    p.add_argument("--resume", action="store_true",
                   help="skip the entries and tasks a previous (interrupted) run finished")


def _training_options(p):
    p.add_argument("--epochs", type=T.positive_int, default=None, help="default: the book's")
    p.add_argument("--batch-size", type=T.positive_int, default=None, help="default: the book's")
    p.add_argument("--device", choices=DEVICES, default=None)
    p.add_argument("--seed", type=T.seed, default=0)


# --------------------------------------------------------------------------- error handling

def _friendly(handler):
    """Unknown id -> exit 2 with suggestions; missing/damaged dataset -> exit 1 with its message."""
    @functools.wraps(handler)
    def wrapper(args):
        from ..data.download import CorruptFileError, DatasetNotFoundError, FolderLayoutError
        from .registry import UnknownEntryError
        from .scaleout import DataMissingOnWorker
        try:
            return handler(args)
        except (UnknownEntryError, EmptySelectionError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except (DatasetNotFoundError, FolderLayoutError, CorruptFileError, DataMissingOnWorker) as e:
            # the loaders' messages go on to say where the file comes from and how to provide it
            print(f"error: dataset missing or unreadable: {e}", file=sys.stderr)
            return 1
    return wrapper


class EmptySelectionError(ValueError):
    """--chapters / --ids select no entry."""


def _set_device(device):
    """Make `device` the default one (if given); the device runs will use."""
    if device:
        set_default_device(device)
    return default_device()


# --------------------------------------------------------------------------- zoo list / show

@_friendly
def cmd_list(args):
    from .registry import entries
    from .results import format_value, last_results_path, read_json

    last = read_json(last_results_path())
    rows = [("id", "ch", "dataset", "book result", "last result here")]
    for e in entries(args.chapters):
        r = last.get(e.id)
        ours = "—" if r is None else f"{e.metric}={format_value(r.get(e.metric))} ({r.get('source')})"
        rows.append((e.id, str(e.chapter), e.dataset, _short(e.book_result, 48), ours))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4])
    print(f"\nlast results: {last_results_path()}")
    return 0


def _short(text, n):
    return text if len(text) <= n else text[:n - 1] + "…"


@_friendly
def cmd_show(args):
    from .registry import get

    e = get(args.id)
    print(f"{e.id}  (chapter {e.chapter}, section {e.section}, listings {e.listings}, "
          f"book lines {e.lines})")
    print(f"dataset: {e.dataset}")
    print(f"fit: epochs={e.epochs}, batch_size={e.batch_size}"
          + "".join(f", {k}={v}" for k, v in e.extra.items() if k != "metric_name"))
    print(f"book result: {e.book_result}")
    print(f"compared on: {e.metric}" + (f" (book {e.book_value})" if e.book_value is not None else ""))
    if e.notes:
        print(f"notes: {e.notes}")
    print(f"\ncode ({inspect.getsourcefile(e.build_model).split('tinygrad_book')[-1].lstrip('/')}):\n")
    print(inspect.getsource(e.build_model))
    model = e.build_model()
    if model is None:          # an entry that trains nothing: its listings are its run function
        print(inspect.getsource(e.run))
    else:
        model.summary()
    return 0


# --------------------------------------------------------------------------- train / evaluate

@_friendly
def cmd_train(args):
    from .registry import get
    from .results import format_value, save_last_result
    from ..compile_notice import announce_compile
    from ..nn.callback_scope import callbacks_for_every_fit
    from .runner import StopOnInvalidLoss, run

    entry = get(args.id)
    device = _set_device(args.device)
    if args.scheduler or args.other_seeds:
        return _train_seeds(entry, args, device)
    models_out = []
    print(f"training {entry.id} (book listings {entry.listings}) on device {device!r}, "
          f"seed {args.seed}", flush=True)
    announce_compile(device)
    with callbacks_for_every_fit(StopOnInvalidLoss):   # a NaN loss ends the run: nothing saved
        result = run(entry, epochs=args.epochs, batch_size=args.batch_size,
                     verbose=0 if args.quiet else 1, seed=args.seed, model_out=models_out)
    result["device"] = device
    if result.get("source") == "sample":
        print("data: the bundled MNIST sample (2,000 train / 500 test digits), not the full set; "
              "the number below is not comparable with the book's.")
    else:
        print(f"data: {result.get('source')}")
    print(f"ours: {entry.metric} = {format_value(result.get(entry.metric))} "
          f"({result['epochs']} epochs, batch {result['batch_size']}, {result['wall_time']:.1f} s)")
    print(f"book: {entry.book_result}")
    if args.save and models_out:        # the weights first: they cost the training to remake
        models_out[-1].save_weights(args.save)
        print(f"weights: {args.save}")
    save_last_result(entry.id, result)
    if result.get("figures"):                              # the images a visualisation entry drew
        from .plots import figures_folder
        print("images: " + ", ".join(str(figures_folder() / name) for name in result["figures"]))
    if args.plot:
        _plot(entry, result, args.plot)
        print(f"{'images' if result.get('figures') else 'curves'}: {args.plot}")
    return 0


def _train_seeds(entry, args, device):
    """train --other-seeds N [--scheduler S]: every seed a task; the first seed's result is kept."""
    from .results import format_value, save_last_result
    from .scaleout import train_tasks

    if args.save:
        raise SystemExit("error: --save keeps one model: not with --other-seeds or --scheduler")
    seeds = list(range(args.seed, args.seed + 1 + args.other_seeds))
    print(f"training {entry.id} with seeds {seeds[0]}-{seeds[-1]} on device {device!r}"
          + (f", scheduler {args.scheduler}" if args.scheduler else ", one after the other"), flush=True)
    results = train_tasks(entry.id, seeds, args.scheduler, args.epochs, args.batch_size, args.device)
    values = [r[entry.metric] for r in results.values()]
    print(f"ours: {entry.metric} mean {format_value(sum(values) / len(values))} over {len(values)} seeds "
          f"({format_value(min(values))}-{format_value(max(values))})")
    print(f"book: {entry.book_result}")
    save_last_result(entry.id, results[seeds[0]])
    if args.plot:
        _plot(entry, results[seeds[0]], args.plot)
        print(f"curves (seed {seeds[0]}): {args.plot}")
    return 0


def _plot(entry, result, path):
    """The entry's curves at ``path``; for an entry that drew images, those images instead:
    its main one at ``path``, the others beside it (``path``'s name + their own suffix)."""
    from .plots import copy_figures_as
    if result.get("figures"):
        copy_figures_as(result["figures"], f"{entry.id}.png", path)
    else:
        entry.draw(result.get("history") or {}, path)


@_friendly
def cmd_evaluate(args):
    from ..compile_notice import announce_compile
    from .registry import get

    entry = get(args.id)
    device = _set_device(args.device)
    model = entry.build_model()
    model.load_weights(args.weights)      # a wrong file fails before the data is read
    announce_compile(device)
    data = entry.load_data()
    x, y, which = ((data.x_test, data.y_test, "test") if data.x_test is not None
                   else (data.x_val, data.y_val, "validation"))
    scores, samples = _evaluate(model, x, y)
    names = getattr(model, "metrics_names", None) or ["loss", entry.extra.get("metric_name", "acc")]
    print(f"{entry.id} on the {which} set ({samples} samples, data: {data.source}): "
          + ", ".join(f"{n}={v:.4f}" for n, v in zip(names, scores)))
    print(f"book: {entry.book_result}")
    return 0


def _evaluate(model, x, y):
    """(scores, number of samples). Arrays: ``model.evaluate``. A generator that reads a folder
    (``flow_from_directory``, chapter 5): ``evaluate_generator`` over one pass of it, every image
    once, as the book's ``evaluate_generator(test_generator, steps=50)`` (1,000 images / 20)."""
    import numpy as np

    if y is None and hasattr(x, "__next__"):
        x.reset()                                  # a fresh pass from its first batch
        scores = model.evaluate_generator(x, steps=len(x))
        return np.atleast_1d(np.asarray(scores, dtype=float)), x.n
    return np.atleast_1d(np.asarray(model.evaluate(x, y, verbose=0), dtype=float)), len(x)


# --------------------------------------------------------------------------- reproduce

@_friendly
def cmd_reproduce(args):
    from pathlib import Path

    from ..compile_notice import announce_compile
    from . import registry
    from .reproduce import reproduce

    device = _set_device(args.device)
    if args.ids:
        ids = [i for chunk in args.ids for i in chunk.split(",") if i]
        for i in ids:
            registry.get(i)   # unknown ids fail before anything trains
    elif args.render_only:
        ids = []
    else:
        ids = [e.id for e in registry.entries(args.chapters)]
        if not ids:
            known = sorted({e.chapter for e in registry.entries()})
            raise EmptySelectionError(f"no entry in chapter(s) {', '.join(map(str, args.chapters))}; "
                                      f"the zoo has chapters {', '.join(map(str, known))}")
    if ids:
        announce_compile(device)
    overrides = {}
    if args.reduced:
        for entry in registry.entries():
            if entry.reduced:
                epochs, why = entry.reduced
                overrides[entry.id] = (epochs, None, why)
    if ids and (args.scheduler or args.resume):
        from .scaleout import reproduce_tasks
        reproduce_tasks(ids, out=args.out, seed=args.seed, device=args.device, overrides=overrides,
                        other_seeds=args.other_seeds, scheduler=args.scheduler, resume=args.resume)
    else:
        reproduce(ids, out=args.out, seed=args.seed, verbose=0 if args.quiet else 2, device=device,
                  overrides=overrides, other_seeds=args.other_seeds)
    json_path = Path(args.out).with_suffix(".json")
    print(f"wrote {args.out}" + (f" from {json_path}" if json_path.exists() else " (no results yet)"))
    return 0
