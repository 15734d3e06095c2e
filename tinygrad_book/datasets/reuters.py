"""Reuters-21578 newswires, 46 topics, as word-rank sequences (Keras ``keras.datasets.reuters``; book 3.5)."""

from __future__ import annotations

import numpy as np

from ._base import (cap_vocabulary, fetch, load_json, load_npz, no_sequences_left, object_array,
                    offset_sequences, remove_long_seq, shuffled)

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

# Label i is LABEL_NAMES[i]: the topics in order of first appearance in Reuters-21578.
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi",
    "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei",
    "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """``(x_train, y_train), (x_test, y_test)``: 8,982 + 2,246 newswires, labels 0-45.

    Keras 2 semantics: ``np.random.RandomState(seed)`` shuffles all 11,228 wires; ranks get
    ``+index_from`` and a leading ``start_char``; with ``maxlen`` only sequences shorter than it
    are kept; ids outside ``[skip_top, num_words)`` become ``oov_char``; the first
    ``int(n * (1 - test_split))`` wires are the training set. Book check (``num_words=10000``):
    ``x_train[10]`` starts ``[1, 245, 273, 207, 156, 53, 74, 160, 26, 14, ...]``, ``y_train[10] == 3``.
    """
    d = load_npz(fetch("reuters", "reuters.npz", ORIGIN, SHA256), ["x", "y"], allow_pickle=True)
    xs, labels = shuffled(np.random.RandomState(seed), d["x"], d["y"])
    xs = offset_sequences(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
        if not xs:
            raise no_sequences_left(maxlen)
    xs = cap_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return (object_array(xs[:n]), labels[:n]), (object_array(xs[n:]), labels[n:])


def get_word_index():
    """Dict word -> rank (1 = most frequent); a sequence id is ``rank + index_from``."""
    return load_json(fetch("reuters", "reuters_word_index.json", WORD_INDEX_ORIGIN, WORD_INDEX_MD5))


def get_label_names():
    """The 46 topic names; ``get_label_names()[3] == 'earn'``."""
    return LABEL_NAMES
