"""DeepDream (listings 8.8-8.13) and neural style transfer (8.14-8.22), as printed, in
zoo/chapter8_images.py: the helpers against numpy and scipy, the octave loop's arithmetic, the
L-BFGS loop on tiny images with the real VGG19 (random weights), and both entries end to end."""
import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from tinygrad_book import backend as K
from tinygrad_book import zoo
from tinygrad_book.applications import inception_v3
from tinygrad_book.zoo import chapter8_images as c8
from tinygrad_book.zoo.plots import figures_folder

IDS = ["ch8-deepdream-inceptionv3", "ch8-neural-style-transfer-vgg19"]
pytestmark = pytest.mark.usefixtures("offline_empty_cache")


def png_size(path):
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size          # (width, height)


def test_both_entries_are_in_the_zoo_after_chapter_8s_others():
    ids = [e.id for e in zoo.entries([8])]
    assert ids[-2:] == IDS
    assert zoo.get(IDS[1]).reduced[0] == 1 and zoo.get(IDS[1]).with_reduced_schedule().extra["img_height"] == 64


# --- DeepDream --------------------------------------------------------------------------------
def test_listing_8_8_inception_v3_has_the_layers_the_loss_reads():
    model = inception_v3.InceptionV3(weights=None, include_top=False)
    layer_dict = dict([(layer.name, layer) for layer in model.layers])
    assert set(c8.LAYER_CONTRIBUTIONS) <= set(layer_dict)
    assert [layer_dict[n].output.shape[-1] for n in ('mixed2', 'mixed3', 'mixed4', 'mixed5')] == [288, 768, 768, 768]
    assert K.int_shape(c8.dream_loss(model, c8.LAYER_CONTRIBUTIONS)) == ()


def test_resize_img_is_scipy_zoom_of_order_1_on_the_image_axes():
    img = np.random.default_rng(0).normal(size=(1, 10, 14, 3)).astype("float32")
    out = c8.resize_img(img, (7, 20))
    assert out.shape == (1, 7, 20, 3)
    np.testing.assert_allclose(out, scipy.ndimage.zoom(img, (1, 0.7, 20 / 14, 1), order=1))


def test_dream_preprocessing_round_trips(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, size=(9, 11, 3)).astype("uint8")
    Image.fromarray(pixels).save(tmp_path / "p.png")
    x = c8.preprocess_dream_image(str(tmp_path / "p.png"))
    assert x.shape == (1, 9, 11, 3) and -1 <= x.min() and x.max() <= 1
    assert np.abs(c8.deprocess_dream_image(x.copy()).astype(int) - pixels).max() <= 1


def test_octaves_reinject_the_lost_detail_exactly(tmp_path):
    """Listing 8.12 with an ascent that changes nothing: the lost detail put back after each
    octave restores the photo at its own size (up to rounding)."""
    path = c8.book_photo("images/x.png", tiny=True, size=(30, 44))
    shapes = []
    final = c8.deep_dream(path, lambda x, iterations, step, max_loss: (shapes.append(x.shape[1:3]), x)[1],
                          prefix=str(tmp_path / "t-"))
    assert shapes == [(15, 22), (21, 31), (30, 44)]       # int(dim / 1.4 ** i), smallest first
    np.testing.assert_allclose(final, c8.preprocess_dream_image(path), atol=1e-5)
    assert png_size(tmp_path / "t-final_dream.png") == (44, 30)
    assert png_size(tmp_path / "t-dream_at_scale_(15, 22).png") == (22, 15)


def test_gradient_ascent_stops_at_max_loss_and_climbs_before():
    K.set_learning_phase(0)
    try:
        model = c8.tiny_mixed_model()
        fetch = c8.dream_function(model, c8.dream_loss(model, c8.LAYER_CONTRIBUTIONS))
        log = []
        x = np.random.default_rng(2).uniform(-1, 1, size=(1, 12, 12, 3)).astype("float32")
        c8.gradient_ascent_with(fetch, log)(x.copy(), iterations=4, step=0.01)
        assert len(log) == 4 and all(b > a for a, b in zip(log, log[1:]))
        stopped = []
        c8.gradient_ascent_with(fetch, stopped)(x.copy(), iterations=4, step=0.01, max_loss=log[2] * 0.999)
        assert stopped == pytest.approx(log[:2], rel=1e-5)        # the loss of step 2 passed max_loss
    finally:
        K._STATE["learning_phase"] = None


def test_the_deepdream_entry_draws_every_octave_at_its_size():
    result = zoo.run(zoo.get(IDS[0]), epochs=2, verbose=0, tiny=True)
    assert result["source"] == "synthetic" and "stand-in" in result["model"]
    assert [o["shape"] for o in result["octaves"]] == [[20, 24], [28, 34], [40, 48]]
    assert all(len(o["losses"]) == 2 for o in result["octaves"]) and result["value"] == 1.0
    assert result["image_shape"] == [40, 48, 3] and png_size(figures_folder() / "ch8-dream-final.png") == (48, 40)
    for o, name in zip(result["octaves"], result["figures"][1:4]):
        assert name == f"ch8-dream-at-scale-{o['shape'][0]}x{o['shape'][1]}.png"
        assert png_size(figures_folder() / name) == (o["shape"][1], o["shape"][0])
    width, height = png_size(figures_folder() / "ch8-dream.png")
    assert width >= 400 and height > 50
    assert K._STATE["learning_phase"] is None              # the run restores the phase it found


# --- style transfer -------------------------------------------------------------------------------
def test_listings_8_14_to_8_22_run_on_tiny_images_with_vgg19(tmp_path):
    target = c8.book_photo("images/t.png", tiny=True, size=(20, 30))
    style = c8.book_photo("images/s.png", tiny=True, size=(25, 25))
    log = {}
    img, model = c8.style_transfer(target, style, result_prefix=str(tmp_path / "r"), img_height=16, iterations=2,
                                   weights=None, maxfun=3, log=log)
    assert img.shape == (16, 24, 3) and img.dtype == np.uint8          # width 30 * 16 / 20
    assert model.input.shape == (1, 16, 24, 3) and model.output.shape == (3, 0, 0, 512)
    assert png_size(tmp_path / "r_at_iteration_0.png") == (24, 16) and (tmp_path / "r_at_iteration_1.png").is_file()
    assert len(log["loss"]) == 2 and log["loss"][1] <= log["loss"][0] < log["start_loss"]


def test_the_style_transfer_entry_draws_photo_style_and_result():
    result = zoo.run(zoo.get(IDS[1]), epochs=2, verbose=0, tiny=True)
    assert result["model"].startswith("RANDOM VGG19") and result["image_shape"] == [16, 21, 3]
    assert result["figures"] == ["ch8-style.png", "ch8-style-at-iteration-0.png", "ch8-style-at-iteration-1.png"]
    assert png_size(figures_folder() / "ch8-style-at-iteration-1.png") == (21, 16)
    width, height = png_size(figures_folder() / "ch8-style.png")
    assert width >= 400 and height > 50
    assert result["final_loss"] < result["start_loss"] and len(result["history"]["loss"]) == 2
