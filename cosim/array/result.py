"""MVMResult: what every engine returns, whatever its fidelity."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class MVMResult:
    engine: str
    """Name of the engine that produced the result."""
    i_col_a: np.ndarray
    """Physical column currents (A), (K, physical columns)."""
    i_out_a: np.ndarray
    """Logical outputs (A): differential pairs subtracted, (K, columns)."""
    adc_code: np.ndarray
    """ADC codes of the logical outputs, (K, columns), int64."""
    y_a: np.ndarray
    """Current each ADC code stands for (A), (K, columns)."""
    v_row_v: np.ndarray
    """Row voltages the DACs drove (V), (K, rows)."""
    seconds: float = 0.0
    """Wall time of the engine call (s)."""
    energy_j: dict[str, np.ndarray] = field(default_factory=dict)
    """Energy per vector by block (J), where the engine knows it."""
    settling_s: np.ndarray | None = None
    """Settling time per vector (s), where the engine knows it."""
    energy_basis: dict[str, str] = field(default_factory=dict)
    """How each energy block was obtained (simulated, or the model behind it)."""

    def energy_per_mac_j(self, macs_per_vector: int) -> dict[str, float]:
        """Mean energy per multiply-accumulate by block (J)."""
        return {k: float(np.mean(v)) / macs_per_vector for k, v in self.energy_j.items()}

    @property
    def vectors(self) -> int:
        return int(self.i_out_a.shape[0])
