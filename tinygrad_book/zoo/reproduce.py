"""Reproduce the book's numbers: train entries with the book's settings, write the results table.

``reproduce(ids, out="docs/results.md")`` runs each entry, merges its result into
``docs/results.json`` and regenerates ``docs/results.md`` and the curves in ``docs/img/`` from
the whole JSON, so the table can be filled in pieces (one ``--ids`` at a time).
"""
from __future__ import annotations

import datetime
import time
from pathlib import Path

from ..autograd import default_device
from . import registry
from ..data.download import DatasetNotFoundError
from ..fileio import atomic_write
from .results import format_value, machine, merge_result, read_json, write_json_atomic
from .runner import run

# Numbers shown beside an entry's own metric in the table, when its result has them.
_SHOWN = ("test_acc", "test_loss", "test_mae", "mean_val_mae", "naive_val_mae", "best_epoch", "min_val_loss",
          "final_val_acc", "max_val_acc", "best_epoch_smoothed", "min_val_mae",
          "min_val_loss_l1", "best_epoch_l1", "min_val_loss_l1_l2", "best_epoch_l1_l2")


def not_run(error) -> dict:
    """The result of a run that could not start: a file it needs is missing (a download)."""
    needs = getattr(error, "needs", None)     # set by entries whose file is a download
    return {"not_run": f"needs {needs} (download)" if needs else f"missing {getattr(error, 'fname', 'a file')}",
            "date": datetime.date.today().isoformat(), "device": default_device(), "machine": machine()}


def headline(entry, result, limit=4):
    """``metric=value`` for the entry's metric first, then the other numbers the book reads."""
    if result.get("not_run"):
        return f"not run: {result['not_run']}"
    keys = [entry.metric] + [k for k in _SHOWN if k != entry.metric]
    parts = [f"{k}={format_value(result[k])}" for k in keys if result.get(k) is not None]
    return ", ".join(parts[:limit])


def settings(entry, result):
    if result.get("not_run"):
        return "—"
    text = f"{result.get('epochs')} ep, batch {result.get('batch_size')}"
    if result.get("folds"):
        text = f"{result['folds']} folds × " + text
    if result.get("reduced"):
        text += f" (REDUCED: {result['reduced']})"
    return text


def run_one(entry, seed=0, epochs=None, batch_size=None, verbose=2, device=None, reduced=None, tiny=False):
    """Train one entry; the result carries everything the table shows. ``tiny``: the loader's
    synthetic data (tests of zoo/scaleout.py)."""
    result = run(entry, epochs=epochs, batch_size=batch_size, verbose=verbose, seed=seed, tiny=tiny)
    return stamp(result, device, reduced)


def stamp(result, device=None, reduced=None):
    """``result`` with the date, device and machine of the run (and its reduced schedule)."""
    result.update(date=datetime.date.today().isoformat(), device=device or default_device(), machine=machine())
    if reduced:
        result["reduced"] = reduced
    return result


def seed_spread(entry, seeds, epochs=None, batch_size=None):
    """The entry's metric for each of `seeds`: how much of a result is the seed's luck."""
    values = []
    for s in seeds:
        values.append(run(entry, epochs=epochs, batch_size=batch_size, verbose=0, seed=s)[entry.metric])
    return {"metric": entry.metric, "seeds": list(seeds), "values": values}


def seed_values(result) -> list:
    """The spread metric over every seed run: the table's seed first, then --other-seeds."""
    spread = result.get("seed_spread")
    return [result[spread["metric"]]] + list(spread["values"]) if spread else []


def mean_over_seeds(result) -> dict:
    """``result`` with its spread metric replaced by the mean over all its seeds (itself when
    no other seeds ran): one seed's luck should not decide a verdict."""
    values = seed_values(result)
    if not values:
        return result
    return dict(result, **{result["seed_spread"]["metric"]: sum(values) / len(values)})


def verdict(entry, result, all_results):
    """(passed, rule) of ``entry.check`` on the means over seeds, ours and the other entries'."""
    if not entry.check:
        return None, "—"
    means = {k: mean_over_seeds(r) for k, r in all_results.items()}
    ok, rule = entry.check(mean_over_seeds(result), means)
    if _reads_spread_metric(entry, result):
        rule += f" (mean of {len(seed_values(result))} seeds)"
    return ok, rule


