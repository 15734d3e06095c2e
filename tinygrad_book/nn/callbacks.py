"""Callbacks: code that `fit` calls at fixed points (Keras' hooks and names).

fit calls on_train_begin, then per epoch on_epoch_begin(epoch), per batch
on_batch_begin/on_batch_end(batch, logs), on_epoch_end(epoch, logs) with the epoch's
loss/metrics/val_ entries, and finally on_train_end. Setting `model.stop_training = True`
ends training after the current epoch (or batch).

As in Keras 2.0 (the book's version), a callback sees `self.model`, `self.params` (epochs,
steps, samples, batch_size, verbose, do_validation, metrics) and, when fit validates,
`self.validation_data`: the list [x arrays..., y arrays..., sample weights...] (the book's
ActivationLogger reads `self.validation_data[0][0:1]`, the first validation sample).

Keras 2.0's semantics are kept where the book relies on them: `patience=1` stops (or
lowers the learning rate) after *two* epochs without improvement, "that is, two epochs"
(book L12816-L12820), because 2.0 checks `wait >= patience` before counting the epoch.
Two later Keras fixes are taken: epochs are numbered from 1 in checkpoint file names and
messages, as the progress bar numbers them (2.0 wrote epoch 0 there), and a monitored
quantity missing from the logs is an error naming it (2.0 only warned, then crashed or
skipped silently).
"""
from __future__ import annotations

import csv
import inspect
import math
import os

import numpy as np

from . import tensorboard_writer as tb
from .layer_graph import layer_graph


class Callback:
    """Override the hooks you need. fit sets model, params and (when it validates) validation_data."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    # Keras 2.3 names for the same batch hooks
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class CallbackList:
    """Forwards each hook to every callback in order. `validation_data` (a list of arrays,
    or None when fit does not validate) is given to each callback before set_model, so a
    callback that prepares itself in set_model (the book's ActivationLogger) can see it."""

    def __init__(self, callbacks, model, params, validation_data=None):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if validation_data is not None:
                cb.validation_data = validation_data
            cb.set_params(params)
            cb.set_model(model)

    def __getattr__(self, hook):
        def call_all(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call_all


def keras_validation_data(xs, ys) -> list:
    """What Keras 2.0 gives callbacks as validation_data: the input arrays, the target
    arrays, then one sample-weight array (all ones) per target (none without targets)."""
    ys = list(ys or [])
    return list(xs) + ys + [np.ones(len(y), dtype=np.float32) for y in ys]


def callback_metrics(names, validates) -> list:
    """params['metrics']: the logged names, and their val_ twins when fit validates."""
    return list(names) + ([f"val_{n}" for n in names] if validates else [])


class History(Callback):
    """Records every epoch's logs: history.history['loss'][i] is epoch i's loss."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _improves(mode, monitor):
    """A function better(current, best) for 'min', 'max' or 'auto' (max for acc/accuracy)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))):
        return np.greater, -np.inf
    return np.less, np.inf


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than min_delta for more than `patience`
    epochs (Keras 2.0: patience=1 stops at the second epoch without improvement).
    restore_best_weights (Keras 2.2.3) puts the best epoch's weights back when it stops."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 restore_best_weights=False):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.better, self.start = _improves(mode, monitor)
        self.min_delta = abs(min_delta) if self.better is np.greater else -abs(min_delta)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights = 0, 0, self.start, None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"EarlyStopping: monitor {self.monitor!r} is not in the logs {sorted(logs or {})}")
        if self.better(current - self.min_delta, self.best):
            self.best, self.wait = current, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience:   # Keras 2.0: checked before this epoch is counted
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
        self.wait += 1

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1:05d}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model (or only weights) after each epoch to filepath.format(epoch=, **logs).

    save_best_only: save only when `monitor` improved. Files are written atomically
    (see saving.py), so a crash never leaves half a checkpoint."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", period=1):
        super().__init__()
        self.filepath, self.monitor, self.verbose = filepath, monitor, verbose
        self.save_best_only, self.save_weights_only, self.period = save_best_only, save_weights_only, period
        self.better, self.best = _improves(mode, monitor)
        self._since = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._since += 1
        if self._since < self.period:
            return
        self._since = 0
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs {sorted(logs)}")
            if not self.better(current, self.best):
                return
            self.best = current
        if self.verbose:
            print(f"Epoch {epoch + 1:05d}: saving model to {path}")
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class ReduceLROnPlateau(Callback):
    """Multiply the optimizer's lr by `factor` when `monitor` has not improved by min_delta
    for more than `patience` epochs (Keras 2.0's count, as EarlyStopping). `epsilon` is
    Keras 2.0's name for min_delta; the lr never goes below min_lr."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, epsilon=None):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor must be < 1")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.better, self.start = _improves(mode, monitor)
        self.min_delta = min_delta if epsilon is None else epsilon
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = self.start, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs["lr"] = self.model.optimizer.lr
        current = logs.get(self.monitor)
        if current is None:
            raise KeyError(f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs {sorted(logs)}")
        delta = -self.min_delta if self.better is np.less else self.min_delta
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.better(current, self.best + delta if np.isfinite(self.best) else self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            if self.wait >= self.patience:   # Keras 2.0: checked before this epoch is counted
                old = self.model.optimizer.lr
                if old > self.min_lr * (1 + 1e-4):   # Keras' lr_epsilon: already at min_lr
                    self.model.optimizer.lr = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1:05d}: ReduceLROnPlateau reducing learning rate to "
                              f"{self.model.optimizer.lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
            self.wait += 1


class LearningRateScheduler(Callback):
    """Set lr = schedule(epoch) at the start of each epoch (epoch from 0); a schedule that
    takes two arguments gets the current lr too (Keras 2.2's schedule(epoch, lr))."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _positional_count(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.schedule(epoch, self.model.optimizer.lr) if self._takes_lr else self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a number, got {lr!r} "
                             f"for epoch {epoch}")
        self.model.optimizer.lr = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to {lr}.")


