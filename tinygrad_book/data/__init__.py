"""Data plumbing shared by the loaders: the download cache and the bundled sample.

See ``download.py`` for where files live and the environment variables
``TINYGRAD_BOOK_DATA``, ``TINYGRAD_BOOK_CACHE`` and ``TINYGRAD_BOOK_OFFLINE``.
"""

from .download import (ChecksumError, CorruptFileError, DatasetNotFoundError, DownloadError,
                       FolderLayoutError,
                       cache_home, data_home, download_file, extract_archive, get_file, hash_file,
                       is_offline, unpack_once)

__all__ = ["get_file", "download_file", "extract_archive", "unpack_once", "hash_file", "data_home",
           "cache_home", "is_offline", "DatasetNotFoundError", "DownloadError", "ChecksumError",
           "CorruptFileError", "FolderLayoutError"]
