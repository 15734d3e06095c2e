"""The download cache: find a data file locally, or fetch it once, verified and written atomically.

Where files live (the only two places the library looks or writes):

* ``data_home()`` -- dataset files, laid out ``<data_home>/<dataset>/<file>`` (``mnist/mnist.npz``,
  ``imdb/imdb.npz``, ...). Default ``~/.tinygrad_book/datasets``; the environment variable
  ``TINYGRAD_BOOK_DATA`` points it at another folder, e.g. a shared read-only copy of the data.
* ``cache_home()`` -- archives unpacked by the loaders (aclImdb, cats-vs-dogs, ...). Default
  ``~/.tinygrad_book/cache``, or ``TINYGRAD_BOOK_CACHE``. Kept apart from the data so that a shared
  data folder is never written into by unpacking.

``TINYGRAD_BOOK_OFFLINE=1`` forbids the network: a missing file raises ``DatasetNotFoundError`` at
once, with the URL it comes from and the path to put it at.

The guarantees, each with a test in ``tests/data/test_data_download.py``:

* a download goes to a temporary file in the target folder and is renamed into place
  (``os.replace``, atomic on one file system) only when it is complete and its hash matches,
  so the cache never holds a partial or unverified file;
* a hash of 32 hex digits is md5 (Keras' published hashes), 64 is sha256;
* downloaded files and unpacked folders get the permissions the umask allows (0644 / 0755 by
  default), so a shared data cache stays readable to its other users;
* a file already present is used as it is: it was either verified when we downloaded it, or put
  there on purpose by the user (the project's shared copies are verified reconstructions whose
  bytes differ from Keras' files, so re-checking Keras' hash would wrongly reject them).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from ..fileio import default_dir_mode, default_file_mode

ENV_DATA = "TINYGRAD_BOOK_DATA"
ENV_CACHE = "TINYGRAD_BOOK_CACHE"
ENV_OFFLINE = "TINYGRAD_BOOK_OFFLINE"

_CHUNK = 1 << 16
_PROGRESS_MIN_BYTES = 1 << 20  # show a progress bar for files from 1 MiB up


# --------------------------------------------------------------------------- errors

class DatasetNotFoundError(FileNotFoundError):
    """A data file is not on disk and could not be downloaded (offline, or the download failed).

    The message names the file, the URL it comes from, where it was expected, and the two ways to
    provide it. Attributes: ``fname``, ``origin``, ``path``.
    """

    def __init__(self, fname, origin, path, reason, hint=""):
        self.fname, self.origin, self.path = fname, origin, str(path)
        where = f"  It comes from: {origin}\n" if origin else ""
        how = (f"download it to {path}" if origin else f"put it at {path}")
        super().__init__(
            f"{fname!r} is not available: {reason}.\n{where}"
            f"  Expected at:   {path}\n"
            f"  To provide it: {how}, or set {ENV_DATA} to a folder that holds "
            f"{_tail(path)} (the folder layout of the project's data copies)."
            + (f" Unset {ENV_OFFLINE} to let the library download it." if is_offline() else "")
            + (f"\n  Note: {hint}" if hint else ""))


class FolderLayoutError(FileNotFoundError):
    """A data folder exists but does not have the expected sub-folders; the message lists them."""


class DownloadError(DatasetNotFoundError):
    """The download was attempted and failed (network error, or the transfer was cut off)."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the published hash; nothing was written to the cache."""


class CorruptFileError(ValueError):
    """A file is on disk but cannot be read as what it should be (e.g. a truncated .npz)."""


def _tail(path):
    """The last two parts of a path: ``mnist/mnist.npz``."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


# --------------------------------------------------------------------------- places

def is_offline() -> bool:
    """True when ``TINYGRAD_BOOK_OFFLINE`` is set to 1/true/yes/on: no network access at all."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def app_home() -> Path:
    """``~/.tinygrad_book``: the library's own folder in the user's home."""
    return Path(os.path.expanduser("~")) / ".tinygrad_book"


def data_home() -> Path:
    """The folder dataset files are found in and downloaded to (``$TINYGRAD_BOOK_DATA`` or the default)."""
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else app_home() / "datasets"


def cache_home() -> Path:
    """The folder archives are unpacked into (``$TINYGRAD_BOOK_CACHE`` or ``~/.tinygrad_book/cache``)."""
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else app_home() / "cache"


def _target_folder(cache_subdir, cache_dir):
    # Keras puts files in <cache_dir>/<cache_subdir> (default ~/.keras/datasets). Here the
    # 'datasets' part maps to data_home(), so that TINYGRAD_BOOK_DATA relocates every dataset.
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / cache_subdir
    parts = Path(cache_subdir).parts
    if parts and parts[0] == "datasets":
        return data_home().joinpath(*parts[1:])
    return app_home() / cache_subdir


# --------------------------------------------------------------------------- hashing

