"""``ideal`` engine: exact Ohm's-law math with DAC/ADC quantization; no wires, no device physics."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines.base import EngineBase, contract, finish, row_voltages


class IdealEngine(EngineBase):
    """Cells at their nominal (linearised) conductance; no wires, no sensing, no noise."""

    name = "ideal"
    features: ClassVar[dict[str, str]] = {
        "dac_r_out": "",
        "dac_pwm": "",
        "dac_bit_serial": "",
    }

    @contract
    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
            rng: np.random.Generator | None = None) -> MVMResult:
        t0 = time.perf_counter()
        v = row_voltages(x, state, config)
        g = state.conductance()
        # driver output resistance: each row divides against its total conductance
        v_array = v / (1.0 + config.dac.r_out_ohm * g.sum(axis=1))
        i_col = v_array @ g
        return finish(self.name, state, config, i_col, v, t0)