def _positional_count(fn) -> int:
    """How many positional arguments `fn` takes (a *args function counts as many)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):   # a builtin without a signature: assume schedule(epoch)
        return 1
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    return sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds)


class CSVLogger(Callback):
    """One CSV row per epoch: epoch, then the logs' keys in sorted order."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = filename, separator, append
        self.keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._has_header = exists
        self.file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        writer = csv.writer(self.file, delimiter=self.sep)
        if not self._has_header:
            writer.writerow(["epoch"] + self.keys)
            self._has_header = True
        writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class TerminateOnNaN(Callback):
    """Stop training at once when a batch loss is NaN or infinite, and say where.

    ``message`` keeps what was printed ("Epoch 2, batch 7: invalid loss nan, ..."; both
    counted from 1, as the progress bar counts), None while the loss is finite."""

    def __init__(self):
        super().__init__()
        self.epoch, self.message = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.message = (f"Epoch {self.epoch + 1}, batch {batch + 1}: invalid loss {loss}, "
                            "terminating training (try a lower learning rate, or check the data for NaN/inf)")
            print(self.message)
            self.model.stop_training = True


class TensorBoard(Callback):
    """Logs for TensorBoard (`tensorboard --logdir=my_log_dir`), written without TensorFlow
    (tensorboard_writer.py): each epoch's logs as scalars (loss, metrics, val_*), at step
    = epoch (from 0, as Keras 2.0); every `histogram_freq` epochs a histogram of each weight,
    tagged as Keras names it ('conv1d_1/kernel_0'); the layer graph for the Graphs tab
    (write_graph); every `embeddings_freq` epochs the weights of the Embedding layers for
    the Projector tab: `<layer>.tsv` in log_dir, listed in projector_config.pbtxt.

    Keras 2.0 also histogrammed each layer's output on the validation data and could write
    gradient histograms and weight images: write_grads and write_images are not implemented."""

    def __init__(self, log_dir="./logs", histogram_freq=0, batch_size=32, write_graph=True, write_grads=False,
                 write_images=False, embeddings_freq=0, embeddings_layer_names=None, embeddings_metadata=None):
        super().__init__()
        for name, value in (("write_grads", write_grads), ("write_images", write_images)):
            if value:
                raise NotImplementedError(f"TensorBoard: {name}=True not implemented (leave it False)")
        for name, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"TensorBoard: {name} must be an integer >= 0 (epochs), got {value!r}")
        self.log_dir, self.histogram_freq, self.batch_size = str(log_dir), histogram_freq, batch_size
        self.write_graph, self.embeddings_freq = write_graph, embeddings_freq
        self.embeddings_layer_names, self.embeddings_metadata = embeddings_layer_names, embeddings_metadata or {}
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = tb.EventFileWriter(self.log_dir)
        if self.write_graph:
            self.writer.add_graph(_graph_nodes(self.model))
        if self.embeddings_freq:
            self._embeddings = _embedding_layers(self.model, self.embeddings_layer_names)
            self._write_projector_config()

    def on_epoch_end(self, epoch, logs=None):
        scalars = {k: float(v) for k, v in (logs or {}).items() if k not in ("batch", "size")}
        self.writer.add_scalars(epoch, scalars)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self.writer.add_histograms(epoch, _weight_arrays(self.model))
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            for layer in self._embeddings:
                np.savetxt(os.path.join(self.log_dir, f"{layer.name}.tsv"), layer.get_weights()[0],
                           delimiter="\t", fmt="%.6g")
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()

    def _write_projector_config(self):
        """projector_config.pbtxt (text protobuf): one entry per layer, its tensor in a TSV file."""
        metadata = self.embeddings_metadata
        lines = []
        for layer in self._embeddings:
            rows, dim = layer.get_weights()[0].shape
            lines += ["embeddings {", f'  tensor_name: "{layer.name}/embeddings:0"',
                      f"  tensor_shape: {rows}", f"  tensor_shape: {dim}", f'  tensor_path: "{layer.name}.tsv"']
            path = metadata if isinstance(metadata, str) else metadata.get(layer.name)
            if path:
                lines.append(f'  metadata_path: "{path}"')
            lines.append("}")
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def _graph_nodes(model):
    """(layer name, layer class, [names of the layers feeding it]) for each layer."""
    return [(v.name, v.class_name, v.inputs) for v in layer_graph(model)]


