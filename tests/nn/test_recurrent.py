"""SimpleRNN, LSTM, GRU and Bidirectional against Keras 2.0's equations.

The oracle is written here, in float64 numpy, from Keras 2.0's keras/layers/recurrent.py
(implementation=0): weights in Keras' layout (gates side by side in the kernel, LSTM
i f c o, GRU z r h), hard_sigmoid gates, one dropout mask per gate fixed over the steps,
go_backwards reading the sequence from its end and returning it in that order.
"""
import numpy as np
import pytest

from tinygrad_book import Tensor, gradcheck, layers, models, optimizers
from tinygrad_book.autograd import default_device, set_default_device
from tinygrad_book.nn import activations, initializers, set_seed
from tinygrad_book.nn.layers.base import layer_class

R = np.random.default_rng(7)
KINDS = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


# --- the oracle --------------------------------------------------------------------------
def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def keras_rnn(kind, x, kernel, recurrent_kernel, bias, return_sequences=False, go_backwards=False,
              input_masks=None, state_masks=None):
    """Keras 2.0's recurrence in float64; masks: one (n, size) array per gate, or None."""
    n, steps, _ = x.shape
    units, gates = recurrent_kernel.shape[0], KINDS[kind]
    input_masks = input_masks or [np.ones((n, x.shape[2]))] * gates
    state_masks = state_masks or [np.ones((n, units))] * gates
    W = [kernel[:, g * units:(g + 1) * units] for g in range(gates)]
    U = [recurrent_kernel[:, g * units:(g + 1) * units] for g in range(gates)]
    b = [bias[g * units:(g + 1) * units] for g in range(gates)]
    h, c = np.zeros((n, units)), np.zeros((n, units))
    outputs = []
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        xs = [(x[:, t] * input_masks[g]) @ W[g] + b[g] for g in range(gates)]
        hs = [h * state_masks[g] for g in range(gates)]
        if kind == "SimpleRNN":
            h = np.tanh(xs[0] + hs[0] @ U[0])
        elif kind == "LSTM":
            i = hard_sigmoid(xs[0] + hs[0] @ U[0])
            f = hard_sigmoid(xs[1] + hs[1] @ U[1])
            c = f * c + i * np.tanh(xs[2] + hs[2] @ U[2])
            o = hard_sigmoid(xs[3] + hs[3] @ U[3])
            h = o * np.tanh(c)
        else:
            z = hard_sigmoid(xs[0] + hs[0] @ U[0])
            r = hard_sigmoid(xs[1] + hs[1] @ U[1])
            hh = np.tanh(xs[2] + (r * hs[2]) @ U[2])
            h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1) if return_sequences else outputs[-1]


def random_weights(kind, features, units, scale=0.6):
    gates = KINDS[kind]
    return [R.uniform(-scale, scale, (features, gates * units)), R.uniform(-scale, scale, (units, gates * units)),
            R.uniform(-scale, scale, gates * units)]


def make(kind, units=3, **kwargs):
    return getattr(layers, kind)(units, **kwargs)


def run(layer, x, training=False):
    return layer(Tensor(x.astype(np.float32)), training=training).numpy()


