"""``ideal`` engine: exact Ohm's-law math with DAC/ADC quantization; no wires, no device physics."""

from __future__ import annotations

import time

import numpy as np

from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines.base import bit_serial, finish, row_voltages


class IdealEngine:
    name = "ideal"

    def available(self) -> tuple[bool, str]:
        return True, "numpy"

    @bit_serial
    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig) -> MVMResult:
        t0 = time.perf_counter()
        v = row_voltages(x, state, config)
        g = state.conductance()
        # driver output resistance: each row divides against its total conductance
        v_array = v / (1.0 + config.dac.r_out_ohm * g.sum(axis=1))
        i_col = v_array @ g
        return finish(self.name, state, config, i_col, v, t0)