def _weight_arrays(model) -> dict:
    """Keras' histogram tags ('dense_1/kernel:0' with ':' made '_') -> the weight's values."""
    from .keras_h5 import weight_names
    arrays = {}
    for layer in model.layers:
        for name, w in zip(weight_names(layer), layer.weights):
            arrays[name.replace(":", "_")] = w.numpy()
    return arrays


def _embedding_layers(model, names):
    """The Embedding layers to project: those named, or all of them (Keras 2.0's default)."""
    layers = [l for l in model.layers if (l.name in names if names else type(l).__name__ == "Embedding")]
    missing = set(names or []) - {l.name for l in layers}
    if missing or not layers:
        raise ValueError(f"TensorBoard: embeddings_freq needs Embedding layers; "
                         f"{'no layer named ' + str(sorted(missing)) if missing else 'the model has none'} "
                         f"(layers: {[l.name for l in model.layers]})")
    return layers


class LambdaCallback(Callback):
    """A callback from plain functions: on_epoch_end=lambda epoch, logs: ... Extra keyword
    arguments become attributes (Keras 2.0), e.g. to keep state the functions share."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        for name, fn in dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                             on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                             on_train_begin=on_train_begin, on_train_end=on_train_end).items():
            if fn is not None:
                setattr(self, name, fn)


__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
           "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "TensorBoard", "LambdaCallback"]
