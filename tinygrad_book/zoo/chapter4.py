"""Chapter 4, "Fundamentals of machine learning": fighting overfitting (section 4.4, L5848-L6150).

Every experiment is the chapter-3 IMDB network changed in one way, and is judged by its
validation-loss curve against the reference network (figures 4.4-4.9). The Russian text shows
only the models; the compile and fit settings are those of the author's English notebook:
``rmsprop``, ``binary_crossentropy``, 20 epochs, batch 512, ``validation_data=(x_test, y_test)``.
"""
from __future__ import annotations

import time

from .checks import compared_with, stays_below
from .entry import Data, Entry
from .runner import fit_and_evaluate
from .shared import imdb_vectors

ENTRIES: list[Entry] = []   # this chapter's experiments, in book order (the registry collects them)


def load_imdb_ch4(tiny=False):
    """IMDB multi-hot as in chapter 3; the notebook validates on the test reviews."""
    x_train, y_train, x_test, y_test = imdb_vectors(tiny)
    return Data(x_train, y_train, x_val=x_test, y_val=y_test,
                source="synthetic" if tiny else "imdb")


def _compiled(model):
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])
    return model


def original_model():
    """Listing 4.3: the reference network (the chapter-3 IMDB model)."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def smaller_model():
    """Listing 4.4: less capacity (4 units) - overfits later, degrades more slowly."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(4, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(4, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def bigger_model():
    """Listing 4.5: far more capacity (512 units) - overfits after about one epoch."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(512, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(512, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def l2_model():
    """Listing 4.6: every weight adds 0.001 * weight**2 to the (training) loss."""
    from .. import layers, models, regularizers

    model = models.Sequential()
    model.add(layers.Dense(16, kernel_regularizer=regularizers.l2(0.001),
                           activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, kernel_regularizer=regularizers.l2(0.001),
                           activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def regularized_model(regularizer):
    """Listing 4.7: the same network with another of Keras' weight regularizers."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(16, kernel_regularizer=regularizer, activation='relu',
                           input_shape=(10000,)))
    model.add(layers.Dense(16, kernel_regularizer=regularizer, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def l1_model():
    from .. import regularizers
    return regularized_model(regularizers.l1(0.001))


def l1_l2_model():
    from .. import regularizers
    return regularized_model(regularizers.l1_l2(l1=0.001, l2=0.001))


def dpt_model():
    """Listing 4.8: dropout 0.5 after each hidden layer (active in training only)."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(1, activation='sigmoid'))
    return _compiled(model)


def run_l1_and_l1_l2(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listing 4.7 lists two regularizers; we train both and keep both curves."""
    data = entry.load_data(tiny=tiny)
    start = time.perf_counter()
    result = {"history": {}, "source": data.source}
    for name, build in (("l1", l1_model), ("l1_l2", l1_l2_model)):
        if verbose:
            print(f"-- {name} --", flush=True)
        model = build()
        r = fit_and_evaluate(model, data, epochs or entry.epochs, batch_size or entry.batch_size,
                             verbose)
        for key, values in r["history"].items():
            result["history"][f"{key}_{name}"] = values
        for key in ("min_val_loss", "best_epoch", "final_val_loss", "final_val_acc"):
            result[f"{key}_{name}"] = r.get(key)
        if model_out is not None and name == "l1_l2":
            model_out.append(model)
    result["wall_time"] = time.perf_counter() - start
    return result


def _ch4(id, listings, lines, build, book_result, metric="min_val_loss", check=None, **kw):
    ENTRIES.append(Entry(id=id, chapter=4, section="4.4", listings=listings, lines=lines,
                         dataset="imdb", build_model=build, load_data=load_imdb_ch4,
                         epochs=20, batch_size=512, book_result=book_result, metric=metric,
                         check=check, **kw))


REFERENCE = "ch4-imdb-reference"

_ch4(REFERENCE, "4.3", "L5925-L5935", original_model,
     "starts overfitting after 4 epochs (L5953)", metric="best_epoch", book_value=4,
     notes="The yardstick of every chapter-4 comparison (best_epoch, min_val_loss).")
_ch4("ch4-imdb-smaller", "4.4", "L5938-L5957", smaller_model,
     "overfits after 6 epochs instead of 4 (L5952-L5954, fig 4.4)",
     metric="best_epoch", book_value=6, compare_plot=(REFERENCE, "Smaller model"),
     check=compared_with(REFERENCE, "best_epoch", ">"))
_ch4("ch4-imdb-bigger", "4.5", "L5959-L5985", bigger_model,
     "overfits after ~1 epoch, noisy validation loss (L5973-L5975, fig 4.5)",
     metric="best_epoch", book_value=1, compare_plot=(REFERENCE, "Bigger model"),
     check=compared_with(REFERENCE, "best_epoch", "<"))
_ch4("ch4-imdb-l2", "4.6", "L6016-L6040", l2_model,
     "much more resistant to overfitting (L6035-L6038, fig 4.7); no number",
     compare_plot=(REFERENCE, "L2-regularized model"),
     check=stays_below(REFERENCE, "val_loss", from_epoch=11),
     notes="val_loss as our History reports it; Keras 2 includes the penalty in val_loss.")
_ch4("ch4-imdb-l1-l1l2", "4.7", "L6045-L6052", l1_model,
     "listed only; no number", metric="min_val_loss_l1_l2", run=run_l1_and_l1_l2,
     notes="Trains both variants: l1(0.001) and l1_l2(l1=0.001, l2=0.001).")
_ch4("ch4-imdb-dropout", "4.8", "L6124-L6140", dpt_model,
     "clear improvement over the reference (L6136-L6137, fig 4.9); no number",
     compare_plot=(REFERENCE, "Dropout-regularized model"),
     check=compared_with(REFERENCE, "min_val_loss", "<"))
