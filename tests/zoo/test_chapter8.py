"""Chapter 8 entries: the temperature reweighting, the char-LSTM (listings 8.2-8.7), the VAE
(8.23-8.28) and the DCGAN (8.29-8.32), each run as printed on tiny data."""
import dataclasses

import numpy as np
import pytest

from tinygrad_book import zoo
from tinygrad_book.autograd import default_device, set_default_device
from tinygrad_book.nn import clear_session, set_seed
from tinygrad_book.zoo import chapter8
from tinygrad_book.zoo.plots import figures_folder


def test_chapter_8_entries_are_in_the_zoo():
    ids = [e.id for e in zoo.entries([8])]
    assert [i for i in ids if i in GEN_IDS] == GEN_IDS       # book order (other chapter-8 modules add more)


GEN_IDS = ["ch8-temperature-reweighting", "ch8-char-lstm-nietzsche", "ch8-vae-mnist", "ch8-dcgan-cifar10-frogs"]


def on_device(device, fn):
    """fn() with `device` as the default device, from a fresh session and seed 0."""
    before = default_device()
    set_default_device(device)
    try:
        clear_session()
        set_seed(0)
        return fn()
    finally:
        set_default_device(before)


# --- the char-LSTM (listings 8.2-8.7) ---------------------------------------------------------------
def test_vectorize_cuts_sequences_every_step_with_their_next_character():
    x, y, chars, char_indices = chapter8.vectorize("abcabd", maxlen=2, step=3)
    assert chars == ["a", "b", "c", "d"] and char_indices == {"a": 0, "b": 1, "c": 2, "d": 3}
    # sequences start at 0 and 3: "ab" -> "c", "ab" -> "d"
    assert x.dtype == bool and x.shape == (2, 2, 4) and y.shape == (2, 4)
    np.testing.assert_array_equal(x.argmax(-1), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(y.argmax(-1), [2, 3])
    assert x.sum() == 4 and y.sum() == 2                      # one-hot: one True per character


@pytest.mark.parametrize("temperature", [0.2, 0.5, 1.0, 1.2])
def test_sample_draws_from_the_reweighted_distribution(temperature):
    """Listing 8.6's definition: one multinomial draw from exp(log(p) / T), renormalised. Over
    many draws the frequencies must match listing 8.1's reweighting within 5 standard errors."""
    p = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    np.random.seed(0)
    n = 20000
    counts = np.bincount([chapter8.sample(p, temperature) for _ in range(n)], minlength=len(p))
    expected = chapter8.reweight_distribution(p, temperature)
    standard_error = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(counts / n - expected) <= 5 * standard_error + 1e-12)


def test_sample_at_a_low_temperature_is_nearly_greedy():
    np.random.seed(1)
    p = np.array([0.3, 0.4, 0.3])
    assert [chapter8.sample(p, 0.01) for _ in range(50)] == [1] * 50


def test_generate_text_slides_a_window_of_maxlen_characters():
    """A model stub that always predicts 'b': 5 generated 'b's, and every predict call sees a
    one-hot window of the last 3 characters (the seed, then the seed shifted)."""
    chars = ("a", "b", "c")
    windows = []

    class AlwaysB:
        def predict(self, sampled, verbose=0):
            windows.append("".join(chars[i] for i in sampled[0].argmax(-1)))
            assert sampled.shape == (1, 3, 3) and sampled.sum() == 3
            return np.array([[1e-9, 1 - 2e-9, 1e-9]])

    assert chapter8.generate_text(AlwaysB(), "cac", chars, 0.5, length=5) == "bbbbb"
    assert windows == ["cac", "acb", "cbb", "bbb", "bbb"]


def test_the_char_lstm_entry_trains_on_tiny_text_and_writes_its_samples():
    entry = zoo.get("ch8-char-lstm-nietzsche")
    assert entry.with_reduced_schedule().extra["corpus_chars"] == 30_000
    result = zoo.run(entry, epochs=2, batch_size=32, verbose=0, tiny=True)
    loss = result["history"]["loss"]
    assert len(loss) == 2 and loss[-1] < loss[0] and result["value"] == loss[-1]
    assert entry.check(result, {})[0] and not entry.check(dict(result, final_loss=loss[0] + 0.1), {})[0]
    assert result["sequences"] == len(range(0, len(chapter8.TINY_TEXT) - 60, 3))
    assert result["figures"] == ["ch8-char-lstm-nietzsche.png", "ch8-char-lstm-samples.md"]
    doc = (figures_folder() / "ch8-char-lstm-samples.md").read_text()
    assert doc.count("## Epoch") == 2 and all(doc.count(f"Temperature {t}:") == 2 for t in (0.2, 0.5, 1.0, 1.2))
    blocks = doc.split("```text\n")[1:]
    assert len(blocks) == 8
    for block in blocks:
        text = block.split("\n```")[0]
        assert len(text) == 60 + 400 and set(text) <= set(chapter8.TINY_TEXT)
    assert (figures_folder() / "ch8-char-lstm-nietzsche.png").stat().st_size > 0


