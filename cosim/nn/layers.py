"""Network layers on simulated arrays.

Each layer's (in, out) weight matrix is tiled onto arrays of ``tile_rows`` x
``tile_cols`` logical columns (differential pairs, so 2 x tile_cols physical
columns), programmed as device states, and run through any engine. Inputs are
scaled into the DAC range by a per-layer input scale; ADC outputs are turned
back into MAC units through the weight mapping and summed digitally across
row tiles; bias and activation stay digital.

For in-array training the FeFET states live as ferroelectric domains: an
update is written as gate pulses through the switching model, so the applied
change is whatever the device does (nonlinear, asymmetric, stochastic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.array.mapping import (
    WeightMapping,
    deinterleave,
    fit_mapping,
    interleave,
    outputs_to_mac,
    pairs_to_weights,
    weights_to_pairs,
)
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import ENGINES, get_engine, supports
from device_models import fefet_mos2 as fe
from device_models.cells import Cell
from device_models.registry import CellOptions, check_cell_kind, make_cell
from device_models.validation import ParamError, check_choice, check_int, check_range
from periphery.converters import AdcParams, DacParams

DAC_ENCODINGS = ("amplitude", "pwm", "bit_serial")


@dataclass(frozen=True)
class HardwareConfig:
    cell: str = "fefet"
    """resistor | fefet | sparse_fefet."""
    engine: str = "behavioral"
    """Engine for forward passes: ideal | behavioral | nodal | spice."""
    tile_rows: int = 64
    """Array rows per tile."""
    tile_cols: int = 32
    """Logical columns per tile (each a differential pair)."""
    dac_bits: int = 8
    """Row DAC resolution."""
    dac_v_fs_v: float = 0.2
    """Row DAC full scale (V)."""
    dac_encoding: str = "amplitude"
    """How inputs reach the rows: amplitude (the code sets the voltage) | pwm (full-scale
    pulses, width = code) | bit_serial (one bit-plane per cycle, ADC per plane,
    digital shift-add)."""
    adc_bits: int = 8
    """Column ADC resolution."""
    adc_range: str = "max"
    """ADC full scale from calibration data: max | percentile."""
    adc_percentile: float = 99.9
    """Percentile of |output| used when adc_range = percentile."""
    r_wire_ohm: float = 0.0
    """Wire resistance per cell pitch (ohm); needs the nodal or spice engine to matter."""
    write_variation: bool = True
    """Draw D2D and write variation when programming."""
    read_noise: bool = True
    """Read noise in the behavioral engine."""
    d2d_sigma_v: float | None = None
    """Override of the FeFET preset's D2D Vth sigma (V)."""
    age_s: float = 0.0
    """Read time after programming (retention drift)."""
    pulse_v: float = 1.5
    """In-array training: program pulse amplitude (V)."""
    pulse_width_s: float = 100e-9
    """In-array training: program pulse width (s)."""
    max_pulses: int = 8
    """In-array training: most pulses one update may send to a cell."""

    def __post_init__(self) -> None:
        check_cell_kind("hardware.cell", self.cell)
        check_choice("hardware.engine", self.engine, tuple(ENGINES))
        check_int("hardware.tile_rows", self.tile_rows, 1, 4096)
        check_int("hardware.tile_cols", self.tile_cols, 1, 4096)
        check_choice("hardware.dac_encoding", self.dac_encoding, DAC_ENCODINGS)
        self.dac()
        AdcParams(self.adc_bits)
        check_choice("hardware.adc_range", self.adc_range, ("max", "percentile"))
        check_range("hardware.adc_percentile", self.adc_percentile, 50.0, 100.0)
        check_range("hardware.r_wire_ohm", self.r_wire_ohm, 0.0, 1e6)
        if self.d2d_sigma_v is not None:
            check_range("hardware.d2d_sigma_v", self.d2d_sigma_v, 0.0, 1.0)
        check_range("hardware.age_s", self.age_s, 0.0)
        check_range("hardware.pulse_v", self.pulse_v, 0.0, 10.0, lo_open=True)
        check_range("hardware.pulse_width_s", self.pulse_width_s, 1e-12, 1.0)
        check_int("hardware.max_pulses", self.max_pulses, 1, 1000)

    def dac(self) -> DacParams:
        """The row drivers this configuration describes."""
        return DacParams(self.dac_bits, self.dac_v_fs_v,
                         encoding="pwm" if self.dac_encoding == "pwm" else "amplitude",
                         bit_serial=self.dac_encoding == "bit_serial")

    def make_cell(self) -> Cell:
        return make_cell(self.cell, CellOptions(v_read_v=self.dac_v_fs_v,
                                                d2d_sigma_v=self.d2d_sigma_v))


