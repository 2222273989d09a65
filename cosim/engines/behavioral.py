"""``behavioral`` engine: every cell's numpy face at its real read bias, no wires.

Cell currents come from the device model at the row voltage the DAC drives
(not a linear conductance), after retention drift to ``state.age_s``, with
read noise when ``noise`` is on. With the column at ground the currents come
from a per-array Chebyshev expansion in the row voltage within a stated fraction
of an LSB (``cosim.engines.expansion``); with a sensing circuit or driver
resistance, from the device model per (vector, cell). Variation
(device-to-device, write) lives in the state's fields: draw it once with
``cell.with_variation`` when programming, so every engine sees the same array.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from cosim.array.energy import analytic_energy
from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState, check_inputs
from cosim.engines.base import EngineBase, contract, finish, rows_at_array
from cosim.engines.cache import ArrayCache, fingerprint
from cosim.engines.expansion import CurrentExpansion, expand
from device_models.validation import ParamError, check_kind, check_range
from periphery.converters import dac_codes, drive_levels

CHUNK_BYTES = 128 * 2**20
SENSE_ITERATIONS = 4
"""Fixed-point passes for the virtual-ground shift; it contracts by ~G_col / (C 2 pi GBW)
(~1e-4 here), so 4 passes reach round-off."""


EXPANSIONS = ArrayCache()
"""Current expansions by programmed-array content (see ``cosim.engines.cache``)."""


class BehavioralEngine(EngineBase):
    """Every cell's numpy face at its bias, sensing in closed form; no wires. Read noise
    is on by default and advances the engine's Generator from run to run.

    ``expansion`` (default on): with the column at ground (no sensing circuit, no
    driver resistance) every cell's current is a Chebyshev series in the DAC's row
    voltage, cut to ``tol_lsb`` of the ADC's LSB per output in the worst case
    (``cosim.engines.expansion``), and read noise is drawn per column from its exact
    variance; the series is kept per programmed array, so repeated batches cost a
    few matrix products. Off, or where the tolerance is out of reach: every
    (vector, cell) current from the device model, one noise draw per cell."""

    name = "behavioral"
    features: ClassVar[dict[str, str]] = {
        "sense": "",
        "dac_r_out": "amplitude inputs",
        "dac_pwm": "",
        "dac_bit_serial": "",
        "read_noise": "",
    }

    def __init__(self, *, expansion: bool = True, tol_lsb: float = 0.01,
                 noise: bool | None = None, seed: int = 0,
                 timeout_s: float | None = None) -> None:
        super().__init__(noise=noise, seed=seed, timeout_s=timeout_s)
        check_kind("expansion", expansion, bool)
        check_range("tol_lsb", tol_lsb, 0.0, 0.5, lo_open=True)
        self.expansion = expansion
        self.tol_lsb = tol_lsb
        self.last_expansion: CurrentExpansion | None = None

    def _expansion(self, state: ArrayState, fields: dict, config: ArrayConfig
                   ) -> CurrentExpansion | None:
        """The programmed array's current expansion, or None where it does not apply."""
        if not self.expansion or config.sense is not None or config.dac.r_out_ohm > 0:
            return None
        sigma = getattr(state.cell, "read_noise_frac", None) if self.noise else 0.0
        if sigma is None:  # noise of another form than relative per cell
            return None
        dac = config.dac
        levels = np.unique(drive_levels(np.arange(dac.min_code, dac.max_code + 1), dac)[0])
        tol_a = self.tol_lsb * config.adc.lsb_a
        key = fingerprint("behavioral", fields, repr(state.cell), state.differential, levels,
                          tol_a, sigma)
        return EXPANSIONS.get(
            key, lambda: expand(state.cell.current, fields, levels, sigma, tol_a,
                                state.differential),
            lambda e: 0 if e is None else e.nbytes)

    @contract
    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
            rng: np.random.Generator | None = None) -> MVMResult:
        t0 = time.perf_counter()
        # cells see each row's pulse voltage for its duty (1 unless pulse-width encoded)
        drive, duty = drive_levels(dac_codes(check_inputs(x, state), config.dac), config.dac)
        v = drive * duty
        if config.dac.encoding == "pwm" and config.dac.r_out_ohm > 0:
            raise ParamError("dac.r_out_ohm", config.dac.r_out_ohm,
                             "is not modelled with dac.encoding=pwm yet")
        fields = state.read_fields()
        deadline = self.deadline()
        sense = config.sense
        expansion = self.last_expansion = self._expansion(state, fields, config)
        if expansion is not None:
            step = max(1, CHUNK_BYTES // (8 * state.rows * max(expansion.degree,
                                                                expansion.var_degree, 1)))
            i_col = np.concatenate([
                expansion.column_currents(drive[s:s + step], duty[s:s + step],
                                          rng if self.noise else None)
                for s in range(0, len(v), step)])
            return finish(self.name, state, config, i_col, v, t0, rng if self.noise else None)
        per_vector = state.rows * state.phys_cols * 8 * 6  # cell currents + Newton temporaries
        step = max(1, CHUNK_BYTES // per_vector)
        i_col = np.empty((len(v), state.phys_cols))
        for s in range(0, len(v), step):
            deadline.check()
            vr = drive[s:s + step, :, None]
            d = duty[s:s + step, :, None]
            v_col = 0.0
            for _ in range(SENSE_ITERATIONS if sense is not None else 1):
                if sense is not None:  # the virtual ground depends on the current it senses
                    i_now = (state.cell.current(vr, fields, v_col) * d).sum(axis=1)
                    v_col = sense.virtual_ground_v(i_now)[:, None, :]
                vr = rows_at_array(  # the drivers' output resistance, at this virtual ground
                    drive[s:s + step, :, None],
                    lambda u, vc=v_col: state.cell.current(u, fields, vc).sum(axis=2,
                                                                              keepdims=True),
                    config.dac.r_out_ohm)
            cells = state.cell.current(vr, fields, v_col) * d
            if self.noise:
                cells = state.cell.read_noise(cells, rng)
            i_col[s:s + step] = cells.sum(axis=1)
        if sense is None:
            return finish(self.name, state, config, i_col, v, t0, rng if self.noise else None)
        energy = analytic_energy(state, drive, i_col, config, duty)
        return finish(self.name, state, config, sense.readout_a(i_col), v, t0,
                      rng if self.noise else None, energy_j=energy,
                      energy_basis={k: "analytic (NeuroSim-style)" for k in energy})