def test_the_char_lstm_step_matches_the_numpy_device():
    data = chapter8.load_nietzsche(tiny=True)
    x, y = data.x_train[:16], data.y_train[:16]

    def step():
        model = chapter8.char_lstm_model(60, len(data.chars))
        start = model.get_weights()
        return float(model.train_on_batch(x, y)), start, model.get_weights()

    loss_np, start_np, weights_np = on_device("numpy", step)
    loss_cpu, start_cpu, weights_cpu = on_device("cpu", step)
    for a, b in zip(start_cpu, start_np):
        np.testing.assert_array_equal(a, b)
    assert loss_cpu == pytest.approx(loss_np, rel=1e-4)
    assert max(np.abs(a - b).max() for a, b in zip(weights_np, start_np)) > 1e-4
    for a, b in zip(weights_cpu, weights_np):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-5)


def test_reweighting_at_temperature_1_is_the_identity_and_entropy_rises():
    p = np.array([0.7, 0.2, 0.1])
    np.testing.assert_allclose(chapter8.reweight_distribution(p, 1.0), p)
    cold, hot = chapter8.reweight_distribution(p, 0.1), chapter8.reweight_distribution(p, 10.0)
    assert cold[0] > 0.99 and np.ptp(hot) < 0.1                # near greedy, near uniform
    result = zoo.run(zoo.get("ch8-temperature-reweighting"), verbose=0, tiny=True)
    assert result["value"] == 1.0 and result["t1_unchanged"] == 1.0


