"""Dataset files of the wrong shape, the compile notice, and the reproduce verdicts
(issue 11, items 8 and 9, and the verdict bullets)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_book.data.download import CorruptFileError
from tests.reliability.conftest import cli_env


def write_mnist(folder, x_train_shape):
    (folder / "mnist").mkdir(parents=True)
    np.savez(folder / "mnist" / "mnist.npz", x_train=np.zeros(x_train_shape, np.uint8),
             y_train=np.zeros(10, np.uint8), x_test=np.zeros((4, 28, 28), np.uint8),
             y_test=np.zeros(4, np.uint8))


@pytest.mark.parametrize("shape, says", [
    ((10, 784), r"array 'x_train' has shape \(10, 784\), expected \(n_train, 28, 28\)"),
    ((9, 28, 28), r"array 'y_train' has shape \(10,\), expected \(9,\)"),
])
def test_a_dataset_file_with_the_right_keys_but_wrong_shapes_is_refused(tmp_path, monkeypatch, shape, says):
    from tinygrad_book.datasets import mnist
    write_mnist(tmp_path, shape)
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(tmp_path))
    with pytest.raises(CorruptFileError, match=says):
        mnist.load_data()


def test_the_compile_notice_reads_numbas_cache_index(tmp_path):
    """With an empty numba cache the line is printed (once); with every index file present it is not."""
    script = ("from tinygrad_book import compile_notice as c\n"
              "print(c.announce_compile('cpu'), c.announce_compile('cpu'))\n"
              "print(all(str(k._cache._cache_file._index_path).startswith(%r) for k in c.cpu_kernels()))\n"
              "print(len(c.uncompiled(c.cpu_kernels())), len(c.cpu_kernels()))\n")
    env = cli_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    run = lambda: subprocess.run([sys.executable, "-c", script % str(tmp_path / "numba")], env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=300).stdout.splitlines()
    out = run()
    assert out[0].startswith("compiling kernels (first run, about ") and out[1] == "True False"
    assert out[2] == "True"                     # the index files live where NUMBA_CACHE_DIR says
    cold, total = map(int, out[3].split())
    assert cold == total > 10
    # make every index file exist, as numba does after compiling: the cache is warm
    probe = ("from tinygrad_book import compile_notice as c\n"
             "import os\n"
             "for k in c.cpu_kernels():\n"
             "    p = k._cache._cache_file._index_path\n"
             "    os.makedirs(os.path.dirname(p), exist_ok=True); open(p, 'wb').close()\n")
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=300)
    out = run()
    assert out == ["False False", "True", f"0 {total}"]   # no notice line


def test_no_compile_notice_for_other_devices():
    from tinygrad_book.compile_notice import announce_compile
    assert announce_compile("numpy") is False


# --------------------------------------------------------------------------- verdicts

def result(metric_value, values=None, metric="test_acc", **extra):
    r = {metric: metric_value, **extra}
    if values is not None:
        r["seed_spread"] = {"metric": metric, "seeds": list(range(1, len(values) + 1)), "values": values}
    return r


def test_the_verdict_is_the_mean_over_seeds():
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.reproduce import spread_text, verdict
    entry = registry.get("ch3-imdb-dense-final")          # test_acc >= 0.875
    unlucky = result(0.870, [0.880, 0.885, 0.881])       # seed 0 alone fails, the mean passes
    assert verdict(entry, unlucky, {}) == (True, "test_acc >= 0.875 (mean of 4 seeds)")
    assert "3/4 pass" in spread_text(entry, unlucky, {})
    lucky = result(0.890, [0.860, 0.862, 0.861])
    assert verdict(entry, lucky, {})[0] is False
    assert verdict(entry, result(0.880), {}) == (True, "test_acc >= 0.875")


def test_the_l2_check_reads_the_late_epochs_of_figure_4_7():
    from tinygrad_book.zoo import registry
    from tinygrad_book.zoo.reproduce import verdict
    entry = registry.get("ch4-imdb-l2")
    reference = {"min_val_loss": 0.28, "history": {"val_loss": [0.35, 0.28] + [0.5] * 18}}
    # the L2 model's minimum is higher (the penalty is in val_loss) but it stays lower late on
    l2 = {"min_val_loss": 0.33, "history": {"val_loss": [0.40, 0.33] + [0.45] * 18}}
    ok, rule = verdict(entry, l2, {"ch4-imdb-reference": reference})
    assert ok is True and rule == "val_loss < ch4-imdb-reference's at every epoch from 11 on"
    l2["history"]["val_loss"][15] = 0.6                  # one late epoch above the reference
    assert verdict(entry, l2, {"ch4-imdb-reference": reference})[0] is False
    assert verdict(entry, l2, {})[0] is None             # no reference run yet


def test_results_md_is_rendered_from_the_stored_results():
    """docs/results.md is what `reproduce --render-only` makes of docs/results.json."""
    import json

    from tinygrad_book.zoo.reproduce import render_markdown
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "results.json"), encoding="utf-8") as f:
        stored = json.load(f)
    with open(os.path.join(root, "docs", "results.md"), encoding="utf-8") as f:
        shown = f.read()
    # sorted: the row order is the registry's, which depends on which chapter was imported first
    assert sorted(shown.splitlines()) == sorted(render_markdown(stored).splitlines())
