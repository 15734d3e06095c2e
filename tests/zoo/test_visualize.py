"""Section 5.4's visualisations (zoo/visualize.py, written with the book's K code) on a tiny
convnet: the sizes of what they draw, the K graphs against eager code and central differences,
that gradient ascent raises the filter's activation, that Grad-CAM's gradient is the one worked
out by hand, and the three zoo entries end to end on synthetic images."""
import numpy as np
import pytest
from PIL import Image

from tinygrad_book import layers, models, zoo
from tinygrad_book.autograd import Tensor
from tinygrad_book.nn import set_seed
from tinygrad_book.zoo import visualize

VIZ_IDS = ["ch5-viz-intermediate-activations", "ch5-viz-filters-gradient-ascent", "ch5-gradcam-elephant"]
pytestmark = pytest.mark.usefixtures("offline_empty_cache")


def tiny_convnet(size=32):
    model = models.Sequential()
    model.add(layers.Conv2D(4, (3, 3), activation='relu', input_shape=(size, size, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(20, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(1, activation='sigmoid'))
    return model


IMAGE = np.random.RandomState(1).rand(1, 32, 32, 3).astype("float32")


# --- 5.4.1 ----------------------------------------------------------------------------------
def test_one_activation_per_layer_with_the_layers_shape():
    model = tiny_convnet()
    activations = visualize.layer_activations(model, IMAGE, count=4)
    assert [a.shape for a in activations] == [(1, 30, 30, 4), (1, 15, 15, 4), (1, 13, 13, 20), (1, 6, 6, 20)]
    np.testing.assert_allclose(activations[1], model.layers[1](model.layers[0](IMAGE)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("channels, per_row, rows", [(4, 16, 1), (20, 16, 2), (32, 16, 2), (20, 8, 3)])
def test_activation_grid_has_a_cell_per_channel(channels, per_row, rows):
    activation = np.random.RandomState(0).rand(1, 7, 7, channels).astype("float32")
    grid = visualize.activation_grid(activation, images_per_row=per_row)
    assert grid.shape == (rows * 7, per_row * 7) and grid.dtype == np.uint8
    last = channels - 1
    row, col = divmod(last, per_row)
    np.testing.assert_array_equal(grid[row * 7:(row + 1) * 7, col * 7:(col + 1) * 7],
                                  visualize.channel_image(activation[0, :, :, last]))


def test_channel_image_standardises_and_a_blank_channel_is_flat_grey():
    channel = np.array([[0.0, 1.0], [2.0, 3.0]])
    z = (channel - 1.5) / channel.std()
    np.testing.assert_array_equal(visualize.channel_image(channel), np.clip(z * 64 + 128, 0, 255).astype("uint8"))
    assert np.all(visualize.channel_image(np.zeros((3, 3))) == 128)
    assert visualize.blank_channels(np.stack([np.zeros((3, 3)), np.ones((3, 3))], axis=-1)[None]) == 1


# --- 5.4.2 ----------------------------------------------------------------------------------
def eager_filter_mean(model, layer_name, image, f, dtype=np.float32):
    """The eager side: the layers up to ``layer_name`` on a Tensor, the filter's mean, backward."""
    layers_, _ = visualize.split_at(model, layer_name)
    x = Tensor(image, dtype=dtype, requires_grad=True)
    y = x
    for layer in layers_:
        y = layer.call(y, training=False)
    loss = y[:, :, :, f].mean()
    loss.backward()
    return float(loss.numpy()), x.grad.numpy()


def alive_filter(model, layer_name, image):
    means = visualize.layer_means(model, layer_name, image)[0]
    assert means.max() > 0, "no filter responds to the test image"
    return int(np.argmax(means))


def test_pattern_iterate_replays_the_eager_loss_and_normalised_gradient():
    """Listings 5.32-5.35: K.mean(layer_output[:, :, :, f]) and its gradient, normalised."""
    model = tiny_convnet()
    image = IMAGE * 20 + 128
    f = alive_filter(model, "conv2d_2", image)
    loss_value, grads_value = visualize.pattern_iterate(model, "conv2d_2", f)([image])
    assert all(w.grad is None for w in model.weights)       # K.function leaves the weights alone
    loss, grads = eager_filter_mean(model, "conv2d_2", image, f)
    assert float(loss_value) == pytest.approx(loss, rel=1e-5) and loss > 0
    np.testing.assert_allclose(grads_value, grads / (np.sqrt(np.mean(grads ** 2)) + 1e-5), rtol=1e-4, atol=1e-5)


def test_layer_means_are_each_filters_mean_activation():
    model = tiny_convnet()
    images = np.random.RandomState(2).rand(3, 32, 32, 3).astype("float32")
    activation = model.layers[2](model.layers[1](model.layers[0](images))).numpy()
    np.testing.assert_allclose(visualize.layer_means(model, "conv2d_2", images), activation.mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-7)


def test_an_ascent_step_raises_the_filters_mean_activation():
    model = tiny_convnet()
    image = IMAGE * 20 + 128
    f = alive_filter(model, "conv2d_2", image)
    losses = []
    visualize.generate_pattern(model, "conv2d_2", f, steps=1, input_img_data=image.copy(), losses=losses)
    assert len(losses) == 2 and losses[1] > losses[0] > 0


def test_the_input_gradient_matches_central_differences_in_float64():
    """Every element: the K gradient of listing 5.33 against central differences."""
    set_seed(5)
    model = models.Sequential([layers.Conv2D(3, (3, 3), activation='relu', input_shape=(6, 6, 2), dtype="float64"),
                               layers.Conv2D(2, (2, 2), activation='tanh')])
    image = np.random.RandomState(3).rand(1, 6, 6, 2)
    from tinygrad_book import backend as K
    loss = K.mean(model.layers[1].output[:, :, :, 1])
    grads = K.function([model.input], [K.gradients(loss, model.input)[0]])([image])[0]

    def f(img):
        return float(K.function([model.input], [loss])([img])[0])
    numeric = np.zeros_like(image)
    for i in np.ndindex(*image.shape):
        up, down = image.copy(), image.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (f(up) - f(down)) / 2e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-9)
    assert np.abs(numeric).max() > 1e-3


def test_patterns_grow_on_a_smaller_image_than_the_model_was_built_for():
    model = tiny_convnet()                       # built for 32x32, as ours is for 150x150
    together, history = visualize.generate_patterns(model, "conv2d_2", [3, 7], size=24, steps=4)
    start = visualize.grey_noise(2, 24)[:1].copy()
    alone = visualize.generate_pattern(model, "conv2d_2", 3, size=24, steps=4, input_img_data=start)
    assert together.shape == (2, 24, 24, 3) and together.dtype == np.uint8 and history.shape == (5, 2)
    np.testing.assert_array_equal(together[0], alone)
    rebuilt = visualize.any_size_model(model, "conv2d_2")
    assert rebuilt.input.shape == (None, None, None, 3)
    for a, b in zip(rebuilt.get_weights(), model.get_weights()[:4]):
        np.testing.assert_array_equal(a, b)


def test_deprocess_image_centres_on_grey():
    x = np.random.RandomState(0).randn(20, 20, 3) * 50 + 300
    out = visualize.deprocess_image(x.copy())
    assert out.dtype == np.uint8 and out.shape == (20, 20, 3)
    assert abs(out.mean() - 127.5) < 2 and 20 < out.std() < 30      # std 0.1 of [0, 1] -> 25.5


@pytest.mark.parametrize("n, per_row, shape", [(64, 8, (8 * 10 + 7 * 5, 8 * 10 + 7 * 5, 3)),
                                               (32, 8, (4 * 10 + 3 * 5, 8 * 10 + 7 * 5, 3)),
                                               (3, 2, (2 * 10 + 5, 2 * 10 + 5, 3))])
def test_pattern_grid_size(n, per_row, shape):
    patterns = np.full((n, 10, 10, 3), 200, dtype=np.uint8)
    grid = visualize.pattern_grid(patterns, per_row=per_row, margin=5)
    assert grid.shape == shape and grid[10:15].max() == 0 and grid[:10, :10].min() == 200


# --- 5.4.3 ----------------------------------------------------------------------------------
def test_grad_cam_is_the_hand_worked_map_for_a_linear_head():
    # conv -> Flatten -> Dense(1): the score's gradient w.r.t. the feature map is the Dense
    # kernel, so each channel's weight is the mean of its kernel rows.
    model = models.Sequential([layers.Conv2D(3, (3, 3), activation='relu', input_shape=(8, 8, 3)),
                               layers.Flatten(), layers.Dense(1)])
    kernel = model.layers[-1].get_weights()[0].reshape(6, 6, 3)
    features = model.layers[0](IMAGE[:, :8, :8]).numpy()[0]
    expected = np.maximum((features * kernel.mean(axis=(0, 1))).mean(axis=-1), 0)
    heatmap = visualize.grad_cam(model, IMAGE[:, :8, :8], lambda p: p[:, 0], "conv2d_1")
    assert expected.max() > 0
    np.testing.assert_allclose(heatmap, expected / expected.max(), rtol=1e-4, atol=1e-6)


def test_grad_cam_heatmap_shape_range_and_overlay():
    model = tiny_convnet()
    heatmap = visualize.grad_cam(model, IMAGE, lambda p: 1 - p[:, 0], "conv2d_2")
    assert heatmap.shape == (13, 13) and heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    photo = (np.random.RandomState(0).rand(50, 70, 3) * 255).astype("uint8")
    overlay = visualize.superimpose(heatmap, photo)
    assert overlay.shape == (50, 70, 3) and overlay.dtype == np.uint8 and np.all(overlay >= photo)


def test_split_at_names_the_missing_layer():
    with pytest.raises(ValueError, match="no layer named 'block5_conv3'"):
        visualize.split_at(tiny_convnet(), "block5_conv3")


def test_save_png_writes_a_png(tmp_path):
    path = visualize.save_png(tmp_path / "a.png", np.zeros((30, 60), dtype=np.uint8), title="t")
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > img.size[1]


# --- the three entries on synthetic images ------------------------------------------------------
def read_png(path):
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


@pytest.mark.parametrize("entry_id", VIZ_IDS)
def test_viz_entry_trains_on_tiny_data_and_draws_pngs(entry_id):
    result = zoo.run(zoo.get(entry_id), verbose=0, tiny=True)
    assert result["source"] == "synthetic" and "trained here" in result["model"]
    assert len(result["history"]["loss"]) == 1 and np.isfinite(result["history"]["loss"][0])
    from tinygrad_book.zoo.plots import figures_folder
    assert f"{entry_id}.png" in result["figures"]
    for name in result["figures"]:
        width, height = read_png(figures_folder() / name)
        assert width >= 400 and height > 50
    assert result["value"] is not None and np.isfinite(result["value"])


def test_viz_entries_shapes_on_tiny_data():
    activations = zoo.run(zoo.get(VIZ_IDS[0]), verbose=0, tiny=True)
    assert activations["first_layer_shape"] == [1, 148, 148, 32]       # the book's (L8489-L8491)
    assert activations["grid_shapes"][0] == [2 * 148, 16 * 148]
    assert activations["grid_shapes"][7] == [8 * 7, 16 * 7]            # 128 channels of 7x7
    grad_cam = zoo.run(zoo.get(VIZ_IDS[2]), verbose=0, tiny=True)
    assert grad_cam["heatmap_shape"] == [15, 15] and grad_cam["predicted"] in ("cat", "dog")
    assert 0.5 <= grad_cam["top_score"] <= 1


def test_viz_entries_use_the_saved_convnet(monkeypatch):
    from tinygrad_book.zoo import chapter5
    saved = chapter5.small_convnet()
    chapter5.save_trained(saved, chapter5.CHECKPOINT)
    model, what, history = chapter5.trained_convnet(zoo.get(VIZ_IDS[0]), tiny=False, verbose=0)
    assert "cats_and_dogs_small_1.h5" in what and history == {}
    for a, b in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_responding_filters_are_those_above_zero_on_the_grey_noise():
    model = tiny_convnet()
    noise = visualize.grey_noise(1, 32)
    assert noise.shape == (1, 32, 32, 3) and 128 <= noise.min() and noise.max() < 148
    activation = model.layers[2](model.layers[1](model.layers[0](noise))).numpy()
    means = activation[0].mean(axis=(0, 1))
    responding = visualize.responding_filters(model, "conv2d_2", size=32)
    assert responding == [i for i in range(20) if means[i] > 0] and 0 < len(responding) < 20
    _, history = visualize.generate_patterns(model, "conv2d_2", [responding[0]], size=32, steps=3)
    assert history[-1, 0] > history[0, 0]       # it climbs; a filter that does not respond stays at 0


# --- listing 5.44 with OpenCV's five calls (preprocessing/opencv.py) ------------------------------
def test_listing_5_44_runs_as_printed_with_the_import_swapped(tmp_path):
    from tinygrad_book.preprocessing import opencv as cv2     # the book: import cv2
    photo = (np.random.RandomState(1).rand(20, 30, 3) * 255).astype("uint8")
    Image.fromarray(photo).save(tmp_path / "elephant.png")
    heatmap = np.zeros((4, 4)); heatmap[1, 2] = 1.0
    img_path = str(tmp_path / "elephant.png")
    # --- listing 5.44 ---
    img = cv2.imread(img_path)
    heatmap = cv2.resize(heatmap, (img.shape[1], img.shape[0]))
    heatmap = np.uint8(255 * heatmap)
    heatmap = cv2.applyColorMap(heatmap, cv2.COLORMAP_JET)
    superimposed_img = heatmap * 0.4 + img
    cv2.imwrite(str(tmp_path / "elephant_cam.png"), superimposed_img)
    # ---
    np.testing.assert_array_equal(img, photo[..., ::-1])                # BGR, as OpenCV reads
    assert heatmap.shape == (20, 30, 3) and heatmap.dtype == np.uint8
    with Image.open(tmp_path / "elephant_cam.png") as written:
        stored = np.asarray(written.convert("RGB"))
    expected = np.clip(np.rint(superimposed_img), 0, 255)[..., ::-1]     # rounded, saturated, RGB on disk
    np.testing.assert_array_equal(stored, expected)
    assert stored.max() == 255 and np.all(stored >= photo)


def test_opencv_jet_anchor_colours_in_bgr():
    from tinygrad_book.preprocessing import opencv as cv2
    levels = np.array([[0, 32, 96, 128, 160, 192, 255]], dtype=np.uint8)
    bgr = cv2.applyColorMap(levels, cv2.COLORMAP_JET)[0]
    # MATLAB's jet: dark blue, blue, cyan-ish, green, yellow-ish, red, dark red (BGR order)
    np.testing.assert_array_equal(bgr[0], [128, 0, 0])
    np.testing.assert_array_equal(bgr[-1], [0, 0, 128])
    assert bgr[1][0] == 255 and bgr[1][2] == 0                 # blue at full, no red
    assert bgr[3][1] == 255 and abs(int(bgr[3][0]) - int(bgr[3][2])) <= 5   # green in the middle (128/255 is not 0.5)
    assert bgr[5][2] == 255 and bgr[5][0] == 0                 # red at full, no blue
    np.testing.assert_allclose(cv2.jet([0.5])[0], [0.5, 1.0, 0.5])


def test_opencv_shim_names_bad_input(tmp_path):
    from tinygrad_book.preprocessing import opencv as cv2
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        cv2.imread(str(tmp_path / "missing.jpg"))
    with pytest.raises(ValueError, match="COLORMAP_JET"):
        cv2.applyColorMap(np.zeros((2, 2), np.uint8), 5)
    with pytest.raises(ValueError, match="uint8"):
        cv2.applyColorMap(np.zeros((2, 2)), cv2.COLORMAP_JET)
    with pytest.raises(ValueError, match="dsize"):
        cv2.resize(np.zeros((2, 2)), (0, 3))
    with pytest.raises(ValueError, match=r"\(h, w, 3\)"):
        cv2.imwrite(str(tmp_path / "x.png"), np.zeros((2, 2)))


def test_opencv_resize_is_bilinear_and_keeps_float():
    from tinygrad_book.preprocessing import opencv as cv2
    ramp = np.array([[0.0, 1.0]])
    out = cv2.resize(ramp, (4, 1))                               # half-pixel centres, edges clamped
    assert out.dtype == np.float64 and out.shape == (1, 4)
    np.testing.assert_allclose(out[0], [0.0, 0.25, 0.75, 1.0], atol=1e-6)
    colour = cv2.resize(np.zeros((2, 2, 3), np.uint8) + 7, (5, 3))
    assert colour.shape == (3, 5, 3) and colour.dtype == np.uint8 and np.all(colour == 7)
