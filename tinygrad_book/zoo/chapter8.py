"""Chapter 8, generative deep learning: the entries that run here so far.

The VAE (listings 8.23-8.28) is written as the book prints it, with the imports
swapped (`keras` -> `tinygrad_book`, `keras.backend` -> `tinygrad_book.backend`): a
custom layer adds the loss (`add_loss`), the model is compiled with `loss=None` and
fitted on images alone. See docs/backend.md for how the symbolic code runs eagerly.

    python -m tinygrad_book.zoo.chapter8 vae-grid docs/img/ch8-vae-latent-grid.png --samples 6000
"""
from __future__ import annotations

import sys
import time

import numpy as np

import tinygrad_book as keras
from .. import backend as K
from .. import layers
from ..models import Model
from .entry import Data, Entry
from .runner import or_default

ENTRIES: list = []


# --- 8.1.3: sampling temperature (listing 8.1) -------------------------------------------------
def reweight_distribution(original_distribution, temperature=0.5):
    """Listing 8.1 as printed: exp(log(p) / T), renormalised."""
    distribution = np.log(original_distribution) / temperature
    distribution = np.exp(distribution)
    return distribution / np.sum(distribution)


def entropy(p) -> float:
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


TEMPERATURES = (0.2, 0.5, 1.0, 1.2, 2.0)


