"""Chapter 3, "Getting started with neural networks": the three canonical problems.

* 3.4 binary classification of IMDB reviews (listings 3.1-3.11, L3935-L4325),
* 3.5 single-label multiclass classification of Reuters newswires (3.12-3.23, L4402-L4758),
* 3.6 scalar regression of Boston house prices, with K-fold validation (3.24-3.32, L4826-L5192).
"""
from __future__ import annotations

import functools
import time

import numpy as np

from .checks import at_most, between, compared_with, at_least
from .entry import Data, Entry
from .folds import Folds
from .runner import curve, plain_history
from .shared import synthetic_multi_hot, imdb_vectors, smooth_curve, vectorize_sequences

ENTRIES: list[Entry] = []   # this chapter's experiments, in book order (the registry collects them)


# ---------------------------------------------------------------------------------------------
# 3.4 IMDB: is a movie review positive or negative?

def load_imdb_validation(tiny=False):
    """Listing 3.7: set apart the first 10,000 training reviews as a validation set."""
    x_train, y_train, _, _ = imdb_vectors(tiny)
    n_val = 10000 if not tiny else 16
    x_val = x_train[:n_val]
    partial_x_train = x_train[n_val:]
    y_val = y_train[:n_val]
    partial_y_train = y_train[n_val:]
    return Data(partial_x_train, partial_y_train, x_val, y_val,
                source="synthetic" if tiny else "imdb")


def load_imdb_final(tiny=False):
    """Listing 3.11: all 25,000 training reviews, evaluated on the 25,000 test reviews."""
    x_train, y_train, x_test, y_test = imdb_vectors(tiny)
    return Data(x_train, y_train, x_test=x_test, y_test=y_test,
                source="synthetic" if tiny else "imdb")


def imdb_dense():
    """Listings 3.3-3.4 (3.8): two 16-unit relu layers and a sigmoid probability."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['acc'])
    return model


ENTRIES.append(Entry(
    id="ch3-imdb-dense-validation", chapter=3, section="3.4.1-3.4.4", listings="3.1-3.10",
    lines="L3935-L4280", dataset="imdb",
    build_model=imdb_dense, load_data=load_imdb_validation,
    epochs=20, batch_size=512,  # fit(partial_x_train, ..., validation_data=(x_val, y_val))
    book_result="validation loss/acc best at epoch 4 (L4269); overfits after epoch 2",
    metric="best_epoch", book_value=4, check=between("best_epoch", 2, 6),
    notes="best_epoch = argmin of val_loss, counted from 1 as the book's plots do."))

ENTRIES.append(Entry(
    id="ch3-imdb-dense-final", chapter=3, section="3.4.4-3.4.5", listings="3.11",
    lines="L4284-L4325", dataset="imdb",
    build_model=imdb_dense, load_data=load_imdb_final,
    epochs=4, batch_size=512,   # model.fit(x_train, y_train, epochs=4, batch_size=512)
    book_result="evaluate -> [0.2930, 0.8833] (L4302)",
    metric="test_acc", book_value=0.88328, check=at_least("test_acc", 0.875),
    notes="The prose says 'stop after the 3rd epoch' (L4279) but the listing uses epochs=4."))


# ---------------------------------------------------------------------------------------------
# 3.5 Reuters: which of 46 topics is a newswire about?

def to_one_hot(labels, dimension=46):
    """Listing 3.14 (second half): one-hot labels by hand, same as ``to_categorical``."""
    results = np.zeros((len(labels), dimension), dtype='float32')
    for i, label in enumerate(labels):
        results[i, label] = 1.
    return results


@functools.lru_cache(maxsize=1)
def _reuters_vectors():
    from ..datasets import reuters
    # Listing 3.12: 8,982 training and 2,246 test newswires, 10,000 most frequent words
    (train_data, train_labels), (test_data, test_labels) = reuters.load_data(num_words=10000)
    # Listing 3.14: multi-hot inputs (labels stay integers here; each entry encodes them)
    x_train = vectorize_sequences(train_data)
    x_test = vectorize_sequences(test_data)
    return x_train, np.asarray(train_labels), x_test, np.asarray(test_labels)


def reuters_vectors(tiny=False):
    """(x_train, train_labels, x_test, test_labels); ``tiny``: random, 64/32 rows."""
    if tiny:
        rng = np.random.RandomState(0)
        return (synthetic_multi_hot(64, 10000, rng), rng.randint(0, 46, 64),
                synthetic_multi_hot(32, 10000, rng), rng.randint(0, 46, 32))
    return _reuters_vectors()


def load_reuters(tiny=False, one_hot=True, with_test=True):
    """Listing 3.17: the first 1,000 newswires validate; labels one-hot (or integers, 3.5.6)."""
    x_train, train_labels, x_test, test_labels = reuters_vectors(tiny)
    encode = to_one_hot if one_hot else (lambda labels: np.array(labels))
    one_hot_train_labels = encode(train_labels)
    one_hot_test_labels = encode(test_labels)
    n_val = 1000 if not tiny else 16
    x_val = x_train[:n_val]
    partial_x_train = x_train[n_val:]
    y_val = one_hot_train_labels[:n_val]
    partial_y_train = one_hot_train_labels[n_val:]
    return Data(partial_x_train, partial_y_train, x_val, y_val,
                x_test=x_test if with_test else None,
                y_test=one_hot_test_labels if with_test else None,
                source="synthetic" if tiny else "reuters")


def reuters_dense(hidden=64, loss='categorical_crossentropy'):
    """Listings 3.15-3.16: two 64-unit layers (46 classes need more room than 16 units)."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(64, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(hidden, activation='relu'))
    model.add(layers.Dense(46, activation='softmax'))
    model.compile(optimizer='rmsprop',
                  loss=loss,
                  metrics=['accuracy'])
    return model


