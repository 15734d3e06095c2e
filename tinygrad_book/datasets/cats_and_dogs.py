"""The book's small Dogs-vs-Cats subset (book 5.2): 2,000 / 1,000 / 1,000 JPEGs, half cats.

Images from Kaggle's "Dogs vs. Cats" competition (Asirra / Petfinder); research and
non-commercial use per the competition rules. There is no public download of the subset:
it is made from Kaggle's ``train.zip`` (login required) with ``build_small_dataset``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..data.download import DatasetNotFoundError, FolderLayoutError, cache_home, data_home, unpack_once
from ._base import first_existing

SUBSETS = ("train", "validation", "test")
CLASSES = ("cats", "dogs")
# The book's split of Kaggle's numbering: cat.0-999 train, 1000-1499 validation, 1500-1999 test.
RANGES = {"train": range(0, 1000), "validation": range(1000, 1500), "test": range(1500, 2000)}
LOCAL_ARCHIVE = "cats_and_dogs_small/cats_and_dogs_small.tar"
KAGGLE = "https://www.kaggle.com/c/dogs-vs-cats/data"


def check_layout(folder) -> Path:
    """Return ``folder`` if it has ``{train,validation,test}/{cats,dogs}``, else raise
    ``FolderLayoutError`` naming the missing sub-folders."""
    folder = Path(folder)
    missing = [f"{s}/{c}" for s in SUBSETS for c in CLASSES if not (folder / s / c).is_dir()]
    if missing:
        raise FolderLayoutError(f"{folder} is not a cats-vs-dogs folder: missing {', '.join(missing)} "
                                "(expected train|validation|test / cats|dogs / *.jpg)")
    return folder


def ensure_small_dataset(directory=None) -> Path:
    """Path of a folder with ``train/``, ``validation/``, ``test/``, each with ``cats/`` and ``dogs/``.

    ``directory`` is checked and returned if given. Otherwise: an unpacked folder at
    ``<data_home>/cats_and_dogs_small`` or in the cache, else the archive
    ``<data_home>/cats_and_dogs_small/cats_and_dogs_small.tar`` unpacked once into
    ``cache_home()/cats_and_dogs_small``.
    """
    if directory is not None:
        return check_layout(directory)
    for folder in (data_home() / "cats_and_dogs_small", cache_home() / "cats_and_dogs_small"):
        if (folder / "train").is_dir():
            return check_layout(folder)
    archive = first_existing(LOCAL_ARCHIVE)
    if archive is None:
        raise DatasetNotFoundError(
            "cats_and_dogs_small.tar", None, data_home() / LOCAL_ARCHIVE,
            "it is not on disk and has no public download",
            hint=f"build it from Kaggle's train.zip ({KAGGLE}, login required): unzip it and call "
                 "build_small_dataset('<unzipped train folder>', '<new folder>').")
    return check_layout(unpack_once(archive, cache_home() / "cats_and_dogs_small"))


def build_small_dataset(original_dir, base_dir) -> Path:
    """The book's listing 5.4: copy cat/dog 0-999, 1000-1499, 1500-1999 from Kaggle's unzipped
    ``train`` folder into ``base_dir/{train,validation,test}/{cats,dogs}``."""
    original_dir, base_dir = Path(original_dir), Path(base_dir)
    for subset, numbers in RANGES.items():
        for cls in CLASSES:
            target = base_dir / subset / cls
            target.mkdir(parents=True, exist_ok=True)
            for i in numbers:
                name = f"{cls[:-1]}.{i}.jpg"
                if not (original_dir / name).exists():
                    raise FileNotFoundError(f"{original_dir / name} not found: is {original_dir} "
                                            "Kaggle's unzipped train folder?")
                shutil.copyfile(original_dir / name, target / name)
    return check_layout(base_dir)