# --- forward against the oracle ------------------------------------------------------------
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_matches_keras_equations(kind, return_sequences, go_backwards):
    x = R.standard_normal((4, 5, 2))
    layer = make(kind, return_sequences=return_sequences, go_backwards=go_backwards)
    layer(Tensor(np.zeros((1, 5, 2), np.float32)))
    weights = random_weights(kind, 2, 3)
    layer.set_weights(weights)
    expected = keras_rnn(kind, x, *weights, return_sequences=return_sequences, go_backwards=go_backwards)
    np.testing.assert_allclose(run(layer, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_any_sequence_length_goes_through_one_layer(kind):
    model = models.Sequential([make(kind, 3, input_shape=(None, 2))])
    weights = model.layers[0].get_weights()
    for steps in (1, 4, 9):
        x = R.standard_normal((2, steps, 2))
        np.testing.assert_allclose(model.predict(x.astype(np.float32)), keras_rnn(kind, x, *weights),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_masks_are_per_gate_fixed_over_steps_and_training_only(kind):
    gates, n, steps, features, units = KINDS[kind], 3, 6, 4, 5
    x = R.standard_normal((n, steps, features))
    layer = make(kind, units, dropout=0.4, recurrent_dropout=0.3, return_sequences=True)
    layer(Tensor(np.zeros((1, steps, features), np.float32)))
    weights = random_weights(kind, features, units)
    layer.set_weights(weights)
    np.testing.assert_allclose(run(layer, x), keras_rnn(kind, x, *weights, return_sequences=True),
                               rtol=1e-5, atol=1e-6)          # not in training: no dropout at all
    set_seed(11)
    out = run(layer, x, training=True)
    # the masks as the layer draws them: first one per gate for the inputs, then one per gate for the state
    draws = np.random.default_rng(11)
    input_masks = [(draws.random((n, features)) >= 0.4) / 0.6 for _ in range(gates)]
    state_masks = [(draws.random((n, units)) >= 0.3) / 0.7 for _ in range(gates)]
    expected = keras_rnn(kind, x, *weights, return_sequences=True, input_masks=input_masks, state_masks=state_masks)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(out, keras_rnn(kind, x, *weights, return_sequences=True), atol=1e-3)


def test_dropout_zeroes_an_input_feature_at_every_step_or_none():
    """An input mask fixed over time: a feature dropped for the sample is dropped at all its steps,
    so changing that feature at every step changes nothing (with masks drawn per step, it would)."""
    layer = make("SimpleRNN", 4, dropout=0.5, return_sequences=True)
    x = R.standard_normal((1, 5, 6))
    layer(Tensor(np.zeros((1, 5, 6), np.float32)))     # built first: building draws from the generator too

    def output(inputs):
        set_seed(5)                     # the same masks at every call
        return run(layer, inputs, training=True)
    base = output(x)
    unchanged = [j for j in range(6) if np.allclose(output(x + np.eye(6)[j] * R.standard_normal((1, 5, 1))), base)]
    assert 0 < len(unchanged) < 6


# --- gradients ------------------------------------------------------------------------------
def f64(a):
    return Tensor(np.asarray(a, np.float64), dtype=np.float64, requires_grad=True)


@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
                                     {"dropout": 0.3, "recurrent_dropout": 0.4, "return_sequences": True}],
                         ids=["last", "sequences", "backwards", "dropout"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_backward_through_time_matches_central_differences(kind, options):
    layer = make(kind, 3, **options)
    layer(Tensor(np.zeros((1, 4, 2), np.float32)))
    training = "dropout" in options

    def f(x, kernel, recurrent_kernel, bias):
        layer.kernel, layer.recurrent_kernel, layer.bias = kernel, recurrent_kernel, bias
        set_seed(3)                       # the same dropout masks at every evaluation
        return layer.call(x, training=training)
    results = gradcheck(f, f64(R.standard_normal((2, 4, 2))), *map(f64, random_weights(kind, 2, 3, scale=0.5)))
    for r in results:
        np.testing.assert_allclose(r.analytic, r.numeric, rtol=1e-5, atol=1e-7)


# --- initialisation, activations ------------------------------------------------------------
def test_lstm_weights_have_keras_shapes_and_unit_forget_bias():
    layer = make("LSTM", 5)
    layer(Tensor(np.zeros((1, 2, 3), np.float32)))
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 20) and recurrent_kernel.shape == (5, 20) and bias.shape == (20,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(5), atol=1e-5)   # orthogonal
    off = make("LSTM", 5, unit_forget_bias=False)
    off(Tensor(np.zeros((1, 2, 3), np.float32)))
    assert np.all(off.get_weights()[2] == 0)


def test_gru_and_simplernn_have_keras_shapes():
    gru, rnn = make("GRU", 4), make("SimpleRNN", 4, use_bias=False)
    gru(Tensor(np.zeros((1, 2, 3), np.float32)))
    rnn(Tensor(np.zeros((1, 2, 3), np.float32)))
    assert [w.shape for w in gru.get_weights()] == [(3, 12), (4, 12), (12,)]
    assert [w.shape for w in rnn.get_weights()] == [(3, 4), (4, 4)]


@pytest.mark.parametrize("shape", [(6, 6), (3, 8), (8, 3), (2, 3, 4)])
def test_orthogonal_initializer_has_orthonormal_rows_or_columns(shape):
    q = initializers.get("orthogonal")(shape).reshape(-1, shape[-1]).astype(np.float64)
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, np.eye(min(q.shape)), atol=1e-5)


def test_hard_sigmoid_is_keras_piecewise_linear_and_differentiable():
    x = np.array([-4.0, -2.5, -1.0, 0.0, 0.7, 2.5, 3.0])
    np.testing.assert_allclose(activations.get("hard_sigmoid")(Tensor(x)).numpy(), hard_sigmoid(x), rtol=1e-6)
    inside = f64([-2.0, -0.3, 0.4, 1.9])
    r, = gradcheck(lambda t: activations.hard_sigmoid(t), inside)
    np.testing.assert_allclose(r.analytic, r.numeric, rtol=1e-6, atol=1e-8)


# --- Bidirectional --------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merges_a_forward_and_a_backward_copy(merge_mode, return_sequences):
    x = R.standard_normal((2, 5, 3))
    bi = layers.Bidirectional(layers.GRU(4, return_sequences=return_sequences), merge_mode=merge_mode)
    bi(Tensor(np.zeros((1, 5, 3), np.float32)))
    forward, backward = random_weights("GRU", 3, 4), random_weights("GRU", 3, 4)
    bi.set_weights(forward + backward)
    y = keras_rnn("GRU", x, *forward, return_sequences=return_sequences)
    y_rev = keras_rnn("GRU", x, *backward, return_sequences=return_sequences, go_backwards=True)
    if return_sequences:
        y_rev = y_rev[:, ::-1]      # Keras reverses the backward output so step t matches step t
    expected = {"concat": np.concatenate([y, y_rev], -1), "sum": y + y_rev, "mul": y * y_rev,
                "ave": (y + y_rev) / 2}[merge_mode]
    np.testing.assert_allclose(run(bi, x), expected, rtol=1e-5, atol=1e-6)
    assert bi.compute_output_shape((None, None, 3))[-1] == (8 if merge_mode == "concat" else 4)


def test_bidirectional_has_twice_the_weights_and_a_keras_summary():
    model = models.Sequential([layers.Embedding(10000, 32), layers.Bidirectional(layers.LSTM(32)),
                               layers.Dense(1, activation="sigmoid")])
    assert model.layers[1].count_params() == 2 * 8320
    assert model.count_params() == 320000 + 16640 + 65
    text = summary(model)
    assert "bidirectional_1 (Bidirection " in text and "(None, 64)" in text and "16640" in text


def test_bidirectional_refuses_what_it_does_not_do():
    with pytest.raises(NotImplementedError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode=None)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(TypeError, match="recurrent"):
        layers.Bidirectional(layers.Dense(2))


# --- the book's models: parameters and summaries ---------------------------------------------
def summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_book_simplernn_summaries():
    model = models.Sequential([layers.Embedding(10000, 32), layers.SimpleRNN(32)])
    text = summary(model)
    assert "(None, None, 32)" in text and "320000" in text and "(None, 32)" in text and "2080" in text
    assert "Total params: 322,080" in text
    model = models.Sequential([layers.Embedding(10000, 32), layers.SimpleRNN(32, return_sequences=True)])
    text = summary(model)
    assert text.count("(None, None, 32)") == 2 and "Total params: 322,080" in text
    model = models.Sequential([layers.Embedding(10000, 32)] +
                              [layers.SimpleRNN(32, return_sequences=True) for _ in range(3)] +
                              [layers.SimpleRNN(32)])
    assert "Total params: 328,320" in summary(model)


def test_book_lstm_and_gru_parameter_counts():
    lstm = models.Sequential([layers.Embedding(10000, 32), layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
    assert lstm.layers[1].count_params() == 8320
    gru = models.Sequential([layers.GRU(32, input_shape=(None, 14)), layers.Dense(1)])
    assert gru.layers[0].count_params() == 3 * (14 * 32 + 32 * 32 + 32)
    assert gru.layers[0].output_shape == (None, 32)


# --- training --------------------------------------------------------------------------------
def _toy_task():
    x = np.random.default_rng(0).standard_normal((64, 7, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)[:, None]
    return x, y


def _train(kind, device):
    previous = default_device()
    set_default_device(device)
    try:
        set_seed(0)
        model = models.Sequential([make(kind, 6, input_shape=(None, 3), dropout=0.1, recurrent_dropout=0.1),
                                   layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=optimizers.RMSprop(lr=0.01), loss="binary_crossentropy")
        x, y = _toy_task()
        history = model.fit(x, y, epochs=8, batch_size=16, verbose=0, shuffle=False)
        return history.history["loss"], model.get_weights()
    finally:
        set_default_device(previous)


@pytest.mark.parametrize("kind", list(KINDS))
def test_training_reduces_the_loss_and_the_devices_agree_step_for_step(kind):
    losses, weights = _train(kind, "numpy")
    assert losses[-1] < 0.7 * losses[0]
    cpu_losses, cpu_weights = _train(kind, "cpu")
    np.testing.assert_allclose(cpu_losses, losses, rtol=1e-4)
    for a, b in zip(cpu_weights, weights):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


# --- config, saving, bad input ---------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS) + ["Bidirectional"])
def test_config_round_trip_rebuilds_the_same_layer(kind):
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True)) if kind == "Bidirectional" else \
        make(kind, 3, go_backwards=True, dropout=0.2)
    x = R.standard_normal((2, 4, 2))
    layer(Tensor(np.zeros((1, 4, 2), np.float32)))
    config = layer.get_config()
    config["name"] = "copy_" + kind.lower()
    twin = layer_class(kind).from_config(config)
    twin(Tensor(np.zeros((1, 4, 2), np.float32)))
    twin.set_weights(layer.get_weights())
    np.testing.assert_allclose(run(twin, x), run(layer, x), rtol=1e-6)


def test_model_save_and_load_keeps_recurrent_layers(tmp_path):
    model = models.Sequential([layers.Embedding(50, 4), layers.Bidirectional(layers.GRU(3, return_sequences=True)),
                               layers.LSTM(2, go_backwards=True), layers.Dense(1)])
    ids = R.integers(0, 50, (3, 6))
    path = str(tmp_path / "rnn.h5")
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded.predict(ids), model.predict(ids), rtol=1e-6)


@pytest.mark.parametrize("make_layer, error, match", [
    (lambda: layers.LSTM(3, dropout=1.0), ValueError, "LSTM: dropout"),
    (lambda: layers.GRU(3, recurrent_dropout=-0.1), ValueError, "GRU: recurrent_dropout"),
    (lambda: layers.GRU(3, reset_after=True), NotImplementedError, "reset_after"),
    (lambda: layers.LSTM(3, return_state=True), NotImplementedError, "return_state"),
    (lambda: layers.SimpleRNN(3, stateful=True), NotImplementedError, "stateful"),
    (lambda: layers.SimpleRNN(3, recurrent_activation="tanh"), TypeError, "recurrent_activation"),
    (lambda: layers.LSTM(0), ValueError, "LSTM: units"),
])
def test_bad_arguments_are_refused_by_name(make_layer, error, match):
    with pytest.raises(error, match=match):
        make_layer()


def test_the_constructors_keep_keras_2_0_argument_order():
    import inspect
    common = ["use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer"]
    regularizers = ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"]
    expected = {"SimpleRNN": ["units", "activation"] + common + regularizers,
                "LSTM": ["units", "activation", "recurrent_activation"] + common + ["unit_forget_bias"] + regularizers,
                "GRU": ["units", "activation", "recurrent_activation"] + common + regularizers,
                "Bidirectional": ["layer", "merge_mode", "weights"]}
    for name, params in expected.items():
        assert list(inspect.signature(getattr(layers, name)).parameters)[:len(params)] == params, name


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_input_without_a_time_axis_or_without_steps_is_refused(kind):
    with pytest.raises(ValueError, match="steps, features"):
        make(kind)(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="0 steps"):
        make(kind)(Tensor(np.zeros((2, 0, 3), np.float32)))


# --- the fused kernels against the readable loop -------------------------------------------
def _fused_and_loop(kind, options, device, x, weights, training):
    """Outputs and gradients (of x and every weight) of the layer, fused and as the loop."""
    results = []
    for fused in (True, False):
        layer = make(kind, 3, **options)
        layer(Tensor(np.zeros((1, x.shape[1], x.shape[2]), np.float32)))
        layer.fused = fused
        leaves = [Tensor(a, dtype=np.float64, device=device, requires_grad=True) for a in [x] + weights]
        layer.kernel, layer.recurrent_kernel, layer.bias = leaves[1:]
        set_seed(3)                                   # the same dropout masks on both paths
        out = layer.call(leaves[0], training=training)
        out.backward(Tensor(np.cos(np.arange(out.size)).reshape(out.shape), dtype=np.float64, device=device))
        results.append((out.numpy(), [t.grad.numpy() for t in leaves]))
    return results


@pytest.mark.parametrize("device", ["numpy", "cpu"])
@pytest.mark.parametrize("options", [{}, {"go_backwards": True, "return_sequences": True},
                                     {"dropout": 0.3, "recurrent_dropout": 0.4, "return_sequences": True},
                                     {"activation": "relu", "recurrent_activation": "sigmoid"}],
                         ids=["last", "backwards", "dropout", "relu-sigmoid"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_fused_kernels_match_the_loop_in_values_and_gradients(kind, options, device):
    if kind == "SimpleRNN" and "recurrent_activation" in options:
        options = {"activation": "relu"}
    x = R.standard_normal((3, 5, 2))
    (fused_out, fused_grads), (loop_out, loop_grads) = _fused_and_loop(
        kind, options, device, x, random_weights(kind, 2, 3, scale=0.5), training="dropout" in options)
    np.testing.assert_allclose(fused_out, loop_out, rtol=1e-10, atol=1e-12)
    for name, a, b in zip(["x", "kernel", "recurrent_kernel", "bias"], fused_grads, loop_grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11, err_msg=f"{kind} gradient of {name}")


def test_the_fused_path_is_the_default_and_a_custom_activation_runs_the_loop(monkeypatch):
    from tinygrad_book.nn.layers import recurrent
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return fused(*args, **kwargs)
    fused = recurrent.recurrent_sequence
    monkeypatch.setattr(recurrent, "recurrent_sequence", counted)
    x = Tensor(R.standard_normal((2, 4, 3)).astype(np.float32))
    make("LSTM", 2)(x)
    assert calls == ["lstm"]
    make("GRU", 2, activation=lambda t: t.tanh() * 0.5)(x)      # not a kernel's activation: the loop
    looped = make("SimpleRNN", 2)
    looped.fused = False
    looped(x)
    assert calls == ["lstm"]


def test_float32_fused_lstm_matches_the_float64_equations():
    """float32 runs tanh as a rational approximation (kernels/cpu/recurrent.py): still Keras' numbers."""
    x = R.standard_normal((4, 30, 3))
    layer = make("LSTM", 5, return_sequences=True, recurrent_activation="sigmoid")
    layer(Tensor(np.zeros((1, 30, 3), np.float32)))
    weights = random_weights("LSTM", 3, 5)
    layer.set_weights(weights)
    from tinygrad_book.kernels import set_default_device as set_device, default_device as current
    previous = current()
    set_device("cpu")
    try:
        out = layer(Tensor(x.astype(np.float32))).numpy()
    finally:
        set_device(previous)
    gates = np.split(np.arange(20), 4)
    expected = _lstm_sigmoid(x, weights, gates)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=2e-6)


def _lstm_sigmoid(x, weights, gates):
    kernel, recurrent_kernel, bias = weights
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = c = np.zeros((x.shape[0], 5))
    outs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (a[:, idx] for idx in gates)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1)
