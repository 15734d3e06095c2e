"""Dataset loaders with Keras 2 semantics, plus the files the book downloads by hand.

Keras' ``keras.datasets``: ``mnist``, ``imdb``, ``reuters``, ``boston_housing``, ``cifar10``
(each ``load_data()``; ``imdb``/``reuters`` also ``get_word_index()``).
By hand in the book: ``jena_climate`` (CSV), ``nietzsche`` (text), ``aclimdb`` (raw reviews),
``cats_and_dogs`` (image folders), ``glove`` (word vectors).

Files are looked for in ``data_home()`` (``$TINYGRAD_BOOK_DATA``, default
``~/.tinygrad_book/datasets``) and downloaded there when missing; see ``docs/data.md``.
"""

from . import (aclimdb, boston_housing, cats_and_dogs, cifar10, glove, imdb, jena_climate, mnist,
               nietzsche, reuters)

__all__ = ["mnist", "imdb", "reuters", "boston_housing", "cifar10", "jena_climate", "nietzsche",
           "aclimdb", "cats_and_dogs", "glove"]
