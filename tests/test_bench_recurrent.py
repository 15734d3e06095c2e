"""The recurrent training-step workloads of `tinygrad-book bench` (bench.RECURRENT_TRAIN)
compute what they claim: on tiny sizes, our step on the cpu backend gives the numpy
reference backend's loss from the same seeded weights, and the PyTorch step trains too.
(They have no plain-numpy counterpart, so test_cli's numpy comparison skips them.)"""
import numpy as np
import pytest

from tinygrad_book import bench
from tinygrad_book.nn.seeding import set_seed

TINY = {"train_imdb_lstm": ("lstm", 4, 7, 8, 5, 50), "train_jena_gru": ("gru", 4, 6, 3, 5, None)}


@pytest.mark.parametrize("name", list(TINY))
def test_recurrent_step_matches_the_reference_backend(name, monkeypatch):
    monkeypatch.setitem(bench.RECURRENT_TRAIN, name, TINY[name])
    x, y = bench.recurrent_batch(name)
    losses = {}
    for device in ("cpu", "numpy"):
        set_seed(0)
        step = bench.our_recurrent_step(name, device, x, y)
        losses[device] = [float(np.asarray(step()).ravel()[0]) for _ in range(2)]
    np.testing.assert_allclose(losses["cpu"], losses["numpy"], rtol=1e-4)
    assert losses["cpu"][1] < losses["cpu"][0]                      # it trains


@pytest.mark.parametrize("name", list(TINY))
def test_recurrent_workloads_run_on_torch_and_skip_numpy(name, monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is in the bench extra (pip install -e '.[bench]'), not in CI's dev extra")
    monkeypatch.setitem(bench.RECURRENT_TRAIN, name, TINY[name])
    step = bench.WORKLOADS[name].build("torch")
    first, second = step(), step()
    assert np.isfinite(first) and second < first
    with pytest.raises(bench.Unavailable, match="no plain-numpy"):
        bench.WORKLOADS[name].build("numpy")
