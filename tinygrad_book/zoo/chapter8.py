"""Chapter 8, generative deep learning: the entries that run here so far.

The character-level LSTM (listings 8.2-8.7), the VAE (8.23-8.28) and the DCGAN (8.29-8.32)
are written as the book prints them, with the imports swapped (`keras` -> `tinygrad_book`,
`keras.backend` -> `tinygrad_book.backend`). In the VAE a
custom layer adds the loss (`add_loss`), the model is compiled with `loss=None` and
fitted on images alone. See docs/backend.md for how the symbolic code runs eagerly.

    tinygrad-book reproduce --ids ch8-vae-mnist --reduced    # the loss curve and the latent grid
"""
from __future__ import annotations

import time
from dataclasses import dataclass

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


# --- 8.1.4: the character-level LSTM on Nietzsche (listings 8.2-8.7) -----------------------------
MAXLEN, STEP = 60, 3                       # listing 8.3
SAMPLE_TEMPERATURES = (0.2, 0.5, 1.0, 1.2)  # listing 8.7
GENERATED_CHARS = 400


@dataclass
class CharData(Data):
    """Listing 8.3's arrays plus what generation needs: the text and its sorted characters."""
    text: str = ""
    chars: tuple = ()


def vectorize(text, maxlen=MAXLEN, step=STEP):
    """Listing 8.3: sequences of `maxlen` characters every `step` characters, each followed by its
    next character; both one-hot (bool). Returns (x, y, chars, char_indices)."""
    sentences = []
    next_chars = []
    for i in range(0, len(text) - maxlen, step):
        sentences.append(text[i: i + maxlen])
        next_chars.append(text[i + maxlen])
    chars = sorted(list(set(text)))
    char_indices = dict((char, chars.index(char)) for char in chars)
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
    y = np.zeros((len(sentences), len(chars)), dtype=bool)
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    return x, y, chars, char_indices


TINY_TEXT = ("the free spirit laughs at the herd. the herd fears the free spirit. "
             "what is great in man is that he is a bridge and not a goal. ") * 4


def load_nietzsche(tiny=False, corpus_chars=None) -> CharData:
    """Listing 8.2: the Nietzsche corpus, lower-cased (from $TINYGRAD_BOOK_DATA/nietzsche/ when it
    is there, else Keras' download); `corpus_chars` keeps only its first characters (REDUCED)."""
    if tiny:
        text, source = TINY_TEXT, "synthetic"
    else:
        from ..datasets import nietzsche
        text, source = nietzsche.load_text(lower=True), "nietzsche"
    if corpus_chars:
        text = text[:corpus_chars]
    x, y, chars, _ = vectorize(text)
    return CharData(x_train=x, y_train=y, source=source, text=text, chars=tuple(chars))


def char_lstm_model(maxlen=MAXLEN, n_chars=57):
    """Listings 8.4-8.5: LSTM(128) -> Dense(len(chars), softmax), RMSprop(lr=0.01)."""
    model = keras.models.Sequential()
    model.add(layers.LSTM(128, input_shape=(maxlen, n_chars)))
    model.add(layers.Dense(n_chars, activation='softmax'))
    optimizer = keras.optimizers.RMSprop(lr=0.01)
    model.compile(loss='categorical_crossentropy', optimizer=optimizer)
    return model


def sample(preds, temperature=1.0):
    """Listing 8.6: reweight the model's distribution by the temperature (listing 8.1), then
    draw one index from it (a multinomial draw of one trial)."""
    preds = np.asarray(preds).astype('float64')
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


def generate_text(model, seed_text, chars, temperature, length=GENERATED_CHARS):
    """Listing 8.7's inner loop: one-hot the last `maxlen` characters, predict, sample, slide."""
    char_indices = {char: i for i, char in enumerate(chars)}
    maxlen = len(seed_text)
    generated_text, out = seed_text, []
    for _ in range(length):
        sampled = np.zeros((1, maxlen, len(chars)))
        for t, char in enumerate(generated_text):
            sampled[0, t, char_indices[char]] = 1.
        preds = model.predict(sampled, verbose=0)[0]
        next_char = chars[sample(preds, temperature)]
        generated_text = generated_text[1:] + next_char
        out.append(next_char)
    return "".join(out)


def _batch_losses(into):
    """A callback that appends every batch's loss to `into` (the curve inside an epoch)."""
    from ..nn.callbacks import LambdaCallback
    return LambdaCallback(on_batch_end=lambda batch, logs: into.append(float(logs["loss"])))


