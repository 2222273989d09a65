"""The engine contract: ``run(state, x, config) -> MVMResult``.

x holds K normalised input vectors (K, rows): in [0, 1] for unsigned DACs,
[-1, 1] for signed ones; values outside are clipped by the DAC.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from cosim.array_state import ArrayConfig, ArrayState, check_inputs
from cosim.result import MVMResult
from netlists.periphery import adc_codes, adc_current, dac_codes, dac_volts


class Engine(Protocol):
    name: str

    def available(self) -> tuple[bool, str]:
        """(usable here?, a line saying why or why not)."""
        ...

    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig) -> MVMResult:
        ...


def row_voltages(x: np.ndarray, state: ArrayState, config: ArrayConfig) -> np.ndarray:
    """Check the (K, rows) inputs and return what the DACs drive (V)."""
    return dac_volts(dac_codes(check_inputs(x, state), config.dac), config.dac)


def finish(name: str, state: ArrayState, config: ArrayConfig, i_col_a: np.ndarray,
           v_row_v: np.ndarray, t0: float, rng: np.random.Generator | None = None,
           **extra) -> MVMResult:
    """Shared tail of every engine: combine pairs, quantize with the ADC (its thermal
    noise drawn from ``rng`` when the engine models noise)."""
    i_out = state.combine(i_col_a)
    codes = adc_codes(i_out, config.adc, rng)
    return MVMResult(engine=name, i_col_a=np.asarray(i_col_a, dtype=float), i_out_a=i_out,
                     adc_code=codes, y_a=adc_current(codes, config.adc), v_row_v=v_row_v,
                     seconds=time.perf_counter() - t0, **extra)
