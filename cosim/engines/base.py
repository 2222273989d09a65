"""The engine contract: ``run(state, x, config) -> MVMResult``.

x holds K normalised input vectors (K, rows): in [0, 1] for unsigned DACs,
[-1, 1] for signed ones; values outside are clipped by the DAC.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Protocol

import numpy as np

from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState, check_inputs
from device_models.validation import ParamError
from periphery.converters import adc_codes, adc_current, dac_codes, dac_volts, drive_levels


class Engine(Protocol):
    name: str

    def available(self) -> tuple[bool, str]:
        """(usable here?, a line saying why or why not)."""
        ...

    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig) -> MVMResult:
        ...


def row_voltages(x: np.ndarray, state: ArrayState, config: ArrayConfig) -> np.ndarray:
    """Check the (K, rows) inputs and return what the DACs drive (V); for pulse-width
    encoding the window-average, full-scale voltage x duty."""
    pulse, duty = drive_levels(dac_codes(check_inputs(x, state), config.dac), config.dac)
    return pulse * duty


def rows_at_array(v_dac: np.ndarray, row_current, r_out_ohm: float,
                  tol_v: float = 1e-13, max_passes: int = 200) -> np.ndarray:
    """Row voltages at the array when each driver has output resistance R: the fixed
    point of v = v_dac - R I_row(v). It contracts by R dI_row/dv (R times a row's
    total conductance, far below 1 for sane drivers); stops at ``tol_v``."""
    if r_out_ohm == 0:
        return v_dac
    v = v_dac
    for _ in range(max_passes):
        nxt = v_dac - r_out_ohm * row_current(v)
        if np.max(np.abs(nxt - v)) < tol_v:
            return nxt
        v = nxt
    raise ParamError("dac.r_out_ohm", r_out_ohm, "too large: the row voltages do not settle "
                     "(R_out x row conductance must stay well below 1)")


def bit_serial(run):
    """Engine ``run`` decorator: with ``config.dac.bit_serial`` the input's bit-planes
    are applied one per cycle (rows at 0 or v_fs), each plane's outputs are converted
    by the ADC, and the codes are shift-added: y = sum_b 2^b y_b / (2^B - 1). Energy
    and settling add up over the planes."""

    @functools.wraps(run)
    def wrapper(self, state: ArrayState, x: np.ndarray, config: ArrayConfig) -> MVMResult:
        if not config.dac.bit_serial:
            return run(self, state, x, config)
        t0 = time.perf_counter()
        codes = dac_codes(check_inputs(x, state), config.dac)
        one_bit = dataclasses.replace(config, dac=dataclasses.replace(
            config.dac, bits=1, bit_serial=False, inl_lsb=0.0))
        planes = [run(self, state, ((codes >> b) & 1).astype(float), one_bit)
                  for b in range(config.dac.bits)]
        weight = 2.0 ** np.arange(config.dac.bits) / config.dac.max_code

        def shift_add(name: str) -> np.ndarray:
            return sum(w * getattr(r, name) for w, r in zip(weight, planes, strict=True))

        code = sum((1 << b) * r.adc_code for b, r in enumerate(planes))
        energy = {k: sum(r.energy_j[k] for r in planes) for k in planes[0].energy_j}
        settling = (None if planes[0].settling_s is None
                    else np.sum([r.settling_s for r in planes], axis=0))
        return MVMResult(engine=planes[0].engine, i_col_a=shift_add("i_col_a"),
                         i_out_a=shift_add("i_out_a"), adc_code=code, y_a=shift_add("y_a"),
                         v_row_v=dac_volts(codes, config.dac),
                         seconds=time.perf_counter() - t0, energy_j=energy,
                         settling_s=settling, energy_basis=planes[0].energy_basis)

    return wrapper


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