def run_char_lstm(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listing 8.7: fit one epoch at a time; after each, a random 60-character seed and 400
    generated characters at each temperature. Writes the loss curve and the samples (markdown)."""
    data = entry.load_data(tiny=tiny, corpus_chars=entry.extra.get("corpus_chars"))
    model = char_lstm_model(MAXLEN, len(data.chars))
    start = time.perf_counter()
    epoch_losses, batch_losses, epoch_seconds, samples = [], [], [], []
    for epoch in range(1, or_default(epochs, entry.epochs) + 1):
        if verbose:
            print('epoch', epoch, flush=True)
        tick = time.perf_counter()
        history = model.fit(data.x_train, data.y_train, batch_size=or_default(batch_size, entry.batch_size),
                            epochs=1, verbose=verbose, callbacks=[_batch_losses(batch_losses)])
        epoch_seconds.append(time.perf_counter() - tick)
        epoch_losses.append(float(history.history["loss"][0]))
        # np.random, not the book's `random`: the run's seed then fixes the seed text too
        start_index = int(np.random.randint(0, len(data.text) - MAXLEN - 1))
        seed_text = data.text[start_index: start_index + MAXLEN]
        texts = {t: generate_text(model, seed_text, data.chars, t) for t in SAMPLE_TEMPERATURES}
        samples.append({"epoch": epoch, "seed": seed_text, "texts": texts})
        if verbose:
            print(f'--- Generating with seed: "{seed_text}"\n' +
                  "\n".join(f"------ temperature: {t}\n{seed_text}{s}" for t, s in texts.items()), flush=True)
    if model_out is not None:
        model_out.append(model)
    figures = write_char_lstm_figures(entry, epoch_losses, batch_losses, samples, data, epoch_seconds)
    return {"history": {"loss": epoch_losses}, "first_loss": epoch_losses[0], "final_loss": epoch_losses[-1],
            "first_batch_loss": batch_losses[0], "sequences": int(len(data.x_train)),
            "corpus_chars": len(data.text), "epoch_seconds": epoch_seconds, "figures": figures,
            "wall_time": time.perf_counter() - start, "source": data.source}


CHAR_LSTM_FIGURES = ("ch8-char-lstm-nietzsche.png", "ch8-char-lstm-samples.md")


def check_loss_falls(result):
    """(passed, rule): the last epoch's mean loss is below the first's (the rule shows both)."""
    return (result["final_loss"] < result["first_loss"],
            f"the loss falls over the epochs: {result['first_loss']:.3f} -> {result['final_loss']:.3f}")


def write_char_lstm_figures(entry, epoch_losses, batch_losses, samples, data, epoch_seconds):
    """The loss curve (every batch, and each epoch's mean) and the samples document, in
    plots.figures_folder(); `reproduce` copies them to docs/img/."""
    from .plots import figures_folder, plot_batch_losses
    folder = figures_folder()
    title = f"{entry.id}: {len(data.x_train)} sequences of {len(data.text)} characters"
    plot_batch_losses(folder / CHAR_LSTM_FIGURES[0], batch_losses, epoch_losses, "epoch mean",
                      "Categorical cross-entropy", title)
    (folder / CHAR_LSTM_FIGURES[1]).write_text(samples_markdown(samples, data, epoch_losses, epoch_seconds),
                                               encoding="utf-8")
    return list(CHAR_LSTM_FIGURES)


def samples_markdown(samples, data, epoch_losses, epoch_seconds) -> str:
    """Listing 8.7's printout as a document: per epoch, the seed and 400 characters per temperature."""
    lines = ["# Char-LSTM samples (listing 8.7)", "",
             f"Written by `ch8-char-lstm-nietzsche` (zoo/chapter8.py): {len(data.x_train)} sequences "
             f"from the first {len(data.text)} characters of the corpus ({data.source}), "
             f"{len(data.chars)} distinct characters. The seed text is in quotes; what follows it was generated.", ""]
    for s, loss, seconds in zip(samples, epoch_losses, epoch_seconds):
        lines += [f"## Epoch {s['epoch']} (loss {loss:.4f}, {seconds:.0f} s)", "", f'Seed: "{s["seed"]}"', ""]
        for t, text in s["texts"].items():
            lines += [f"Temperature {t}:", "", "```text", s["seed"] + text, "```", ""]
    return "\n".join(lines)


ENTRIES.append(Entry(
    id="ch8-char-lstm-nietzsche", chapter=8, section="8.1.4", listings="8.2-8.7", lines="L13940-L14212",
    dataset="nietzsche", build_model=char_lstm_model, load_data=load_nietzsche, epochs=60, batch_size=128,
    book_result="qualitative: at epoch 20/60, T=0.2 repetitive but real words, T=0.5 the most interesting",
    metric="final_loss", run=run_char_lstm,
    check=lambda result, _all: check_loss_falls(result),
    extra={"maxlen": MAXLEN, "step": STEP, "temperatures": list(SAMPLE_TEMPERATURES)},
    notes="The samples at temperatures 0.2, 0.5, 1.0, 1.2 after every epoch: docs/img/ch8-char-lstm-samples.md.",
    reduced=(3, "3 of the book's 60 epochs on the first 30,000 of the 600,893 characters (9,980 of 200,278 "
                "sequences): one full-corpus epoch is ~1,565 batches x ~0.8 s = ~21 min on 2 busy CPU cores, "
                "so the book's 60 epochs would take ~21 h"),
    reduced_extra={"corpus_chars": 30_000}))


# --- 8.4: the variational autoencoder (listings 8.23-8.28) ------------------------------------------
def vae_listing(img_shape=(28, 28, 1), latent_dim=2):
    """Listings 8.23-8.26 as printed, imports swapped: returns (input_img, y, decoder, z), where
    ``y`` is the custom layer's output (its call adds the VAE loss). ``img_shape`` may be made
    smaller than MNIST's for tests (height and width even: the decoder upsamples by 2)."""
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
    return input_img, y, decoder, z


def vae_and_decoder(img_shape=(28, 28, 1), latent_dim=2):
    """Listings 8.23-8.27: the VAE model compiled with loss=None (listing 8.27), and its decoder."""
    input_img, y, decoder, _ = vae_listing(img_shape, latent_dim)
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
    validation loss. Writes the loss curve (every batch, each epoch's validation loss) and the
    latent grid of listing 8.28, decoded by the trained decoder."""
    start = time.perf_counter()
    samples = samples or entry.extra.get("samples")     # --reduced trains on the first `samples` images
    data = entry.load_data(tiny=tiny, samples=samples) if samples else entry.load_data(tiny=tiny)
    vae, decoder = vae_and_decoder()
    batch_losses = []
    history = vae.fit(x=data.x_train, y=None, shuffle=True, epochs=or_default(epochs, entry.epochs),
                      batch_size=or_default(batch_size, entry.batch_size), verbose=verbose,
                      validation_data=(data.x_val, None), callbacks=[_batch_losses(batch_losses)])
    if model_out is not None:
        model_out.extend([vae, decoder])
    figures = write_vae_figures(entry, history.history, batch_losses, decoder, len(data.x_train))
    return {"history": history.history, "final_val_loss": float(history.history["val_loss"][-1]),
            "wall_time": time.perf_counter() - start, "source": data.source, "figures": figures,
            "train_samples": len(data.x_train), "val_samples": len(data.x_val)}


VAE_FIGURES = ("ch8-vae-mnist.png", "ch8-vae-latent-grid.png")


def write_vae_figures(entry, history, batch_losses, decoder, samples):
    """The loss curve and the 15 x 15 latent grid, in plots.figures_folder(); `reproduce`
    copies them to docs/img/."""
    from .plots import figures_folder, plot_batch_losses
    folder = figures_folder()
    epochs = len(history["loss"])
    # log scale: the first steps' KL spike (~1e13, docs/backend.md) would flatten the rest
    plot_batch_losses(folder / VAE_FIGURES[0], batch_losses, history["val_loss"], "validation loss (epoch end)",
                      "VAE loss (reconstruction + KL)", f"{entry.id}: {samples} training images", log_scale=True)
    book = "" if samples >= 60000 and epochs >= 10 else " (REDUCED; book: 10 epochs on 60,000)"
    save_grid_png(latent_grid(decoder), folder / VAE_FIGURES[1],
                  f"VAE latent grid after {epochs} epoch(s) on {samples} MNIST images{book}")
    return list(VAE_FIGURES)


ENTRIES.append(Entry(
    id="ch8-vae-mnist", chapter=8, section="8.4.3", listings="8.23-8.28", lines="L15126-L15470",
    dataset="mnist (images only)", build_model=vae_model, load_data=load_mnist_unlabelled, epochs=10,
    batch_size=16, book_result="qualitative (fig 8.14): a 15 x 15 grid of digits morphing continuously",
    metric="final_val_loss", run=run_vae,
    notes="compile(loss=None): the loss is added by a custom layer (add_loss); fit(x, None). "
          "The run draws the loss curve (every batch) and the latent grid of listing 8.28: "
          "docs/img/ch8-vae-latent-grid.png; docs/backend.md explains the first-epoch loss spike.",
    reduced=(2, "2 of the book's 10 epochs, on all 60,000 images: an epoch takes ~11 min on one busy core, "
                "the book's run ~1.8 h")))


# --- 8.5: the deep convolutional GAN on CIFAR-10 frogs (listings 8.29-8.32) ------------------------
def dcgan_models():
    """Listings 8.29-8.31 as printed, imports swapped (`summary()` calls left out): (generator,
    discriminator, gan). The discriminator is compiled, then frozen, then wrapped: training `gan`
    moves the generator only; `discriminator` (compiled before the freeze) still trains its own."""
    latent_dim = 32
    height = 32
    width = 32
    channels = 3

    generator_input = keras.Input(shape=(latent_dim,))
    x = layers.Dense(128 * 16 * 16)(generator_input)
    x = layers.LeakyReLU()(x)
    x = layers.Reshape((16, 16, 128))(x)
    x = layers.Conv2D(256, 5, padding='same')(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2DTranspose(256, 4, strides=2, padding='same')(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(256, 5, padding='same')(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(256, 5, padding='same')(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(channels, 7, activation='tanh', padding='same')(x)
    generator = keras.models.Model(generator_input, x)

    discriminator_input = layers.Input(shape=(height, width, channels))
    x = layers.Conv2D(128, 3)(discriminator_input)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(1, activation='sigmoid')(x)
    discriminator = keras.models.Model(discriminator_input, x)
    discriminator_optimizer = keras.optimizers.RMSprop(lr=0.0008, clipvalue=1.0, decay=1e-8)
    discriminator.compile(optimizer=discriminator_optimizer, loss='binary_crossentropy')

    discriminator.trainable = False
    gan_input = keras.Input(shape=(latent_dim,))
    gan_output = discriminator(generator(gan_input))
    gan = keras.models.Model(gan_input, gan_output)
    gan_optimizer = keras.optimizers.RMSprop(lr=0.0004, clipvalue=1.0, decay=1e-8)
    gan.compile(optimizer=gan_optimizer, loss='binary_crossentropy')
    return generator, discriminator, gan


def dcgan_model():
    return dcgan_models()[2]


def load_frogs(tiny=False) -> Data:
    """Listing 8.32's data: CIFAR-10's training frogs (class 6), float32 in [0, 1], (n, 32, 32, 3)."""
    if tiny:   # smooth random colour fields: images in [0, 1] of the frogs' shape, without any file
        rng = np.random.default_rng(0)
        x_train = np.clip(rng.normal(0.5, 0.15, size=(8, 4, 4, 3)).repeat(8, 1).repeat(8, 2), 0, 1)
        return Data(x_train=x_train.astype('float32'), y_train=None, source="synthetic")
    from ..datasets import cifar10
    x_train = cifar10.load_frogs()
    x_train = x_train.reshape((x_train.shape[0],) + (32, 32, 3)).astype('float32') / 255.
    return Data(x_train=x_train, y_train=None, source="cifar10 frogs")


def train_dcgan(generator, discriminator, gan, x_train, iterations, batch_size=20, latent_dim=32,
                save_every=100, on_save=None):
    """Listing 8.32's loop: per step, the discriminator on generated (label 1) + real (label 0)
    images with 0.05 label noise, then the generator through the frozen discriminator with the
    misleading target 0 ("real"). Returns the discriminator and adversarial losses per step;
    every `save_every` steps (and at the last) `on_save(step, generated, real, d_loss, a_loss)`."""
    d_losses, a_losses = [], []
    start = 0
    for step in range(iterations):
        random_latent_vectors = np.random.normal(size=(batch_size, latent_dim))
        generated_images = generator.predict(random_latent_vectors)
        stop = start + batch_size
        real_images = x_train[start: stop]
        combined_images = np.concatenate([generated_images, real_images])
        labels = np.concatenate([np.ones((batch_size, 1)), np.zeros((batch_size, 1))])
        labels += 0.05 * np.random.random(labels.shape)
        d_loss = discriminator.train_on_batch(combined_images, labels)
        random_latent_vectors = np.random.normal(size=(batch_size, latent_dim))
        misleading_targets = np.zeros((batch_size, 1))
        a_loss = gan.train_on_batch(random_latent_vectors, misleading_targets)
        start += batch_size
        if start > len(x_train) - batch_size:
            start = 0
        d_losses.append(float(np.atleast_1d(d_loss)[0]))
        a_losses.append(float(np.atleast_1d(a_loss)[0]))
        if on_save is not None and (step % save_every == 0 or step == iterations - 1):
            on_save(step, generated_images, real_images, d_losses[-1], a_losses[-1])
    return d_losses, a_losses


def image_grid(images, columns=5):
    """(n, h, w, c) images in [0, 1] -> one (rows*h, columns*w, c) array, 1-pixel white gutters."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    grid = np.ones((rows * (h + 1) - 1, columns * (w + 1) - 1, c), dtype=np.float32)
    for i, img in enumerate(images):
        r, col = divmod(i, columns)
        grid[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = img
    return grid


def save_frog_grid(images, name, scale=4):
    """Save a grid of images in [0, 1] (enlarged `scale` times) in plots.figures_folder()."""
    from ..preprocessing import image
    from .plots import figures_folder
    grid = image_grid(np.clip(images, 0, 1)).repeat(scale, 0).repeat(scale, 1)
    image.save_img(str(figures_folder() / name), grid * 255., scale=False)
    return name


def plot_gan_losses(d_losses, a_losses, path, title=""):
    """Both losses over the steps (the book prints them every 100 steps)."""
    from .plots import _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    steps = np.arange(len(d_losses))
    ax.plot(steps, d_losses, "b.-", label="discriminator loss")
    ax.plot(steps, a_losses, "r.-", label="adversarial (gan) loss")
    ax.set_xlabel("Step (batch of 20 generated + 20 real)")
    ax.set_ylabel("Binary cross-entropy")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def run_dcgan(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listing 8.32 for `epochs` steps (the entry's epochs are the book's iterations); the
    generated (and the first real) frogs as grids every `save_every` steps, both losses as a plot."""
    from .plots import figures_folder
    data = entry.load_data(tiny=tiny)
    generator, discriminator, gan = dcgan_models()
    iterations, batch_size = or_default(epochs, entry.epochs), or_default(batch_size, entry.batch_size)
    figures = []

    def on_save(step, generated_images, real_images, d_loss, a_loss):
        if not figures:
            figures.append(save_frog_grid(real_images, "ch8-dcgan-real.png"))
        figures.append(save_frog_grid(generated_images, f"ch8-dcgan-generated-step{step:05d}.png"))
        if verbose:
            print(f"step {step}: discriminator loss {d_loss:.4f}, adversarial loss {a_loss:.4f}", flush=True)

    start = time.perf_counter()
    d_losses, a_losses = train_dcgan(generator, discriminator, gan, data.x_train, iterations, batch_size,
                                     save_every=entry.extra.get("save_every", 100), on_save=on_save)
    wall = time.perf_counter() - start
    plot_gan_losses(d_losses, a_losses, figures_folder() / "ch8-dcgan-losses.png",
                    f"{entry.id}: {iterations} steps")
    figures.append("ch8-dcgan-losses.png")
    if model_out is not None:
        model_out.extend([generator, discriminator, gan])
    return {"history": {"d_loss": d_losses, "a_loss": a_losses}, "final_d_loss": d_losses[-1],
            "final_a_loss": a_losses[-1], "steps": iterations, "seconds_per_step": wall / iterations,
            "figures": figures, "wall_time": wall, "source": data.source}


def check_gan_losses_finite(result):
    """(passed, rule): no loss diverged (the book's criterion is the look of the frogs)."""
    d, a = result["history"]["d_loss"], result["history"]["a_loss"]
    return (bool(np.isfinite(d + a).all()),
            f"both losses finite: discriminator {d[0]:.3f} -> {d[-1]:.3f}, adversarial {a[0]:.3f} -> {a[-1]:.3f}")


ENTRIES.append(Entry(
    id="ch8-dcgan-cifar10-frogs", chapter=8, section="8.5", listings="8.29-8.32", lines="L15580-L15928",
    dataset="cifar10 (class 6, frogs)", build_model=dcgan_model, load_data=load_frogs, epochs=10000,
    batch_size=20, book_result="qualitative (fig 8.18): generated frogs hard to tell from real ones",
    metric="final_d_loss", run=run_dcgan, check=lambda result, _all: check_gan_losses_finite(result),
    extra={"latent_dim": 32, "save_every": 100, "epochs_are": "steps"},
    notes="Epochs here are the listing's iterations (steps of 20 generated + 20 real images). Images: "
          "docs/img/ch8-dcgan-real.png, docs/img/ch8-dcgan-generated-step*.png, losses docs/img/ch8-dcgan-losses.png. "
          "The listing's gan.save_weights('gan.h5') every 100 steps is left out.",
    reduced=(3, "3 of the book's 10,000 steps: one step takes ~80 s on 2 busy CPU cores (the generator's "
                 "two 256-filter 5x5 convolutions at 32x32 are ~3.4 GMAC per image), so the book's run "
                 "would take ~9 days here"),
    reduced_extra={"save_every": 1}))