def reuters_sparse():
    """Section 3.5.6: integer labels with ``sparse_categorical_crossentropy`` (same maths)."""
    return reuters_dense(loss='sparse_categorical_crossentropy')


def reuters_bottleneck():
    """Listing 3.23: a 4-unit middle layer squeezes 46 classes through 4 dimensions."""
    return reuters_dense(hidden=4)


ENTRIES.append(Entry(
    id="ch3-reuters-dense-validation", chapter=3, section="3.5.1-3.5.4", listings="3.12-3.20",
    lines="L4402-L4640", dataset="reuters",
    build_model=reuters_dense, load_data=functools.partial(load_reuters, with_test=False),
    epochs=20, batch_size=512,
    book_result="overfitting starts at epoch 9 (L4640); val acc plateau ~0.80 (figs 3.7-3.8)",
    metric="best_epoch", book_value=9,
    notes="No pass criterion of its own; its final val_acc is the bottleneck's yardstick."))

ENTRIES.append(Entry(
    id="ch3-reuters-dense-final", chapter=3, section="3.5.4-3.5.5", listings="3.21-3.22",
    lines="L4642-L4705", dataset="reuters",
    build_model=reuters_dense, load_data=load_reuters,
    epochs=9, batch_size=512,   # fit(partial_x_train, ..., epochs=9, validation_data=(x_val, y_val))
    book_result="evaluate -> [0.9565, 0.7970] (L4665); random baseline 0.187 (L4681)",
    metric="test_acc", book_value=0.79697, check=at_least("test_acc", 0.78)))

ENTRIES.append(Entry(
    id="ch3-reuters-sparse-labels", chapter=3, section="3.5.6", listings="(text, L4707-L4725)",
    lines="L4707-L4725", dataset="reuters",
    build_model=reuters_sparse, load_data=functools.partial(load_reuters, one_hot=False),
    epochs=9, batch_size=512,
    book_result="not stated (mathematically the same as categorical crossentropy)",
    metric="test_acc",
    notes="The book shows only the compile step; we fit as listing 3.21 (9 epochs, batch 512)."))

