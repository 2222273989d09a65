"""Energy per vector by block, from a periphery transient (simulated) and from
documented figures of merit where a block is behavioural.

- array   (simulated): integral of sum_i V(row_i) I(row_i) - sum_j V(col_j) I(col_j):
           everything the crossbar (cells and wires) absorbs.
- sensing (simulated currents, class-A supply model): VDD * integral(I_bias + |I_out|)
           per column op-amp.
- dac     (behavioural, line charging): each row driver charges its line
           capacitance C_row = columns * c_line_per_cell to the new level:
           C_row * V_new * |V_new - V_old| per vector.
- adc     (behavioural), one conversion per output column per vector, either
           ``walden``: FoM * 2^bits per conversion, or
           ``comparator``: comparator decisions per conversion (2^b - 1 flash, b SAR)
           x the energy per decision of the transistor-level StrongARM comparator
           (simulated by cosim.benches.comparator), plus for SAR the capacitor DAC's
           conventional-switching average, 1.33 x 2^b C_u V_ref^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.validation import check_choice, check_range

BASIS = {"array": "simulated", "sensing": "simulated currents, class-A supply model",
         "dac": "model: line charging C_row V dV", "adc": "model: Walden FoM x 2^bits"}
ADC_MODELS = ("walden", "comparator")
COMPARATOR_ENERGY_J = 286e-15
"""Energy per decision of the default StrongARM comparator (1.8 V, 5 fF loads), as
cosim.benches.comparator measures it (a test keeps the two within 5 %)."""
SAR_SWITCHING = 1.33
"""Average CDAC energy of conventional SAR switching, in units of 2^b C_u V_ref^2."""


@dataclass(frozen=True)
class EnergyParams:
    c_line_per_cell_f: float = 0.2e-15
    """Row-line capacitance per cell pitch (F): wire + device (assumed, 0.2 fF)."""
    adc_fom_j_per_step: float = 20e-15
    """Walden figure of merit of the column ADC (J per conversion step); SAR ADCs in
    the 2010s-2020s survey range 1-50 fJ/step at MS/s-GS/s."""
    adc_model: str = "walden"
    """walden | comparator (decisions x simulated comparator energy)."""
    comparator_energy_j: float = COMPARATOR_ENERGY_J
    """Energy per comparator decision (J)."""
    cdac_unit_f: float = 1e-15
    """SAR capacitor-DAC unit capacitor (F)."""
    v_ref_v: float = 0.5
    """ADC reference (input full scale) voltage (V)."""
    t_clk_s: float = 2e-9
    """ADC clock period (s): one decision (flash) or one bit (SAR) per clock."""

    def __post_init__(self) -> None:
        check_range("energy.c_line_per_cell_f", self.c_line_per_cell_f, 0.0, 1e-9)
        check_range("energy.adc_fom_j_per_step", self.adc_fom_j_per_step, 0.0, 1e-9)
        check_choice("energy.adc_model", self.adc_model, ADC_MODELS)
        check_range("energy.comparator_energy_j", self.comparator_energy_j, 0.0, 1e-9)
        check_range("energy.cdac_unit_f", self.cdac_unit_f, 0.0, 1e-9)
        check_range("energy.v_ref_v", self.v_ref_v, 0.0, 10.0)
        check_range("energy.t_clk_s", self.t_clk_s, 1e-12, 1e-3)

    def adc_basis(self) -> str:
        if self.adc_model == "walden":
            return BASIS["adc"]
        return "model: decisions x simulated comparator energy (+ SAR CDAC)"


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


def adc_energy(k: int, cols: int, adc, e: EnergyParams) -> np.ndarray:
    """(K,) energy of ``cols`` conversions per vector (mux sharing moves conversions
    between converters, not their number)."""
    if e.adc_model == "walden":
        per = e.adc_fom_j_per_step * 2.0**adc.bits
    else:
        per = adc.decisions_per_conversion * e.comparator_energy_j
        if adc.arch == "sar":
            per += SAR_SWITCHING * 2.0**adc.bits * e.cdac_unit_f * e.v_ref_v**2
    return np.full(k, cols * per)


def adc_time_s(cols: int, adc, e: EnergyParams) -> float:
    """Time the converters need per vector: cols_per_adc conversions in sequence on
    each converter, each ``clocks_per_conversion`` clocks."""
    return min(adc.cols_per_adc, cols) * adc.clocks_per_conversion * e.t_clk_s


def analytic_energy(state, v_rows: np.ndarray, i_cols: np.ndarray, config,
                    duty: np.ndarray | None = None) -> dict:
    """NeuroSim-style estimate per vector: every block from closed forms, no waveforms.

    array = sum_i V_i I_i(V_i) d_i t_rows (row pulse voltage x the row current at it x
    the pulse's duty, static cell model; t_rows is the row pulse's equivalent time for
    an integrator, the window for a TIA; ``duty`` None = 1, amplitude inputs),
    sensing = VDD (I_bias + |I_col|) T per column, dac and adc as in the simulated
    path's models (which take the window-average row voltage V_i d_i).
    """
    sense = config.sense
    period = sense.period_s
    fields = state.read_fields()
    v_col = sense.virtual_ground_v(i_cols)[:, None, :]
    i_rows = state.cell.current(v_rows[:, :, None], fields, v_col).sum(axis=2)
    d = 1.0 if duty is None else duty
    array = np.sum(v_rows * i_rows * d, axis=1) * sense.t_rows_s
    v_rows = v_rows * d
    sensing = (sense.vdd_v * sense.i_bias_a * state.phys_cols
               + sense.signal_supply_v * np.abs(i_cols).sum(axis=1)) * period
    return {"array": array, "sensing": sensing,
            "dac": dac_energy(v_rows, state.phys_cols, config.energy),
            "adc": adc_energy(len(v_rows), state.cols, config.adc, config.energy)}


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
            "adc": adc_energy(k, state.cols, config.adc, config.energy)}
