"""The Keras backend `K`: symbolic graphs replayed against eager code, K.gradients against
central differences (float64, every element), weights left alone, errors that name the op."""
import numpy as np
import pytest

from tinygrad_book import Tensor, layers, models
from tinygrad_book import backend as K
from tinygrad_book.nn.seeding import set_seed

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4, 5)).astype(np.float64)
W = RNG.normal(size=(5, 2))

# name -> f(x): the same code runs on a symbolic x (recorded, replayed) and on a Tensor x (eager)
GRAPHS = {
    "arithmetic": lambda x: (x + 1.5) * x - x / 3.0 + 2.0 ** (x * 0.1) - (-x) ** 2,
    "reversed": lambda x: 2.0 - x + 1.0 / (K.abs(x) + 3.0) + 3.0 * x + np.arange(5.0) + x ** 3,
    "indexing": lambda x: x[:, :, 2] + K.mean(x[:, 1:3, :]) + x[0, ..., None][:, 0, 0] * 0.5 + K.sum(x[:, -1, ::2]),
    "unary": lambda x: K.exp(x * 0.2) + K.log(K.square(x) + 1) + K.sqrt(K.abs(x) + 1) + K.tanh(x)
    + K.sigmoid(x) + K.relu(x),
    "reductions": lambda x: K.mean(x, axis=(0, 2)) + K.sum(x, axis=0, keepdims=True)[0, :, 0]
    + K.max(x, axis=-1)[1] + K.min(x, axis=2)[0],
    "maximum_pow": lambda x: K.maximum(x, 0.25) + K.minimum(0.5, x) + K.pow(K.abs(x) + 1, 1.5),
    "dot_transpose": lambda x: K.dot(x, W) + K.transpose(K.transpose(K.dot(x, W))),
    "permute_reshape": lambda x: K.reshape(K.permute_dimensions(x, (0, 2, 1)), (-1, 4)) * 2
    + K.expand_dims(K.flatten(x), 0)[:, :1],
    "flatten_concat": lambda x: K.concatenate([K.batch_flatten(x), K.batch_flatten(x * 2)], axis=-1)
    + K.mean(K.flatten(x)),
    "softmax_clip_bce": lambda x: K.softmax(x) + K.clip(x, -0.5, 0.5)
    + K.binary_crossentropy(K.sigmoid(x), K.sigmoid(x * 0.5)),
    "resize_cast": lambda x: K.resize_images(x[..., None], 2, 3, "channels_last")
    + K.cast(K.cast(x * 3, "int64"), "float64")[:, :1, :1, None],
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_a_recorded_graph_replays_like_the_eager_code(name):
    x = layers.Input(shape=X.shape[1:], dtype="float64")
    out = GRAPHS[name](x)
    replayed = K.function([x], [out])([X])[0]
    eager = GRAPHS[name](Tensor(X, dtype=np.float64)).numpy()
    assert replayed.shape == eager.shape
    np.testing.assert_allclose(replayed, eager, rtol=1e-12, atol=1e-12)
    assert K.int_shape(out)[1:] == eager.shape[1:] or K.int_shape(out) == eager.shape or None in K.int_shape(out)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_recorded_static_shapes_match_the_values(name):
    """The shape rules say what the replay gives (None: the batch size, known only then)."""
    x = layers.Input(shape=X.shape[1:], dtype="float64")
    out = GRAPHS[name](x)
    value = K.function([x], out)([X])
    assert len(K.int_shape(out)) == value.ndim
    assert all(s is None or s == v for s, v in zip(K.int_shape(out), value.shape))


def central_differences(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


@pytest.mark.parametrize("name", sorted(set(GRAPHS) - {"resize_cast", "softmax_clip_bce", "maximum_pow"}))
def test_gradients_match_central_differences_in_float64(name):
    x = layers.Input(shape=X.shape[1:], dtype="float64")
    out = GRAPHS[name](x)
    cotangent = RNG.normal(size=K.function([x], out)([X]).shape)
    loss = K.sum(out * cotangent)
    grads = K.gradients(loss, [x])
    f = K.function([x], [loss, grads[0]])
    value, g = f([X])
    numeric = central_differences(lambda a: float(K.function([x], loss)([a])), X)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-7)


def tiny_convnet(dtype="float32"):
    set_seed(3)
    model = models.Sequential()
    model.add(layers.Conv2D(4, 3, activation="relu", input_shape=(7, 7, 2), dtype=dtype))
    model.add(layers.Conv2D(3, 2, activation="tanh", name="last_conv"))
    model.add(layers.Flatten())
    model.add(layers.Dense(5, activation="softmax"))
    return model


def test_gradients_wrt_the_input_and_an_activation_match_central_differences():
    """Grad-CAM's K.gradients(class output, last conv output): an intermediate activation."""
    model = tiny_convnet(dtype="float64")   # float64 input: the float32 weights enter float64 arithmetic exactly
    image = RNG.normal(size=(1, 7, 7, 2))
    conv = model.get_layer("last_conv")
    out = model.output[:, 2]
    g_act, g_in = K.gradients(out, [conv.output, model.input])
    ga, gi, act = K.function([model.input], [g_act, g_in, conv.output])([image])
    assert act.dtype == np.float64

    def rest(a):   # the layers after last_conv, run eagerly on an activation
        y = a
        for layer in model.layers[2:]:
            y = layer(Tensor(y, dtype=np.float64) if not isinstance(y, Tensor) else y)
        return float(y.numpy()[0, 2])

    def whole(x):
        return float(model(Tensor(x, dtype=np.float64)).numpy()[0, 2])

    np.testing.assert_allclose(ga, central_differences(rest, act), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gi, central_differences(whole, image), rtol=1e-5, atol=1e-8)


def test_k_function_touches_no_weight_gradient_and_restores_requires_grad():
    model = tiny_convnet()
    loss = K.mean(model.get_layer("last_conv").output[:, :, :, 1])
    grads = K.gradients(loss, model.input)[0]
    K.function([model.input], [loss, grads])([RNG.normal(size=(2, 7, 7, 2))])
    assert all(w.grad is None for w in model.weights)
    assert all(w.requires_grad for w in model.weights)


def test_eager_k_functions_and_eager_gradients():
    x = Tensor(X, dtype=np.float64, requires_grad=True)
    w = Tensor(W, dtype=np.float64, requires_grad=True)
    loss = K.sum(K.square(K.dot(x, w)))
    gx, gw = K.gradients(loss, [x, w])
    np.testing.assert_allclose(gx.numpy(), 2 * (X @ W) @ W.T, rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), 2 * np.einsum("abi,abj->ij", X, X @ W), rtol=1e-12)
    assert x.grad is None and w.grad is None     # values, not side effects
    assert K.int_shape(x) == X.shape and tuple(K.shape(x)) == X.shape


