"""Chapter 7, "Advanced deep-learning best practices" (book lines L12037-L13608): the tools.

* 7.1: the functional API — a first model and its Sequential twin, two inputs (question
  answering), three outputs (social media), an Inception module, residual connections, a
  shared LSTM (siamese);
* 7.2: callbacks (early stopping, checkpoints, a custom one) and TensorBoard;
* 7.3: hyperparameter search and ensembles.

* 7.1.6 and 7.3.1: the siamese Xception, batch normalisation and depthwise separable
  convolution, whose data the book does not give: what stands in is said in each entry's notes
  (BatchNormalization in chapter 5's MNIST convnet; CIFAR-10 upscaled 2x for the separable
  convnet's 64x64 input; one synthetic stereo pair).

The book gives no data for most of these: where its listings make random arrays, so do we,
as printed; where it names data it does not give (social-media posts, sentence pairs), a
synthetic stand-in with a learnable signal is described at its function. Most entries are
mechanics: each result says what it demonstrates, and its check can fail.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from .checks import at_least, at_most
from .entry import Data, Entry
from .runner import fit_and_evaluate, history_numbers, or_default, plain_history

ENTRIES: list[Entry] = []   # this chapter's experiments, in book order (the registry collects them)


def demonstrates(rule, predicate, key=None):
    """A check that `predicate(result)` holds; None while a number it reads is missing."""
    def check(result, _all):
        try:
            return bool(predicate(result)), rule
        except (KeyError, TypeError):
            return None, rule + " (not measured)"
    check.key = key
    return check


def _finish(result, model, start, model_out, source):
    result.update(wall_time=time.perf_counter() - start, source=source)
    if model_out is not None:
        model_out.append(model)
    return result


# --- 7.1.1 the functional API -------------------------------------------------------------
def sequential_and_functional():
    """L12054-L12088: the same three Dense layers as a Sequential and as Model(input, output)."""
    from .. import layers, models
    from ..models import Model

    seq_model = models.Sequential()
    seq_model.add(layers.Dense(32, activation='relu', input_shape=(64,)))
    seq_model.add(layers.Dense(32, activation='relu'))
    seq_model.add(layers.Dense(10, activation='softmax'))

    input_tensor = layers.Input(shape=(64,))
    x = layers.Dense(32, activation='relu')(input_tensor)
    x = layers.Dense(32, activation='relu')(x)
    output_tensor = layers.Dense(10, activation='softmax')(x)
    model = Model(input_tensor, output_tensor)
    return seq_model, model


def functional_intro_model():
    model = sequential_and_functional()[1]
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy')   # L12113
    return model


def random_arrays(tiny=False):
    """L12115-L12116: x_train = np.random.random((1000, 64)), y_train = np.random.random((1000, 10)),
    as float32 (the network's dtype; the book's are float64)."""
    n = 32 if tiny else 1000
    x_train = np.random.random((n, 64)).astype('float32')
    y_train = np.random.random((n, 10)).astype('float32')
    return Data(x_train, y_train, source="synthetic (the book's np.random.random)")


def run_functional_intro(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Train the functional model as L12113-L12127; then the Sequential twin with the same
    weights must compute the same outputs, and an Input the outputs do not depend on must
    raise 'Graph disconnected' (L12097-L12102)."""
    from .. import layers
    from ..models import Model

    data = entry.load_data(tiny=tiny)
    seq_model, model = sequential_and_functional()
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy')
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), verbose=verbose)
    score = model.evaluate(data.x_train, data.y_train, verbose=0)
    seq_model.set_weights(model.get_weights())
    twins_agree = np.allclose(seq_model.predict(data.x_train[:64]), model.predict(data.x_train[:64]), atol=1e-6)
    unrelated_input = layers.Input(shape=(32,))
    try:
        Model(unrelated_input, model.output)
        disconnected = ""
    except ValueError as e:
        disconnected = str(e)
    result = {"history": plain_history(history.history), "final_loss": history.history["loss"][-1],
              "evaluate_loss": float(score), "params": model.count_params(),
              "sequential_params": seq_model.count_params(), "twins_agree": bool(twins_agree),
              "graph_disconnected": "Graph disconnected" in disconnected, "disconnected_message": disconnected}
    return _finish(result, model, start, model_out, data.source)


# --- 7.1.2 two inputs: question answering ---------------------------------------------------
TEXT_VOCABULARY_SIZE, QUESTION_VOCABULARY_SIZE, ANSWER_VOCABULARY_SIZE = 10000, 10000, 500


def qa_model():
    """Listing 7.1: two encoded inputs, concatenated, one softmax over 500 answers."""
    from .. import layers
    from ..models import Model

    text_input = layers.Input(shape=(None,), dtype='int32', name='text')
    embedded_text = layers.Embedding(TEXT_VOCABULARY_SIZE, 64)(text_input)
    encoded_text = layers.LSTM(32)(embedded_text)
    question_input = layers.Input(shape=(None,), dtype='int32', name='question')
    embedded_question = layers.Embedding(QUESTION_VOCABULARY_SIZE, 32)(question_input)
    encoded_question = layers.LSTM(16)(embedded_question)
    concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
    answer = layers.Dense(ANSWER_VOCABULARY_SIZE, activation='softmax')(concatenated)
    model = Model([text_input, question_input], answer)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['acc'])
    return model


def qa_arrays(tiny=False):
    """Listing 7.2, as printed: random word indices, a random one-hot answer per sample."""
    num_samples, max_length = (16, 12) if tiny else (1000, 100)
    text = np.random.randint(1, TEXT_VOCABULARY_SIZE, size=(num_samples, max_length))
    question = np.random.randint(1, QUESTION_VOCABULARY_SIZE, size=(num_samples, max_length))
    answers = np.zeros(shape=(num_samples, ANSWER_VOCABULARY_SIZE), dtype='float32')
    indices = np.random.randint(0, ANSWER_VOCABULARY_SIZE, size=num_samples)
    for i, x in enumerate(answers):
        x[indices[i]] = 1
    return Data([text, question], answers, source="synthetic (the book's listing 7.2)")


