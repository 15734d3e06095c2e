"""The results store and the reproduction table (one fast real-data run when TINYGRAD_BOOK_DATA is set)."""
import json
import os

import pytest

from tinygrad_book import zoo
from tinygrad_book.zoo import reproduce, results


def _fake(**numbers):
    return {"epochs": 20, "batch_size": 512, "seed": 0, "source": "imdb", "wall_time": 1.0,
            "device": "cpu", "date": "2025-01-01", "machine": {"cpu": "X", "cores": 2}, **numbers}


def test_merge_keeps_other_ids_and_writes_atomically(tmp_path):
    path = tmp_path / "r.json"
    results.merge_result(path, "a", {"x": 1})
    results.merge_result(path, "b", {"x": 2})
    assert json.loads(path.read_text()) == {"a": {"x": 1}, "b": {"x": 2}}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]   # no temporary file left


def test_last_results_live_under_tinygrad_book_home(zoo_home):
    results.save_last_result("ch2-mnist-dense", {"test_acc": 0.9, "history": {"loss": [1.0]}})
    saved = json.loads((zoo_home / "results.json").read_text())
    assert saved == {"ch2-mnist-dense": {"test_acc": 0.9}}


def test_comparison_checks_read_the_reference_run():
    reference_curve = {"val_loss": [0.3, 0.28] + [0.6] * 18}
    l2_curve = {"val_loss": [0.4, 0.33] + [0.4] * 18}    # a higher minimum, lower late on (fig 4.7)
    all_results = {"ch4-imdb-reference": _fake(best_epoch=2, min_val_loss=0.28, history=reference_curve),
                   "ch4-imdb-smaller": _fake(best_epoch=7), "ch4-imdb-bigger": _fake(best_epoch=3),
                   "ch4-imdb-l2": _fake(min_val_loss=0.33, history=l2_curve)}
    check = lambda i: zoo.get(i).check(all_results[i], all_results)[0]  # noqa: E731
    assert check("ch4-imdb-smaller") is True
    assert check("ch4-imdb-bigger") is False
    assert check("ch4-imdb-l2") is True
    assert zoo.get("ch4-imdb-dropout").check({}, all_results)[0] is None   # not run yet


def test_markdown_table_has_every_entry_and_verdicts():
    all_results = {"ch2-mnist-dense": _fake(test_acc=0.98, source="mnist"),
                   "ch3-boston-final": _fake(test_mae=3.5)}
    text = reproduce.render_markdown(all_results)
    assert "| ch2-mnist-dense |" in text and "pass" in text and "**FAIL**" in text
    assert text.count("| not run |") == len(zoo.entries()) - 2
    assert "X, 2 cores" in text


def test_render_only_writes_markdown_and_curves(tmp_path):
    out = tmp_path / "docs" / "results.md"
    history = {"loss": [0.5, 0.3], "acc": [0.8, 0.9], "val_loss": [0.4, 0.35], "val_acc": [0.8, 0.85]}
    results.write_json_atomic(out.with_suffix(".json"),
                              {"ch4-imdb-reference": _fake(best_epoch=2, history=history),
                               "ch4-imdb-l2": _fake(min_val_loss=0.3, history=history)})
    reproduce.reproduce([], out=out)
    assert "ch4-imdb-l2" in out.read_text()
    assert (tmp_path / "docs" / "img" / "ch4-imdb-l2.png").stat().st_size > 1000
    assert (tmp_path / "docs" / "img" / "ch4-imdb-l2-vs-reference.png").exists()


REAL_DATA = os.environ.get("TINYGRAD_BOOK_DATA")


@pytest.mark.skipif(not REAL_DATA or not os.path.exists(
    os.path.join(REAL_DATA or "", "boston_housing", "boston_housing.npz")),
    reason="needs TINYGRAD_BOOK_DATA with boston_housing")
def test_reproduce_in_pieces_merges_into_one_table(tmp_path):
    """Real data, reduced epochs (marked REDUCED in the table): two runs, one table."""
    out = tmp_path / "results.md"
    fast = {"ch3-boston-final": (2, None, "2 epochs (test)"),
            "ch3-boston-kfold-100": (1, 101, "1 epoch (test)")}
    reproduce.reproduce(["ch3-boston-final"], out=out, verbose=0, overrides=fast)
    reproduce.reproduce(["ch3-boston-kfold-100"], out=out, verbose=0, overrides=fast)
    stored = json.loads(out.with_suffix(".json").read_text())
    assert set(stored) == {"ch3-boston-final", "ch3-boston-kfold-100"}
    assert stored["ch3-boston-final"]["source"] == "boston_housing"
    text = out.read_text()
    assert text.count("(REDUCED:") == 2 and text.count("| not run |") == len(zoo.entries()) - 2


def test_seed_spread_is_reported_beside_the_verdict_of_the_mean_over_seeds():
    spread = {"metric": "test_acc", "seeds": [1, 2, 3], "values": [0.886, 0.885, 0.872]}
    all_results = {"ch3-imdb-dense-final": _fake(test_acc=0.8696, seed_spread=spread)}
    text = reproduce.render_markdown(all_results)
    row = next(line for line in text.splitlines() if line.startswith("| ch3-imdb-dense-final |"))
    assert "test_acc=0.8696" in row                          # the table shows seed 0's run ...
    assert "| test_acc >= 0.875 (mean of 4 seeds) | pass |" in row   # ... the verdict the mean 0.878
    spread_row = next(line for line in text.splitlines() if line.startswith("| ch3-imdb-dense-final | test_acc mean"))
    assert "(0.8696-0.8860) over 4 seeds, 2/4 pass" in spread_row


def test_seed_spread_trains_each_seed(monkeypatch):
    seen = []

    def fake_run(entry, epochs=None, batch_size=None, verbose=0, seed=0):
        seen.append(seed)
        return {entry.metric: 0.5 + seed / 100}
    monkeypatch.setattr(reproduce, "run", fake_run)
    spread = reproduce.seed_spread(zoo.get("ch3-imdb-dense-final"), [1, 2])
    assert seen == [1, 2] and spread == {"metric": "test_acc", "seeds": [1, 2], "values": [0.51, 0.52]}
