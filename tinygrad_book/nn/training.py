"""compile / fit / evaluate / predict: the training loop, step by step.

The methods take Keras 2's argument names and no others: a misspelled one
(`fit(x, y, epoch=5)`) is a TypeError naming it, not a silently ignored setting.
Keras arguments we do not implement (sample weights, class weights, worker
processes) are accepted by name and raise NotImplementedError when given a value.

One training step (`train_step`) is, in order:
  1. numpy batch -> Tensors on the model's device (one host-to-device copy each),
  2. forward in training mode (dropout on); for a softmax/sigmoid output the last
     layer also hands back its logits so the loss is the stable fused form,
  3. loss = sum over outputs of loss_weight * mean per-sample loss, + weight penalties,
  4. loss.backward() fills .grad of every weight that requires it,
  5. optimizer.step(trainable weights) under no_grad, then the gradients are dropped,
  6. one host copy of the loss (and of the predictions, only if metrics need them).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, default_device, no_grad
from ..utils.memory import for_training as keep_freed_memory_for_training
from . import callbacks as cbks
from .callback_scope import scoped_callbacks
from .fit_checks import check_fit_arguments
from .inputs import model_inputs
from . import losses as L
from . import metrics as M
from . import optimizers
from .progbar import ProgbarLogger, format_logs
from .seeding import rng


class _OutputSpec:
    """What compile decided for one output: its loss, weight, metrics and names."""

    def __init__(self, name, loss, weight, metrics, prefix):
        self.name, self.loss, self.weight, self.metrics, self.prefix = name, loss, weight, metrics, prefix
        self.logits_loss = None   # the from-logits form, when the output layer allows it


def _per_output(value, names, what):
    """A compile argument as one entry per output: a dict by output name, a list, or one for all."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} for unknown output(s) {sorted(unknown)}; outputs are {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != len(names):
            raise ValueError(f"compile: {len(value)} {what} for {len(names)} outputs {names}")
        return list(value)
    return [value] * len(names)


def _not_implemented(method, **given):
    """Keras arguments we accept by name but do not implement: refuse a value."""
    used = sorted(name for name, value in given.items() if value is not None)
    if used:
        raise NotImplementedError(f"{method}: {', '.join(used)} not implemented (leave at None)")


class LogAverage:
    """Per-batch logs -> their running, sample-weighted means (a batch of 10 samples
    counts 10 times as much as a batch of 1): what fit reports for an epoch and
    evaluate for a dataset."""

    def __init__(self):
        self.sums, self.seen = {}, 0

    def add(self, logs: dict, count: int) -> dict:
        """Add one batch's logs (means over its `count` samples); returns the means so far."""
        self.seen += count
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * count
        return self.means()

    def means(self) -> dict:
        return {k: v / max(self.seen, 1) for k, v in self.sums.items()}