def test_the_vae_entry_trains_on_tiny_data_and_decodes_a_grid(tmp_path):
    entry = zoo.get("ch8-vae-mnist")
    models = []
    result = zoo.run(entry, epochs=3, batch_size=16, verbose=0, tiny=True, model_out=models)
    val = result["history"]["val_loss"]
    assert len(val) == 3 and val[-1] < val[0] and result["value"] == val[-1]
    assert entry.build_model().count_params() == models[0].count_params()
    # parameters by arithmetic: encoder 320 + 18,496 + 36,928 + 36,928 + 401,440 + 66 + 66,
    # decoder 2 * 12,544 + 12,544 (Dense) + 18,464 (Conv2DTranspose) + 289
    assert models[0].count_params() == 320 + 18496 + 36928 * 2 + 401440 + 66 * 2 + 3 * 12544 + 18464 + 289 == 550_629
    assert result["figures"] == ["ch8-vae-mnist.png", "ch8-vae-latent-grid.png"]
    assert all((figures_folder() / name).stat().st_size > 0 for name in result["figures"])
    figure = chapter8.latent_grid(models[1], n=3)
    assert figure.shape == (84, 84) and 0 < figure.min() and figure.max() < 1
    chapter8.save_grid_png(figure, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_the_vae_trains_on_the_first_samples_images_when_asked():
    entry = zoo.get("ch8-vae-mnist")
    reduced = entry.with_reduced_schedule()
    assert reduced is entry and reduced.reduced[0] == 2 and "all 60,000 images" in reduced.reduced[1]
    few = dataclasses.replace(entry, extra={"samples": 12})      # the same rule on the tiny images
    result = zoo.run(few, epochs=1, batch_size=4, verbose=0, tiny=True)
    assert (result["train_samples"], result["val_samples"]) == (12, 16)
    assert zoo.run(entry, epochs=1, batch_size=16, verbose=0, tiny=True)["train_samples"] == 32


# --- the DCGAN (listings 8.29-8.32) -------------------------------------------------------------------
def test_the_dcgan_listing_builds_the_books_networks():
    generator, discriminator, gan = chapter8.dcgan_models()
    # generator: Dense 32 -> 128*16*16, Conv2D 5x5 128->256, Conv2DTranspose 4x4 256->256,
    # two Conv2D 5x5 256->256, Conv2D 7x7 256->3 (weights + biases)
    assert generator.count_params() == (33 * 32768 + (25 * 128 + 1) * 256 + (16 * 256 + 1) * 256
                                        + 2 * (25 * 256 + 1) * 256 + (49 * 256 + 1) * 3) == 6_264_579
    # discriminator: Conv2D 3x3 3->128, three Conv2D 4x4 128->128 (32 -> 30 -> 14 -> 6 -> 2), Dense 512 -> 1
    assert discriminator.count_params() == (27 + 1) * 128 + 3 * (16 * 128 + 1) * 128 + 2 * 2 * 128 + 1 == 790_913
    assert generator.output_shape == (None, 32, 32, 3) and gan.output_shape == (None, 1)
    # listing 8.31: inside gan only the generator trains
    assert len(gan.trainable_weights) == len(generator.trainable_weights) == 12
    assert len(discriminator.trainable_weights) == 0


def test_train_dcgan_runs_the_listings_loop_and_saves_every_n_steps():
    set_seed(0)
    generator, discriminator, gan = chapter8.dcgan_models()
    x_train = chapter8.load_frogs(tiny=True).x_train            # 8 images, batch 2: start wraps to 0 after 4 steps
    saved = []
    d0 = discriminator.get_weights()
    d_losses, a_losses = chapter8.train_dcgan(generator, discriminator, gan, x_train, iterations=3, batch_size=2,
                                              save_every=2, on_save=lambda step, g, r, d, a: saved.append((step, g, r)))
    assert len(d_losses) == len(a_losses) == 3 and np.isfinite(d_losses + a_losses).all()
    assert [s for s, _, _ in saved] == [0, 2]
    np.testing.assert_array_equal(saved[0][2], x_train[:2])
    np.testing.assert_array_equal(saved[1][2], x_train[4:6])
    assert saved[0][1].shape == (2, 32, 32, 3) and np.abs(saved[0][1]).max() <= 1     # tanh output
    assert not any(np.array_equal(a, b) for a, b in zip(d0, discriminator.get_weights()))


def test_the_dcgan_entry_writes_its_grids_and_loss_plot():
    result = zoo.run(zoo.get("ch8-dcgan-cifar10-frogs"), epochs=2, batch_size=2, verbose=0, tiny=True)
    assert result["figures"] == ["ch8-dcgan-real.png", "ch8-dcgan-generated-step00000.png",
                                 "ch8-dcgan-generated-step00001.png", "ch8-dcgan-losses.png"]
    assert len(result["history"]["d_loss"]) == len(result["history"]["a_loss"]) == 2
    from PIL import Image
    grid = Image.open(figures_folder() / "ch8-dcgan-real.png")
    assert grid.size == (4 * (5 * 33 - 1), 4 * 32)                # 2 images in a row of 5, scaled 4x
    assert zoo.get("ch8-dcgan-cifar10-frogs").with_reduced_schedule().extra["save_every"] == 1
    entry = zoo.get("ch8-dcgan-cifar10-frogs")
    assert entry.check(result, {})[0]
    diverged = dict(result, history={"d_loss": [0.7, float("nan")], "a_loss": [0.7, 0.8]})
    assert not entry.check(diverged, {})[0]


def test_the_dcgan_steps_match_the_numpy_device():
    """One discriminator step and one gan step (listing 8.32), on the numpy and the cpu device.

    RMSprop's first step moves a weight by lr * g / (0.32 |g| + epsilon): with the book's
    epsilon (1e-7) that is ill-conditioned where |g| is near 1e-7 (a change of 1e-8 in g,
    float32 rounding of a sum in another order, moves the weight by ~lr / 10), so the two
    devices, whose products add in different orders, disagreed on ~0.1 % of such weights
    when the GEMM's k-slabs changed length. With epsilon 1e-3 the step stays the same
    computation (forward, backward, clipping, decay, the RMSprop rule) but a rounding
    difference in g moves a weight by at most lr * 1e3 * 1e-8."""
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(4, 32, 32, 3)).astype("float32")
    labels = np.array([[1.02], [1.0], [0.01], [0.04]])
    latents = rng.normal(size=(2, 32))

    def step():
        generator, discriminator, gan = chapter8.dcgan_models()
        for model in (discriminator, gan):
            model.optimizer.epsilon = 1e-3
        start = generator.get_weights() + discriminator.get_weights()
        d_loss = float(discriminator.train_on_batch(images, labels))
        a_loss = float(gan.train_on_batch(latents, np.zeros((2, 1))))
        return (d_loss, a_loss), start, generator.get_weights() + discriminator.get_weights()

    loss_np, start_np, weights_np = on_device("numpy", step)
    loss_cpu, start_cpu, weights_cpu = on_device("cpu", step)
    for a, b in zip(start_cpu, start_np):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loss_cpu, loss_np, rtol=1e-4)
    assert all(np.abs(a - b).max() > 1e-5 for a, b in zip(weights_np, start_np))    # every weight moved
    for a, b in zip(weights_cpu, weights_np):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-5)