def _tiles(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


class AnalogLayer:
    """One weight matrix on one or more arrays."""

    def __init__(self, w: np.ndarray, hw: HardwareConfig, rng: np.random.Generator,
                 mask: np.ndarray | None = None, input_scale: float = 1.0,
                 domains: bool = False) -> None:
        check_range("input_scale", input_scale, 0.0, lo_open=True)
        self.hw = hw
        self.cell = hw.make_cell()
        self.mask = np.ones(w.shape, dtype=bool) if mask is None else mask.astype(bool)
        if self.mask.any() and not self.cell.prunable and not self.mask.all():
            raise ParamError("hardware.cell", hw.cell,
                             "pruned weights need a prunable cell (e.g. sparse_fefet)")
        self.input_scale = input_scale
        self.dac = hw.dac()
        g_min, g_max = self.cell.g_range()
        self.mapping: WeightMapping = fit_mapping(w * self.mask, g_min, g_max)
        self.row_tiles, self.col_tiles = _tiles(w.shape[0], hw.tile_rows), _tiles(w.shape[1],
                                                                                    hw.tile_cols)
        self.fields: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self.domains: dict[tuple[int, int], fe.Domains] = {}
        self.adc: dict[tuple[int, int], AdcParams] = {}
        self._cal_xn: np.ndarray | None = None
        self._reference: dict[tuple[int, int], float] = {}
        self._compensations: dict[tuple[int, int, float | None], float] = {}
        self.program(w, rng, domains)

    # ------------------------------------------------------------ programming
    def _tile_mask(self, r: slice, c: slice) -> np.ndarray:
        return interleave(self.mask[r, c], self.mask[r, c])

    def program(self, w: np.ndarray, rng: np.random.Generator, domains: bool = False) -> None:
        """Write w as device states (with variation when configured)."""
        self._compensations.clear()
        g_phys = interleave(*weights_to_pairs(w * self.mask, self.mapping))
        for ri, r in enumerate(self.row_tiles):
            for ci, c in enumerate(self.col_tiles):
                cols = slice(2 * c.start, 2 * c.stop)
                fields = self.cell.program(g_phys[r, cols])
                if self.cell.prunable:
                    fields = self.cell.prune(fields, self._tile_mask(r, c))
                if domains:
                    if not self.cell.programmable:
                        raise ParamError("hardware.cell", self.cell.kind,
                                         "in-array training needs a cell with a switching model")
                    d = _domains_for(fields["pol"], self.cell.switching_params, rng)
                    self.domains[ri, ci] = d
                    fields = {**fields, "pol": d.polarization}
                if self.hw.write_variation:
                    fields = self.cell.with_variation(fields, rng)
                self.fields[ri, ci] = fields

    def state(self, ri: int, ci: int, age_s: float | None = None) -> ArrayState:
        age = self.hw.age_s if age_s is None else age_s
        return ArrayState(self.fields[ri, ci], self.cell, differential=True, age_s=age)

    def calibrate(self, x_cal: np.ndarray) -> None:
        """Set each tile's ADC range from the outputs the calibration inputs produce, and
        keep their mean |output| as the reference for drift compensation."""
        self._cal_xn = self._normalise(x_cal)
        self._compensations.clear()
        for ri, ci in self.fields:
            a = np.abs(self._reference_read(ri, ci, 0.0))
            i_fs = (a.max() if self.hw.adc_range == "max"
                    else np.percentile(a, self.hw.adc_percentile))
            self.adc[ri, ci] = AdcParams(self.hw.adc_bits, float(max(i_fs, 1e-15)), signed=True)
            self._reference[ri, ci] = float(a.mean())

    def _reference_read(self, ri: int, ci: int, age_s: float | None) -> np.ndarray:
        """Noise-free, unquantized outputs of one tile for the calibration inputs."""
        wide = ArrayConfig(self.dac, AdcParams(24, 1.0, signed=True))
        xn = self._cal_xn[:, self.row_tiles[ri]]
        return get_engine("ideal").run(self.state(ri, ci, age_s), xn, wide).i_out_a

    # ------------------------------------------------------------ forward
    def _normalise(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=float) / self.input_scale, 0.0, 1.0)

    def _engine(self, rng: np.random.Generator | None):
        seed = int(rng.integers(2**31)) if rng is not None else 0
        noise = self.hw.read_noise and supports(self.hw.engine, "read_noise")
        return get_engine(self.hw.engine, noise=noise, seed=seed)

    def forward(self, x: np.ndarray, rng: np.random.Generator | None = None,
                age_s: float | None = None, compensate: bool = False) -> np.ndarray:
        """x (K, in) >= 0 -> x @ W as the arrays compute it (K, out)."""
        if not self.adc:
            raise ParamError("layer", "uncalibrated", "call calibrate() before forward()")
        xn = self._normalise(x)
        out = np.zeros((len(x), sum(c.stop - c.start for c in self.col_tiles)))
        engine = self._engine(rng)
        for (ri, ci), _ in self.fields.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            config = ArrayConfig(self.dac, self.adc[ri, ci], self.hw.r_wire_ohm,
                                 self.hw.r_wire_ohm)
            res = engine.run(self.state(ri, ci, age_s), xn[:, r], config)
            y = res.y_a
            if compensate:
                y = y * self._compensation(ri, ci, age_s)
            out[:, c] += outputs_to_mac(y, self.mapping, self.dac.v_fs_v)
        return out * self.input_scale

    def _compensation(self, ri: int, ci: int, age_s: float | None) -> float:
        """Global drift compensation: one factor per tile restoring the mean |output|
        measured at calibration, from a reference read of the calibration inputs at
        the read time (what a chip does); computed once per tile and read time."""
        key = (ri, ci, age_s)
        if key not in self._compensations:
            now = float(np.abs(self._reference_read(ri, ci, age_s)).mean())
            self._compensations[key] = self._reference[ri, ci] / max(now, 1e-30)
        return self._compensations[key]

    def read_weights(self) -> np.ndarray:
        """Weights as the devices hold them now (nominal conductances -> weights)."""
        w = np.zeros(self.mask.shape)
        for (ri, ci), fields in self.fields.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            g_pos, g_neg = deinterleave(self.cell.conductance(fields))
            w[r, c] = pairs_to_weights(g_pos, g_neg, self.mapping)
        return w * self.mask

    # ------------------------------------------------------------ in-array updates
    def apply_update(self, dw: np.ndarray, rng: np.random.Generator, vau: bool = False) -> None:
        """Write a weight update as gate pulses (exact per cell, or VAU: one value per
        row and one per column, each cell touched twice). Pruned cells ignore pulses."""
        if not self.domains:
            raise ParamError("mode", "in-array", "layer was programmed without domains")
        if vau:
            u, v = vau_vectors(dw, self.mask)
            steps = [np.broadcast_to(u[:, None], dw.shape), np.broadcast_to(v[None, :], dw.shape)]
        else:
            steps = [dw]
        for step in steps:
            self._pulse(step * self.mask, rng)

    def _pulse(self, dw: np.ndarray, rng: np.random.Generator) -> None:
        p = self.cell.switching_params
        g_min, g_max = self.cell.g_range()
        dg_per_pulse = (g_max - g_min) / 32.0  # nominal step of the default pulse scheme
        dg = 0.5 * dw * self.mapping.s_per_weight  # each side of the pair takes half
        for (ri, ci), d in self.domains.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            want = interleave(dg[r, c], -dg[r, c]) / dg_per_pulse
            n = np.floor(np.abs(want) + rng.uniform(size=want.shape)).astype(np.int64)
            n = (np.minimum(n, self.hw.max_pulses) * self._tile_mask(r, c)).astype(np.int64)
            v = np.sign(want) * self.hw.pulse_v
            d = fe.apply_pulses(d, v, self.hw.pulse_width_s, n, p, rng)
            self.domains[ri, ci] = d
            self.fields[ri, ci] = {**self.fields[ri, ci], "pol": d.polarization}
        self._compensations.clear()