def run_qa(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """fit([text, question], answers) as listing 7.2. Measured on the first 128 samples: the
    loss before and after training, and the dict form {'text': ..., 'question': ...} against
    the list (inputs matched by name: the same loss; swapped inputs: another one)."""
    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    text, question = (a[:128] for a in data.x_train)
    answers = data.y_train[:128]

    def loss(x):
        return float(np.atleast_1d(model.evaluate(x, answers, verbose=0))[0])
    start = time.perf_counter()
    loss_before = loss([text, question])
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), verbose=verbose)
    as_list = loss([text, question])
    result = {"history": plain_history(history.history), **history_numbers(history.history),
              "loss_before": loss_before, "loss_after": as_list, "params": model.count_params(),
              "dict_equals_list": bool(np.isclose(as_list, loss({'text': text, 'question': question}), rtol=1e-6)),
              "swapped_inputs_differ": not np.isclose(as_list, loss([question, text]), rtol=1e-6)}
    return _finish(result, model, start, model_out, data.source)


# --- 7.1.3 three outputs: social media ---------------------------------------------------------
VOCABULARY_SIZE, NUM_INCOME_GROUPS, POST_LENGTH = 50000, 10, 300


def social_model():
    """Listings 7.3 and 7.5: one post encoder, three heads, losses weighted [0.25, 1., 10.].
    The book prints Embedding(256, vocabulary_size) — 256 words as 50,000-d vectors, and a
    32 M-parameter first convolution; Keras' argument order is (input_dim, output_dim), so
    this is Embedding(vocabulary_size, 256)."""
    from .. import layers
    from ..models import Model

    posts_input = layers.Input(shape=(None,), dtype='int32', name='posts')
    embedded_posts = layers.Embedding(VOCABULARY_SIZE, 256)(posts_input)
    x = layers.Conv1D(128, 5, activation='relu')(embedded_posts)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation='relu')(x)
    age_prediction = layers.Dense(1, name='age')(x)
    income_prediction = layers.Dense(NUM_INCOME_GROUPS, activation='softmax', name='income')(x)
    gender_prediction = layers.Dense(1, activation='sigmoid', name='gender')(x)
    model = Model(posts_input, [age_prediction, income_prediction, gender_prediction])
    model.compile(optimizer='rmsprop',
                  loss=['mse', 'categorical_crossentropy', 'binary_crossentropy'],
                  loss_weights=[0.25, 1., 10.])
    return model


def social_arrays(tiny=False):
    """A stand-in for the book's posts (it gives none): each person has an age (in decades,
    1.8-7.0, so that its MSE is of the book's order, L12336-L12343), an income group and a
    gender (160 people, 80 % to train); 70 % of the words of their posts are random, 30 % come from a 100-word range that
    tells one of the three. 300 words per post: the shortest input the five convolutions and
    two poolings of listing 7.3 accept is 269."""
    from ..utils import to_categorical

    n = 8 if tiny else 160
    age = np.random.uniform(1.8, 7.0, n).astype('float32')
    income = np.random.randint(0, NUM_INCOME_GROUPS, n)
    gender = np.random.randint(0, 2, n)
    posts = np.random.randint(1, VOCABULARY_SIZE, size=(n, POST_LENGTH))
    telling = np.random.rand(n, POST_LENGTH) < 0.3
    which = np.random.randint(0, 3, size=(n, POST_LENGTH))
    offset = np.random.randint(0, 100, size=(n, POST_LENGTH))
    starts = np.stack([20000 + 100 * np.round((age - 1.8) * 10).astype(int),     # an age range per year
                       10000 + 1000 * income, 30000 + 1000 * gender], axis=1)
    signal = starts[np.arange(n)[:, None], which] + offset
    posts = np.where(telling, signal, posts)
    targets = [age[:, None], to_categorical(income, NUM_INCOME_GROUPS), gender[:, None].astype('float32')]
    cut = int(n * 0.8)
    return Data(posts[:cut], [t[:cut] for t in targets], x_val=posts[cut:], y_val=[t[cut:] for t in targets],
                source="synthetic posts (a stand-in: the book gives none)")


def run_social(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """fit with the targets as a dict by output name (listing 7.6); the reported loss must be
    0.25 * age_loss + 1 * income_loss + 10 * gender_loss (listing 7.5's weights)."""
    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    start = time.perf_counter()
    age_targets, income_targets, gender_targets = data.y_train
    history = model.fit(data.x_train, {'age': age_targets, 'income': income_targets, 'gender': gender_targets},
                        epochs=or_default(epochs, entry.epochs), batch_size=or_default(batch_size, entry.batch_size),
                        validation_data=data.validation, verbose=verbose)
    scores = dict(zip(model.metrics_names, model.evaluate(data.x_val, data.y_val, verbose=0)))
    weighted = 0.25 * scores["age_loss"] + scores["income_loss"] + 10 * scores["gender_loss"]
    gender_acc = float(np.mean((model.predict(data.x_val)[2] > 0.5) == (data.y_val[2] > 0.5)))
    result = {"history": plain_history(history.history), **history_numbers(history.history),
              "val_scores": scores, "weighted_sum_of_losses": weighted,
              "loss_is_weighted_sum": bool(np.isclose(scores["loss"], weighted, rtol=1e-5)),
              "val_gender_acc": gender_acc, "params": model.count_params()}
    return _finish(result, model, start, model_out, data.source)


# --- 7.1.4 an Inception module, residual connections ----------------------------------------
INCEPTION_INPUT = (28, 28, 64)   # "a 4-D input tensor x" (the book gives no shape)


def inception_branches(x, padding):
    """L12455-L12475's four branches; padding='valid' is the book as printed."""
    from .. import layers
    p = dict(padding=padding)
    branch_a = layers.Conv2D(128, 1, activation='relu', strides=2, **p)(x)
    branch_b = layers.Conv2D(128, 1, activation='relu', **p)(x)
    branch_b = layers.Conv2D(128, 3, activation='relu', strides=2, **p)(branch_b)
    branch_c = layers.AveragePooling2D(3, strides=2, **p)(x)
    branch_c = layers.Conv2D(128, 3, activation='relu', **p)(branch_c)
    branch_d = layers.Conv2D(128, 1, activation='relu', **p)(x)
    branch_d = layers.Conv2D(128, 3, activation='relu', **p)(branch_d)
    branch_d = layers.Conv2D(128, 3, activation='relu', strides=2, **p)(branch_d)
    return [branch_a, branch_b, branch_c, branch_d]


def inception_module():
    """The module made to run: padding='same' in every convolution and in the pooling (as
    Keras' own InceptionV3 writes its modules), so each branch halves the 28x28 input to
    14x14 and the four concatenate to 512 channels."""
    from .. import layers
    from ..models import Model

    x = layers.Input(shape=INCEPTION_INPUT)
    output = layers.concatenate(inception_branches(x, 'same'), axis=-1)
    model = Model(x, layers.Dense(1)(layers.GlobalAveragePooling2D()(output)))
    model.compile(optimizer='rmsprop', loss='mse')
    return model


def run_inception(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """As printed, the branches end at different sizes and concatenate raises; with 'same'
    padding they agree. The fixed module then takes a few steps on random images."""
    from .. import layers

    start = time.perf_counter()
    printed = inception_branches(layers.Input(shape=INCEPTION_INPUT), 'valid')
    try:
        layers.concatenate(printed, axis=-1)
        printed_error = ""
    except ValueError as e:
        printed_error = str(e)
    model = entry.build_model()
    data = entry.load_data(tiny=tiny)
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), verbose=verbose)
    module_shape = model.get_layer(index=-3).output_shape
    result = {"history": plain_history(history.history), "printed_branch_shapes": [list(t.shape[1:]) for t in printed],
              "printed_concatenate_error": printed_error, "module_output_shape": list(module_shape[1:]),
              "module_params": model.count_params() - 513, "first_loss": history.history["loss"][0],
              "final_loss": history.history["loss"][-1]}
    return _finish(result, model, start, model_out, data.source)


