"""``behavioral`` engine: every cell's numpy face at its real read bias, no wires.

Cell currents come from the device model at the row voltage the DAC drives
(not a linear conductance), after retention drift to ``state.age_s``, with
one read-noise draw per cell per vector when ``noise`` is on. Variation
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
from device_models.validation import ParamError
from periphery.converters import dac_codes, drive_levels

CHUNK_BYTES = 128 * 2**20
SENSE_ITERATIONS = 4
"""Fixed-point passes for the virtual-ground shift; it contracts by ~G_col / (C 2 pi GBW)
(~1e-4 here), so 4 passes reach round-off."""


class BehavioralEngine(EngineBase):
    """Every cell's numpy face at its bias, sensing in closed form; no wires. Read noise
    is on by default and advances the engine's Generator from run to run."""

    name = "behavioral"
    level_table: bool = True
    """Evaluate each cell once per distinct row voltage and look the currents up per
    vector, when the column sits at ground (no sensing circuit, no driver resistance)
    and the vectors outnumber the levels 8 to 1 (bit-planes, low-resolution DACs):
    the same numbers as evaluating every (vector, cell), for 2^dac_bits evaluations
    per cell instead of one per vector (a bit-plane has two levels)."""
    features: ClassVar[dict[str, str]] = {
        "sense": "",
        "dac_r_out": "amplitude inputs",
        "dac_pwm": "",
        "dac_bit_serial": "",
        "read_noise": "",
    }

    def _level_table(self, state: ArrayState, fields: dict, drive: np.ndarray,
                     config: ArrayConfig) -> tuple[np.ndarray, np.ndarray] | None:
        """(currents per level (L, rows, phys), level index per input (K, rows)) or None
        where the table does not apply or would not pay."""
        if not self.level_table or config.sense is not None or config.dac.r_out_ohm > 0:
            return None
        levels, idx = np.unique(drive, return_inverse=True)
        if 8 * len(levels) > len(drive) or (len(levels) * state.rows * state.phys_cols * 8
                                            > CHUNK_BYTES):
            return None
        return (state.cell.current(levels[:, None, None], fields, 0.0),
                idx.reshape(drive.shape))

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
        per_vector = state.rows * state.phys_cols * 8 * 6  # cell currents + Newton temporaries
        step = max(1, CHUNK_BYTES // per_vector)
        sense = config.sense
        table = self._level_table(state, fields, drive, config)
        i_col = np.empty((len(v), state.phys_cols))
        for s in range(0, len(v), step):
            deadline.check()
            vr = drive[s:s + step, :, None]
            d = duty[s:s + step, :, None]
            if table is not None:
                levels, idx = table  # flat lookup: level * cells + cell
                cells = np.take(levels, idx[s:s + step, :, None] * levels[0].size
                                + np.arange(levels[0].size).reshape(levels[0].shape)) * d
                if self.noise:
                    cells = state.cell.read_noise(cells, rng)
                i_col[s:s + step] = cells.sum(axis=1)
                continue
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
