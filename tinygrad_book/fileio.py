"""Writing files so that nothing is ever half-written, left behind, or unreadable to others.

`atomic_write(path, write)` lets `write` fill a temporary file in the same folder,
then renames it over `path` with os.replace, which is atomic on one file system: a
reader, or a crash in the middle, sees the old file or the new one, never a mix.
Checkpoints, saved models and result tables all go through it. Three details:

* mkstemp creates its file with mode 0600 and os.replace keeps that mode, so a shared
  folder would fill with files only their writer can read. The finished file gets
  0666 & ~umask instead (0644 by default), as `open(path, "w")` would give it.
* The temporary name holds the writer's process id (`.tmp-<pid>-...`). A save killed
  outright (SIGKILL, power cut) leaves its temporary file; the next save to that folder
  removes the temporary files of processes that no longer exist.
* SIGTERM (what `kill` and job schedulers send) normally ends Python at once, skipping
  every cleanup; while a file is being written it raises SystemExit instead, so the
  temporary file is removed and the process still ends (exit status 143).
"""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading

TEMP_PREFIX = ".tmp-"


def current_umask() -> int:
    """The process's umask (read from /proc on Linux; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode a newly created file gets: 0666 less the umask."""
    return 0o666 & ~current_umask()


def default_dir_mode() -> int:
    """The mode a newly created folder gets: 0777 less the umask."""
    return 0o777 & ~current_umask()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # it exists, it is someone else's
        return True
    return True


def remove_stale_temp_files(folder) -> list:
    """Remove `.tmp-<pid>-*` files in `folder` whose writing process is gone; returns their paths."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        pid_text = name[len(TEMP_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            os.remove(path)
            removed.append(path)
    return removed


class Terminated(SystemExit):
    """SIGTERM arrived while a file was being written (exit status 128 + 15)."""

    def __init__(self):
        super().__init__(128 + signal.SIGTERM)


@contextlib.contextmanager
def sigterm_raises():
    """Inside the block, SIGTERM raises `Terminated` (so `finally`/`except` cleanups run).

    Only the main thread can set signal handlers, and a handler the program installed itself
    is left alone."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def atomic_write(path, write):
    """write(tmp_path), then rename tmp_path over path; on any error (or SIGTERM) remove tmp_path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temp_files(folder)
    tmp = None
    with sigterm_raises():
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{os.getpid()}-",
                                       suffix=os.path.basename(path))
            os.close(fd)
            write(tmp)
            os.chmod(tmp, default_file_mode())
            os.replace(tmp, path)
        except BaseException:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
            raise
