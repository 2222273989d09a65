"""Energy per vector by block, from a periphery transient (simulated) and from
documented figures of merit where a block is behavioural.

- array   (simulated): integral of sum_i V(row_i) I(row_i) - sum_j V(col_j) I(col_j):
           everything the crossbar (cells and wires) absorbs.
- sensing (simulated currents, class-A supply model): VDD * integral(I_bias + |I_out|)
           per column op-amp.
- dac     (behavioural, line charging): each row driver charges its line
           capacitance C_row = columns * c_line_per_cell to the new level:
           C_row * V_new * |V_new - V_old| per vector.
- adc     (behavioural, Walden FoM): FoM * 2^bits per conversion, one conversion
           per output column per vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.validation import check_range

BASIS = {"array": "simulated", "sensing": "simulated currents, class-A supply model",
         "dac": "model: line charging C_row V dV", "adc": "model: Walden FoM x 2^bits"}


@dataclass(frozen=True)
class EnergyParams:
    c_line_per_cell_f: float = 0.2e-15
    """Row-line capacitance per cell pitch (F): wire + device (assumed, 0.2 fF)."""
    adc_fom_j_per_step: float = 20e-15
    """Walden figure of merit of the column ADC (J per conversion step); SAR ADCs in
    the 2010s-2020s survey range 1-50 fJ/step at MS/s-GS/s."""

    def __post_init__(self) -> None:
        check_range("energy.c_line_per_cell_f", self.c_line_per_cell_f, 0.0, 1e-9)
        check_range("energy.adc_fom_j_per_step", self.adc_fom_j_per_step, 0.0, 1e-9)


def window_integrals(t: np.ndarray, power: np.ndarray, period_s: float, k: int) -> np.ndarray:
    """Trapezoidal integral of power(t) over each vector's window [k T, (k+1) T]."""
    out = np.empty(k)
    for n in range(k):
        lo, hi = n * period_s, (n + 1) * period_s
        m = (t >= lo) & (t <= hi)
        tt, pp = t[m], power[m]
        # close the window exactly at its edges
        tt = np.r_[lo, tt, hi]
        pp = np.r_[np.interp(lo, t, power), pp, np.interp(hi, t, power)]
        out[n] = np.trapezoid(pp, tt)
    return out


def dac_energy(v_rows: np.ndarray, phys_cols: int, e: EnergyParams) -> np.ndarray:
    """(K,) line-charging energy of the row drivers for a sequence of row voltages."""
    c_row = phys_cols * e.c_line_per_cell_f
    prev = np.vstack([np.zeros((1, v_rows.shape[1])), v_rows[:-1]])
    return c_row * np.sum(np.abs(v_rows) * np.abs(v_rows - prev), axis=1)


def adc_energy(k: int, cols: int, bits: int, e: EnergyParams) -> np.ndarray:
    return np.full(k, cols * e.adc_fom_j_per_step * 2.0**bits)


def analytic_energy(state, v_rows: np.ndarray, i_cols: np.ndarray, config) -> dict:
    """NeuroSim-style estimate per vector: every block from closed forms, no waveforms.

    array = sum_i V_i I_i t_rows (row voltage x row current, static cell model; t_rows
    is the row pulse's equivalent time for an integrator, the window for a TIA),
    sensing = VDD (I_bias + |I_col|) T per column, dac and adc as in the simulated
    path's models.
    """
    sense = config.sense
    period = sense.period_s
    fields = state.read_fields()
    v_col = sense.virtual_ground_v(i_cols)[:, None, :]
    i_rows = state.cell.current(v_rows[:, :, None], fields, v_col).sum(axis=2)
    array = np.sum(v_rows * i_rows, axis=1) * sense.t_rows_s
    sensing = (sense.vdd_v * sense.i_bias_a * state.phys_cols
               + sense.signal_supply_v * np.abs(i_cols).sum(axis=1)) * period
    return {"array": array, "sensing": sensing,
            "dac": dac_energy(v_rows, state.phys_cols, config.energy),
            "adc": adc_energy(len(v_rows), state.cols, config.adc.bits, config.energy)}


def neurosim_estimate(state, v_rows: np.ndarray, config) -> dict:
    """Average-case estimate in the style of analytic AIMC simulators (NeuroSim):
    array = rows x cols x mean(G) x mean(V^2) x t_rows, sensing = static bias only,
    DAC and ADC from the same models. No per-vector currents, no I-V curvature."""
    sense = config.sense
    g = state.conductance()
    k = len(v_rows)
    array = g.size * g.mean() * np.mean(v_rows**2) * sense.t_rows_s
    return {"array": np.full(k, array),
            "sensing": np.full(k, sense.vdd_v * sense.i_bias_a * state.phys_cols
                               * sense.period_s),
            "dac": np.full(k, dac_energy(v_rows, state.phys_cols, config.energy).mean()),
            "adc": adc_energy(k, state.cols, config.adc.bits, config.energy)}
