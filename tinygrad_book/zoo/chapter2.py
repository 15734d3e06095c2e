"""Chapter 2, "Before we begin: the mathematical building blocks of neural networks".

The book's first network: a two-layer dense classifier of MNIST digits (listings 2.1-2.5,
book lines L2032-L2180; recap of the 2,345 gradient updates at L3297-L3360).
"""
from __future__ import annotations

from .checks import at_least
from .entry import Data, Entry
from .shared import mnist_digits


# Listing 2.1: loading the MNIST dataset (here: the full set when it is on disk or can be
# downloaded, otherwise the 2,000/500-digit sample shipped with the package, said on stderr).
def load_mnist(tiny=False):
    """Listings 2.1, 2.4, 2.5: flat float32 images in [0, 1], one-hot labels."""
    from ..utils import to_categorical

    (train_images, train_labels), (test_images, test_labels), source = mnist_digits(tiny)

    # Listing 2.4: preparing the image data (60000, 28, 28) uint8 -> (60000, 784) float32 in [0, 1]
    train_images = train_images.reshape((len(train_images), 28 * 28))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((len(test_images), 28 * 28))
    test_images = test_images.astype('float32') / 255

    # Listing 2.5: preparing the labels (digit -> 10-dim one-hot)
    train_labels = to_categorical(train_labels, 10)
    test_labels = to_categorical(test_labels, 10)
    return Data(train_images, train_labels, x_test=test_images, y_test=test_labels, source=source)


def mnist_dense():
    """Listings 2.2-2.3: the network architecture and the compilation step."""
    from .. import layers, models

    network = models.Sequential()
    network.add(layers.Dense(512, activation='relu', input_shape=(28 * 28,)))
    network.add(layers.Dense(10, activation='softmax'))
    network.compile(optimizer='rmsprop',
                    loss='categorical_crossentropy',
                    metrics=['accuracy'])
    return network


ENTRIES: list[Entry] = [Entry(
    id="ch2-mnist-dense", chapter=2, section="2.1, 2.5", listings="2.1-2.5",
    lines="L2032-L2180, L3297-L3360", dataset="mnist",
    build_model=mnist_dense, load_data=load_mnist,
    epochs=5, batch_size=128,   # network.fit(train_images, train_labels, epochs=5, batch_size=128)
    book_result="test_acc 0.9785 (L2173); train acc 0.989 (L2168)",
    metric="test_acc", book_value=0.9785, check=at_least("test_acc", 0.975),
    notes="No validation set: the book evaluates on the test set after 5 epochs. "
          "Offline, the bundled sample (2,000 train / 500 test) replaces the full MNIST; "
          "its test accuracy is lower (about 0.9) and is not comparable with the book's.")]
