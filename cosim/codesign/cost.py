"""Energy, latency and area per inference of an MLP on a chip of FeFET tiles, from
closed-form block models (vectorised over hardware designs: microseconds per
(architecture, design) pair). The same block models as ``cosim.array.energy``,
summed over tiles and layers:

- mapping: a layer (n_in, n_out) on tiles of ``tile`` rows x ``tile/2`` differential
  pairs: ceil(n_in / tile) x ceil(n_out / (tile/2)) tiles, weight-stationary (every
  layer's tiles on the chip); a dense cell holds a pruned weight as a pair at G_min,
  the index-free sparse cell's digital FeFET cuts it off (G_pruned);
- array: sum_ij V_i^2 G_ij t_rows with the chord conductance at the read voltage,
  E[V^2] from the layer's measured input statistics (amplitude: V_fs^2 E[x^2]; pwm:
  V_fs^2 E[x] over the stretched window; bit-serial: V_fs^2 x mean 1-bits per code,
  one window per bit); padding columns of used rows draw current too;
- sensing: class-A op-amp per physical column of every used tile,
  VDD (I_bias + |I_col|) per window;
- DAC: row-line charging C_row V |dV| (amplitude), C_row V_fs^2 per pulse (pwm,
  bit-serial);
- ADC: one conversion per output column per row tile per window: flash
  (2^b - 1) comparator decisions, SAR b decisions + 1.33 2^b C_u V_ref^2;
- digital: partial sums of row tiles and bit-planes added at ``e_add_j`` each;
- latency: layers in sequence, a layer's tiles in parallel; per window the
  integration period plus cols_per_adc conversions on each converter;
- area: cells (FeFETs per cell x FeFET area), op-amps, converters, row drivers.

What it leaves out (the spot check against the engines measures the first): the
FeFET's I-V curvature below full scale, wire IR drop, buffers and control.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from cosim.array.energy import SAR_SWITCHING, EnergyParams
from device_models.validation import check_range
from periphery.sensing import SenseParams, sized_for

BLOCKS = ("array", "sensing", "dac", "adc", "digital")
ENCODING_CODES = {"amplitude": 0, "pwm": 1, "bit_serial": 2}


@dataclass(frozen=True)
class ChipParams:
    """Figures the closed forms take; each says where it comes from."""

    i_fs_a: float = 20e-6
    """Column full-scale current the sensing is sized for (A)."""
    t_pwm_lsb_s: float = 1e-9
    """Shortest pulse-width step of a PWM row driver (s); the window grows to
    max_code x this when that is longer than the integration time (assumed)."""
    e_add_j: float = 0.1e-12
    """One digital accumulation (32-bit integer add, 45 nm: 0.1 pJ, M. Horowitz,
    ISSCC 2014, "Computing's energy problem")."""
    fefet_area_m2: float = 0.05e-12
    """Area of one FeFET incl. its share of wiring (assumed, 0.05 um^2)."""
    opamp_area_m2: float = 150e-12
    """Sensing op-amp with its feedback element, per physical column (assumed)."""
    comparator_area_m2: float = 20e-12
    """One StrongARM comparator (assumed)."""
    cap_area_m2_per_f: float = 500.0
    """MOM capacitor density: 2 fF/um^2 (assumed)."""
    sar_logic_area_m2: float = 100e-12
    """SAR register and control per converter (assumed)."""
    dac_area_m2: float = 30e-12
    """Row driver per tile row (assumed)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check_range(f"chip.{f.name}", getattr(self, f.name), 0.0, 1e6)


@functools.lru_cache(maxsize=64)
def cell_conductances(cell: str, v_read_v: float) -> tuple[float, float, float]:
    """(G_min, G_max, G of a pruned cell) at the read voltage, from the device model."""
    from device_models.registry import CellOptions, make_cell

    c = make_cell(cell, CellOptions(v_read_v=v_read_v))
    g_min, g_max = c.g_range()
    if not c.prunable:
        return g_min, g_max, g_min
    fields = c.prune(c.program(np.full((1, 1), g_min)), np.zeros((1, 1), dtype=bool))
    return g_min, g_max, float(c.conductance(fields)[0, 0])


def design_arrays(designs: list[dict]) -> dict[str, np.ndarray]:
    """Hardware designs (list of dicts) as column arrays, with the device's
    conductances looked up once per (cell, read voltage)."""
    h = {k: np.array([d[k] for d in designs]) for k in designs[0]}
    g = np.array([cell_conductances(d["cell"], float(d["v_read_v"])) for d in designs])
    h["g_min"], h["g_max"], h["g_pruned"] = g.T
    h["fefets"] = np.where(h["cell"] == "sparse_fefet", 2, 1)
    h["sar"] = h["adc_arch"] == "sar"
    h["enc"] = np.array([ENCODING_CODES[e] for e in h["encoding"]])
    return h