def _reads_spread_metric(entry, result) -> bool:
    spread = result.get("seed_spread")
    return bool(spread and entry.check and getattr(entry.check, "key", None) == spread["metric"])


def spread_text(entry, result, all_results) -> str:
    """'mean 0.881 (0.870-0.887), 7/10 pass' over the seed run and its other seeds."""
    spread = result.get("seed_spread")
    if not spread:
        return ""
    values = seed_values(result)
    text = (f"{spread['metric']} mean {format_value(sum(values) / len(values))} "
            f"({format_value(min(values))}-{format_value(max(values))}) over {len(values)} seeds")
    if _reads_spread_metric(entry, result):
        verdicts = [entry.check(dict(result, **{spread["metric"]: v}), all_results)[0] for v in values]
        text += f", {sum(bool(v) for v in verdicts)}/{len(values)} pass"
    return text


def render_markdown(all_results: dict) -> str:
    """The results table (book vs ours) from every stored result, in book order."""
    chapters = sorted({e.chapter for e in registry.entries()})
    lines = [f"# Reproduction of the book's results (chapters {chapters[0]}-{chapters[-1]})", "",
             "Generated by `tinygrad-book reproduce` from `docs/results.json`; do not edit by hand.",
             "Each run is seeded (column *seed*); *settings* are the book's unless marked REDUCED; "
             "*wall time* is training + evaluation (data loading excluded).",
             ""]
    machines = {(r.get("machine", {}).get("cpu"), r.get("machine", {}).get("cores"), r.get("device"))
                for r in all_results.values()}
    dates = sorted({r.get("date") for r in all_results.values() if r.get("date")})
    for cpu, cores, device in sorted(machines, key=str):
        lines.append(f"* Machine: {cpu}, {cores} cores, device `{device}`")
    if dates:
        lines.append(f"* Date: {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else ""))
    lines += ["", "| id | book | ours | settings | seed | data | criterion | pass | wall time |",
              "|---|---|---|---|---|---|---|---|---|"]
    passed = failed = 0
    for entry in registry.entries():
        result = all_results.get(entry.id)
        if result is None or result.get("not_run"):
            lines.append(f"| {entry.id} | {entry.book_result} | {headline(entry, result) if result else 'not run'} "
                         "| | | | | | |")
            continue
        ok, rule = verdict(entry, result, all_results)
        shown = "—" if ok is None else ("pass" if ok else "**FAIL**")
        passed += ok is True
        failed += ok is False
        lines.append(f"| {entry.id} | {entry.book_result} | {headline(entry, result)} | "
                     f"{settings(entry, result)} | {result.get('seed')} | {result.get('source')} | "
                     f"{rule} | {shown} | {result.get('wall_time', 0):.0f} s |")
    lines += ["", f"{passed} passed, {failed} failed, "
              f"{len(registry.entries()) - passed - failed} without a verdict (no criterion, or not run).",
              ""]
    spreads = [(entry, all_results[entry.id]) for entry in registry.entries()
               if (all_results.get(entry.id) or {}).get("seed_spread")]
    if spreads:
        lines += ["Seed spread (`reproduce --other-seeds N`): the same entry trained with other seeds. "
                  "The verdict above is the one of the mean over all the seeds; *k/n pass* counts the seeds "
                  "that would pass alone.", "",
                  "| id | spread |", "|---|---|"]
        lines += [f"| {entry.id} | {spread_text(entry, result, all_results)} |" for entry, result in spreads]
        lines.append("")
    lines += ["Notes:", ""]
    for entry in registry.entries():
        if entry.notes:
            lines.append(f"* `{entry.id}`: {entry.notes}")
    lines += ["", "Curves: `docs/img/<id>.png`; chapter-4 comparisons `docs/img/<id>-vs-reference.png`.",
              ""]
    return "\n".join(lines)


def write_plots(all_results: dict, img_dir: Path, fresh=()):
    """One PNG per entry with curves (the entry draws it), plus each comparison an entry
    asks for in ``compare_plot`` (the chapter-4 figures 4.4-4.9). The images a visualisation
    drew are copied from the cache only for the entries in ``fresh`` (those that just ran):
    the cache may hold other runs' images of the same names (a tiny test run, an older run)."""
    from . import plots

    img_dir.mkdir(parents=True, exist_ok=True)
    for entry in registry.entries():
        figures = (all_results.get(entry.id) or {}).get("figures")
        if entry.id in fresh:
            plots.copy_figures(figures, img_dir)   # the images a visualisation drew, instead of curves
        history = (all_results.get(entry.id) or {}).get("history")
        if history and not figures:
            entry.draw(history, img_dir / f"{entry.id}.png")
        if history and entry.compare_plot:
            reference_id, label = entry.compare_plot
            reference = (all_results.get(reference_id) or {}).get("history")
            if reference:
                plots.plot_comparison(reference, history, img_dir / f"{entry.id}-vs-reference.png", label)


def reproduce(ids, out="docs/results.md", seed=0, verbose=2, device=None, overrides=None, other_seeds=0):
    """Train ``ids`` in turn; after each, merge into the JSON and rewrite the markdown + curves.

    ``overrides``: {id: (epochs, batch_size, description)} for reduced settings (reported).
    ``other_seeds``: also train seeds seed+1 .. seed+N and store the spread of the metric."""
    out = Path(out)
    if out.is_dir():                      # a folder: FOLDER/results.md, as the command line says
        out = out / "results.md"
    json_path = out.with_suffix(".json")
    img_dir = out.parent / "img"
    overrides = overrides or {}
    registry.entries()                    # every chapter registered, in book order
    for entry_id in ids:
        entry = registry.get(entry_id)
        epochs, batch_size, reduced = overrides.get(entry_id, (None, None, None))
        if reduced:
            entry = entry.with_reduced_schedule()
        print(f"== {entry_id}: {entry.epochs if epochs is None else epochs} epochs, "
              f"batch {entry.batch_size if batch_size is None else batch_size}, seed {seed}", flush=True)
        start = time.perf_counter()
        try:
            result = run_one(entry, seed, epochs, batch_size, verbose, device, reduced)
        except DatasetNotFoundError as e:    # e.g. ImageNet weights: the row says what is missing
            print(f"== {entry_id}: not run: {e}", flush=True)
            if entry_id not in read_json(json_path):   # never hide an earlier result
                rewrite(merge_result(json_path, entry_id, not_run(e)), out, img_dir, fresh={entry_id})
            continue
        if other_seeds:
            result["seed_spread"] = seed_spread(entry, range(seed + 1, seed + 1 + other_seeds), epochs, batch_size)
        all_results = merge_result(json_path, entry_id, result)
        print(f"== {entry_id}: {headline(entry, result)} (book: {entry.book_result}) "
              f"[{time.perf_counter() - start:.0f} s]", flush=True)
        rewrite(all_results, out, img_dir, fresh={entry_id})
    if not ids:
        rewrite(read_json(json_path), out, img_dir)
    return read_json(json_path)


def rewrite(all_results, out, img_dir, fresh=()):
    """Regenerate the markdown, the curves and the result blocks of docs/chapterN.md
    (``fresh``: the entries that just ran, whose drawn images are copied)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_plots(all_results, Path(img_dir), fresh)
    _write_text(Path(out), render_markdown(all_results))
    for chapter in sorted({e.chapter for e in registry.entries()}):
        update_chapter_doc(Path(out).parent / f"chapter{chapter}.md", chapter, all_results)


BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def chapter_table(chapter, all_results) -> str:
    """Book vs ours for one chapter's entries (the block between the markers of chapterN.md)."""
    rows = ["| id | book | ours | pass |", "|---|---|---|---|"]
    for entry in registry.entries([chapter]):
        result = all_results.get(entry.id)
        if result is None or result.get("not_run"):
            rows.append(f"| {entry.id} | {entry.book_result} | {headline(entry, result) if result else 'not run yet'} | |")
            continue
        ok, _ = verdict(entry, result, all_results)
        rows.append(f"| {entry.id} | {entry.book_result} | {headline(entry, result)} "
                    f"({settings(entry, result)}, seed {result.get('seed')}, {result.get('source')}) | "
                    f"{'—' if ok is None else ('pass' if ok else 'FAIL')} |")
    return "\n".join(rows)


def update_chapter_doc(path: Path, chapter, all_results):
    """Replace the text between the result markers of ``path``, if it has them."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    _write_text(path, f"{head}{BEGIN}\n{chapter_table(chapter, all_results)}\n{END}{tail}")


def _write_text(path: Path, text: str):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


__all__ = ["reproduce", "render_markdown", "write_plots", "headline", "write_json_atomic"]
