"""Text to integers (Keras 2 ``keras.preprocessing.text``): word splitting, ``Tokenizer``, hashing."""

from __future__ import annotations

import hashlib
from collections import OrderedDict, defaultdict

import numpy as np

__all__ = ["DEFAULT_FILTERS", "text_to_word_sequence", "one_hot", "hashing_trick", "Tokenizer"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Lower-case, replace every character of ``filters`` by ``split``, split, drop empty pieces.

    ``"Hello, World!" -> ['hello', 'world']``. The apostrophe is not a filter: ``"don't"`` stays one word.
    """
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def _md5_hash(word):
    return int(hashlib.md5(word.encode("utf-8")).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Word ids in ``[1, n)`` from a hash of each word (``hash(w) % (n - 1) + 1``; 0 stays free).

    Keras defaults to Python's ``hash``, which is salted per process (PYTHONHASHSEED), so its ids
    change between runs; here the default is md5, stable everywhere. Distinct words may collide.
    """
    hash_function = hash_function or _md5_hash
    return [hash_function(w) % (n - 1) + 1
            for w in text_to_word_sequence(text, filters=filters, lower=lower, split=split)]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Keras' ``one_hot``: despite the name, ``hashing_trick`` with the (stable) default hash."""
    return hashing_trick(text, n, filters=filters, lower=lower, split=split)


class Tokenizer:
    """Map words to integer ids by frequency, as Keras 2's ``Tokenizer`` (book 6.1.1 and 6.1.3).

    ``fit_on_texts`` counts words; ids are then given by descending count (1 = most frequent;
    ties keep the order of first appearance, because the sort is stable), 0 is never used.
    ``word_index`` holds *every* word seen; ``num_words`` only limits the outputs of
    ``texts_to_sequences`` / ``texts_to_matrix`` to ids below ``num_words``.
    ``oov_token``: if given it gets id 1, and unknown or rare words map to it instead of vanishing.
    ``char_level=True`` counts characters; a text given as a list is taken as already split.
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None):
        self.num_words = num_words
        self.filters, self.lower, self.split = filters, lower, split
        self.char_level, self.oov_token = char_level, oov_token
        self.word_counts = OrderedDict()  # word -> occurrences over all texts
        self.word_docs = defaultdict(int)  # word -> number of texts it occurs in
        self.index_docs = defaultdict(int)  # id -> number of texts it occurs in (for tfidf)
        self.document_count = 0
        self.word_index, self.index_word = {}, {}

    def _split(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count the words of ``texts`` (adding to earlier counts) and rebuild ``word_index``."""
        for text in texts:
            self.document_count += 1
            seq = self._split(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)  # stable
        vocab = ([self.oov_token] if self.oov_token is not None else []) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = defaultdict(int, {self.word_index[w]: c for w, c in self.word_docs.items()})

    def texts_to_sequences(self, texts):
        """Each text as a list of ids; unknown words and ids >= ``num_words`` are dropped
        (or become the ``oov_token`` id when there is one)."""
        oov = self.word_index.get(self.oov_token)
        out = []
        for text in texts:
            vect = []
            for w in self._split(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov)
            out.append(vect)
        return out

    def sequences_to_texts(self, sequences):
        """The inverse mapping, words joined by a space (ids >= num_words / unknown ids skipped,
        or shown as the oov_token)."""
        out = []
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(i)
                if w is not None and not (self.num_words and i >= self.num_words):
                    words.append(w)
                elif self.oov_token is not None:
                    words.append(self.oov_token)
            out.append(" ".join(words))
        return out

    def texts_to_matrix(self, texts, mode="binary"):
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A float64 matrix (len(sequences), num_words) with Keras' formulas per cell (i, j):

        * ``binary``: 1 if id j occurs in sequence i;
        * ``count``: the number of occurrences c;
        * ``freq``: c / len(sequence i);
        * ``tfidf``: ``(1 + log c) * log(1 + document_count / (1 + documents containing j))``.

        Width: ``num_words``, or ``len(word_index) + 1`` when num_words is None.
        """
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"Unknown vectorization mode: {mode!r}")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts = defaultdict(int)
            for j in seq:
                if j < num_words:
                    counts[j] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[i, j] = c
                elif mode == "freq":
                    x[i, j] = c / len(seq)
                elif mode == "binary":
                    x[i, j] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i, j] = (1 + np.log(c)) * idf
        return x