def random_images(tiny=False, shape=INCEPTION_INPUT):
    n = 4 if tiny else 64
    return Data(np.random.random((n,) + shape).astype('float32'), np.random.random((n, 1)).astype('float32'),
                source="synthetic (random images: the book's snippet has no data)")


def residual_blocks():
    """L12530-L12559: an identity residual (same shape: add x) and a projection residual (the
    shortcut a strided 1x1 convolution, because the block halves the size and changes depth)."""
    from .. import layers
    from ..models import Model

    x = layers.Input(shape=(16, 16, 128))
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(x)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    identity = layers.add([y, x])

    x2 = layers.Input(shape=(16, 16, 64))
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(x2)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.MaxPooling2D(2, strides=2)(y)
    residual = layers.Conv2D(128, 1, strides=2, padding='same')(x2)
    projection = layers.add([y, residual])
    return Model(x, identity), Model(x2, projection)


def deep_stack(depth, residual, width=16):
    """`depth` Dense(width, sigmoid) layers, each added to its input when `residual`: the
    vanishing-gradient box (L12578-L12594) in numbers."""
    from .. import layers
    from ..models import Model

    x = inputs = layers.Input(shape=(width,))
    for _ in range(depth):
        y = layers.Dense(width, activation='sigmoid')(x)
        x = layers.add([y, x]) if residual else y
    model = Model(inputs, layers.Dense(1)(x))
    return model


def first_layer_gradient(model, x, y):
    """The size (largest |element|) of the mean squared error's gradient at the first
    layer's kernel: one forward and backward pass of the autograd engine, no update."""
    from ..autograd import Tensor

    out = model(Tensor(x))
    loss = ((out - Tensor(y)) * (out - Tensor(y))).mean()
    loss.backward()
    return float(np.abs(model.layers[1].weights[0].grad.numpy()).max())


def run_residual(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """The two listings' output shapes, and the gradient through 20 sigmoid layers with and
    without residual connections: how much of it reaches the first layer."""
    from ..nn import seeding

    start = time.perf_counter()
    identity, projection = residual_blocks()
    x = np.random.standard_normal((32, 16)).astype('float32')
    y = np.random.standard_normal((32, 1)).astype('float32')
    gradients = {}
    for residual in (False, True):
        seeding.set_seed(0)
        gradients[residual] = first_layer_gradient(deep_stack(20, residual), x, y)
    result = {"identity_output_shape": list(identity.output_shape[1:]),
              "projection_output_shape": list(projection.output_shape[1:]),
              "identity_params": identity.count_params(), "projection_params": projection.count_params(),
              "first_layer_gradient_plain": gradients[False], "first_layer_gradient_residual": gradients[True],
              "gradient_ratio": gradients[True] / max(gradients[False], 1e-38), "history": {}}
    return _finish(result, identity, start, model_out, "synthetic (random inputs)")


# --- 7.1.5 a shared LSTM (siamese) ----------------------------------------------------------------
def siamese_lstm():
    """L12625-L12645: one LSTM instance reads both sentences. Compile is not shown: rmsprop,
    binary cross-entropy (a sigmoid similarity)."""
    from .. import layers
    from ..models import Model

    lstm = layers.LSTM(32)
    left_input = layers.Input(shape=(None, 128))
    left_output = lstm(left_input)
    right_input = layers.Input(shape=(None, 128))
    right_output = lstm(right_input)
    merged = layers.concatenate([left_output, right_output], axis=-1)
    predictions = layers.Dense(1, activation='sigmoid')(merged)
    model = Model([left_input, right_input], predictions)
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])
    return model


def sentence_pairs(tiny=False, steps=10):
    """A stand-in for the book's left_data, right_data, targets (not given): 800 pairs of
    10 random 128-d "word vectors"; half the pairs are a sequence and a noisy copy of it
    (similar, target 1), half two unrelated sequences (target 0). 80 % train, 20 % validation."""
    n = 16 if tiny else 800
    left = np.random.standard_normal((n, steps, 128)).astype('float32')
    targets = (np.random.rand(n) < 0.5).astype('float32')
    other = np.random.standard_normal((n, steps, 128)).astype('float32')
    noisy_copy = left + 0.5 * np.random.standard_normal(left.shape).astype('float32')
    right = np.where(targets[:, None, None] == 1, noisy_copy, other)
    cut = int(n * 0.8)
    return Data([left[:cut], right[:cut]], targets[:cut, None], x_val=[left[cut:], right[cut:]],
                y_val=targets[cut:, None], source="synthetic sentence pairs (a stand-in: the book gives none)")


def run_siamese(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), validation_data=data.validation,
                        verbose=verbose)
    lstm = [layer for layer in model.layers if type(layer).__name__ == "LSTM"]
    result = {"history": plain_history(history.history), **history_numbers(history.history),
              "params": model.count_params(), "lstm_layers": len(lstm), "lstm_calls": len(lstm[0].inbound_nodes)}
    return _finish(result, model, start, model_out, data.source)