def run_temperature(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Reweight one next-character distribution at the book's temperatures: low T
    concentrates it (lower entropy, greedier sampling), high T flattens it (toward uniform)."""
    start = time.perf_counter()
    original = entry.load_data(tiny=tiny).x_train
    entropies = {t: entropy(reweight_distribution(original, t)) for t in TEMPERATURES}
    values = [entropies[t] for t in TEMPERATURES]
    if verbose:
        print("temperature -> entropy: " + ", ".join(f"{t}: {e:.3f}" for t, e in entropies.items())
              + f" (uniform: {np.log(original.size):.3f})")
    return {"entropies": {str(t): e for t, e in entropies.items()},
            "entropy_rises_with_temperature": float(all(a < b for a, b in zip(values, values[1:]))),
            "t1_unchanged": float(np.allclose(reweight_distribution(original, 1.0), original)),
            "history": {}, "wall_time": time.perf_counter() - start, "source": "synthetic"}


def next_char_distribution(tiny=False) -> Data:
    """A probability vector over 57 characters (the Nietzsche corpus' count), peaked as a
    language model's softmax is: a few likely characters, a long tail."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(57, 0.3))
    return Data(x_train=p, y_train=None, source="synthetic")


def temperature_model():
    """The network whose softmax output is sampled with a temperature (listing 8.4's char
    LSTM over 60 steps of 57 one-hot characters); nothing is trained in this entry."""
    from .. import models
    model = models.Sequential()
    model.add(layers.LSTM(128, input_shape=(60, 57)))
    model.add(layers.Dense(57, activation='softmax'))
    return model


ENTRIES.append(Entry(
    id="ch8-temperature-reweighting", chapter=8, section="8.1.3", listings="8.1", lines="L13863-L13935",
    dataset="none", build_model=temperature_model, load_data=next_char_distribution, epochs=0, batch_size=0,
    book_result="qualitative (fig 8.2): low temperature = predictable, high = random", metric="entropy_rises_with_temperature",
    book_value=1.0, run=run_temperature,
    check=lambda result, _all: (result.get("entropy_rises_with_temperature") == 1.0,
                                "entropy rises with the temperature"),
    notes="Nothing is trained; the model shown is listing 8.4's, whose softmax is what gets reweighted."))


# --- 8.4: the variational autoencoder (listings 8.23-8.28) ------------------------------------------
def vae_and_decoder(img_shape=(28, 28, 1), latent_dim=2):
    """Listings 8.23-8.27, imports swapped; returns (vae compiled with loss=None, decoder)."""
    input_img = keras.Input(shape=img_shape)
    x = layers.Conv2D(32, 3, padding='same', activation='relu')(input_img)
    x = layers.Conv2D(64, 3, padding='same', activation='relu', strides=(2, 2))(x)
    x = layers.Conv2D(64, 3, padding='same', activation='relu')(x)
    x = layers.Conv2D(64, 3, padding='same', activation='relu')(x)
    shape_before_flattening = K.int_shape(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation='relu')(x)
    z_mean = layers.Dense(latent_dim)(x)
    z_log_var = layers.Dense(latent_dim)(x)

    def sampling(args):
        z_mean, z_log_var = args
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], latent_dim), mean=0., stddev=1.)
        return z_mean + K.exp(z_log_var) * epsilon

    z = layers.Lambda(sampling)([z_mean, z_log_var])
    decoder_input = layers.Input(K.int_shape(z)[1:])
    x = layers.Dense(np.prod(shape_before_flattening[1:]), activation='relu')(decoder_input)
    x = layers.Reshape(shape_before_flattening[1:])(x)
    x = layers.Conv2DTranspose(32, 3, padding='same', activation='relu', strides=(2, 2))(x)
    x = layers.Conv2D(1, 3, padding='same', activation='sigmoid')(x)
    decoder = Model(decoder_input, x)
    z_decoded = decoder(z)

    class CustomVariationalLayer(keras.layers.Layer):
        def vae_loss(self, x, z_decoded):
            x = K.flatten(x)
            z_decoded = K.flatten(z_decoded)
            xent_loss = keras.metrics.binary_crossentropy(x, z_decoded)
            kl_loss = -5e-4 * K.mean(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
            return K.mean(xent_loss + kl_loss)

        def call(self, inputs):
            x = inputs[0]
            z_decoded = inputs[1]
            loss = self.vae_loss(x, z_decoded)
            self.add_loss(loss, inputs=inputs)
            return x

    y = CustomVariationalLayer()([input_img, z_decoded])
    vae = Model(input_img, y)
    vae.compile(optimizer='rmsprop', loss=None)
    return vae, decoder


def vae_model():
    return vae_and_decoder()[0]


def load_mnist_unlabelled(tiny=False, samples=None) -> Data:
    """Listing 8.27: MNIST images as float32 in [0, 1], (n, 28, 28, 1); labels unused."""
    if tiny:   # soft spots at random places: structure a VAE can learn, without any file
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[:28, :28]
        c = rng.uniform(8, 20, size=(48, 2))
        images = np.exp(-((yy - c[:, :1, None]) ** 2 + (xx - c[:, 1:, None]) ** 2) / 18.0).astype('float32')
        x_train, x_test, source = images[:32, ..., None], images[32:, ..., None], "synthetic"
    else:
        from ..datasets import mnist
        ((x_train, _), (x_test, _)), source = mnist.load_data_or_sample()
        x_train = x_train.astype('float32') / 255.
        x_train = x_train.reshape(x_train.shape + (1,))
        x_test = x_test.astype('float32') / 255.
        x_test = x_test.reshape(x_test.shape + (1,))
    if samples:
        x_train, x_test = x_train[:samples], x_test[:max(samples // 6, 16)]
    return Data(x_train=x_train, y_train=None, x_val=x_test, y_val=None, source=source)


def latent_grid(decoder, n=15, digit_size=28, batch_size=16):
    """Listing 8.28: decode a 15 x 15 grid of latent points spread by the normal quantiles."""
    from scipy.stats import norm
    figure = np.zeros((digit_size * n, digit_size * n))
    grid_x = norm.ppf(np.linspace(0.05, 0.95, n))
    grid_y = norm.ppf(np.linspace(0.05, 0.95, n))
    for i, yi in enumerate(grid_x):
        for j, xi in enumerate(grid_y):
            z_sample = np.array([[xi, yi]])
            z_sample = np.tile(z_sample, batch_size).reshape(batch_size, 2)
            x_decoded = decoder.predict(z_sample, batch_size=batch_size)
            digit = x_decoded[0].reshape(digit_size, digit_size)
            figure[i * digit_size: (i + 1) * digit_size, j * digit_size: (j + 1) * digit_size] = digit
    return figure


def save_grid_png(figure, path, title=""):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.figure(figsize=(10, 10))
    plt.imshow(figure, cmap='Greys_r')
    plt.axis("off")
    if title:
        plt.title(title)
    plt.savefig(path, dpi=60, bbox_inches="tight")
    plt.close()


def run_vae(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None, samples=None):
    """Listing 8.27's fit (y=None, validation_data=(x_test, None)); the result is the last
    validation loss; the decoder is kept for the latent grid (listing 8.28)."""
    start = time.perf_counter()
    data = entry.load_data(tiny=tiny, samples=samples) if samples else entry.load_data(tiny=tiny)
    vae, decoder = vae_and_decoder()
    history = vae.fit(x=data.x_train, y=None, shuffle=True, epochs=or_default(epochs, entry.epochs),
                      batch_size=or_default(batch_size, entry.batch_size), verbose=verbose,
                      validation_data=(data.x_val, None))
    if model_out is not None:
        model_out.extend([vae, decoder])
    return {"history": history.history, "final_val_loss": float(history.history["val_loss"][-1]),
            "wall_time": time.perf_counter() - start, "source": data.source}


ENTRIES.append(Entry(
    id="ch8-vae-mnist", chapter=8, section="8.4.3", listings="8.23-8.28", lines="L15126-L15470",
    dataset="mnist (images only)", build_model=vae_model, load_data=load_mnist_unlabelled, epochs=10,
    batch_size=16, book_result="qualitative (fig 8.14): a 15 x 15 grid of digits morphing continuously",
    metric="final_val_loss", run=run_vae,
    notes="compile(loss=None): the loss is added by a custom layer (add_loss); fit(x, None). "
          "The latent grid, from a REDUCED run of 1 epoch on 12,000 images (val_loss 0.2159, 704 s): "
          "docs/img/ch8-vae-latent-grid.png; docs/backend.md explains the first-epoch loss spike.",
    reduced=(1, "1 of the book's 10 epochs: one full epoch is ~1-2 h on 2 busy CPU cores")))


def main(argv=None) -> int:
    """`vae-grid OUT.png [--samples N] [--epochs E]`: train the VAE (REDUCED when N < 60000)
    and write the latent grid of listing 8.28."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m tinygrad_book.zoo.chapter8")
    parser.add_argument("what", choices=["vae-grid"])
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    from ..nn.seeding import set_seed
    set_seed(0)
    entry = ENTRIES[-1]
    models_out = []
    result = run_vae(entry, epochs=args.epochs, verbose=2, model_out=models_out, samples=args.samples)
    n = args.samples or 60000
    title = (f"VAE latent grid after {args.epochs} epoch(s) on {n} MNIST images"
             f"{' (REDUCED; book: 10 epochs on 60000)' if n < 60000 or args.epochs < 10 else ''}")
    save_grid_png(latent_grid(models_out[1]), args.out, title)
    print(f"{title}: val_loss {result['final_val_loss']:.4f}, {result['wall_time']:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
