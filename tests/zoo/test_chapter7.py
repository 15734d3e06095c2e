"""Chapter 7's tool and API entries (zoo/chapter7.py): the parameter counts (by arithmetic
below), one training step on tiny data the same on the numpy reference device as on the
cpu one, and every pipeline end to end on tiny data with its mechanics check.

  functional intro   64*32+32 + 32*32+32 + 32*10+10                          =      3,466 (L12054-L12088)
  QA (listing 7.1)   10000*64 + 4*(32*(64+32)+32) + 10000*32 + 4*(16*(32+16)+16) + 48*500+500 = 1,000,052
  social (fixed)     50000*256 + (5*256*128+128) + (5*128*256+256) + 3*(5*256*256+256)
                     + 256*128+128 + 129 + 1290 + 129                        = 14,146,316
  siamese LSTM       4*(32*(128+32)+32) + 64+1 (one LSTM, called twice)      =     20,673
  inception module   (64*128+128) + (64*128+128 + 9*128*128+128) + (9*64*128+128)
                     + (64*128+128 + 2*(9*128*128+128))                      =    541,568
  IMDB conv1d        2000*128 + 7*128*32+32 + 7*32*32+32 + 33                =    291,937
"""
import numpy as np
import pytest

from tests.zoo.steps import assert_one_step_matches_the_numpy_device
from tinygrad_book import zoo
from tinygrad_book.nn import clear_session
from tinygrad_book.zoo import chapter7

IDS = ["ch7-functional-api-intro", "ch7-qa-two-input", "ch7-social-multi-output", "ch7-inception-module",
       "ch7-residual-connections", "ch7-siamese-lstm", "ch7-callbacks", "ch7-tensorboard-imdb-conv1d",
       "ch7-hyperparameter-optimization", "ch7-ensembling"]
LAYER_IDS = ["ch7-siamese-xception-vision", "ch7-batchnorm", "ch7-separable-conv-small"]  # test_chapter7_layers.py
BOOK_ORDER = ["ch7-functional-api-intro", "ch7-qa-two-input", "ch7-social-multi-output", "ch7-inception-module",
              "ch7-residual-connections", "ch7-siamese-lstm", "ch7-siamese-xception-vision", "ch7-callbacks",
              "ch7-tensorboard-imdb-conv1d", "ch7-batchnorm", "ch7-separable-conv-small",
              "ch7-hyperparameter-optimization", "ch7-ensembling"]
PARAMS = {"ch7-functional-api-intro": 3_466, "ch7-qa-two-input": 1_000_052, "ch7-social-multi-output": 14_146_316,
          "ch7-siamese-lstm": 20_673, "ch7-callbacks": 160_305, "ch7-tensorboard-imdb-conv1d": 291_937,
          "ch7-residual-connections": 442_752}

@pytest.fixture(autouse=True)
def offline_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    clear_session()


def test_every_chapter_7_id_is_in_the_zoo_in_book_order():
    assert sorted(BOOK_ORDER) == sorted(IDS + LAYER_IDS)
    assert [e.id for e in chapter7.ENTRIES] == BOOK_ORDER
    assert [e.id for e in zoo.entries([7])] == BOOK_ORDER


def test_param_counts_agree_with_arithmetic():
    assert 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10 == PARAMS["ch7-functional-api-intro"]
    assert (10000 * 64 + 4 * (32 * 96 + 32) + 10000 * 32 + 4 * (16 * 48 + 16) + 48 * 500 + 500
            == PARAMS["ch7-qa-two-input"])
    assert (50000 * 256 + 5 * 256 * 128 + 128 + 5 * 128 * 256 + 256 + 3 * (5 * 256 * 256 + 256)
            + 256 * 128 + 128 + 129 + 1290 + 129 == PARAMS["ch7-social-multi-output"])
    assert 4 * (32 * 160 + 32) + 65 == PARAMS["ch7-siamese-lstm"]
    assert 2000 * 128 + 7 * 128 * 32 + 32 + 7 * 32 * 32 + 32 + 33 == PARAMS["ch7-tensorboard-imdb-conv1d"]


@pytest.mark.parametrize("entry_id", list(PARAMS))
def test_model_has_the_expected_parameter_count(entry_id):
    assert zoo.get(entry_id).build_model().count_params() == PARAMS[entry_id]


def test_the_functional_twin_has_the_books_summary_shapes():
    seq, model = chapter7.sequential_and_functional()
    assert [l.output_shape for l in model.layers] == [(None, 64), (None, 32), (None, 32), (None, 10)]
    assert seq.count_params() == model.count_params() == 3466


def test_the_printed_inception_branches_do_not_concatenate():
    from tinygrad_book import layers
    printed = chapter7.inception_branches(layers.Input(shape=chapter7.INCEPTION_INPUT), 'valid')
    assert [t.shape[1:3] for t in printed] == [(14, 14), (13, 13), (11, 11), (12, 12)]
    with pytest.raises(ValueError):
        layers.concatenate(printed, axis=-1)


def test_the_fixed_inception_module_concatenates_to_512_channels():
    model = chapter7.inception_module()
    assert model.get_layer(index=-3).output_shape == (None, 14, 14, 512)
    assert model.count_params() == 541_568 + 513


def test_the_social_stand_in_fits_the_convolutions():
    data = chapter7.social_arrays(tiny=True)
    assert data.x_train.shape[1] == chapter7.POST_LENGTH >= 269
    assert data.x_train.max() < chapter7.VOCABULARY_SIZE and data.x_train.min() >= 1
    model = chapter7.social_model()
    assert [t.shape for t in model.outputs] == [(None, 1), (None, 10), (None, 1)]


