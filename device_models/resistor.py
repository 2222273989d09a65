"""Ideal linear resistive cell: I = G * V.

The reference device: exact, noiseless, used to validate engines and mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.validation import ParamError, check_range


@dataclass(frozen=True)
class ResistorParams:
    g_min_s: float = 1e-6
    """Lowest programmable conductance (S)."""
    g_max_s: float = 1e-4
    """Highest programmable conductance (S)."""

    def __post_init__(self) -> None:
        check_range("g_min_s", self.g_min_s, 0.0, lo_open=True)
        check_range("g_max_s", self.g_max_s, 0.0, lo_open=True)
        if self.g_max_s <= self.g_min_s:
            raise ParamError("g_max_s", self.g_max_s, f"must exceed g_min_s={self.g_min_s!r}")


def drain_current(v_v: np.ndarray, g_s: np.ndarray) -> np.ndarray:
    """Numpy face: cell current (A) for a voltage across the cell."""
    return np.asarray(g_s) * np.asarray(v_v)


def spice_instance(name: str, node_a: str, node_b: str, g_s: float) -> str:
    """SPICE face: one resistor line; the value round-trips exactly (17 digits). A zero
    conductance is an open circuit: no element."""
    if float(g_s) == 0.0:
        return f"* R{name} {node_a} {node_b} open (g = 0)\n"
    return f"R{name} {node_a} {node_b} {1.0 / float(g_s):.17g}\n"


def spice_subckt(p: ResistorParams) -> str:
    """A resistor is a SPICE primitive: nothing to define once per deck."""
    return ""
