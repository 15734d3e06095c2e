"""Recurrent training throughput (issue 14): samples/second of a few training steps, ours
against PyTorch CPU (torch.nn.LSTM / nn.GRU, as many threads as numba's) in the same run,
alternating, with the same sizes, batch and optimizer. The ratio goes into extra_info.

    python -m pytest benchmarks/test_recurrent.py --benchmark-only -q -s

* imdb_lstm: Embedding(10000, 32) + LSTM(32) + Dense(1, sigmoid), IMDB sequences of 500
  steps, batch 128, RMSprop, binary cross-entropy (book listing 6.27). Target >= 1.0.
* jena_gru: GRU(32) + Dense(1) on 240 steps of 6 features, batch 128, RMSprop, MAE (the
  book's 6.37 on our hourly Jena subset).

The architectures match in sizes, not in every detail: Keras 2.0's gates use hard_sigmoid
and its GRU applies the reset gate before U_h; torch uses sigmoid and the cuDNN GRU.
Each result line names the CPU model.
"""
import os
import time

import numba
import numpy as np
import pytest

from tinygrad_book import layers, models, optimizers
from tinygrad_book.bench import cpu_model
from tinygrad_book.kernels import default_device, set_default_device

PAIRS = 3

# name: (batch, steps per timed run, sequence length)
CASES = {"imdb_lstm": (128, 3, 500), "jena_gru": (128, 3, 240)}


def ours(name):
    if name == "imdb_lstm":
        model = models.Sequential([layers.Embedding(10000, 32), layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizers.RMSprop(), "binary_crossentropy", metrics=["acc"])
    else:
        model = models.Sequential([layers.GRU(32, input_shape=(None, 6)), layers.Dense(1)])
        model.compile(optimizers.RMSprop(), "mae")
    return model


def data(name):
    batch, steps, length = CASES[name]
    r = np.random.default_rng(0)
    if name == "imdb_lstm":
        return r.integers(1, 10000, (batch * steps, length)), r.integers(0, 2, (batch * steps, 1)).astype(np.float32)
    return r.standard_normal((batch * steps, length, 6)).astype(np.float32), \
        r.standard_normal((batch * steps, 1)).astype(np.float32)


def torch_run(name, x, y):
    """A function running the same training steps in PyTorch (warmed up)."""
    torch = pytest.importorskip("torch", reason="torch is needed for the reference numbers")
    torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    nn = torch.nn
    batch = CASES[name][0]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            if name == "imdb_lstm":
                self.embed, self.rnn = nn.Embedding(10000, 32), nn.LSTM(32, 32, batch_first=True)
            else:
                self.embed, self.rnn = nn.Identity(), nn.GRU(6, 32, batch_first=True)
            self.dense = nn.Linear(32, 1)

        def forward(self, inputs):
            out, _ = self.rnn(self.embed(inputs))
            z = self.dense(out[:, -1])
            return torch.sigmoid(z) if name == "imdb_lstm" else z

    net = Net()
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = nn.BCELoss() if name == "imdb_lstm" else nn.L1Loss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        for s in range(0, len(x), batch):
            opt.zero_grad()
            loss = loss_fn(net(xt[s:s + batch]), yt[s:s + batch])
            loss.backward()
            opt.step()
            loss.item()
    run()
    return run


def torch_threads():
    import torch
    return torch.get_num_threads()


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@pytest.mark.parametrize("name", list(CASES))
def test_recurrent_training_throughput(benchmark, name):
    batch, steps, length = CASES[name]
    previous = default_device()
    set_default_device("cpu")
    try:
        model = ours(name)
        x, y = data(name)
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)      # warm-up (jit compile)
        run = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # noqa: E731
        benchmark.pedantic(run, rounds=1, iterations=1)
        theirs_run = torch_run(name, x, y)
        pairs = [(_timed(run), _timed(theirs_run)) for _ in range(PAIRS)]
    finally:
        set_default_device(previous)
    samples = batch * steps
    measured = [p[0] for p in pairs] + ([benchmark.stats.stats.min] if benchmark.stats else [])  # none: --benchmark-disable
    ours_rate = samples / min(measured)
    torch_rate = samples / min(p[1] for p in pairs)
    paired = float(np.median([t / o for o, t in pairs]))
    threads = (numba.get_num_threads(), torch_threads())
    load = os.getloadavg()[0]
    benchmark.extra_info.update({"batch": batch, "steps": steps, "sequence_length": length, "cpu": cpu_model(),
                                 "threads_ours_torch": threads, "load_average_1min": round(load, 1),
                                 "ours_samples_per_s": round(ours_rate, 1), "torch_samples_per_s": round(torch_rate, 1),
                                 "ratio_ours_over_torch": round(ours_rate / torch_rate, 3),
                                 "median_paired_ratio": round(paired, 3)})
    print(f"\n{name} ({cpu_model()}, threads ours/torch {threads[0]}/{threads[1]}, load {load:.1f}): "
          f"ours {ours_rate:.1f} samples/s, torch {torch_rate:.1f} samples/s, "
          f"ratio {ours_rate / torch_rate:.3f} (best of each), median paired ratio {paired:.3f}")
