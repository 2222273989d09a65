"""Signed weights <-> differential conductance pairs, and output scaling.

w in [-w_max, w_max] maps to (G+, G-) with the unused side at g_min:
    G+ = g_min + max(w, 0) * dG / w_max,   G- = g_min + max(-w, 0) * dG / w_max
so G+ - G- = w * dG / w_max exactly, with dG = g_max - g_min. A ``balanced``
mapping centres both sides instead, G+- = g_mid +- w dG / (2 w_max): the same
difference, with every device mid-range, where pulses move it (in-array training
of devices whose response is flat near g_min).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.validation import ParamError, check_range


@dataclass(frozen=True)
class WeightMapping:
    g_min_s: float
    """Conductance of a zero weight's cells (S)."""
    g_max_s: float
    """Conductance of the largest |weight| (S)."""
    w_max: float
    """|weight| mapped to g_max (scale)."""
    balanced: bool = False
    """Both sides centred on (g_min + g_max) / 2 instead of the unused one at g_min."""

    def __post_init__(self) -> None:
        check_range("g_min_s", self.g_min_s, 0.0)
        check_range("g_max_s", self.g_max_s, 0.0, lo_open=True)
        if self.g_max_s <= self.g_min_s:
            raise ParamError("g_max_s", self.g_max_s, f"must exceed g_min_s={self.g_min_s!r}")
        check_range("w_max", self.w_max, 0.0, lo_open=True)
        if not np.isfinite(self.s_per_weight):
            raise ParamError("w_max", self.w_max, "too small: (g_max - g_min) / w_max overflows")

    @property
    def s_per_weight(self) -> float:
        return (self.g_max_s - self.g_min_s) / self.w_max


def fit_mapping(w: np.ndarray, g_min_s: float, g_max_s: float) -> WeightMapping:
    """Scale so the largest |w| lands on g_max."""
    w = np.asarray(w, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)):
        raise ParamError("weights", w.shape, "must be a non-empty finite array")
    w_max = float(np.max(np.abs(w)))
    if not np.isfinite((g_max_s - g_min_s) / w_max if w_max > 0 else np.inf):
        w_max = 1.0  # all weights are (numerically) zero: any scale maps them to g_min
    return WeightMapping(g_min_s, g_max_s, w_max)


def weights_to_pairs(w: np.ndarray, m: WeightMapping) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) weights -> (G+, G-) each (rows, cols). Weights beyond w_max clip."""
    w = np.clip(np.asarray(w, dtype=float), -m.w_max, m.w_max)
    if m.balanced:
        mid = 0.5 * (m.g_min_s + m.g_max_s)
        return mid + 0.5 * w * m.s_per_weight, mid - 0.5 * w * m.s_per_weight
    g_pos = m.g_min_s + np.maximum(w, 0.0) * m.s_per_weight
    g_neg = m.g_min_s + np.maximum(-w, 0.0) * m.s_per_weight
    return g_pos, g_neg


def pairs_to_weights(g_pos: np.ndarray, g_neg: np.ndarray, m: WeightMapping) -> np.ndarray:
    return (np.asarray(g_pos) - np.asarray(g_neg)) / m.s_per_weight


def interleave(g_pos: np.ndarray, g_neg: np.ndarray) -> np.ndarray:
    """(rows, cols) pairs -> (rows, 2*cols) physical layout, G+ on even columns."""
    out = np.empty((g_pos.shape[0], 2 * g_pos.shape[1]))
    out[:, 0::2] = g_pos
    out[:, 1::2] = g_neg
    return out


def deinterleave(g_phys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return g_phys[:, 0::2].copy(), g_phys[:, 1::2].copy()


def outputs_to_mac(i_out_a: np.ndarray, m: WeightMapping, v_per_input_v: float) -> np.ndarray:
    """Differential output currents -> sum_i w_ij x_i in weight x input units."""
    return np.asarray(i_out_a) / (m.s_per_weight * v_per_input_v)