def layer_cost(stats: np.ndarray, act_bits: int, h: dict[str, np.ndarray],
               chip: ChipParams, energy: EnergyParams, sense: SenseParams) -> dict[str, np.ndarray]:
    """Energy by block (J), latency (s) and area (m^2) of one layer on every design.
    ``stats`` is one row of ``cosim.codesign.points.STATS``."""
    n_in, n_out, kept, r_w, x_mean, x_sq, x_step, ones, p_on = stats
    tile = h["tile"].astype(float)
    pairs = tile // 2
    rt, ct = np.ceil(n_in / tile), np.ceil(n_out / pairs)
    tiles = rt * ct
    top = 2**act_bits - 1
    enc = h["enc"]
    v = h["v_read_v"]
    dg = h["g_max"] - h["g_min"]
    # total conductance the driven rows see: kept pairs, pruned pairs, padding pairs
    g_kept = n_in * n_out * kept * (2 * h["g_min"] + dg * r_w)
    g_pruned = n_in * n_out * (1 - kept) * np.where(h["fefets"] == 2, 2 * h["g_pruned"],
                                                    2 * h["g_min"])
    g_pad = n_in * (ct * pairs - n_out) * 2 * np.where(h["fefets"] == 2, h["g_pruned"],
                                                       h["g_min"])
    g_total = g_kept + g_pruned + g_pad
    t_int = np.where(enc == 1, np.maximum(sense.t_int_s, top * chip.t_pwm_lsb_s), sense.t_int_s)
    t_on = t_int - (sense.t_int_s - sense.t_on_s)
    period = sense.t_reset_s + t_int
    windows = np.where(enc == 2, act_bits, 1)
    # mean V^2 x time per row and window-averaged drive per row
    v2t = np.select([enc == 0, enc == 1], [v**2 * x_sq * t_on, v**2 * x_mean * t_on],
                    v**2 * ones * t_on)
    drive = np.select([enc == 0, enc == 1], [v * x_mean, v * x_mean * t_on / period],
                      v * ones / act_bits)
    array = g_total * v2t
    sensing = (sense.vdd_v * sense.i_bias_a * tiles * tile * period * windows
               + sense.signal_supply_v * drive * g_total * period * windows)
    c_row = tile * energy.c_line_per_cell_f
    dac = c_row * n_in * ct * v**2 * np.select([enc == 0, enc == 1], [x_step, p_on], ones)
    per_conv = np.where(h["sar"], h["adc_bits"] * energy.comparator_energy_j
                        + SAR_SWITCHING * 2.0 ** h["adc_bits"] * energy.cdac_unit_f
                        * energy.v_ref_v**2,
                        (2.0 ** h["adc_bits"] - 1) * energy.comparator_energy_j)
    conversions = rt * n_out * windows
    adc = conversions * per_conv
    adds = n_out * (rt - 1) + np.where(enc == 2, n_out * rt * (act_bits - 1), 0)
    digital = adds * chip.e_add_j
    clocks = np.where(h["sar"], h["adc_bits"], 1)
    latency = windows * (period + np.minimum(h["cols_per_adc"], pairs) * clocks
                         * energy.t_clk_s)
    converters = np.ceil(pairs / h["cols_per_adc"])
    adc_area = np.where(h["sar"], chip.comparator_area_m2 + chip.sar_logic_area_m2
                        + 2.0 ** h["adc_bits"] * energy.cdac_unit_f * chip.cap_area_m2_per_f,
                        (2.0 ** h["adc_bits"] - 1) * chip.comparator_area_m2)
    area = tiles * (tile**2 * h["fefets"] * chip.fefet_area_m2 + tile * chip.opamp_area_m2
                    + converters * adc_area + tile * chip.dac_area_m2)
    return {"array": array, "sensing": sensing, "dac": dac, "adc": adc, "digital": digital,
            "latency_s": latency, "area_m2": area, "tiles": tiles,
            "utilisation": n_in * n_out / (tiles * tile * pairs)}


@functools.lru_cache(maxsize=1)
def default_blocks() -> tuple[ChipParams, EnergyParams, SenseParams]:
    """The chip figures, the converter model (decisions x the simulated comparator's
    energy) and the integrator sized for the chip's column full scale."""
    chip = ChipParams()
    return (chip, EnergyParams(adc_model="comparator"),
            sized_for(chip.i_fs_a, "integrator"))


def network_cost(stats: np.ndarray, act_bits: int, h: dict[str, np.ndarray],
                 blocks: tuple[ChipParams, EnergyParams, SenseParams] | None = None
                 ) -> dict[str, np.ndarray]:
    """Per-inference cost of a network (stats: one row per layer) on every design:
    energy by block and in total (J), latency (s), area (m^2), tiles, utilisation."""
    chip, energy, sense = blocks or default_blocks()
    out: dict[str, np.ndarray] = {}
    cells = 0.0
    for row in stats:
        c = layer_cost(row, act_bits, h, chip, energy, sense)
        cells = cells + row[0] * row[1]
        for key, val in c.items():
            if key != "utilisation":
                out[key] = out.get(key, 0.0) + val
    out["energy_j"] = sum(out[b] for b in BLOCKS)
    out["utilisation"] = cells / (out["tiles"] * h["tile"] * (h["tile"] // 2))
    return out
