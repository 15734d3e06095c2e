"""Make ``mnist_sample.npz``: 2,000 training and 500 test digits drawn from the real MNIST.

Usage: ``python make_mnist_sample.py /path/to/mnist.npz [out.npz]``
(the source is Keras' ``mnist.npz``, keys x_train/y_train/x_test/y_test, uint8).

The draw: ``np.random.RandomState(SEED).choice(n, size, replace=False)`` for train, then for test
with the same generator; indices sorted, so the digits keep their order in the full set.
"""

import sys
from pathlib import Path

import numpy as np

SEED = 2017  # the year of the book's first edition
N_TRAIN, N_TEST = 2000, 500


def make_sample(source, out):
    with np.load(source) as f:
        d = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    rng = np.random.RandomState(SEED)
    tr = np.sort(rng.choice(len(d["x_train"]), N_TRAIN, replace=False))
    te = np.sort(rng.choice(len(d["x_test"]), N_TEST, replace=False))
    np.savez_compressed(out, x_train=d["x_train"][tr].astype(np.uint8), y_train=d["y_train"][tr].astype(np.uint8),
                        x_test=d["x_test"][te].astype(np.uint8), y_test=d["y_test"][te].astype(np.uint8),
                        train_index=tr.astype(np.int32), test_index=te.astype(np.int32))
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[2] if len(sys.argv) == 3 else Path(__file__).with_name("mnist_sample.npz")
    print(make_sample(sys.argv[1], out))