def vau_vectors(dw: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row values u and column values v with u_i + v_j fitting dw on the kept cells
    (two alternating least-squares sweeps; pruned cells do not count)."""
    m = mask.astype(float)
    rows_n = np.maximum(m.sum(axis=1), 1.0)
    cols_n = np.maximum(m.sum(axis=0), 1.0)
    u = (dw * m).sum(axis=1) / rows_n
    v = np.zeros(dw.shape[1])
    for _ in range(2):
        v = ((dw - u[:, None]) * m).sum(axis=0) / cols_n
        u = ((dw - v[None, :]) * m).sum(axis=1) / rows_n
    return u, v


def _domains_for(pol: np.ndarray, p: fe.FefetParams, rng: np.random.Generator) -> fe.Domains:
    """Domain states realising pol: the lowest-Ea domains up (as potentiating from -1 leaves
    them), rounded to the nearest domain."""
    d = fe.new_domains(np.shape(pol), p, rng, pol=-1.0)
    n_up = np.rint((np.asarray(pol) + 1.0) / 2.0 * p.n_domains).astype(int)
    rank = np.argsort(np.argsort(d.ea_v, axis=-1), axis=-1)
    return fe.Domains(up=rank < n_up[..., None], progress=d.progress, ea_v=d.ea_v)