ENTRIES.append(Entry(
    id="ch3-reuters-bottleneck", chapter=3, section="3.5.7", listings="3.23",
    lines="L4727-L4758", dataset="reuters",
    build_model=reuters_bottleneck, load_data=functools.partial(load_reuters, with_test=False),
    epochs=20, batch_size=128,
    book_result="val acc ~0.71, 8 points below the 64-unit model (L4736)",
    metric="final_val_acc", book_value=0.71,
    check=compared_with("ch3-reuters-dense-validation", "final_val_acc", "<", margin=0.04),
    notes="Compared on the final-epoch validation accuracy (the book reads the plateau)."))


# ---------------------------------------------------------------------------------------------
# 3.6 Boston Housing: the median price of a house, from 13 features (scalar regression)

def load_boston(tiny=False):
    """Listings 3.24-3.25: standardize each feature with the *training* mean and std."""
    if tiny:
        rng = np.random.RandomState(0)
        train_data, test_data = rng.normal(3, 2, (40, 13)), rng.normal(3, 2, (12, 13))
        w = rng.normal(size=13)
        train_targets, test_targets = 22 + train_data @ w, 22 + test_data @ w
        source = "synthetic"
    else:
        from ..datasets import boston_housing
        (train_data, train_targets), (test_data, test_targets) = boston_housing.load_data()
        source = "boston_housing"

    mean = train_data.mean(axis=0)
    train_data = train_data - mean
    std = train_data.std(axis=0)
    train_data = train_data / std
    test_data = test_data - mean     # never statistics computed on the test data
    test_data = test_data / std
    return Data(train_data.astype('float32'), train_targets.astype('float32'),
                x_test=test_data.astype('float32'), y_test=test_targets.astype('float32'),
                source=source)


def build_model():
    """Listing 3.26: small (64-64-1) because there are only 404 samples; linear output."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(64, activation='relu', input_shape=(13,)))
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(1))
    model.compile(optimizer='rmsprop', loss='mse', metrics=['mae'])
    return model


def train_fold(entry, i, k, num_epochs, batch_size, verbose=0, tiny=False, model_out=None,
               record_curves=False):
    """Listing 3.27, one pass of its loop: fold ``i`` of ``k`` validates, the others train a
    fresh model. The loop itself is ``runner.run``, which seeds each fold on its own (zoo/folds.py),
    so the K folds can also run in parallel, as tasks on a Dask cluster."""
    data = entry.load_data(tiny=tiny)
    train_data, train_targets = data.x_train, data.y_train
    num_val_samples = len(train_data) // k
    start = time.perf_counter()
    if verbose:
        print('processing fold #', i, flush=True)
    # the validation data: the i-th slice
    val_data = train_data[i * num_val_samples: (i + 1) * num_val_samples]
    val_targets = train_targets[i * num_val_samples: (i + 1) * num_val_samples]
    # the training data: all the other slices
    partial_train_data = np.concatenate(
        [train_data[:i * num_val_samples], train_data[(i + 1) * num_val_samples:]], axis=0)
    partial_train_targets = np.concatenate(
        [train_targets[:i * num_val_samples], train_targets[(i + 1) * num_val_samples:]], axis=0)

    model = entry.build_model()
    history = model.fit(partial_train_data, partial_train_targets,
                        validation_data=(val_data, val_targets) if record_curves else None,
                        epochs=num_epochs, batch_size=batch_size, verbose=0)
    val_mse, val_mae = model.evaluate(val_data, val_targets, verbose=0)
    if verbose:
        print(f'fold #{i}: val_mae {val_mae:.4f}', flush=True)
    if model_out is not None:   # --save keeps the last fold's model (K-fold trains K of them)
        model_out.append(model)
    result = {"score": float(val_mae), "source": data.source, "wall_time": time.perf_counter() - start}
    if record_curves:   # listing 3.28: the validation MAE of every epoch
        result["val_mae_history"] = curve(history.history, 'val_mean_absolute_error', 'val_mae')
    return result


def mean_of_folds(folds, num_epochs):
    """Listing 3.27's ``np.mean(all_scores)``; with curves (3.29), the per-epoch average over
    folds, and (3.31) the epoch where the smoothed average is lowest, first 10 points dropped."""
    all_scores = [f["score"] for f in folds]
    result = {"all_scores": all_scores, "mean_val_mae": float(np.mean(all_scores))}
    if "val_mae_history" in folds[0]:
        all_mae_histories = [f["val_mae_history"] for f in folds]
        average_mae_history = [float(np.mean([x[i] for x in all_mae_histories]))
                               for i in range(num_epochs)]
        smooth_mae_history = smooth_curve(average_mae_history[10:])
        result["history"] = {"val_mae": average_mae_history}
        result["min_val_mae"] = min(average_mae_history)
        result["best_epoch"] = int(np.argmin(average_mae_history)) + 1
        if smooth_mae_history:
            result["best_epoch_smoothed"] = int(np.argmin(smooth_mae_history)) + 11
    return result


K_FOLD = Folds(4, train_fold, mean_of_folds)                          # listing 3.27
K_FOLD_CURVES = Folds(4, functools.partial(train_fold, record_curves=True), mean_of_folds)   # 3.28-3.29


def plot_mean_mae(history, path, title=""):
    """Listings 3.30-3.31: the mean validation MAE per epoch, raw and smoothed."""
    from .plots import plot_boston_mae
    mae = history["val_mae"]
    plot_boston_mae(mae, path, smooth_curve(mae[10:]))


def final_boston(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listing 3.32: a fresh model on all 404 samples for the chosen 80 epochs, then the test set."""
    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train,
                        epochs=epochs or entry.epochs, batch_size=batch_size or entry.batch_size,
                        verbose=verbose)
    test_mse_score, test_mae_score = model.evaluate(data.x_test, data.y_test, verbose=0)
    if model_out is not None:
        model_out.append(model)
    return {"test_mae": float(test_mae_score), "test_loss": float(test_mse_score),
            "history": plain_history(history.history), "source": data.source,
            "wall_time": time.perf_counter() - start}