def hash_file(path, algorithm="sha256") -> str:
    """Hex digest of a file, read in chunks (datasets can be larger than memory)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _algorithm(file_hash, hash_algorithm="auto"):
    if hash_algorithm != "auto":
        return hash_algorithm
    return "md5" if len(file_hash) == 32 else "sha256"


# --------------------------------------------------------------------------- download

class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, name, total, stream=None):
        self.name, self.total, self.stream = name, total, stream or sys.stderr
        self.last = 0.0

    def update(self, done, final=False):
        now = time.monotonic()
        if not final and now - self.last < 0.1:
            return
        self.last = now
        mb = done / 1e6
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "#" * int(30 * frac)
            line = f"\r{self.name}: [{bar:<30}] {100 * frac:5.1f}% {mb:.1f}/{self.total / 1e6:.1f} MB"
        else:
            line = f"\r{self.name}: {mb:.1f} MB"
        self.stream.write(line + ("\n" if final else ""))
        self.stream.flush()


def download_file(origin, dest, file_hash=None, hash_algorithm="auto", progress=None, timeout=60):
    """Download ``origin`` to ``dest``; all-or-nothing.

    The bytes go to a temporary file next to ``dest``; it is renamed to ``dest`` only after the
    transfer is complete (as many bytes as the server's Content-Length) and the hash matches.
    On any failure the temporary file is removed and ``dest`` is untouched, so a retry starts clean.
    ``progress``: True/False, or None for "only for files of 1 MiB or more".
    Raises ``DownloadError`` (network, cut-off transfer) or ``ChecksumError``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    algorithm = _algorithm(file_hash, hash_algorithm) if file_hash else "sha256"
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        hasher = hashlib.new(algorithm)
        received, total = 0, None
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(origin, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length else None
                show = progress if progress is not None else (total is None or total >= _PROGRESS_MIN_BYTES)
                bar = _Progress(dest.name, total) if show else None
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
                    if bar:
                        bar.update(received)
                if bar:
                    bar.update(received, final=True)
        except (urllib.error.URLError, HTTPException, OSError) as e:
            raise DownloadError(dest.name, origin, dest, f"the download failed ({e})") from e
        # http.client does not complain when a server closes the connection before sending
        # Content-Length bytes; check it here, or a truncated file would pass as complete.
        if total is not None and received != total:
            raise DownloadError(dest.name, origin, dest,
                                f"the transfer was cut off after {received} of {total} bytes")
        if file_hash and hasher.hexdigest() != file_hash.lower():
            raise ChecksumError(dest.name, origin, dest,
                                f"the downloaded file's {algorithm} is {hasher.hexdigest()}, "
                                f"expected {file_hash} (nothing was kept)")
        os.chmod(tmp, default_file_mode())   # mkstemp's 0600 would survive the rename
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def get_file(fname, origin, file_hash=None, cache_subdir="datasets", extract=False,
             hash_algorithm="auto", cache_dir=None, progress=None, timeout=60) -> str:
    """Return the local path of ``fname``, downloading it from ``origin`` first if it is missing.

    Keras' ``keras.utils.get_file``, with these places: the file is
    ``<data_home()>/<rest>/<fname>`` for ``cache_subdir='datasets/<rest>'`` (the default
    ``'datasets'`` is ``data_home()`` itself), ``~/.tinygrad_book/<cache_subdir>/<fname>`` for any
    other subdir, or ``<cache_dir>/<cache_subdir>/<fname>`` when ``cache_dir`` is given.
    ``file_hash``: md5 (32 hex digits) or sha256 (64), checked on download.
    ``extract=True`` unpacks a tar/tar.gz/tar.xz/zip archive next to it (as Keras does).
    Raises ``DatasetNotFoundError`` when the file is missing and ``TINYGRAD_BOOK_OFFLINE`` is set,
    ``DownloadError``/``ChecksumError`` when the download fails.
    """
    path = _target_folder(cache_subdir, cache_dir) / fname
    if not path.exists():
        if not origin:
            raise DatasetNotFoundError(fname, None, path, "it is not on disk and no origin URL was given")
        if is_offline():
            raise DatasetNotFoundError(fname, origin, path, f"it is not on disk and {ENV_OFFLINE}=1 forbids downloading")
        download_file(origin, path, file_hash, hash_algorithm, progress, timeout)
    if extract:
        extract_archive(path, path.parent)
    return str(path)


# --------------------------------------------------------------------------- archives

def _unpack(archive, folder):
    archive, folder = str(archive), Path(folder)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            z.extractall(folder)  # zipfile strips absolute paths and '..' by itself
    elif tarfile.is_tarfile(archive):
        _untar(archive, folder)
    else:
        raise CorruptFileError(f"{archive} is not a tar, tar.gz, tar.xz or zip archive")


def _untar(archive, folder):
    """Extract the regular files and folders of a tar (any compression), in one streaming pass.

    Dataset archives hold nothing else, so anything else (links, devices) is refused, as is a
    name that is absolute or climbs out with '..'. This is stricter than
    ``extractall(filter='data')`` and cheaper on aclImdb's 50,000 small files: the filter resolves
    every path with realpath (about ten lstat calls a file) and restores modes and times we do
    not need.
    """
    made = set()
    with tarfile.open(archive) as t:  # mode 'r:*' detects gz / bz2 / xz
        for m in t:
            parts = PurePosixPath(m.name).parts
            if m.name.startswith(("/", "\\")) or ".." in parts or not (m.isfile() or m.isdir()):
                raise CorruptFileError(f"{archive}: refusing to extract {m.name!r} "
                                       "(only plain files and folders inside the archive are allowed)")
            if not parts:
                continue
            target = folder.joinpath(*parts)
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            with t.extractfile(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def extract_archive(archive, folder) -> Path:
    """Unpack ``archive`` into ``folder``, keeping entries that are already there.

    It unpacks into a temporary folder first and then moves each top-level entry into place, so an
    interrupted run leaves no half-unpacked entry behind.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder))
    try:
        _unpack(archive, tmp)
        for entry in tmp.iterdir():
            if not (folder / entry.name).exists():
                os.replace(entry, folder / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def unpack_once(archive, folder) -> Path:
    """Unpack ``archive`` to a new ``folder`` unless it exists; the folder appears all at once.

    Used by the loaders to unpack an archive into ``cache_home()`` the first time it is needed.
    """
    folder = Path(folder)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        print(f"Unpacking {archive} to {folder} (once) ...", file=sys.stderr)
        _unpack(archive, tmp)
        os.chmod(tmp, default_dir_mode())    # mkdtemp's 0700 would survive the rename
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
