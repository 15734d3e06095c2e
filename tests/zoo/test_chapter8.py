"""Chapter 8 entries: the temperature reweighting and the VAE (listings 8.23-8.28, run as printed)."""
import numpy as np

from tinygrad_book import zoo
from tinygrad_book.zoo import chapter8


def test_chapter_8_entries_are_in_the_zoo():
    assert [e.id for e in zoo.entries([8])][:2] == ["ch8-temperature-reweighting", "ch8-vae-mnist"]


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
    figure = chapter8.latent_grid(models[1], n=3)
    assert figure.shape == (84, 84) and 0 < figure.min() and figure.max() < 1
    chapter8.save_grid_png(figure, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0
