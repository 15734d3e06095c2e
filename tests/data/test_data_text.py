"""to_categorical, vectorize_sequences, pad_sequences and Tokenizer against hand-computed Keras results."""

import math

import numpy as np
import pytest

from tinygrad_book.preprocessing.sequence import pad_sequences
from tinygrad_book.preprocessing.text import Tokenizer, hashing_trick, one_hot, text_to_word_sequence
from tinygrad_book.utils import to_categorical, vectorize_sequences


def test_to_categorical():
    out = to_categorical([0, 2, 1])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert to_categorical(np.array([[1], [3]])).shape == (2, 4)  # trailing axis of 1 dropped
    assert to_categorical([[0, 1], [1, 0]], num_classes=3).shape == (2, 2, 3)
    assert to_categorical([1], num_classes=5, dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError):
        to_categorical([-1, 1])


def test_vectorize_sequences():
    out = vectorize_sequences([[1, 3, 3], [], [0]], dimension=5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    assert vectorize_sequences([[1]], 3, dtype="float64").dtype == np.float64


SEQS = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]


def test_pad_sequences_defaults_pre():
    out = pad_sequences(SEQS, maxlen=4)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10]])
    np.testing.assert_array_equal(pad_sequences(SEQS), [[0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10]])


def test_pad_sequences_post_value_dtype_empty():
    out = pad_sequences(SEQS, maxlen=4, padding="post", truncating="post")
    np.testing.assert_array_equal(out, [[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9]])
    out = pad_sequences([[1.5], []], maxlen=2, dtype="float32", value=-1.0)
    np.testing.assert_array_equal(out, [[-1, 1.5], [-1, -1]])
    out = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]])  # elements may be vectors
    np.testing.assert_array_equal(out, [[[0, 0], [1, 2]], [[3, 4], [5, 6]]])
    assert pad_sequences([]).shape == (0, 0)
    with pytest.raises(ValueError):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])


TEXTS = ["The cat sat on the mat.", "The dog ate my homework!"]


def test_text_to_word_sequence_and_hashing():
    assert text_to_word_sequence("Hello, World! It's\tme.") == ["hello", "world", "it's", "me"]
    assert text_to_word_sequence("A-B", filters="", lower=False) == ["A-B"]
    ids = one_hot("the cat the", 10)
    assert ids[0] == ids[2] and all(1 <= i < 10 for i in ids)
    assert hashing_trick("a b", 5, hash_function=len) == [2, 2]  # len % 4 + 1


def test_tokenizer_word_index_by_frequency_ties_in_order():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.document_count == 2
    assert tok.word_counts["the"] == 3 and tok.word_docs["the"] == 2
    assert tok.word_index == {"the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6, "ate": 7,
                              "my": 8, "homework": 9}
    assert tok.index_word[6] == "dog"
    assert tok.texts_to_sequences(["the cat ate a fish"]) == [[1, 2, 7]]  # unknown words dropped
    assert tok.sequences_to_texts([[1, 2, 7]]) == ["the cat ate"]


def test_tokenizer_num_words_and_oov():
    tok = Tokenizer(num_words=5)
    tok.fit_on_texts(TEXTS)
    assert len(tok.word_index) == 9  # the index keeps every word
    assert tok.texts_to_sequences(["the dog sat on"]) == [[1, 3, 4]]  # dog = 6 >= 5 is dropped
    assert tok.texts_to_matrix(["the dog"]).shape == (1, 5)
    tok = Tokenizer(num_words=5, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2
    assert tok.texts_to_sequences(["the fish cat dog"]) == [[2, 1, 3, 1]]


def test_tokenizer_matrix_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    text = ["the the cat"]
    binary = tok.texts_to_matrix(text, mode="binary")
    assert binary.shape == (1, 10) and binary.dtype == np.float64  # len(word_index) + 1
    assert binary[0].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert tok.texts_to_matrix(text, mode="count")[0, :3].tolist() == [0, 2, 1]
    np.testing.assert_allclose(tok.texts_to_matrix(text, mode="freq")[0, :3], [0, 2 / 3, 1 / 3])
    tfidf = tok.texts_to_matrix(text, mode="tfidf")[0]
    # the: in 2 of 2 docs, count 2; cat: 1 doc, count 1
    assert tfidf[1] == pytest.approx((1 + math.log(2)) * math.log(1 + 2 / 3))
    assert tfidf[2] == pytest.approx(1.0 * math.log(1 + 2 / 2))
    assert tok.sequences_to_matrix([[1, 1, 12]], mode="count")[0, 1] == 2  # ids >= width ignored
    with pytest.raises(ValueError):
        tok.texts_to_matrix(text, mode="bogus")
    with pytest.raises(ValueError):
        Tokenizer().texts_to_matrix(text)


def test_tokenizer_char_level():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["abba"])
    assert tok.word_index == {"a": 1, "b": 2}
    assert tok.texts_to_sequences(["Bad"]) == [[2, 1]]
