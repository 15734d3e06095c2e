"""The five OpenCV calls of listing 5.44, so the listing runs as printed with one import
changed: ``import cv2`` -> ``from tinygrad_book.preprocessing import opencv as cv2``.

OpenCV is a large dependency for four lines of one listing; Pillow reads, resizes and writes
here, and the jet colour map is the MATLAB formula that OpenCV's table samples. What the
listing relies on is kept: images are uint8 arrays in **BGR** channel order, ``resize``
takes the size as (width, height), ``imwrite`` rounds and saturates to uint8.

One deliberate difference: ``cv2.imread`` returns None for a file it cannot read (the
listing would fail later, far from the cause); here it raises an error naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

COLORMAP_JET = 2          # OpenCV's value of the constant


def imread(path) -> np.ndarray:
    """The image at ``path`` as uint8 (h, w, 3), channels in BGR order."""
    from PIL import Image

    if not Path(path).is_file():
        raise FileNotFoundError(f"imread: no image file at {path}")
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[..., ::-1])


def resize(src, dsize) -> np.ndarray:
    """``src`` (h, w) or (h, w, c) resized to ``dsize`` = (width, height), bilinear (OpenCV's
    default INTER_LINEAR); the dtype stays (float maps stay float)."""
    from PIL import Image

    src = np.asarray(src)
    width, height = (int(v) for v in dsize)
    if src.ndim not in (2, 3) or width < 1 or height < 1:
        raise ValueError(f"resize: need a (h, w) or (h, w, c) image and a positive (width, height), "
                         f"got shape {src.shape} and dsize {dsize}")
    if src.ndim == 3:
        return np.stack([resize(src[..., c], dsize) for c in range(src.shape[2])], axis=-1)
    if src.dtype == np.uint8:
        return np.asarray(Image.fromarray(src).resize((width, height), Image.BILINEAR))
    plane = Image.fromarray(src.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR)
    return np.asarray(plane).astype(src.dtype)


def jet(levels) -> np.ndarray:
    """MATLAB's jet colour map at ``levels`` in [0, 1], as RGB in [0, 1]: blue (0) -> cyan ->
    yellow -> red (1), each channel a clipped tent 1.5 - |4x - centre|."""
    x = np.asarray(levels, dtype=np.float64)[..., None]
    return np.clip(1.5 - np.abs(4 * x - np.array([3.0, 2.0, 1.0])), 0.0, 1.0)


def applyColorMap(src, colormap) -> np.ndarray:   # noqa: N802 - OpenCV's name, as the listing calls it
    """A uint8 (h, w) map coloured with ``colormap`` (only COLORMAP_JET): uint8 (h, w, 3) BGR."""
    src = np.asarray(src)
    if colormap != COLORMAP_JET:
        raise ValueError(f"applyColorMap: only COLORMAP_JET ({COLORMAP_JET}) is provided, got {colormap}")
    if src.dtype != np.uint8 or src.ndim != 2:
        raise ValueError(f"applyColorMap: need a uint8 (h, w) map, got {src.dtype} {src.shape}")
    table = np.rint(255 * jet(np.arange(256) / 255.0)).astype(np.uint8)[:, ::-1]   # RGB -> BGR
    return table[src]


def saturate_uint8(img) -> np.ndarray:
    """What OpenCV does to a float image on the way to 8 bits: round, then clip to [0, 255]."""
    return np.clip(np.rint(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)


def imwrite(path, img) -> bool:
    """Write the BGR image ``img`` (any numeric dtype: rounded and saturated to uint8) to
    ``path``; the format from its suffix. Written to a temporary file first, then renamed."""
    from PIL import Image

    pixels = saturate_uint8(img)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"imwrite: need a (h, w, 3) BGR image, got shape {pixels.shape}")
    path = Path(path)
    temporary = path.with_name(f".{path.name}.part")
    Image.fromarray(np.ascontiguousarray(pixels[..., ::-1])).save(temporary, format=Image.registered_extensions()
                                                                  .get(path.suffix.lower(), "PNG"))
    os.replace(temporary, path)
    return True
