"""``ideal`` engine: exact Ohm's-law math with DAC/ADC quantization; no wires, no device physics."""

from __future__ import annotations

import time

import numpy as np

from cosim.array_state import ArrayConfig, ArrayState
from cosim.engines.base import finish, row_voltages
from cosim.result import MVMResult


class IdealEngine:
    name = "ideal"

    def available(self) -> tuple[bool, str]:
        return True, "numpy"

    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig) -> MVMResult:
        t0 = time.perf_counter()
        v = row_voltages(x, state, config)
        i_col = v @ state.conductance()
        return finish(self.name, state, config, i_col, v, t0)
