"""Every zoo entry: the book's parameter count, and one training step on tiny data equal
to the same step on the numpy device; the runner's protocols (K-fold, comparisons).

Parameter counts, by arithmetic (inputs * units + units per Dense layer):
  ch2  784-512-10:       784*512+512 + 512*10+10                 =   407,050
  IMDB 10000-16-16-1:    10000*16+16 + 16*16+16 + 16+1          =   160,305
  ch4 smaller 4-4-1:     10000*4+4 + 4*4+4 + 4+1                 =    40,029
  ch4 bigger 512-512-1:  10000*512+512 + 512*512+512 + 512+1     = 5,383,681
  Reuters 64-64-46:      10000*64+64 + 64*64+64 + 64*46+46       =   647,214
  bottleneck 64-4-46:    10000*64+64 + 64*4+4 + 4*46+46          =   640,554
  Boston 13-64-64-1:     13*64+64 + 64*64+64 + 64+1              =     5,121
"""
import numpy as np
import pytest

from tests.zoo.steps import assert_one_step_matches_the_numpy_device
from tinygrad_book import zoo
from tinygrad_book.zoo import registry

PARAMS = {
    "ch2-mnist-dense": 407_050,
    "ch3-imdb-dense-validation": 160_305, "ch3-imdb-dense-final": 160_305,
    "ch3-reuters-dense-validation": 647_214, "ch3-reuters-dense-final": 647_214,
    "ch3-reuters-sparse-labels": 647_214, "ch3-reuters-bottleneck": 640_554,
    "ch3-boston-kfold-100": 5_121, "ch3-boston-kfold-500": 5_121, "ch3-boston-final": 5_121,
    "ch4-imdb-reference": 160_305, "ch4-imdb-smaller": 40_029, "ch4-imdb-bigger": 5_383_681,
    "ch4-imdb-l2": 160_305, "ch4-imdb-l1-l1l2": 160_305, "ch4-imdb-dropout": 160_305,
}


def test_registry_covers_every_chapter_2_to_4_id():
    assert [e.id for e in zoo.entries([2, 3, 4])] == list(PARAMS)   # chapter 5: tests/zoo/test_chapter5.py


@pytest.mark.parametrize("entry_id", list(PARAMS))
def test_model_has_the_books_parameter_count(entry_id):
    model = zoo.get(entry_id).build_model()
    assert model.count_params() == PARAMS[entry_id]


@pytest.mark.parametrize("entry_id", list(PARAMS))
def test_one_training_step_matches_the_numpy_device(entry_id):
    """The numpy backend is the readable reference: the default device (numba kernels,
    fused optimizers) must take the same step from the same weights, on the first 128
    samples (the book's batch)."""
    entry = zoo.get(entry_id)
    data = entry.load_data(tiny=True)
    assert_one_step_matches_the_numpy_device(entry.build_model, data.x_train[:128], data.y_train[:128],
                                             entry_id, loss_rtol=1e-5, rtol=1e-4, atol=1e-5)


STANDARD = [i for i in PARAMS if not i.startswith("ch3-boston") and i != "ch4-imdb-l1-l1l2"]


@pytest.mark.parametrize("entry_id", STANDARD)
def test_the_runner_reports_history_and_result(entry_id):
    entry = zoo.get(entry_id)
    result = zoo.run(entry, epochs=2, batch_size=16, verbose=0, tiny=True, seed=0)
    assert result["source"] == "synthetic"
    assert len(result["history"]["loss"]) == 2 and np.all(np.isfinite(result["history"]["loss"]))
    assert result["value"] is not None and np.isfinite(result["value"])
    assert result["wall_time"] > 0


def test_l1_and_l1_l2_both_train():
    result = zoo.run(zoo.get("ch4-imdb-l1-l1l2"), epochs=3, batch_size=16, verbose=0, tiny=True)
    for name in ("l1", "l1_l2"):
        assert len(result["history"][f"loss_{name}"]) == 3
        assert np.isfinite(result[f"min_val_loss_{name}"])


def test_boston_k_fold_runs_four_folds():
    result = zoo.run(zoo.get("ch3-boston-kfold-100"), epochs=2, batch_size=8, verbose=0, tiny=True)
    assert len(result["all_scores"]) == 4
    assert result["value"] == pytest.approx(np.mean(result["all_scores"]))


def test_boston_k_fold_500_averages_the_validation_curves():
    result = zoo.run(zoo.get("ch3-boston-kfold-500"), epochs=12, batch_size=8, verbose=0, tiny=True)
    assert len(result["history"]["val_mae"]) == 12
    assert 11 <= result["best_epoch_smoothed"] <= 12


def test_boston_final_reports_the_test_mae():
    result = zoo.run(zoo.get("ch3-boston-final"), epochs=3, verbose=0, tiny=True)
    assert len(result["history"]["loss"]) == 3
    assert np.isfinite(result["test_mae"])


def test_seeded_runs_repeat():
    entry = zoo.get("ch3-imdb-dense-validation")
    a = zoo.run(entry, epochs=2, batch_size=16, verbose=0, tiny=True, seed=3)
    b = zoo.run(entry, epochs=2, batch_size=16, verbose=0, tiny=True, seed=3)
    assert a["history"]["loss"] == b["history"]["loss"]


def test_boston_standardizes_with_training_statistics():
    data = zoo.get("ch3-boston-final").load_data(tiny=True)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-4)


def test_unknown_id_suggests_the_nearest():
    with pytest.raises(registry.UnknownEntryError) as e:
        zoo.get("ch3-reuters-dense")
    assert "ch3-reuters-dense-final" in e.value.suggestions