# --- one step, the same on the numpy reference device ------------------------------------------
rng = np.random.RandomState(0)
STEP_CASES = {
    "ch7-functional-api-intro": (chapter7.functional_intro_model, rng.rand(4, 64).astype("float32"),
                                 rng.rand(4, 10).astype("float32")),
    "ch7-qa-two-input": (chapter7.qa_model, [rng.randint(1, 10000, (2, 6)), rng.randint(1, 10000, (2, 5))],
                         np.eye(500, dtype="float32")[[3, 7]]),
    "ch7-siamese-lstm": (chapter7.siamese_lstm, [rng.randn(3, 4, 128).astype("float32"),
                                                 rng.randn(3, 4, 128).astype("float32")],
                         np.array([[1.0], [0.0], [1.0]], dtype="float32")),
    "ch7-callbacks": (chapter7.imdb_dense, (rng.rand(4, 10000) < 0.01).astype("float32"),
                      np.array([0, 1, 1, 0], dtype="float32")),
    "ch7-tensorboard-imdb-conv1d": (chapter7.imdb_conv1d, rng.randint(1, 2000, (2, 500)),
                                    np.array([0.0, 1.0], dtype="float32")),
}


@pytest.mark.parametrize("entry_id", list(STEP_CASES))
def test_one_step_matches_the_numpy_device(entry_id):
    build, x, y = STEP_CASES[entry_id]
    assert_one_step_matches_the_numpy_device(build, x, y, entry_id)


# --- the pipelines end to end on tiny data ------------------------------------------------------
def tiny_run(entry_id, **kw):
    return zoo.run(zoo.get(entry_id), verbose=0, tiny=True, seed=0, **kw)


def passes(entry_id, result):
    ok, rule = zoo.get(entry_id).check(result, {})
    return ok


def test_functional_intro_twins_and_disconnected_graph():
    result = tiny_run("ch7-functional-api-intro", epochs=2)
    assert result["twins_agree"] and result["graph_disconnected"] and passes("ch7-functional-api-intro", result)
    assert "Graph disconnected" in result["disconnected_message"]


def test_qa_dict_and_list_inputs_agree():
    result = tiny_run("ch7-qa-two-input", epochs=2, batch_size=4)
    assert result["dict_equals_list"] and result["swapped_inputs_differ"]


def test_social_reports_the_weighted_sum_of_its_losses():
    result = tiny_run("ch7-social-multi-output", epochs=1, batch_size=4)
    scores = result["val_scores"]
    assert result["loss_is_weighted_sum"]
    assert scores["loss"] == pytest.approx(0.25 * scores["age_loss"] + scores["income_loss"]
                                           + 10 * scores["gender_loss"], rel=1e-5)


def test_inception_pipeline_runs():
    result = tiny_run("ch7-inception-module", epochs=2, batch_size=2)
    assert passes("ch7-inception-module", result)


def test_residual_connections_carry_the_gradient():
    result = tiny_run("ch7-residual-connections")
    assert passes("ch7-residual-connections", result)
    assert result["first_layer_gradient_plain"] < 1e-6 < result["first_layer_gradient_residual"]


def test_siamese_shares_one_lstm():
    result = tiny_run("ch7-siamese-lstm", epochs=1, batch_size=4)
    assert result["lstm_layers"] == 1 and result["lstm_calls"] == 2 and result["params"] == 20_673


def test_callbacks_checkpoint_and_activation_logger():
    result = tiny_run("ch7-callbacks", epochs=3, batch_size=8)
    assert result["checkpoint_is_best_epoch"] and result["activation_files"] == result["epochs_run"]


def test_tensorboard_event_file_read_back(tmp_path, monkeypatch):
    entry = zoo.get("ch7-tensorboard-imdb-conv1d")
    monkeypatch.setitem(entry.extra, "log_dir", str(tmp_path / "my_log_dir"))
    result = zoo.run(entry, epochs=2, batch_size=8, verbose=0, tiny=True)
    assert passes("ch7-tensorboard-imdb-conv1d", result)
    assert result["curves_from"].startswith("the event file")
    assert len(result["history"]["val_acc"]) == 2
    assert result["projector_files"] == ["embed.tsv", "projector_config.pbtxt"]
    path = tmp_path / "scalars.png"
    entry.draw(result["history"], path)
    from PIL import Image
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 2 * img.size[1]


def test_hyperparameter_search_table():
    result = tiny_run("ch7-hyperparameter-optimization", epochs=1, batch_size=16)
    assert len(result["trials"]) == 2 and result["best_trial"] in (1, 2)
    table = chapter7.trials_table(result)
    assert table.count("\n") == 3 and "| val_acc |" in table


def test_random_search_samples_inside_the_space():
    space, r = chapter7.SEARCH_SPACE, np.random.RandomState(0)
    for _ in range(50):
        s = chapter7.sample_settings(r)
        assert s["units"] in space["units"] and s["layers"] in space["layers"]
        assert space["lr"][0] <= s["lr"] <= space["lr"][1]


def test_ensemble_weights_minimize_validation_loss():
    rng = np.random.RandomState(0)
    y = (rng.rand(400) < 0.5).astype(float)
    good = np.clip(y * 0.8 + 0.1 + rng.randn(400) * 0.05, 0.01, 0.99)
    noise = rng.rand(400)
    w = chapter7.ensemble_weights(np.array([noise, good]), y)
    assert w.sum() == pytest.approx(1.0) and w[1] > 0.9


def test_ensembling_pipeline_runs():
    result = tiny_run("ch7-ensembling", epochs=1, batch_size=16)
    assert sum(result["weights"]) == pytest.approx(1.0) and set(result["members"]) == {"a", "b", "c", "d"}
    assert result["weighted_val_loss"] <= min(m["val_loss"] for m in result["members"].values()) + 1e-6
