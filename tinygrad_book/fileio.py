"""Writing files so that nothing is ever half-written.

`atomic_write(path, write)` lets `write` fill a temporary file in the same folder,
then renames it over `path` with os.replace, which is atomic on one file system: a
reader, or a crash in the middle, sees the old file or the new one, never a mix.
Checkpoints, saved models and result tables all go through it.
"""
from __future__ import annotations

import os
import tempfile


def atomic_write(path, write):
    """write(tmp_path), then rename tmp_path over path; on any error remove tmp_path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
