"""Training throughput: samples/second of a 20-step slice of one epoch, ours against
PyTorch CPU (2 threads) measured in the same run with the same architecture, batch
size and optimizer. The ratio ours/torch goes into extra_info.

    python -m pytest benchmarks/test_training.py --benchmark-only -q

Targets: book MLP (784-512-10, RMSprop, batch 128) >= 0.7; ch5 MNIST convnet (batch 64) >= 0.4.
"""
import time

import numpy as np
import pytest

from tinygrad_book import layers, models, optimizers
from tinygrad_book.kernels import get_backend, set_default_device, default_device

STEPS = 20


def _device_or_skip(device):
    try:
        get_backend(device)
    except Exception as e:  # the backend is not there yet (or cannot run here)
        pytest.skip(f"device {device!r} unavailable: {type(e).__name__}: {e}")


def mlp():
    return models.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                              layers.Dense(10, activation="softmax")])


def convnet():
    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])


CASES = {"mlp": (mlp, (784,), 128), "convnet": (convnet, (28, 28, 1), 64)}


def _data(shape, batch):
    r = np.random.default_rng(0)
    x = r.random((batch * STEPS,) + shape, dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, batch * STEPS)]
    return x, y


def torch_epoch_slice(name, batch):
    """A function running torch's 20-step slice (warmed up), for alternating timings."""
    torch = pytest.importorskip("torch", reason="torch is needed for the reference numbers")
    torch.set_num_threads(2)
    nn = torch.nn
    if name == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
        shape = (784,)
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                            nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
        shape = (1, 28, 28)
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    x = torch.rand((batch * STEPS,) + shape)
    y = torch.randint(0, 10, (batch * STEPS,))
    loss_fn = nn.CrossEntropyLoss()

    def epoch_slice():
        for s in range(0, batch * STEPS, batch):
            opt.zero_grad()
            loss = loss_fn(net(x[s:s + batch]), y[s:s + batch])
            loss.backward()
            opt.step()
            loss.item()
    epoch_slice()                                   # warm-up
    return epoch_slice


PAIRS = 5   # ours and torch alternate, so a burst of load on the shared machine hits both


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@pytest.mark.parametrize("device", ["cpu", "numpy"])
@pytest.mark.parametrize("name", ["mlp", "convnet"])
def test_training_throughput(benchmark, name, device):
    _device_or_skip(device)
    build, shape, batch = CASES[name]
    previous = default_device()
    set_default_device(device)
    try:
        model = build()
        model.compile(optimizers.RMSprop(), "categorical_crossentropy", metrics=["accuracy"])
        x, y = _data(shape, batch)
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)      # warm-up (jit compile)
        run = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # noqa: E731
        benchmark.pedantic(run, rounds=3, iterations=1)
        torch_run = torch_epoch_slice(name, batch)
        pairs = [(_timed(run), _timed(torch_run)) for _ in range(PAIRS)]
    finally:
        set_default_device(previous)
    ours = batch * STEPS / min(min(p[0] for p in pairs), benchmark.stats.stats.min)
    theirs = batch * STEPS / min(p[1] for p in pairs)
    paired = float(np.median([t / o for o, t in pairs]))        # per pair: ours/torch throughput
    benchmark.extra_info.update({"device": device, "batch": batch, "steps": STEPS,
                                 "ours_samples_per_s": round(ours, 1), "torch_samples_per_s": round(theirs, 1),
                                 "ratio_ours_over_torch": round(ours / theirs, 3),
                                 "median_paired_ratio": round(paired, 3)})
    print(f"\n{name} on {device}: ours {ours:.0f} samples/s, torch {theirs:.0f} samples/s, ratio {ours / theirs:.3f} "
          f"(best of each), median paired ratio {paired:.3f}")