ENTRIES.append(Entry(
    id="ch3-boston-kfold-100", chapter=3, section="3.6.1-3.6.4", listings="3.24-3.27",
    lines="L4826-L5025", dataset="boston_housing",
    build_model=build_model, load_data=load_boston, folds=K_FOLD,
    epochs=100, batch_size=1,
    book_result="all_scores [2.59, 3.13, 3.19, 3.08], mean 2.995 (L5014-L5017)",
    metric="mean_val_mae", book_value=2.9948, check=at_most("mean_val_mae", 3.2),
    extra={"folds": 4, "metric_name": "mae"},
    notes="4 folds of 101 samples; each fold trains 303 samples, batch 1 (303 updates/epoch). "
          "Each fold is seeded from (seed, fold index), so the folds can run in parallel."))

ENTRIES.append(Entry(
    id="ch3-boston-kfold-500", chapter=3, section="3.6.4", listings="3.28-3.31",
    lines="L5029-L5170", dataset="boston_housing",
    build_model=build_model, load_data=load_boston, folds=K_FOLD_CURVES,
    epochs=500, batch_size=1,
    book_result="smoothed val MAE best after ~80 epochs, overfits afterwards (L5128-L5129)",
    metric="best_epoch_smoothed", book_value=80,
    extra={"folds": 4, "metric_name": "mae"}, plot=plot_mean_mae,
    reduced=(200, "200 of the book's 500 epochs (--reduced)"),
    notes="best_epoch_smoothed: argmin of the smoothed mean curve (first 10 epochs dropped)."))

ENTRIES.append(Entry(
    id="ch3-boston-final", chapter=3, section="3.6.4", listings="3.32",
    lines="L5176-L5192", dataset="boston_housing",
    build_model=build_model, load_data=load_boston, run=final_boston,
    epochs=80, batch_size=16,
    book_result="test_mae_score 2.5532 (L5190)",
    metric="test_mae", book_value=2.5532, check=at_most("test_mae", 2.9),
    extra={"metric_name": "mae"}))
