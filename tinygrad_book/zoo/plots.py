"""The book's training curves with matplotlib (listings 3.9-3.10, 3.19-3.20, 3.30, figs 4.4-4.9).

Headless (Agg backend): figures go to PNG files, never to a window.
"""
from __future__ import annotations

from .runner import curve


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_history(history: dict, path, title=""):
    """Loss and metric, training ('bo' dots) and validation (blue line), as the book draws them.

    Works for any History of ours: 'acc' curves, 'mae' curves (Boston) or validation only.
    """
    plt = _pyplot()
    panels = [("loss", curve(history, "loss"), curve(history, "val_loss")),
              ("accuracy", curve(history, "acc", "accuracy"),
               curve(history, "val_acc", "val_accuracy")),
              ("MAE", curve(history, "mae", "mean_absolute_error"),
               curve(history, "val_mae", "val_mean_absolute_error"))]
    panels = [p for p in panels if p[1] or p[2]]
    # l1/l1_l2 runs store suffixed curves: draw their validation losses side by side
    variants = sorted(k for k in history if k.startswith("val_loss_"))
    if not panels and variants:
        panels = [("validation loss", None, None)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (name, train, val) in zip(axes[0], panels):
        if train:
            ax.plot(range(1, len(train) + 1), train, "bo", markersize=4, label=f"Training {name}")
        if val:
            ax.plot(range(1, len(val) + 1), val, "b", label=f"Validation {name}")
        if name == "validation loss":
            for key, style in zip(variants, ("b+", "bo", "rx")):
                ax.plot(range(1, len(history[key]) + 1), history[key], style,
                        label=key.replace("val_loss_", "") + " model")
        ax.set_xlabel("Epochs")
        ax.set_ylabel(name.capitalize())
        ax.set_title(f"{title}: {name}" if title else name)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_comparison(reference: dict, variant: dict, path, variant_name, key="val_loss"):
    """Figures 4.4-4.9: the validation loss of a variant ('bo') against the original ('b+')."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for history, style, label in ((reference, "b+", "Original model"),
                                  (variant, "bo", variant_name)):
        values = curve(history, key)
        if values:
            ax.plot(range(1, len(values) + 1), values, style, label=label)
    ax.set_xlabel("Epochs")
    ax.set_ylabel("Validation loss" if key == "val_loss" else key)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_boston_mae(average_mae_history, path, smooth=None):
    """Listings 3.30-3.31: mean validation MAE per epoch, raw and smoothed (first 10 dropped)."""
    plt = _pyplot()
    n = 2 if smooth else 1
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4), squeeze=False)
    axes[0][0].plot(range(1, len(average_mae_history) + 1), average_mae_history)
    axes[0][0].set_title("Validation MAE (mean of 4 folds)")
    if smooth:
        axes[0][1].plot(range(11, len(smooth) + 11), smooth)
        axes[0][1].set_title("Smoothed, first 10 epochs dropped")
    for ax in axes[0]:
        ax.set_xlabel("Epochs")
        ax.set_ylabel("Validation MAE")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)



def plot_batch_losses(path, batch_losses, epoch_values, epoch_label, ylabel, title, log_scale=False):
    """Every batch's loss (grey line, x in fractional epochs) and one value per epoch (blue
    dots at epochs 1, 2, ...): the curves of runs that log each batch (chapter 8)."""
    import numpy as np
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    epochs = len(epoch_values)
    ax.plot(np.arange(1, len(batch_losses) + 1) * epochs / len(batch_losses), batch_losses, color="0.7",
            lw=0.8, label="batch loss")
    ax.plot(range(1, epochs + 1), epoch_values, "bo", label=epoch_label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def figures_folder():
    """Where runs that draw images (the chapter-5 visualisations) write them: <cache>/figures.
    A result names its images (``result["figures"]``, file names in this folder)."""
    from ..data.download import cache_home
    folder = cache_home() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_figures(figures, img_dir):
    """Copy the images a run drew (``result["figures"]``: file names in ``figures_folder()``)
    into ``img_dir``; those no longer there are skipped (the copies in ``img_dir`` stay)."""
    import shutil
    from pathlib import Path

    for name in figures or []:
        source = figures_folder() / name
        if source.is_file() and source.resolve() != (Path(img_dir) / name).resolve():
            shutil.copyfile(source, Path(img_dir) / name)


def copy_figures_as(figures, main_name, path):
    """Copy ``figures`` (file names in ``figures_folder()``): ``main_name`` to ``path``, each
    other one to ``path`` with its suffix (``x.png`` + ``<id>-heatmap.png`` -> ``x-heatmap.png``)."""
    import shutil
    from pathlib import Path

    path, stem = Path(path), Path(main_name).stem
    for name in figures:
        target = path if name == main_name else path.with_name(path.stem + Path(name).stem[len(stem):] + path.suffix)
        shutil.copyfile(figures_folder() / name, target)