# --- 7.2.1 callbacks -------------------------------------------------------------------------
def imdb_dense():
    """The IMDB network of chapter 3 (listing 3.3-3.4), compiled as L12843-L12845."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))
    model.add(layers.Dense(16, activation='relu'))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])
    return model


def imdb_split(tiny=False):
    """Chapter 3's split (L4150-L4160): the first 10,000 training reviews validate, the other
    15,000 train; the 25,000 test reviews stay for the end."""
    from .shared import imdb_vectors

    x_train, y_train, x_test, y_test = imdb_vectors(tiny)
    cut = 16 if tiny else 10000
    return Data(x_train[cut:], y_train[cut:], x_val=x_train[:cut], y_val=y_train[:cut],
                x_test=x_test, y_test=y_test, source="synthetic" if tiny else "imdb")


def activation_logger(folder):
    """The book's custom callback (L12913-L12937): the activations of every layer for the first
    validation sample, saved after each epoch. One change: np.savez(f, *activations), since
    numpy >= 1.24 refuses the book's ragged list np.savez(f, activations)."""
    from .. import callbacks
    from ..models import Model

    class ActivationLogger(callbacks.Callback):
        def set_model(self, model):
            self.model = model
            layer_outputs = [layer.output for layer in model.layers]
            self.activations_model = Model(model.input, layer_outputs)

        def on_epoch_end(self, epoch, logs=None):
            if self.validation_data is None:
                raise RuntimeError('Requires validation_data.')
            validation_sample = self.validation_data[0][0:1]
            activations = self.activations_model.predict(validation_sample)
            with open(os.path.join(folder, 'activations_at_epoch_' + str(epoch) + '.npz'), 'wb') as f:
                np.savez(f, *activations)
    return ActivationLogger()


def run_callbacks(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """L12806-L12851: EarlyStopping(monitor='val_acc', patience=1) and ModelCheckpoint('my_model.h5',
    monitor='val_loss', save_best_only=True), plus the book's ActivationLogger. Measured: did
    training stop before its 10 epochs, does the file hold the epoch of lowest val_loss (its
    val_loss recomputed from the file), one activation file per epoch."""
    from .. import callbacks, models

    data = entry.load_data(tiny=tiny)
    model = entry.build_model()
    folder = tempfile.mkdtemp(prefix="ch7-callbacks-")
    checkpoint_path = os.path.join(folder, 'my_model.h5')
    stopper = callbacks.EarlyStopping(monitor='val_acc', patience=1)
    callbacks_list = [stopper,
                      callbacks.ModelCheckpoint(filepath=checkpoint_path, monitor='val_loss', save_best_only=True),
                      activation_logger(folder)]
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), callbacks=callbacks_list,
                        validation_data=(data.x_val, data.y_val), verbose=verbose)
    saved = models.load_model(checkpoint_path)
    saved_val_loss = float(np.atleast_1d(saved.evaluate(data.x_val, data.y_val, verbose=0))[0])
    val_loss = history.history["val_loss"]
    result = {"history": plain_history(history.history), **history_numbers(history.history),
              "epochs_run": len(val_loss), "stopped_epoch": stopper.stopped_epoch + 1 if stopper.stopped_epoch else None,
              "checkpoint_val_loss": saved_val_loss,
              "checkpoint_is_best_epoch": bool(np.isclose(saved_val_loss, min(val_loss), rtol=1e-4)),
              "activation_files": len([f for f in os.listdir(folder) if f.startswith("activations_at_epoch_")])}
    return _finish(result, model, start, model_out, data.source)


# --- 7.2.2 TensorBoard -----------------------------------------------------------------------
def imdb_conv1d():
    """Listing 7.7: the 1D convnet on IMDB that TensorBoard watches."""
    from .. import layers, models

    max_features, max_len = 2000, 500
    model = models.Sequential()
    model.add(layers.Embedding(max_features, 128, input_length=max_len, name='embed'))
    model.add(layers.Conv1D(32, 7, activation='relu'))
    model.add(layers.MaxPooling1D(5))
    model.add(layers.Conv1D(32, 7, activation='relu'))
    model.add(layers.GlobalMaxPooling1D())
    model.add(layers.Dense(1))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])
    return model


def imdb_sequences(tiny=False):
    """Listing 7.7's data: the 2,000 most frequent words, reviews cut or padded to 500 words."""
    from ..datasets import imdb
    from ..preprocessing import sequence

    if tiny:
        x = np.random.randint(1, 2000, size=(24, 500))
        return Data(x, (np.random.rand(24) < 0.5).astype('float32'), source="synthetic")
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=2000)
    x_train = sequence.pad_sequences(x_train, maxlen=500)
    x_test = sequence.pad_sequences(x_test, maxlen=500)
    return Data(x_train, np.asarray(y_train, 'float32'), x_test=x_test, y_test=np.asarray(y_test, 'float32'),
                source="imdb")


def read_event_file(log_dir):
    """(scalars {tag: [values by epoch]}, histograms {tag: [steps]}) read back with TensorBoard's
    own reader; None when the tensorboard package (a dev dependency) is not installed."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
    except ImportError:
        return None
    acc = ea.EventAccumulator(log_dir, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [e.value for e in acc.Scalars(t)] for t in tags["scalars"]}
    histograms = {t: [e.step for e in acc.Histograms(t)] for t in tags["histograms"]}
    return scalars, histograms


def run_tensorboard(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Listings 7.8-7.9: fit with TensorBoard(log_dir, histogram_freq=1, embeddings_freq=1),
    then read the event file back with TensorBoard's reader. Its scalars become this entry's
    curves (docs/img/ch7-tensorboard-imdb-conv1d.png is drawn from them)."""
    from .. import callbacks

    data = entry.load_data(tiny=tiny)
    if epochs is not None and entry.reduced and epochs == entry.reduced[0] and not tiny:
        keep = entry.extra["reduced_samples"]       # the reduced schedule's fewer reviews, declared
        data = Data(data.x_train[:keep], data.y_train[:keep], source=f"{data.source} (first {keep} reviews)")
    model = entry.build_model()
    log_dir = entry.extra.get("log_dir") or tempfile.mkdtemp(prefix="my_log_dir-")
    tensorboard = callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1, embeddings_freq=1)
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                        batch_size=or_default(batch_size, entry.batch_size), validation_split=0.2,
                        callbacks=[tensorboard], verbose=verbose)
    result = {**history_numbers(history.history), "log_dir": log_dir, "params": model.count_params()}
    read = read_event_file(log_dir)
    if read is None:
        result.update(history=plain_history(history.history), curves_from="fit's History (tensorboard not installed)")
    else:
        scalars, histograms = read
        epochs_run = len(history.history["loss"])
        result.update(history={k: scalars[k] for k in ("loss", "acc", "val_loss", "val_acc")},
                      curves_from="the event file, read with TensorBoard's EventAccumulator",
                      event_file_matches_history=all(np.allclose(scalars[k], history.history[k], rtol=1e-6)
                                                     for k in history.history),
                      histogram_tags=sorted(histograms),
                      histograms_every_epoch=all(steps == list(range(epochs_run)) for steps in histograms.values()),
                      projector_files=sorted(f for f in os.listdir(log_dir) if not f.startswith("events.")))
    return _finish(result, model, start, model_out, data.source)