def test_k_variable_constant_placeholder_and_eval():
    p = K.placeholder(shape=(None, 3))
    loss = K.variable(0.0)
    loss += K.sum(p * K.constant([1.0, 2.0, 3.0]))   # a Variable steps aside for symbolic operands
    assert float(K.function([p], [loss])([np.ones((2, 3))])[0]) == 12.0
    assert K.eval(K.constant(2.0) * 3) == 6.0
    v = K.variable([1.0, 2.0])
    K.set_value(v, [3.0, 4.0])
    assert K.get_value(v).tolist() == [3.0, 4.0]
    assert K.epsilon() == 1e-7 and K.floatx() == "float32" and K.image_data_format() == "channels_last"


def test_random_normal_with_a_symbolic_batch_size():
    z = layers.Input(shape=(2,))
    eps = K.random_normal(shape=(K.shape(z)[0], 2), mean=0.0, stddev=1.0)
    assert K.int_shape(eps) == (None, 2)
    draws = K.function([z], eps)([np.zeros((500, 2))])
    assert draws.shape == (500, 2) and abs(draws.mean()) < 0.2 and 0.8 < draws.std() < 1.2


def test_learning_phase_switches_dropout_in_a_replay():
    x = layers.Input(shape=(200,))
    y = layers.Dropout(0.5)(x)
    ones = np.ones((1, 200))
    K.set_learning_phase(1)
    try:
        assert (K.function([x], y)([ones]) == 0).any()
        K.set_learning_phase(0)
        assert (K.function([x], y)([ones]) == 1).all()
    finally:
        K._STATE["learning_phase"] = None
    assert (K.function([x, K.learning_phase()], y)([ones, 1]) == 0).any()
    with pytest.raises(ValueError, match="0 or 1"):
        K.set_learning_phase(2)


