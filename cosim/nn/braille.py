"""A synthetic 6-dot Braille character set: 26 letters as small images, generated
from a seeded ``numpy.random.Generator`` (no files, no downloads).

Each letter is its standard Braille cell (dots 1-2-3 down the left column,
4-5-6 down the right) drawn on a 12 x 8 pixel grid as Gaussian dots (sigma
0.9 px) at nominal centres, then made imperfect the way embossed or printed
dots are: the whole cell shifts (sigma 0.5 px), each dot moves (sigma 0.35 px)
and varies in strength (0.6-1.0), a dot goes missing or a spurious one appears
(2 % each per position), and every pixel gets Gaussian noise (sigma 0.05).
Pixels are clipped to [0, 1].
"""

from __future__ import annotations

import numpy as np

from device_models.validation import check_int, check_range

LETTERS = {
    "a": "1", "b": "12", "c": "14", "d": "145", "e": "15", "f": "124", "g": "1245",
    "h": "125", "i": "24", "j": "245", "k": "13", "l": "123", "m": "134", "n": "1345",
    "o": "135", "p": "1234", "q": "12345", "r": "1235", "s": "234", "t": "2345",
    "u": "136", "v": "1236", "w": "2456", "x": "1346", "y": "13456", "z": "1356",
}
"""Standard English Braille letters (dot numbers)."""
HEIGHT, WIDTH = 12, 8
CENTRES = {1: (2.0, 2.0), 2: (6.0, 2.0), 3: (10.0, 2.0),
           4: (2.0, 5.5), 5: (6.0, 5.5), 6: (10.0, 5.5)}
"""(row, column) of each dot's nominal centre on the grid (px)."""


def dot_patterns() -> np.ndarray:
    """(26, 6) booleans: which dots each letter raises."""
    return np.array([[str(k) in dots for k in range(1, 7)] for dots in LETTERS.values()])


def render(raised: np.ndarray, rng: np.random.Generator, noise: float = 0.05,
           flip: float = 0.02) -> np.ndarray:
    """Images (n, HEIGHT * WIDTH) of cells whose raised dots are ``raised`` (n, 6)."""
    check_range("noise", noise, 0.0, 1.0)
    check_range("flip", flip, 0.0, 0.5)
    raised = np.asarray(raised, dtype=bool)
    n = len(raised)
    flips = rng.uniform(size=raised.shape) < flip
    present = raised ^ flips
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    shift = rng.normal(0.0, 0.5, (n, 1, 2))
    centres = np.array([CENTRES[k] for k in range(1, 7)])[None] + shift + rng.normal(
        0.0, 0.35, (n, 6, 2))
    strength = rng.uniform(0.6, 1.0, (n, 6)) * present
    d2 = ((yy[None, None] - centres[..., 0, None, None]) ** 2
          + (xx[None, None] - centres[..., 1, None, None]) ** 2)
    img = (strength[..., None, None] * np.exp(-d2 / (2 * 0.9**2))).sum(axis=1)
    img += rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0.0, 1.0).reshape(n, -1)


def braille(per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels 0..25): ``per_class`` noisy renderings of every letter."""
    check_int("per_class", per_class, 1, 100_000)
    labels = np.repeat(np.arange(len(LETTERS)), per_class)
    return render(dot_patterns()[labels], rng), labels