class Training:
    """The Keras training API, mixed into Model."""

    def __init__(self):
        self.optimizer = None
        self.stop_training = False
        self._compile_args = None
        self._specs = None
        self._trainable_ids = None
        self._loss_tensors = []

    # --- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None):
        """Choose the optimizer, loss(es) and metrics. Also snapshots which weights are
        trainable (as Keras: change layer.trainable, then compile again)."""
        _not_implemented("compile", sample_weight_mode=sample_weight_mode, weighted_metrics=weighted_metrics,
                         target_tensors=target_tensors)
        self.optimizer = optimizers.get(optimizer)
        self._compile_args = (loss, metrics, loss_weights)
        self._specs = None
        if self.built:
            self._resolve_compile()

    def _resolve_compile(self):
        loss, metrics, loss_weights = self._compile_args
        names = self.output_names
        losses = [L.get(l) if l is not None else None for l in _per_output(loss, names, "losses")]
        if all(l is None for l in losses) and not self.losses:
            raise ValueError("compile: a loss is needed (e.g. loss='categorical_crossentropy'); loss=None "
                             "only for a model whose layers add their own (add_loss)")
        weights = _per_output(loss_weights if loss_weights is not None else 1.0, names, "loss_weights")
        metric_lists = _per_output(metrics or [], names, "metrics")
        multi = len(names) > 1
        specs = []
        for i, name in enumerate(names):
            shape = self.outputs[i].shape
            wanted = metric_lists[i] or []
            wanted = [wanted] if isinstance(wanted, str) or callable(wanted) else wanted
            if wanted and losses[i] is None:
                raise ValueError(f"compile: metrics for output {name!r}, which has no loss (loss=None): "
                                 "no targets are given for it")
            resolved = [M.resolve(m, losses[i], shape) for m in wanted]
            spec = _OutputSpec(name, losses[i], float(weights[i] if weights[i] is not None else 1.0),
                               resolved, f"{name}_" if multi else "")
            spec.logits_loss = L.logits_form(losses[i], getattr(self.outputs[i].node.layer, "activation_name", None))
            specs.append(spec)
        self._specs = specs
        self._loss_tensors = self.losses    # add_loss tensors, evaluated with the outputs
        self._trainable_ids = {id(w) for w in self.trainable_weights}

    def _ensure_ready(self, xs):
        if not self.built:
            self.build(xs[0].shape)
        if self._compile_args is None:
            raise RuntimeError(f"model {self.name}: call compile(optimizer, loss) before training or evaluating")
        if self._specs is None:
            self._resolve_compile()

    @property
    def compile_settings(self):
        """(loss, metrics, loss_weights) as given to compile, or None before compile."""
        return self._compile_args

    @property
    def metrics_names(self):
        if self._specs is None:
            return ["loss"]
        names = ["loss"] + ([f"{s.name}_loss" for s in self._specs] if len(self._specs) > 1 else [])
        return names + [s.prefix + key for s in self._specs for key, _ in s.metrics]

    # --- data -----------------------------------------------------------------------
    def _arrays(self, data, names, what):
        """x or y as a list of numpy arrays, one per model input/output."""
        if data is None:
            raise ValueError(f"{what} is missing")
        if isinstance(data, dict):
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"{what}: no data for {missing}; the dict has {sorted(data)}")
            data = [data[n] for n in names]
        elif not isinstance(data, (list, tuple)) or len(names) == 1 and not _is_list_of_arrays(data, len(names)):
            data = [data]
        arrays = [np.asarray(a) for a in data]
        if len(arrays) != len(names):
            raise ValueError(f"{what}: the model has {len(names)} of them ({names}), got {len(arrays)} arrays")
        counts = {a.shape[0] for a in arrays}
        if len(counts) > 1:
            raise ValueError(f"{what}: arrays have different numbers of samples {sorted(counts)}")
        return arrays

    def _xy(self, x, y):
        names_in = self.input_names if self.inputs else ["input"]
        xs = self._arrays(x, names_in, "x")
        ys = self._arrays(y, self._target_names(), "y") if y is not None else None
        if ys is not None and xs[0].shape[0] != ys[0].shape[0]:
            raise ValueError(f"x has {xs[0].shape[0]} samples but y has {ys[0].shape[0]}")
        return xs, ys

    def _target_names(self) -> list:
        """The outputs that take targets: all of them, less those compiled with loss None."""
        names = self.output_names if self.outputs else ["output"]
        if self._specs is not None:
            return [s.name for s in self._specs if s.loss is not None]
        return names

    def _targets(self, ys, method) -> list:
        """ys, or [] for a model compiled with loss=None (its layers add their losses)."""
        if ys is not None:
            return ys
        if self._specs is None or any(s.loss is not None for s in self._specs):
            raise ValueError(f"{method}: y (targets) is missing")
        return []

    def _device(self):
        for w in self.weights:
            return w.device
        return self.device or default_device()

    def _to_device(self, arrays):
        device = self._device()
        return [Tensor(a, device=device) for a in arrays]

    # --- one step ---------------------------------------------------------------------
    def _sync_requires_grad(self):
        """Only the weights trainable at compile time get gradients."""
        for w in self.weights:
            w.requires_grad = id(w) in self._trainable_ids

    def _losses(self, outs, logits, ys, added=()):
        """(total loss Tensor, [per-output mean loss Tensors]); ys has a target for each
        output with a loss."""
        total, per_output, targets = None, [], iter(ys)
        for spec, out, z in zip(self._specs, outs, logits):
            if spec.loss is None:
                continue
            y = next(targets)
            per_sample = spec.logits_loss(y, z) if z is not None else spec.loss(y, out)
            mean = per_sample.mean()
            per_output.append(mean)
            term = mean * spec.weight if spec.weight != 1.0 else mean
            total = term if total is None else total + term
        for value in added:               # add_loss tensors (a non-scalar one summed)
            value = value if value.size == 1 else value.sum()
            total = value.reshape(()) if total is None else total + value.reshape(())
        for reg, w in self.penalties():   # Keras reports the penalty in loss and in evaluate
            total = total + reg(w)
        return total, per_output

    def _logs(self, total, per_output, outs, ys_host):
        logs = {"loss": float(total.item())}
        with_loss = [s for s in self._specs if s.loss is not None]
        if len(self._specs) > 1:
            for spec, l in zip(with_loss, per_output):
                logs[f"{spec.name}_loss"] = float(l.item())
        for spec, out, y in zip(with_loss, [o for s, o in zip(self._specs, outs) if s.loss is not None], ys_host):
            if spec.metrics:
                pred = out.numpy()   # one host copy per output, shared by its metrics
                for key, fn in spec.metrics:
                    logs[spec.prefix + key] = fn(y, pred)
        return logs

    def train_step(self, xs_host, ys_host) -> dict:
        """One gradient step on one batch (lists of numpy arrays, one per input / output):
        forward in training mode, loss, backward, optimizer step. Returns its logs."""
        self._sync_requires_grad()
        xs, ys = self._to_device(model_inputs(self, xs_host)), self._to_device(ys_host)
        fused = [i for i, s in enumerate(self._specs) if s.logits_loss is not None]
        outs, logits, added = self._forward(xs, True, fused)
        total, per_output = self._losses(outs, logits, ys, added)
        params = [w for w in self.weights if id(w) in self._trainable_ids]
        if params:
            total.backward()
            self.optimizer.step(params)
            for w in params:
                w.grad = None
        return self._logs(total, per_output, outs, ys_host)

    def _forward(self, xs, training, fused):
        """forward, and the values of the add_loss tensors (only asked for when there are some)."""
        if self._loss_tensors:
            return self.forward(xs, training=training, logits_for=fused, with_losses=True)
        return (*self.forward(xs, training=training, logits_for=fused), [])

    def test_step(self, xs_host, ys_host) -> dict:
        """Loss and metrics of one batch in inference mode (no gradients)."""
        with no_grad():
            xs, ys = self._to_device(model_inputs(self, xs_host)), self._to_device(ys_host)
            outs, _, added = self._forward(xs, False, ())
            total, per_output = self._losses(outs, [None] * len(outs), ys, added)
            return self._logs(total, per_output, outs, ys_host)

    def train_on_batch(self, x, y):
        """One gradient step on this batch; returns the loss (or [loss, metrics...])."""
        keep_freed_memory_for_training()
        xs, ys = self._xy(x, y)
        self._ensure_ready(xs)
        return _unwrap(self.train_step(xs, self._targets(ys, "train_on_batch")))

    def test_on_batch(self, x, y):
        xs, ys = self._xy(x, y)
        self._ensure_ready(xs)
        return _unwrap(self.test_step(xs, self._targets(ys, "test_on_batch")))

    # --- fit ------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None):
        """Train for `epochs` passes over (x, y); returns a History.

        validation_split takes the *last* fraction of the samples (before shuffling),
        as Keras does. Each epoch's logged loss and metrics are the sample-weighted means
        over its batches."""
        _not_implemented("fit", class_weight=class_weight, sample_weight=sample_weight)
        xs, ys = self._xy(x, y)
        if self._compile_args is not None and self._specs is None and self.built:
            self._resolve_compile()
        ys = self._targets(ys, "fit")
        if validation_split and validation_data is None:
            cut = int(xs[0].shape[0] * (1.0 - validation_split))
            validation_data = ([a[cut:] for a in xs], [a[cut:] for a in ys])
            xs, ys = [a[:cut] for a in xs], [a[:cut] for a in ys]
        check_fit_arguments(epochs, batch_size, xs[0].shape[0])
        self._ensure_ready(xs)
        batch_size = batch_size or 32
        n = xs[0].shape[0]

        def epoch_batches():
            order = rng().permutation(n) if shuffle else None
            for start in range(0, n, batch_size):
                sel = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
                yield [a[sel] for a in xs], [a[sel] for a in ys]

        steps = steps_per_epoch or math.ceil(n / batch_size)
        validate, seen_by_callbacks = None, None
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            validate = lambda: self._evaluate_batches(self._array_batches(vx, vy, batch_size))  # noqa: E731
            seen_by_callbacks = cbks.keras_validation_data(*self._xy(vx, vy))
        return self._fit_loop(epoch_batches, steps, epochs, verbose, callbacks, validate, initial_epoch,
                              info=dict(batch_size=batch_size, samples=n, validation_data=seen_by_callbacks))

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """fit on batches from a generator yielding (x, y); steps_per_epoch batches make an epoch.
        Batches are drawn in this process, in order (max_queue_size, workers, use_multiprocessing
        and shuffle are Keras' settings for worker processes, accepted and unused)."""
        _not_implemented("fit_generator", class_weight=class_weight)
        check_fit_arguments(epochs)
        if steps_per_epoch is None:
            if not hasattr(generator, "__len__"):
                raise ValueError("fit_generator: give steps_per_epoch for a generator without len()")
            steps_per_epoch = len(generator)
        source = _batch_source(generator)

        def epoch_batches():
            for _ in range(steps_per_epoch):
                yield self._xy(*_split_batch(next(source)))

        validate, seen_by_callbacks = None, None
        if validation_data is not None:
            if isinstance(validation_data, tuple):
                vx, vy = validation_data[0], validation_data[1]
                validate = lambda: self._evaluate_batches(self._array_batches(vx, vy, 32))  # noqa: E731
                seen_by_callbacks = cbks.keras_validation_data(*self._xy(vx, vy))
            else:
                vsource = _batch_source(validation_data)
                vsteps = validation_steps or len(validation_data)
                validate = lambda: self._evaluate_batches(  # noqa: E731
                    self._xy(*_split_batch(next(vsource))) for _ in range(vsteps))
        return self._fit_loop(epoch_batches, steps_per_epoch, epochs, verbose, callbacks, validate,
                              initial_epoch, first=lambda b: self._ensure_ready(b[0]),
                              info=dict(validation_data=seen_by_callbacks))

    def _fit_loop(self, epoch_batches, steps, epochs, verbose, callbacks, validate, initial_epoch, first=None,
                  info=None):
        """info: batch_size and samples for the callbacks' params (Keras 2.0's keys), and
        validation_data, the arrays callbacks see as self.validation_data (None: not seen).
        Before the first step of the process, malloc is told to keep freed memory
        (utils.memory.for_training: each step's large arrays then reuse the last step's
        pages; the MNIST convnet trains ~1.8x faster)."""
        keep_freed_memory_for_training()
        self.history = cbks.History()
        extra = [ProgbarLogger(verbose)] if verbose else []
        info = dict(info or {})
        seen_by_callbacks = info.pop("validation_data", None)
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "do_validation": validate is not None,
                  "metrics": cbks.callback_metrics(self.metrics_names, validate is not None), **info}
        cb = cbks.CallbackList([self.history] + list(callbacks or []) + scoped_callbacks() + extra,
                               self, params, seen_by_callbacks)
        self.stop_training = False
        cb.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch, {})
            average = LogAverage()
            for index, (xb, yb) in enumerate(epoch_batches()):
                if first is not None:
                    first((xb, yb))
                count = len(xb[0])
                cb.on_train_batch_begin(index, {"batch": index, "size": count})
                logs = self.train_step(xb, yb)
                params["running_logs"] = average.add(logs, count)
                cb.on_train_batch_end(index, {"batch": index, "size": count, **logs})
                if self.stop_training:
                    break
            epoch_logs = average.means()
            if validate is not None and not (self.stop_training and not average.seen):
                epoch_logs.update({f"val_{k}": v for k, v in validate().items()})
            _add_aliases(epoch_logs)
            cb.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cb.on_train_end({})
        return self.history

    # --- evaluate / predict ------------------------------------------------------------
    def _array_batches(self, x, y, batch_size):
        xs, ys = self._xy(x, y)
        ys = ys if ys is not None else []
        n = xs[0].shape[0]
        return (([a[s:s + batch_size] for a in xs], [a[s:s + batch_size] for a in ys])
                for s in range(0, n, batch_size))

    def _evaluate_batches(self, batches):
        average = LogAverage()
        for xb, yb in batches:
            self._ensure_ready(xb)
            average.add(self.test_step(xb, yb), len(xb[0]))
        return average.means()

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None):
        """Loss (and metrics) on (x, y) in inference mode: a float, or [loss, metric, ...]."""
        _not_implemented("evaluate", sample_weight=sample_weight)
        logs = self._evaluate_batches(self._array_batches(x, y, batch_size or 32))
        if verbose:
            print(f"{len(self._arrays(x, self.input_names, 'x')[0])} samples{format_logs(logs)}")
        return _unwrap(logs)

    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                           verbose=0):
        steps = steps or len(generator)
        source = _batch_source(generator)
        logs = self._evaluate_batches(self._xy(*_split_batch(next(source))) for _ in range(steps))
        return _unwrap(logs)

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """Outputs in inference mode as numpy (a list of arrays for several outputs)."""
        xs = self._arrays(x, self.input_names if self.inputs else ["input"], "x")
        if not self.built:
            self.build(xs[0].shape)
        batch_size = batch_size or 32
        chunks = [self._predict_batch(xs, s, s + batch_size) for s in range(0, xs[0].shape[0], batch_size)]
        outs = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
        return outs[0] if len(outs) == 1 else outs

    def _predict_batch(self, xs, start, stop):
        with no_grad():
            outs, _ = self.forward(self._to_device(model_inputs(self, [a[start:stop] for a in xs])), training=False)
            return [o.numpy() for o in outs]

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(x) if not isinstance(x, (list, dict)) else None)

    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                          verbose=0):
        steps = steps or len(generator)
        source = _batch_source(generator)
        chunks = []
        for _ in range(steps):
            batch = next(source)
            x = batch[0] if isinstance(batch, tuple) else batch
            out = self.predict(x, batch_size=len(x) if not isinstance(x, (list, dict)) else None)
            chunks.append(out if isinstance(out, list) else [out])
        outs = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
        return outs[0] if len(outs) == 1 else outs


def _is_list_of_arrays(data, count):
    return len(data) == count and all(hasattr(a, "shape") for a in data)


def _unwrap(logs):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _add_aliases(logs):
    """Also log 'mae' as 'mean_absolute_error' (Keras 2.2's key, which the book reads)."""
    for key in list(logs):
        base = key[4:] if key.startswith("val_") else key
        prefix = key[:4] if key.startswith("val_") else ""
        for short, long in M.ALIASES.items():
            if base == short or base.endswith("_" + short):
                alias = prefix + base[: len(base) - len(short)] + long
                logs.setdefault(alias, logs[key])


def _batch_source(generator):
    """An iterator of batches from a generator, an iterator, or a Keras-style Sequence."""
    if hasattr(generator, "__next__"):
        return generator
    if hasattr(generator, "__getitem__") and hasattr(generator, "__len__"):
        def cycle():
            while True:
                for i in range(len(generator)):
                    yield generator[i]
        return cycle()
    return iter(generator)


def _split_batch(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError("a training generator must yield (x, y) tuples")
    return batch[0], batch[1]
