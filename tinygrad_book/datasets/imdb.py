"""IMDB movie reviews as word-rank sequences (Keras ``keras.datasets.imdb``; book chapters 3, 4, 6).

Source: Maas et al., "Learning Word Vectors for Sentiment Analysis" (ACL 2011), preprocessed by
Keras into ``imdb.npz`` (ranks by frequency in the training set, 1 = most frequent).
"""

from __future__ import annotations

import numpy as np

from ._base import (cap_vocabulary, fetch, load_json, load_npz, no_sequences_left, object_array,
                    offset_sequences, remove_long_seq, shuffled)

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """``(x_train, y_train), (x_test, y_test)``: 25,000 + 25,000 reviews, labels 1 = positive.

    Each x is a 1-D object array of Python lists of ints. Keras 2 semantics, step by step:
    one ``np.random.RandomState(seed)`` shuffles the train indices, then the test indices; every
    rank gets ``+index_from`` and a leading ``start_char``; with ``maxlen`` only sequences shorter
    than ``maxlen`` are kept; ids outside ``[skip_top, num_words)`` become ``oov_char``.

    One deliberate difference from Keras <= 2.3: there, ``maxlen`` filtering ran on train+test
    together and the split point was not moved, so test reviews leaked into the training set.
    We filter each split on its own, as tf.keras does since 2.4. Without ``maxlen`` the arrays
    are identical to Keras'. Book check: ``load_data(num_words=10000)[0][0][0][:8] ==
    [1, 14, 22, 16, 43, 530, 973, 1622]`` and ``y_train[0] == 1``.
    """
    d = load_npz(fetch("imdb", "imdb.npz", ORIGIN, SHA256),
                 ["x_train", "y_train", "x_test", "y_test"], allow_pickle=True)
    rng = np.random.RandomState(seed)
    x_train, y_train = shuffled(rng, d["x_train"], d["y_train"])
    x_test, y_test = shuffled(rng, d["x_test"], d["y_test"])  # same rng, continued

    x_train = offset_sequences(x_train, start_char, index_from)
    x_test = offset_sequences(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = remove_long_seq(maxlen, x_train, y_train)
        x_test, y_test = remove_long_seq(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise no_sequences_left(maxlen)

    n = len(x_train)
    xs = cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    return (object_array(xs[:n]), np.asarray(y_train)), (object_array(xs[n:]), np.asarray(y_test))


def get_word_index():
    """Dict word -> rank (1 = most frequent), as stored; a sequence id is ``rank + index_from``.

    Decode as in the book: ``{v + 3: k for k, v in word_index.items()}``, ids 0-2 are reserved.
    """
    return load_json(fetch("imdb", "imdb_word_index.json", WORD_INDEX_ORIGIN, WORD_INDEX_MD5))