def test_shape_errors_name_the_operation_and_the_shapes():
    x = layers.Input(shape=(4, 5))
    with pytest.raises(ValueError, match=r"add: shapes \(None, 4, 5\) and \(3,\)"):
        x + np.ones(3)
    with pytest.raises(ValueError, match="out of bounds"):
        x[:, 4]
    with pytest.raises(ValueError, match="permute_dimensions"):
        K.permute_dimensions(x, (0, 1))
    other = layers.Input(shape=(5,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        K.function([x], [K.sum(x) + K.sum(other)])
    with pytest.raises(ValueError, match="1 input"):
        K.function([x], K.sum(x))([np.ones((1, 4, 5)), np.ones(1)])


def test_ops_are_not_layers_of_a_model():
    x = layers.Input(shape=(3,))
    y = layers.Dense(2)(x * 2.0)
    model = models.Model(x, K.mean(y, axis=-1, keepdims=True) + y)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense"]
    out = model.predict(np.ones((4, 3)))
    dense = model.layers[1]
    expected = 2.0 * np.ones((4, 3)) @ dense.get_weights()[0] + dense.get_weights()[1]
    np.testing.assert_allclose(out, expected.mean(axis=-1, keepdims=True) + expected, rtol=1e-5)


# --- the book's chapter 5 listings, as printed, on tiny networks -------------------------------
def deprocess_image(x):      # listing 5.37
    x -= x.mean()
    x /= (x.std() + 1e-5)
    x *= 0.1
    x += 0.5
    x = np.clip(x, 0, 1)
    x *= 255
    x = np.clip(x, 0, 255).astype('uint8')
    return x


def test_listings_5_32_to_5_38_filter_patterns_run_as_printed():
    """VGG16(include_top=False) takes any image size; so does this tiny stand-in."""
    set_seed(7)
    inputs = layers.Input(shape=(None, None, 3))
    x = layers.Conv2D(6, 3, activation='relu', padding='same', name='block1_conv1')(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(5, 3, activation='relu', padding='same', name='block3_conv1')(x)
    model = models.Model(inputs, x)
    losses = []

    def generate_pattern(layer_name, filter_index, size=150):     # listing 5.38
        layer_output = model.get_layer(layer_name).output
        loss = K.mean(layer_output[:, :, :, filter_index])
        grads = K.gradients(loss, model.input)[0]
        grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
        iterate = K.function([model.input], [loss, grads])
        input_img_data = np.random.random((1, size, size, 3)) * 20 + 128.
        step = 1.
        for i in range(40):
            loss_value, grads_value = iterate([input_img_data])
            input_img_data += grads_value * step
            losses.append(float(loss_value))
        img = input_img_data[0]
        return deprocess_image(img)

    pattern = generate_pattern('block3_conv1', 2, size=12)
    assert pattern.shape == (12, 12, 3) and pattern.dtype == np.uint8
    assert losses[-1] > losses[0]           # gradient ascent raises the filter's mean activation
    assert all(w.grad is None for w in model.weights)


def test_listings_5_42_and_5_43_grad_cam_run_as_printed():
    set_seed(8)
    inputs = layers.Input(shape=(10, 10, 3))
    x = layers.Conv2D(4, 3, activation='relu', name='block5_conv3')(inputs)
    x = layers.Flatten()(x)
    model = models.Model(inputs, layers.Dense(5, activation='softmax')(x))
    x = np.random.default_rng(1).normal(size=(1, 10, 10, 3)).astype('float32')
    predicted = int(np.argmax(model.predict(x)[0]))    # the book: np.argmax(preds[0]) == 386

    african_elephant_output = model.output[:, predicted]
    last_conv_layer = model.get_layer('block5_conv3')
    grads = K.gradients(african_elephant_output, last_conv_layer.output)[0]
    pooled_grads = K.mean(grads, axis=(0, 1, 2))
    iterate = K.function([model.input], [pooled_grads, last_conv_layer.output[0]])
    pooled_grads_value, conv_layer_output_value = iterate([x])
    for i in range(4):
        conv_layer_output_value[:, :, i] *= pooled_grads_value[i]
    heatmap = np.mean(conv_layer_output_value, axis=-1)
    heatmap = np.maximum(heatmap, 0)
    heatmap /= np.max(heatmap)
    assert heatmap.shape == (8, 8) and heatmap.max() == 1.0

    # the same gradient, eagerly: the activation as a leaf, the rest of the network on it
    activation = Tensor(last_conv_layer(Tensor(x)).numpy(), requires_grad=True)
    out = model.layers[3](model.layers[2](activation))
    out[:, predicted].sum().backward()
    np.testing.assert_allclose(pooled_grads_value, activation.grad.numpy().mean(axis=(0, 1, 2)), rtol=1e-5,
                               atol=1e-9)


def test_listings_8_9_to_8_11_deepdream_loss_and_ascent_run_as_printed():
    """InceptionV3's mixed layers replaced by two small conv layers of the same names."""
    set_seed(9)
    K.set_learning_phase(0)
    try:
        inputs = layers.Input(shape=(None, None, 3))
        x = layers.Conv2D(4, 3, activation='relu', padding='same', name='mixed2')(inputs)
        x = layers.Conv2D(4, 3, activation='relu', padding='same', name='mixed3')(x)
        model = models.Model(inputs, x)
        layer_contributions = {'mixed2': 0.2, 'mixed3': 3.}

        layer_dict = dict([(layer.name, layer) for layer in model.layers])
        loss = K.variable(0.)
        for layer_name in layer_contributions:
            coeff = layer_contributions[layer_name]
            activation = layer_dict[layer_name].output
            scaling = K.prod(K.cast(K.shape(activation), 'float32'))
            loss += coeff * K.sum(K.square(activation[:, 2: -2, 2: -2, :])) / scaling

        dream = model.input
        grads = K.gradients(loss, dream)[0]
        grads /= K.maximum(K.mean(K.abs(grads)), 1e-7)
        outputs = [loss, grads]
        fetch_loss_and_grads = K.function([dream], outputs)

        def eval_loss_and_grads(x):
            outs = fetch_loss_and_grads([x])
            loss_value = outs[0]
            grad_values = outs[1]
            return loss_value, grad_values

        seen = []

        def gradient_ascent(x, iterations, step, max_loss=None):
            for i in range(iterations):
                loss_value, grad_values = eval_loss_and_grads(x)
                if max_loss is not None and loss_value > max_loss:
                    break
                seen.append(float(loss_value))
                x += step * grad_values
            return x

        img = np.random.default_rng(2).normal(size=(1, 12, 12, 3)).astype('float32')
        expected = sum(c * float(np.sum(a[:, 2:-2, 2:-2, :] ** 2)) / a.size for c, a in zip(
            layer_contributions.values(), K.function([dream], [layer_dict['mixed2'].output,
                                                               layer_dict['mixed3'].output])([img])))
        assert float(eval_loss_and_grads(img)[0]) == pytest.approx(expected, rel=1e-5)
        gradient_ascent(img, iterations=5, step=0.01, max_loss=10.)
        assert seen[-1] > seen[0]
    finally:
        K._STATE["learning_phase"] = None


def test_listings_8_16_to_8_21_style_transfer_losses_on_a_placeholder_batch():
    """VGG19(input_tensor=K.concatenate([...])) replaced by two conv layers on that tensor."""
    set_seed(10)
    img_height, img_width = 8, 10
    rng = np.random.default_rng(3)
    target_image = K.constant(rng.normal(size=(1, img_height, img_width, 3)))
    style_reference_image = K.constant(rng.normal(size=(1, img_height, img_width, 3)))
    combination_image = K.placeholder((1, img_height, img_width, 3))
    input_tensor = K.concatenate([target_image, style_reference_image, combination_image], axis=0)
    block1 = layers.Conv2D(4, 3, activation='relu', padding='same', name='block1_conv1')(input_tensor)
    block5 = layers.Conv2D(5, 3, activation='relu', padding='same', name='block5_conv2')(block1)
    outputs_dict = {'block1_conv1': block1, 'block5_conv2': block5}

    def content_loss(base, combination):
        return K.sum(K.square(combination - base))

    def gram_matrix(x):
        features = K.batch_flatten(K.permute_dimensions(x, (2, 0, 1)))
        gram = K.dot(features, K.transpose(features))
        return gram

    def style_loss(style, combination):
        S = gram_matrix(style)
        C = gram_matrix(combination)
        channels = 3
        size = img_height * img_width
        return K.sum(K.square(S - C)) / (4. * (channels ** 2) * (size ** 2))

    def total_variation_loss(x):
        a = K.square(x[:, :img_height - 1, :img_width - 1, :] - x[:, 1:, :img_width - 1, :])
        b = K.square(x[:, :img_height - 1, :img_width - 1, :] - x[:, :img_height - 1, 1:, :])
        return K.sum(K.pow(a + b, 1.25))

    loss = K.variable(0.)
    layer_features = outputs_dict['block5_conv2']
    target_image_features = layer_features[0, :, :, :]
    combination_features = layer_features[2, :, :, :]
    loss += 0.025 * content_loss(target_image_features, combination_features)
    layer_features = outputs_dict['block1_conv1']
    loss += (1. / 1) * style_loss(layer_features[1, :, :, :], layer_features[2, :, :, :])
    loss += 1e-4 * total_variation_loss(combination_image)
    grads = K.gradients(loss, combination_image)[0]
    fetch_loss_and_grads = K.function([combination_image], [loss, grads])

    start = rng.normal(size=(1, img_height, img_width, 3))
    loss_value, grad_values = fetch_loss_and_grads([start])
    assert grad_values.shape == (1, img_height, img_width, 3)
    # scipy's L-BFGS as the book (listing 8.22) lowers the loss
    from scipy.optimize import fmin_l_bfgs_b

    def f(flat):
        value, g = fetch_loss_and_grads([flat.reshape((1, img_height, img_width, 3))])
        return float(value), g.flatten().astype('float64')
    x_opt, min_val, info = fmin_l_bfgs_b(f, start.flatten(), maxfun=20)
    assert min_val < float(loss_value)
