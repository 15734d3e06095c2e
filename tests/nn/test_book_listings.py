"""The book's listings 2.1-2.5, 3.1-3.11 and 5.1-5.3, as printed, with only the
imports changed (keras -> tinygrad_book) and the datasets replaced by small
synthetic arrays of the same shapes and dtypes."""
import numpy as np

from tinygrad_book import layers, models, optimizers, losses, metrics  # noqa: F401  (was: from keras import ...)
from tinygrad_book.utils import to_categorical                          # was: from keras.utils import to_categorical

R = np.random.default_rng(0)


def fake_mnist(n):
    images = R.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = R.integers(0, 10, n)
    return images, labels


def test_listing_2_mnist_dense():
    (train_images, train_labels), (test_images, test_labels) = fake_mnist(256), fake_mnist(64)
    # --- listing 2.2 ---
    network = models.Sequential()
    network.add(layers.Dense(512, activation='relu', input_shape=(28 * 28,)))
    network.add(layers.Dense(10, activation='softmax'))
    # --- listing 2.3 ---
    network.compile(optimizer='rmsprop',
                    loss='categorical_crossentropy',
                    metrics=['accuracy'])
    # --- listing 2.4 (60000/10000 -> our sample counts) ---
    train_images = train_images.reshape((256, 28 * 28))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((64, 28 * 28))
    test_images = test_images.astype('float32') / 255
    # --- listing 2.5 ---
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)
    history = network.fit(train_images, train_labels, epochs=3, batch_size=128, verbose=0)
    test_loss, test_acc = network.evaluate(test_images, test_labels, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert np.all(np.isfinite(history.history["loss"])) and 0 <= test_acc <= 1
    assert history.history["loss"][-1] < history.history["loss"][0]      # it memorises the noise
    assert network.count_params() == 407050


def vectorize_sequences(sequences, dimension=10000):       # listing 3.2
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.
    return results


def test_listing_3_imdb():
    n = 300
    train_data = [list(R.integers(1, 10000, R.integers(10, 80))) for _ in range(n)]
    test_data = [list(R.integers(1, 10000, R.integers(10, 80))) for _ in range(50)]
    train_labels, test_labels = R.integers(0, 2, n), R.integers(0, 2, 50)
    x_train = vectorize_sequences(train_data)
    x_test = vectorize_sequences(test_data)
    y_train = np.asarray(train_labels).astype('float32')
    y_test = np.asarray(test_labels).astype('float32')
    # --- listing 3.3 ---
    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    # --- listings 3.5 and 3.6 (alternative compiles) ---
    model.compile(optimizer=optimizers.RMSprop(lr=0.001),
                  loss=losses.binary_crossentropy,
                  metrics=[metrics.binary_accuracy])
    # --- listing 3.7 (10000 -> 100 validation samples) ---
    x_val = x_train[:100]
    partial_x_train = x_train[100:]
    y_val = y_train[:100]
    partial_y_train = y_train[100:]
    # --- listing 3.8 ---
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['acc'])
    history = model.fit(partial_x_train,
                        partial_y_train,
                        epochs=4,
                        batch_size=512,
                        validation_data=(x_val, y_val), verbose=0)
    history_dict = history.history
    assert sorted(history_dict.keys()) == ['acc', 'loss', 'val_acc', 'val_loss']
    loss_values = history_dict['loss']
    assert loss_values[-1] < loss_values[0] and np.all(np.isfinite(history_dict['val_loss']))
    # --- listing 3.11 ---
    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=4, batch_size=512, verbose=0)
    results = model.evaluate(x_test, y_test, verbose=0)
    assert len(results) == 2 and np.isfinite(results[0])
    predictions = model.predict(x_test)
    assert predictions.shape == (50, 1) and np.all((predictions > 0) & (predictions < 1))


def test_listing_5_mnist_convnet():
    (train_images, train_labels), (test_images, test_labels) = fake_mnist(128), fake_mnist(32)
    # --- listing 5.1 ---
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    # --- listing 5.2 ---
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    assert model.count_params() == 93322
    # --- listing 5.3 (60000/10000 -> our sample counts) ---
    train_images = train_images.reshape((128, 28, 28, 1))
    train_images = train_images.astype('float32') / 255
    test_images = test_images.reshape((32, 28, 28, 1))
    test_images = test_images.astype('float32') / 255
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    history = model.fit(train_images, train_labels, epochs=2, batch_size=64, verbose=0)
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=0)
    assert set(history.history) == {"loss", "accuracy"} and np.isfinite(test_loss)
    assert model.predict(test_images).shape == (32, 10)