def plot_scalars(history, path, title=""):
    """The Scalars tab, drawn with matplotlib: one panel per tag, as TensorBoard lays them out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = [t for t in ("acc", "loss", "val_acc", "val_loss") if t in history]
    fig, axes = plt.subplots(1, len(tags), figsize=(3.2 * len(tags), 2.8))
    for ax, tag in zip(np.atleast_1d(axes), tags):
        ax.plot(range(len(history[tag])), history[tag], color="#e8710a", marker="o", markersize=3)
        ax.set_xticks(range(len(history[tag])))
        ax.set_title(tag, fontsize=10)
        ax.set_xlabel("epoch (step)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: scalars read back from the event file", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# --- 7.3.2 hyperparameter search ---------------------------------------------------------------
SEARCH_SPACE = {"layers": [1, 2, 3], "units": [4, 8, 16, 32, 64], "dropout": [0.0, 0.25, 0.5],
                "l2": [0.0, 1e-4, 1e-3], "lr": (1e-4, 3e-3)}   # lr: log-uniform between the two


def sample_settings(rng):
    """One random point of SEARCH_SPACE (random search, L13440-L13470)."""
    choice = {k: v[rng.randint(len(v))] for k, v in SEARCH_SPACE.items() if k != "lr"}
    low, high = np.log(SEARCH_SPACE["lr"][0]), np.log(SEARCH_SPACE["lr"][1])
    choice["lr"] = float(np.exp(rng.uniform(low, high)))
    return choice


def imdb_model(layers_count=2, units=16, dropout=0.0, l2=0.0, lr=1e-3):
    """Chapters 3-4's IMDB network with its settings as arguments (the defaults: listing 3.3)."""
    from .. import layers, models, optimizers, regularizers

    model = models.Sequential()
    for i in range(layers_count):
        extra = {"input_shape": (10000,)} if i == 0 else {}
        model.add(layers.Dense(units, activation='relu',
                               kernel_regularizer=regularizers.l2(l2) if l2 else None, **extra))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(layers.Dense(1, activation='sigmoid'))
    model.compile(optimizer=optimizers.RMSprop(lr=lr), loss='binary_crossentropy', metrics=['acc'])
    return model


def _settings_model(s):
    return imdb_model(s["layers"], s["units"], s["dropout"], s["l2"], s["lr"])


