"""Chapter 5's zoo entries: the book's parameter and trainable-weight counts, one training step
on tiny data the same on the numpy reference device as on the cpu one, a few steps lowering the
loss, and every pipeline end to end on tiny data (the cats-vs-dogs folders as synthetic JPEGs in
the book's layout, VGG16 on random weights at 48x48). Offline, the VGG16 entries say they need
the ImageNet download, in one line.

Parameter counts (book summaries):
  ch5-mnist-convnet      93,322 (L6570); without max pooling 55,744 (L6853-L6864)
  small cats-vs-dogs     3,453,121 (L7233-L7257); Dropout adds none
  VGG16 + Flatten + Dense(256) + Dense(1): 16,812,353 (L8006-L8033)
  the feature classifier: 8192*256+256 + 256*1+1 = 2,097,665 (arithmetic; the book prints none)
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.zoo.steps import step_tests
from tinygrad_book import zoo
from tinygrad_book.data.download import DatasetNotFoundError
from tinygrad_book.nn import clear_session, set_seed
from tinygrad_book.zoo import chapter5

IDS = ["ch5-mnist-convnet", "ch5-mnist-convnet-nomaxpool", "ch5-catsdogs-small-convnet",
       "ch5-augmentation-preview", "ch5-catsdogs-augment-dropout", "ch5-vgg16-feature-extraction-fast",
       "ch5-vgg16-feature-extraction-augment", "ch5-vgg16-finetune", "ch5-viz-intermediate-activations",
       "ch5-viz-filters-gradient-ascent", "ch5-gradcam-elephant"]
PARAMS = {"ch5-mnist-convnet": 93_322, "ch5-mnist-convnet-nomaxpool": 55_744,
          "ch5-catsdogs-small-convnet": 3_453_121, "ch5-augmentation-preview": 3_453_121,
          "ch5-catsdogs-augment-dropout": 3_453_121, "ch5-vgg16-feature-extraction-fast": 2_097_665,
          "ch5-vgg16-feature-extraction-augment": 16_812_353, "ch5-vgg16-finetune": 16_812_353,
          # the visualisations look inside the small convnet (the book loads it, listing 5.25)
          "ch5-viz-intermediate-activations": 3_453_121, "ch5-viz-filters-gradient-ascent": 3_453_121,
          "ch5-gradcam-elephant": 3_453_121}
VGG_IDS = IDS[5:8]


@pytest.fixture(autouse=True)
def offline_tiny(tmp_path, monkeypatch):
    """Synthetic images go to a temporary cache; nothing is downloaded."""
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    clear_session()


def test_every_chapter_5_id_is_in_the_zoo_in_book_order():
    assert [e.id for e in zoo.entries([5])] == IDS


def test_param_counts_agree_with_arithmetic():
    assert 8192 * 256 + 256 + 256 + 1 == PARAMS["ch5-vgg16-feature-extraction-fast"]
    assert 14_714_688 + 8192 * 256 + 256 + 257 == PARAMS["ch5-vgg16-feature-extraction-augment"]
    # conv base 55,744 + 576*64+64 + 64*10+10 (L6530, L6570)
    assert 55_744 + 576 * 64 + 64 + 64 * 10 + 10 == PARAMS["ch5-mnist-convnet"]


@pytest.mark.parametrize("entry_id", IDS)
def test_model_has_the_books_parameter_count(entry_id):
    assert zoo.get(entry_id).build_model().count_params() == PARAMS[entry_id]


def test_book_output_shapes_of_the_convnets():
    mnist = zoo.get("ch5-mnist-convnet").build_model()
    assert [l.output_shape[1:] for l in mnist.layers] == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]
    small = chapter5.small_convnet()
    assert [l.output_shape[1] for l in small.layers[:8]] == [148, 74, 72, 36, 34, 17, 15, 7]
    assert small.layers[8].output_shape == (None, 6272)


@pytest.mark.parametrize("entry_id, trainable", [
    ("ch5-vgg16-feature-extraction-augment", 4), ("ch5-vgg16-finetune", 10)])
def test_vgg16_models_freeze_as_the_book(entry_id, trainable):
    assert len(zoo.get(entry_id).build_model().trainable_weights) == trainable


def test_no_max_pool_numbers_are_the_books():
    result = zoo.run(zoo.get("ch5-mnist-convnet-nomaxpool"), verbose=0)
    assert result["final_map"] == [22, 22, 64]
    assert result["value"] == 30_976 == 22 * 22 * 64
    assert result["dense_512_params"] == 15_860_224        # "15.8 million" (L6880)


# --- one step, the same on the numpy reference device ----------------------------------------
def tiny_vgg_classifier():
    return chapter5.vgg16_with_classifier(chapter5.conv_base(None, chapter5.TINY_VGG_SIZE + (3,)))


def tiny_vgg_fine_tune():
    return chapter5.fine_tune(tiny_vgg_classifier())


def tiny_feature_classifier():
    return chapter5.feature_classifier(512)


# (model builder, batch): the real models, except VGG16 at 48x48 instead of 150x150
rng = np.random.RandomState(0)
IMAGES_150 = rng.rand(2, 150, 150, 3).astype("float32")
IMAGES_48 = rng.rand(2, 48, 48, 3).astype("float32")
BINARY = np.array([0.0, 1.0], dtype="float32")
STEP_CASES = {
    "ch5-mnist-convnet": (chapter5.mnist_convnet, rng.rand(4, 28, 28, 1).astype("float32"),
                          np.eye(10, dtype="float32")[[1, 3, 5, 7]]),
    "ch5-catsdogs-small-convnet": (chapter5.small_convnet, IMAGES_150, BINARY),
    "ch5-catsdogs-augment-dropout": (chapter5.small_convnet_dropout, IMAGES_150, BINARY),
    "ch5-vgg16-feature-extraction-fast": (tiny_feature_classifier, rng.rand(4, 512).astype("float32"),
                                          np.array([0, 1, 1, 0], dtype="float32")),
    "ch5-vgg16-feature-extraction-augment": (tiny_vgg_classifier, IMAGES_48, BINARY),
    "ch5-vgg16-finetune": (tiny_vgg_fine_tune, IMAGES_48, BINARY),
}


test_one_step_matches_the_numpy_device, test_steps_on_one_batch_lower_the_loss = step_tests(STEP_CASES, steps=4)


# --- the pipelines end to end on tiny data -------------------------------------------------------
@pytest.mark.parametrize("entry_id", ["ch5-mnist-convnet", "ch5-catsdogs-small-convnet",
                                      "ch5-catsdogs-augment-dropout"] + VGG_IDS)
def test_pipeline_runs_on_tiny_data(entry_id):
    entry = zoo.get(entry_id)
    result = zoo.run(entry, epochs=2, batch_size=4, verbose=0, tiny=True, seed=0)
    assert result["source"] == "synthetic"
    assert len(result["history"]["loss"]) == 2 and np.all(np.isfinite(result["history"]["loss"]))
    assert result["value"] is not None and np.isfinite(result["value"])


def test_fine_tuning_trains_the_head_first_then_block5():
    result = zoo.run(zoo.get("ch5-vgg16-finetune"), epochs=1, batch_size=4, verbose=0, tiny=True)
    assert len(result["head_history"]["loss"]) == 1 and result["trainable_weights"] == 10
    assert 0.0 <= result["test_acc"] <= 1.0


def test_fine_tune_keeps_the_trained_head():
    model = tiny_vgg_classifier()
    head = [w.copy() for w in model.layers[-1].get_weights()]
    chapter5.fine_tune(model)
    assert len(model.trainable_weights) == 10
    for a, b in zip(model.layers[-1].get_weights(), head):
        np.testing.assert_array_equal(a, b)


def test_generators_read_the_book_layout():
    data = chapter5.image_generators(tiny=True, batch_size=3)
    x, y = next(data.x_train)
    assert x.shape == (3, 150, 150, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert data.x_train.class_indices == {"cats": 0, "dogs": 1}
    assert [len(g.filenames) for g in (data.x_train, data.x_val, data.x_test)] == [8, 8, 8]


def test_extract_features_keeps_images_and_labels_together():
    base = chapter5.conv_base(None, chapter5.TINY_VGG_SIZE + (3,))
    data = chapter5.image_generators(tiny=True, batch_size=3, target_size=chapter5.TINY_VGG_SIZE)
    features, labels = chapter5.extract_features(base, data.x_val, 8, 3)
    assert features.shape == (8, 1, 1, 512) and labels.shape == (8,)
    assert sorted(labels) == [0] * 4 + [1] * 4         # every image once: 3 + 3 + 2 of the last batch
    assert np.count_nonzero(features.reshape(8, -1).sum(axis=1)) == 8


def test_augmentation_preview_gives_four_changed_cats(tmp_path):
    result = zoo.run(zoo.get("ch5-augmentation-preview"), verbose=0, tiny=True)
    assert result["images"] == 4 and result["shape"] == [150, 150, 3]
    assert result["mean_abs_change"] > 1.0


# --- offline: the VGG16 entries say what they need ---------------------------------------
@pytest.mark.parametrize("entry_id", VGG_IDS)
def test_vgg16_entries_offline_name_the_download_in_one_line(entry_id, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(tmp_path / "no-data"))
    with pytest.raises(DatasetNotFoundError) as e:
        zoo.run(zoo.get(entry_id), epochs=1, verbose=0)
    message = str(e.value)
    assert "\n" not in message
    assert entry_id in message and "ImageNet" in message
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


def cli(*args, tmp_path):
    env = dict(os.environ, TINYGRAD_BOOK_HOME=str(tmp_path / "home"), TINYGRAD_BOOK_OFFLINE="1",
               TINYGRAD_BOOK_DATA=str(tmp_path / "no-data"))
    return subprocess.run([sys.executable, "-m", "tinygrad_book.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_show_and_train_of_a_vgg16_entry(tmp_path):
    shown = cli("zoo", "show", "ch5-vgg16-feature-extraction-augment", tmp_path=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "needs Keras' ImageNet weights" in shown.stdout and "16,812,353" in shown.stdout
    trained = cli("train", "ch5-vgg16-finetune", tmp_path=tmp_path)
    assert trained.returncode == 1
    assert "ch5-vgg16-finetune needs Keras' ImageNet weights" in trained.stderr


def test_every_chapter_5_id_is_listed(tmp_path):
    listed = cli("zoo", "list", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for entry_id in IDS:
        assert entry_id in listed.stdout


def test_augmentation_preview_figure_is_a_png(tmp_path, monkeypatch):
    monkeypatch.setattr(chapter5, "cats_and_dogs_folder",
                        lambda tiny=False: (chapter5.synthetic_cats_and_dogs(), "synthetic"))
    path = tmp_path / "preview.png"
    zoo.get("ch5-augmentation-preview").draw({}, path)
    from PIL import Image
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 2 * img.size[1]     # four images side by side


def test_evaluate_reads_the_test_folder_through_a_generator(tmp_path):
    """`tinygrad-book evaluate` on a flow_from_directory entry: every test image once."""
    import shutil
    data = tmp_path / "data"
    shutil.copytree(chapter5.synthetic_cats_and_dogs(), data / "cats_and_dogs_small")
    (data / "cats_and_dogs_small" / "test" / "dogs" / "dog.0.jpg").unlink()     # 7 images: a short last batch
    set_seed(0)
    model = chapter5.small_convnet()
    model.save_weights(str(tmp_path / "w.h5"))
    env = dict(os.environ, TINYGRAD_BOOK_HOME=str(tmp_path / "home"), TINYGRAD_BOOK_OFFLINE="1",
               TINYGRAD_BOOK_DATA=str(data), TINYGRAD_BOOK_CACHE=str(tmp_path / "cache2"))
    r = subprocess.run([sys.executable, "-m", "tinygrad_book.cli", "evaluate", "ch5-catsdogs-small-convnet",
                        "--weights", str(tmp_path / "w.h5")], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "test set (7 samples, data: cats_and_dogs_small)" in r.stdout
    # the same numbers as evaluate on the 7 images as arrays
    from tinygrad_book.preprocessing import image
    files = sorted((data / "cats_and_dogs_small" / "test").glob("*/*.jpg"))
    x = np.stack([image.img_to_array(image.load_img(str(f), target_size=(150, 150))) for f in files]) / 255
    y = np.array([f.parent.name == "dogs" for f in files], dtype="float32")
    loss, acc = model.evaluate(x, y, verbose=0)
    assert f"loss={loss:.4f}" in r.stdout and f"acc={acc:.4f}" in r.stdout


def test_reproduce_records_a_missing_download_and_keeps_an_earlier_result(tmp_path, monkeypatch):
    from tinygrad_book.zoo.reproduce import reproduce
    from tinygrad_book.zoo.results import merge_result
    monkeypatch.setenv("TINYGRAD_BOOK_DATA", str(tmp_path / "no-data"))
    out = tmp_path / "docs" / "results.md"
    merge_result(out.with_suffix(".json"), "ch5-vgg16-finetune", {"test_acc": 0.5, "epochs": 1})
    results = reproduce(["ch5-vgg16-feature-extraction-fast", "ch5-vgg16-finetune"], out=out, verbose=0)
    assert results["ch5-vgg16-feature-extraction-fast"]["not_run"] == (
        "needs the ImageNet weights of VGG16, vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (download)")
    assert results["ch5-vgg16-finetune"] == {"test_acc": 0.5, "epochs": 1}
    table = out.read_text()
    assert "| ch5-vgg16-feature-extraction-fast | ~90 % validation accuracy (L7984-L7990) | not run: needs the " \
           "ImageNet weights of VGG16" in table


def test_reproduce_copies_the_images_a_run_drew_only_for_the_entries_that_ran(tmp_path, monkeypatch):
    from tinygrad_book.zoo.plots import figures_folder
    from tinygrad_book.zoo.reproduce import write_plots
    monkeypatch.setenv("TINYGRAD_BOOK_CACHE", str(tmp_path / "cache"))    # never the user's cache
    (figures_folder() / "ch5-gradcam-elephant.png").write_bytes(b"png")
    results = {"ch5-gradcam-elephant": {"figures": ["ch5-gradcam-elephant.png", "ch5-gradcam-elephant-gone.png"],
                                        "history": {"loss": [0.7]}}}    # drawn images, not curves
    write_plots(results, tmp_path / "img")                               # re-rendering: nothing copied
    assert not (tmp_path / "img" / "ch5-gradcam-elephant.png").exists()
    write_plots(results, tmp_path / "img", fresh={"ch5-gradcam-elephant"})
    assert (tmp_path / "img" / "ch5-gradcam-elephant.png").read_bytes() == b"png"
    assert not (tmp_path / "img" / "ch5-gradcam-elephant-gone.png").exists()


def test_chapters_2_and_5_read_the_same_digits():
    from tinygrad_book.zoo import chapter2
    flat, images = chapter2.load_mnist(tiny=True), chapter5.load_mnist_images(tiny=True)
    np.testing.assert_array_equal(flat.x_train, images.x_train.reshape(64, 784))
    np.testing.assert_array_equal(flat.y_test, images.y_test)
    assert flat.source == images.source == "synthetic"


def test_train_plot_of_a_visualisation_copies_its_images_beside_the_file(tmp_path):
    from tinygrad_book.zoo.plots import copy_figures_as, figures_folder
    for name in ("ch5-gradcam-elephant.png", "ch5-gradcam-elephant-heatmap.png"):
        (figures_folder() / name).write_bytes(name.encode())
    copy_figures_as(["ch5-gradcam-elephant.png", "ch5-gradcam-elephant-heatmap.png"],
                    "ch5-gradcam-elephant.png", tmp_path / "cam.png")
    assert (tmp_path / "cam.png").read_bytes() == b"ch5-gradcam-elephant.png"
    assert (tmp_path / "cam-heatmap.png").read_bytes() == b"ch5-gradcam-elephant-heatmap.png"