def run_search(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Book's loop (L13425-L13434): choose settings, build, fit on the training part, score
    on validation; repeat; then the chosen model once on the test set. Each trial trains
    `epochs` epochs and is scored by its best epoch's val_acc. The book warns that choosing
    on validation overfits it (L13481-L13489): we measure val_acc - test_acc of the winner."""
    data = entry.load_data(tiny=tiny)
    rng = np.random.RandomState(entry.extra["search_seed"])
    trials, best = [], None
    start = time.perf_counter()
    for trial in range(2 if tiny else entry.extra["trials"]):
        settings = sample_settings(rng)
        model = _settings_model(settings)
        history = model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                            batch_size=or_default(batch_size, entry.batch_size),
                            validation_data=data.validation, verbose=0)
        val_acc = max(history.history["val_acc"])
        trials.append({**settings, "best_epoch": int(np.argmax(history.history["val_acc"])) + 1,
                       "val_acc": float(val_acc), "val_loss": float(min(history.history["val_loss"]))})
        if verbose:
            print(f"trial {trial + 1}: {trials[-1]}", flush=True)
        if best is None or val_acc > best[0]:
            best = (val_acc, model, trial)
    val_acc, model, index = best
    test_loss, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)
    result = {"trials": trials, "best_trial": index + 1, "best_settings": trials[index],
              "best_val_acc": float(val_acc), "test_acc": float(test_acc), "test_loss": float(test_loss),
              "val_minus_test": float(val_acc - test_acc), "history": {}}
    return _finish(result, model, start, model_out, data.source)


def trials_table(result) -> str:
    """The search as a markdown table, best val_acc first."""
    rows = ["| trial | layers | units | dropout | l2 | lr | best epoch | val_acc | val_loss |",
            "|---|---|---|---|---|---|---|---|---|"]
    order = sorted(range(len(result["trials"])), key=lambda i: -result["trials"][i]["val_acc"])
    for i in order:
        t = result["trials"][i]
        rows.append(f"| {i + 1} | {t['layers']} | {t['units']} | {t['dropout']} | {t['l2']} | {t['lr']:.2e} | "
                    f"{t['best_epoch']} | {t['val_acc']:.4f} | {t['val_loss']:.4f} |")
    return "\n".join(rows)


# --- 7.3.3 ensembles ----------------------------------------------------------------------------
ENSEMBLE_MEMBERS = {   # four different models of chapters 3-4, as model_a ... model_d (L13544-L13551)
    "a": dict(layers_count=2, units=16),                 # listing 3.3
    "b": dict(layers_count=2, units=64, dropout=0.5),    # wider, with dropout (section 4.4.3)
    "c": dict(layers_count=2, units=4),                  # the smaller network (section 4.4.1)
    "d": dict(layers_count=2, units=16, l2=0.001),       # L2-regularized (section 4.4.2)
}


def log_loss(p, y):
    p = np.clip(p.ravel().astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def accuracy(p, y):
    return float(np.mean((p.ravel() > 0.5) == (y > 0.5)))


def ensemble_weights(preds, y):
    """Weights >= 0 summing to 1 that minimize the validation log loss, found with Nelder-Mead
    (the book's suggestion, L13560-L13574) on softmax-parametrized weights."""
    from scipy.optimize import minimize

    def weights(z):
        e = np.exp(z - z.max())
        return e / e.sum()
    found = minimize(lambda z: log_loss(np.tensordot(weights(z), preds, 1), y), np.zeros(len(preds)),
                     method="Nelder-Mead", options={"maxiter": 400, "xatol": 1e-4, "fatol": 1e-7})
    return weights(found.x)


def run_ensemble(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """Train the four members; average their validation predictions with equal weights and
    with weights fitted on validation; judge every one on the 25,000 test reviews, which
    chose nothing."""
    data = entry.load_data(tiny=tiny)
    start = time.perf_counter()
    val_preds, test_preds, members = [], [], {}
    for name, settings in ENSEMBLE_MEMBERS.items():
        model = imdb_model(**settings)
        model.fit(data.x_train, data.y_train, epochs=or_default(epochs, entry.epochs),
                  batch_size=or_default(batch_size, entry.batch_size), verbose=0)
        val_preds.append(model.predict(data.x_val).ravel())
        test_preds.append(model.predict(data.x_test).ravel())
        members[name] = {"val_loss": log_loss(val_preds[-1], data.y_val), "test_loss": log_loss(test_preds[-1], data.y_test),
                         "test_acc": accuracy(test_preds[-1], data.y_test)}
    val_preds, test_preds = np.array(val_preds), np.array(test_preds)
    w = ensemble_weights(val_preds, data.y_val)
    mean_test, weighted_test = test_preds.mean(axis=0), np.tensordot(w, test_preds, 1)
    best = min(members, key=lambda k: members[k]["val_loss"])    # the one we would pick alone
    result = {"members": members, "weights": [float(v) for v in w], "best_member": best,
              "best_member_test_loss": members[best]["test_loss"], "best_member_test_acc": members[best]["test_acc"],
              "mean_test_loss": log_loss(mean_test, data.y_test), "mean_test_acc": accuracy(mean_test, data.y_test),
              "weighted_val_loss": log_loss(np.tensordot(w, val_preds, 1), data.y_val),
              "weighted_test_loss": log_loss(weighted_test, data.y_test),
              "weighted_test_acc": accuracy(weighted_test, data.y_test), "history": {}}
    result["ensemble_gain"] = result["best_member_test_loss"] - result["weighted_test_loss"]
    return _finish(result, model, start, model_out, data.source)


# --- 7.1.6 the siamese Xception (ch7-siamese-xception-vision) -------------------------------------------------------
STEREO_SIZE = (250, 250)
TINY_STEREO_SIZE = (71, 71)      # Xception's smallest input


def siamese_xception(size=STEREO_SIZE):
    """The book's listing (L12688-L12705) with its typo fixed. As printed,

        right_input = xception_base(right_input)
        merged_features = layers.concatenate([left_features, right_input], axis=-1)

    overwrites the right *Input* with its features, so the model's second input is lost
    (`Model([left_input, right_input], ...)` would be given a feature tensor as an input).
    Fixed: the features get their own name, `right_features`."""
    from .. import Input, applications, layers
    from ..nn.model import Model

    xception_base = applications.Xception(weights=None, include_top=False)
    left_input = Input(shape=size + (3,))
    right_input = Input(shape=size + (3,))
    left_features = xception_base(left_input)
    right_features = xception_base(right_input)          # the book: right_input = xception_base(right_input)
    merged_features = layers.concatenate([left_features, right_features], axis=-1)
    return Model([left_input, right_input], merged_features)


def stereo_pair(size, seed=0):
    """A synthetic stereo pair in 'tf' preprocessing (-1..1): one random scene, the right view
    shifted 4 pixels (the book has no data: "stereo camera" images, L12663)."""
    rng = np.random.default_rng(seed)
    scene = rng.uniform(0, 255, (1, size[0], size[1] + 4, 3)).astype(np.float32)
    from ..applications.xception import preprocess_input
    return preprocess_input(scene[:, :, 4:]), preprocess_input(scene[:, :, :-4])


def run_siamese_xception(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    """One forward pass of the pair, and the check that the two branches share one network:
    with the views swapped, the two halves of the features swap exactly."""
    start = time.perf_counter()
    size = TINY_STEREO_SIZE if tiny else STEREO_SIZE
    model = siamese_xception(size)
    left, right = stereo_pair(size)
    features = model.predict([left, right])
    swapped = model.predict([right, left])
    half = features.shape[-1] // 2
    swap_error = float(np.abs(np.concatenate([features[..., half:], features[..., :half]], -1) - swapped).max())
    if model_out is not None:
        model_out.append(model)
    return {"source": "synthetic", "input_size": list(size), "feature_shape": list(features.shape[1:]),
            "params": model.count_params(), "swap_error": swap_error, "history": {},
            "wall_time": time.perf_counter() - start}


# --- 7.3.1 batch normalisation (ch7-batchnorm) ---------------------------------------------------------------------
def load_mnist(tiny=False):
    """MNIST as chapter 5 prepares it (listing 5.3): (n, 28, 28, 1) in [0, 1], one-hot labels."""
    from ..datasets import mnist
    from ..utils import to_categorical

    if tiny:
        rng = np.random.RandomState(0)
        (x_train, y_train), (x_test, y_test), source = (
            (rng.randint(0, 256, (64, 28, 28), dtype=np.uint8), rng.randint(0, 10, 64)),
            (rng.randint(0, 256, (32, 28, 28), dtype=np.uint8), rng.randint(0, 10, 32)), "synthetic")
    else:
        ((x_train, y_train), (x_test, y_test)), source = mnist.load_data_or_sample()
    prepare = lambda x: x.reshape((len(x), 28, 28, 1)).astype("float32") / 255   # noqa: E731
    return Data(prepare(x_train), to_categorical(y_train, 10), x_test=prepare(x_test),
                y_test=to_categorical(y_test, 10), source=source)


def mnist_convnet_batchnorm():
    """Listing 5.1's convnet with the book's pattern of 7.3.1 (L13276-L13300): every Conv2D and
    the Dense followed by BatchNormalization(). 93,322 + 4 * (32 + 64 + 64 + 64) = 94,218
    parameters, of which 2 * 224 = 448 (the moving means and variances) are non-trainable."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.BatchNormalization())
    model.add(layers.Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


# --- 7.3.1 depthwise separable convolution (ch7-separable-conv-small) ------------------------------------------------------------
def separable_convnet():
    """Listing of L13362-L13393, as printed: 38,949 parameters (arithmetic: each
    SeparableConv2D has 9*in + in*out + out)."""
    from .. import layers, models

    height = 64
    width = 64
    channels = 3
    num_classes = 10

    model = models.Sequential()
    model.add(layers.SeparableConv2D(32, 3, activation='relu', input_shape=(height, width, channels,)))
    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.MaxPooling2D(2))

    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.SeparableConv2D(128, 3, activation='relu'))
    model.add(layers.MaxPooling2D(2))

    model.add(layers.SeparableConv2D(64, 3, activation='relu'))
    model.add(layers.SeparableConv2D(128, 3, activation='relu'))
    model.add(layers.GlobalAveragePooling2D())

    model.add(layers.Dense(32, activation='relu'))
    model.add(layers.Dense(num_classes, activation='softmax'))

    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['acc'])
    return model


def load_cifar_64(tiny=False, train=5000, test=1000):
    """CIFAR-10 (the project's copy: its first 5,000 training and 1,000 test images) in [0, 1],
    upscaled 2x to 64x64 by repeating pixels; one-hot labels over the 10 classes."""
    from ..utils import to_categorical

    if tiny:
        rng = np.random.RandomState(0)
        (x_train, y_train), (x_test, y_test), source = (
            (rng.randint(0, 256, (32, 32, 32, 3), dtype=np.uint8), rng.randint(0, 10, (32, 1))),
            (rng.randint(0, 256, (16, 32, 32, 3), dtype=np.uint8), rng.randint(0, 10, (16, 1))), "synthetic")
    else:
        import warnings

        from ..datasets import cifar10
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # the subset warning: the notes say so
            (x_train, y_train), (x_test, y_test) = cifar10.load_data()
        source = f"cifar10 (first {min(train, len(x_train))} train / {min(test, len(x_test))} test, 2x upscaled)"
        x_train, y_train, x_test, y_test = x_train[:train], y_train[:train], x_test[:test], y_test[:test]
    upscale = lambda x: x.repeat(2, axis=1).repeat(2, axis=2).astype("float32") / 255   # noqa: E731
    return Data(upscale(x_train), to_categorical(y_train.ravel(), 10), x_val=upscale(x_test),
                y_val=to_categorical(y_test.ravel(), 10), source=source)


def run_separable(entry, epochs=None, batch_size=None, verbose=2, tiny=False, model_out=None):
    sizes = {k: entry.extra[k] for k in ("train", "test") if k in entry.extra}   # the reduced run's subset
    data = entry.load_data(tiny=tiny, **sizes)
    model = entry.build_model()
    start = time.perf_counter()
    result = fit_and_evaluate(model, data, entry.epochs if epochs is None else epochs,
                              entry.batch_size if batch_size is None else batch_size, verbose)
    result.update(wall_time=time.perf_counter() - start, source=data.source, params=model.count_params())
    if model_out is not None:
        model_out.append(model)
    return result


# --- the entries, in book order --------------------------------------------------------------
def _ch7(id, section, listings, lines, dataset, build, load, run, epochs, batch_size, book_result, metric, check,
         **kw):
    ENTRIES.append(Entry(id=id, chapter=7, section=section, listings=listings, lines=lines, dataset=dataset,
                         build_model=build, load_data=load, run=run, epochs=epochs, batch_size=batch_size,
                         book_result=book_result, metric=metric, check=check, **kw))


_ch7("ch7-functional-api-intro", "7.1.1", "(unnumbered)", "L12037-L12128", "synthetic", functional_intro_model,
     random_arrays, run_functional_intro, 10, 128, "summary: 3,466 params (L12054-L12088); no score", "params",
     demonstrates("params = 3,466; the Sequential twin gives the same outputs; an unrelated Input raises "
                  "'Graph disconnected'",
                  lambda r: r["params"] == 3466 and r["twins_agree"] and r["graph_disconnected"]),
     book_value=3466, notes="Random data, as printed: the loss says nothing; the row checks the API.")
_ch7("ch7-qa-two-input", "7.1.2", "7.1-7.2", "L12129-L12245", "synthetic", qa_model, qa_arrays, run_qa, 10, 128,
     "not stated (random data)", "final_loss",
     demonstrates("dict {'text', 'question'} = list [text, question]; swapping the inputs changes the loss; "
                  "the loss on the first 128 samples went down", lambda r: r["dict_equals_list"]
                  and r["swapped_inputs_differ"] and r["loss_after"] < r["loss_before"]),
     reduced=(1, "1 of the book's 10 epochs: 20 s per batch of 128 on 2 busy cores (LSTM over 100 steps)"),
     notes="Listing 7.2's random arrays: answers are random, so falling loss is memorization.")
_ch7("ch7-social-multi-output", "7.1.3", "7.3-7.6", "L12247-L12380", "synthetic stand-in", social_model,
     social_arrays, run_social, 10, 64, "not stated (no data given)", "weighted_sum_of_losses",
     demonstrates("loss = 0.25 age_loss + income_loss + 10 gender_loss (listing 7.5's weights); "
                  "gender val acc > 0.6", lambda r: r["loss_is_weighted_sum"] and r["val_gender_acc"] > 0.6),
     notes="Printed Embedding(256, vocabulary_size) swaps Keras' (input_dim, output_dim): we use "
           "Embedding(50000, 256). The posts are a synthetic stand-in (social_arrays): 160 people, 300 words; "
           "128 people (2 batches an epoch) were too few for the 14 M-parameter model to learn the gender "
           "words in 10 epochs.")
_ch7("ch7-inception-module", "7.1.4", "(unnumbered)", "L12382-L12475", "synthetic", inception_module,
     random_images, run_inception, 3, 16, "n/a (snippet; as printed the branches do not concatenate)",
     "module_params",
     demonstrates("as printed, concatenate refuses (branch sizes differ); with padding='same' the module gives "
                  "14x14x512 and trains", lambda r: bool(r["printed_concatenate_error"])
                  and r["module_output_shape"] == [14, 14, 512] and r["final_loss"] < r["first_loss"]),
     notes="As printed the four branches end at 14, 13, 11 and 12 pixels; we add padding='same' to every "
           "convolution and to the pooling (Keras' InceptionV3 does).")
_ch7("ch7-residual-connections", "7.1.4", "(unnumbered)", "L12488-L12594", "synthetic", lambda: residual_blocks()[0],
     random_images, run_residual, 0, 32, "n/a; residual connections help models of more than 10 layers (L12500)",
     "gradient_ratio",
     demonstrates("identity block keeps 16x16x128, projection block gives 8x8x128; through 20 sigmoid layers the "
                  "first layer's gradient is > 100x larger with residual connections",
                  lambda r: r["identity_output_shape"] == [16, 16, 128] and r["projection_output_shape"] == [8, 8, 128]
                  and r["gradient_ratio"] > 100),
     notes="Nothing is trained: one backward pass through 20 Dense(16, sigmoid) layers, with and without residuals.")
_ch7("ch7-siamese-lstm", "7.1.5", "(unnumbered)", "L12596-L12656", "synthetic stand-in", siamese_lstm,
     sentence_pairs, run_siamese, 5, 32, "not stated", "max_val_acc",
     demonstrates("one LSTM, called twice (20,673 params, not 41,281); val acc >= 0.8 on the pairs (chance 0.5)",
                  lambda r: r["params"] == 20673 and r["lstm_calls"] == 2 and r["max_val_acc"] >= 0.8),
     notes="The book's left_data/right_data are not given: pairs of random sequences, similar = a noisy copy. "
           "It calls fit without settings (Keras' 1 epoch, batch 32); we train 5 epochs. Measured: held-out pairs "
           "stay at chance, because Dense(1) on concatenate([left, right]) adds one score per sentence and so "
           "cannot compare them (training pairs are memorized); a similarity needs an interaction (e.g. a "
           "product or |left - right|) before the classifier.")
ENTRIES.append(Entry(
    id="ch7-siamese-xception-vision", chapter=7, section="7.1.6", listings="(code in 7.1.6)",
    lines="L12658-L12708", dataset="synthetic stereo pair (250x250 RGB)", build_model=siamese_xception,
    load_data=lambda tiny=False: Data(*stereo_pair(TINY_STEREO_SIZE if tiny else STEREO_SIZE), source="synthetic"),
    epochs=0, batch_size=1, book_result="n/a (no result printed)", metric="swap_error", run=run_siamese_xception,
    check=at_most("swap_error", 1e-5),
    notes="The printed code assigns `right_input = xception_base(right_input)` and concatenates "
          "`right_input`: the right Input is overwritten by its features and the model loses its second "
          "input. Fixed as `right_features = xception_base(right_input)`. Nothing is trained (the book "
          "trains nothing); one Xception (20,861,480 parameters, weights=None) serves both views, so "
          "swapping the views must swap the two halves of the 8x8x4096 features exactly.",
    extra={"weights": None, "feature_shape": "(8, 8, 4096) at 250x250"}))
_ch7("ch7-callbacks", "7.2.1", "(unnumbered)", "L12744-L12945", "imdb", imdb_dense, imdb_split, run_callbacks,
     10, 32, "n/a (mechanics)", "epochs_run",
     demonstrates("EarlyStopping stopped before epoch 10; my_model.h5 holds the epoch of lowest val_loss; "
                  "one activation file per epoch", lambda r: r["epochs_run"] < 10 and r["checkpoint_is_best_epoch"]
                  and r["activation_files"] == r["epochs_run"]),
     notes="The book's 'any model' is chapter 3's IMDB network on its 15,000/10,000 split.")
_ch7("ch7-tensorboard-imdb-conv1d", "7.2.2", "7.7-7.9", "L12946-L13208", "imdb (2,000 words, 500 steps)",
     imdb_conv1d, imdb_sequences, run_tensorboard, 20, 128, "no numbers (TensorBoard screenshots)", "max_val_acc",
     demonstrates("TensorBoard's reader gets back every epoch's loss/acc/val_loss/val_acc and a histogram "
                  "of every weight each epoch", lambda r: r["event_file_matches_history"]
                  and r["histograms_every_epoch"] and len(r["histogram_tags"]) == 7),
     plot=plot_scalars, extra={"reduced_samples": 5000},
     reduced=(2, "2 of the book's 20 epochs on the first 5,000 of 25,000 reviews: a batch of 128 takes "
                 "4 s on 2 busy cores, the full run ~3 h"),
     notes="The curves (docs/img) are the event file's scalars read back with TensorBoard's EventAccumulator.")
ENTRIES.append(Entry(
    id="ch7-batchnorm", chapter=7, section="7.3.1", listings="(snippets in 7.3.1)", lines="L13243-L13300",
    dataset="MNIST", build_model=mnist_convnet_batchnorm, load_data=load_mnist, epochs=5, batch_size=64,
    book_result="n/a (no result printed); chapter 5's convnet without it: test_acc 0.9908 (L6610)",
    metric="test_acc", check=at_least("test_acc", 0.985),
    notes="The book shows BatchNormalization only as two snippets; they stand here in chapter 5's MNIST "
          "convnet (after each Conv2D and the Dense), trained as listing 5.3 (rmsprop, 5 epochs, batch 64). "
          "Evaluation runs in inference mode, on the moving averages: a broken update or mode switch "
          "fails the check. The check is meant for the full MNIST: offline the run falls back to the "
          "shipped 2,000-digit sample, where 98.5 % is out of reach.",
    extra={"metric_name": "acc"}))
ENTRIES.append(Entry(
    id="ch7-separable-conv-small", chapter=7, section="7.3.1", listings="(code in 7.3.1)", lines="L13320-L13395",
    dataset="CIFAR-10 subset, upscaled 2x", build_model=separable_convnet, load_data=load_cifar_64, epochs=10,
    batch_size=32, book_result="n/a (no data, no result printed)", metric="max_val_acc", run=run_separable,
    check=at_least("max_val_acc", 0.3),
    notes="The listing as printed (64x64x3, 10 classes, rmsprop, categorical cross-entropy); the book gives "
          "neither data nor fit settings. CIFAR-10 stands in (10 classes): the project's 5,000 training and "
          "1,000 test images, upscaled to 64x64; 10 epochs of batch 32. Chance is 10 %. With Keras' "
          "glorot_uniform depthwise and pointwise kernels the activations shrink about 8x per separable "
          "layer at initialisation (mean |activation| 0.06 after the first, 8e-7 after the sixth, measured "
          "on 16 images), so the loss leaves ln 10 = 2.303 only slowly: 2.301 -> 2.259 in 8 epochs of 128 "
          "images. A short run stays at chance.",
    reduced=(3, "3 of 10 epochs on the first 2,000 of 5,000 training images, validated on 500: the "
                "separable convolutions are composed of tensor ops (no fused kernel), about 8 samples per "
                "second on 2 CPU cores, so the full run takes ~1.5-2 h"),
    reduced_extra={"train": 2000, "test": 500}))
_ch7("ch7-hyperparameter-optimization", "7.3.2", "(unnumbered)", "L13400-L13500", "imdb", imdb_model, imdb_split,
     run_search, 3, 512, "n/a (process; warns that choosing on validation overfits it)", "best_val_acc",
     demonstrates("the winner's val_acc - test_acc <= 0.02 (how much choosing on validation flattered it)",
                  lambda r: r["val_minus_test"] <= 0.02),
     extra={"trials": 6, "search_seed": 7},
     notes="Random search over chapters 3-4's IMDB network (layers, units, dropout, L2, lr): 6 trials of 3 epochs "
           "(~20 s an epoch on 2 busy cores); table in chapter7.md.")
_ch7("ch7-ensembling", "7.3.3", "(unnumbered)", "L13501-L13608", "imdb", imdb_model, imdb_split, run_ensemble,
     3, 512, "n/a (method)", "weighted_test_loss",
     demonstrates("the weighted ensemble's test log loss < its best member's (weights fitted on validation)",
                  lambda r: r["weighted_test_loss"] < r["best_member_test_loss"]),
     notes="Four IMDB networks of chapters 3-4; weights by Nelder-Mead on validation, judged on test.")
