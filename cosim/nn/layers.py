"""Network layers on simulated arrays.

Each layer's (in, out) weight matrix is tiled onto arrays of ``tile_rows`` x
``tile_cols`` logical columns (differential pairs, so 2 x tile_cols physical
columns), programmed as device states, and run through any engine. Inputs are
scaled into the DAC range by a per-layer input scale; ADC outputs are turned
back into MAC units through the weight mapping and summed digitally across
row tiles; bias and activation stay digital.

For in-array training the FeFET states live as ferroelectric domains: an
update is written as gate pulses through the switching model, so the applied
change is whatever the device does (nonlinear, asymmetric, stochastic); the
write circuit (per-cell reference or index-free line writes) is in
``cosim.nn.writes``. The backward pass reads the arrays transposed (columns
driven, rows sensed) through the same engine. With ``programming = "pulse"``
deployment is program-and-verify to the levels the device reaches
(``cosim.nn.programming``), and reads disturb the state they read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.array.energy import EnergyParams
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
from cosim.nn.programming import (
    PROGRAMMING,
    PulseScheme,
    d2d_fields,
    program_and_verify,
    pulse_ladder,
)
from cosim.nn.writes import (
    POLARITIES,
    STEPS_PER_RANGE,
    WRITE_MODES,
    WRITE_SCHEMES,
    WriteCircuit,
    WriteLedger,
    coincidence_streams,
    coincidence_write,
    exact_write,
    line_cost,
    phys_counts,
    pulse_counts,
    row_by_row_cost,
    vau_vectors,
    vau_write,
)
from device_models import fefet_mos2 as fe
from device_models.cells import Cell, TransposedCell, transpose_fields
from device_models.registry import CellOptions, check_cell_kind, make_cell
from device_models.validation import ParamError, check_choice, check_int, check_range
from periphery.converters import AdcParams, DacParams

DAC_ENCODINGS = ("amplitude", "pwm", "bit_serial")
READ_DISTURB_FLUSH = 4096
"""Input vectors of read stress gathered before it is applied to the domains."""


@dataclass(frozen=True)
class HardwareConfig:
    cell: str = "fefet"
    """resistor | fefet | sparse_fefet."""
    device: str = "mos2_hzo"
    """FeFET parameters: a preset name or a TOML file written by ``cosim fit``."""
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
    read_noise_frac: float | None = None
    """Override of the cell's relative read noise per read (1 sigma)."""
    levels: int | None = None
    """Usable levels per FeFET (its domain states, n_domains + 1): in-array writes move
    one domain at a time and deployment rounds each target to the nearest level.
    None keeps the preset (64 domains) and programs any polarization."""
    age_s: float = 0.0
    """Read time after programming (retention drift)."""
    pulse_v: float = 1.5
    """In-array training: program pulse amplitude (V)."""
    pulse_width_s: float = 100e-9
    """In-array training: program pulse width (s)."""
    max_pulses: int = 8
    """In-array training: most pulses one update may send to a cell or line."""
    write_scheme: str = "v2"
    """Line-write biasing: v2 (half-selected cells see V/2) | v3 (they see V/3)."""
    pair_mapping: str = "min"
    """Differential pairs: min (the unused side at g_min) | balanced (both sides around
    mid-range, where pulses move a device; for in-array training)."""
    write_polarities: str = "potentiate"
    """In-array updates: both (an increase potentiates G+ and depresses G-) | potentiate
    (G+ up to increase, G- up to decrease; only the slow, gradual direction)."""
    programming: str = "ideal"
    """Deployment: ideal (polarization set exactly, then C2C write error) | pulse
    (erase + program-and-verify with pulses, to the levels the device reaches)."""
    program_pulses: int = 64
    """Pulse programming: most potentiating pulses per cell."""
    read_disturb: bool = True
    """Reads stress the weight FeFETs' domains at the read gate bias (needs domains:
    pulse programming or in-array training)."""
    read_time_s: float = 100e-9
    """How long one input vector holds the read bias (s): the read-disturb stress."""
    adc_offset_sigma_lsb: float = 0.0
    """Sigma of every column converter's own input offset (LSB): the periphery's
    mismatch (comparator and op-amp offsets, ``cosim bench --mc``), drawn per tile
    and column when the layer is programmed."""
    adc_gain_error: float = 0.0
    """Relative gain error of every column's read chain (sensing and converter), as a
    transistor-level transfer measures it (``cosim corners``)."""
    adc_offset_lsb: float = 0.0
    """Systematic input offset of every column's read chain (LSB), the same on every
    converter (a corner's, not a mismatch draw)."""
    adc_noise_lsb: float = 0.0
    """Input-referred error per conversion (LSB, 1 sigma): thermal noise, or a measured
    transfer's residual after gain and offset, drawn anew per read (with read_noise on,
    as the cells' read noise)."""

    def __post_init__(self) -> None:
        check_cell_kind("hardware.cell", self.cell)
        try:
            fe.preset(self.device)
        except ParamError as e:
            raise ParamError("hardware.device", self.device, e.allowed) from None
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
        if self.read_noise_frac is not None:
            check_range("hardware.read_noise_frac", self.read_noise_frac, 0.0, 0.5)
        if self.levels is not None:
            check_int("hardware.levels", self.levels, 2, 4097)
            if not hasattr(self.make_cell(), "switching_params"):
                raise ParamError("hardware.levels", self.levels,
                                 "applies to FeFET cells (fefet, sparse_fefet, "
                                 "sparse_fefet_pair) only")
        check_range("hardware.age_s", self.age_s, 0.0)
        check_range("hardware.pulse_v", self.pulse_v, 0.0, 10.0, lo_open=True)
        check_range("hardware.pulse_width_s", self.pulse_width_s, 1e-12, 1.0)
        check_int("hardware.max_pulses", self.max_pulses, 1, 1000)
        check_choice("hardware.write_scheme", self.write_scheme, tuple(WRITE_SCHEMES))
        check_choice("hardware.pair_mapping", self.pair_mapping, ("min", "balanced"))
        check_choice("hardware.write_polarities", self.write_polarities, POLARITIES)
        check_choice("hardware.programming", self.programming, PROGRAMMING)
        check_int("hardware.program_pulses", self.program_pulses, 1, 10_000)
        check_range("hardware.read_time_s", self.read_time_s, 1e-12, 1.0)
        check_range("hardware.adc_offset_sigma_lsb", self.adc_offset_sigma_lsb, 0.0, 1e3)
        check_range("hardware.adc_gain_error", self.adc_gain_error, -0.5, 0.5)
        check_range("hardware.adc_offset_lsb", self.adc_offset_lsb, -1e3, 1e3)
        check_range("hardware.adc_noise_lsb", self.adc_noise_lsb, 0.0, 1e3)
        if self.programming == "pulse" and self.cell == "resistor":
            raise ParamError("hardware.programming", "pulse",
                             "needs a cell with a switching model (fefet or sparse_fefet)")

    def dac(self) -> DacParams:
        """The row drivers this configuration describes."""
        return DacParams(self.dac_bits, self.dac_v_fs_v,
                         encoding="pwm" if self.dac_encoding == "pwm" else "amplitude",
                         bit_serial=self.dac_encoding == "bit_serial")

    def pulse_scheme(self) -> PulseScheme:
        return PulseScheme(self.pulse_v, self.pulse_width_s, self.program_pulses)

    def make_cell(self) -> Cell:
        return make_cell(self.cell, CellOptions(v_read_v=self.dac_v_fs_v,
                                                d2d_sigma_v=self.d2d_sigma_v,
                                                fefet_preset=self.device,
                                                read_noise_frac=self.read_noise_frac,
                                                levels=self.levels))


def programmed_layer(w: np.ndarray, hw: HardwareConfig, rng: np.random.Generator,
                     x: np.ndarray, input_scale: float | None = None,
                     mask: np.ndarray | None = None, domains: bool = False) -> AnalogLayer:
    """w programmed onto freshly drawn arrays (device variation from rng), every tile's
    ADC ranged on the inputs x: the hardware-aware training forward of both network
    stacks (numpy ``mode = "hwa"`` and the PyTorch interface), and their deployment.
    Input scale: ``input_scale``, else the largest input."""
    scale = float(max(np.max(x), 1e-12)) if input_scale is None else input_scale
    layer = AnalogLayer(w, hw, rng, mask=mask, input_scale=scale, domains=domains)
    layer.calibrate(x)
    return layer


def _tiles(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


class AnalogLayer:
    """One weight matrix on one or more arrays."""

    def __init__(self, w: np.ndarray, hw: HardwareConfig, rng: np.random.Generator,
                 mask: np.ndarray | None = None, input_scale: float = 1.0,
                 domains: bool = False, w_max: float | None = None) -> None:
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
        self.levels: np.ndarray | None = None
        if hw.programming == "pulse":  # the top of the range is what pulses reach
            self.levels = pulse_ladder(self.cell, hw.pulse_scheme())
            g_min, g_max = float(self.levels[0]), float(self.levels[-1])
        fit = fit_mapping(w * self.mask, g_min, g_max)
        self.mapping = WeightMapping(g_min, g_max, fit.w_max if w_max is None else w_max,
                                     balanced=hw.pair_mapping == "balanced")
        self.row_tiles, self.col_tiles = _tiles(w.shape[0], hw.tile_rows), _tiles(w.shape[1],
                                                                                    hw.tile_cols)
        self.fields: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self.domains: dict[tuple[int, int], fe.Domains] = {}
        self.adc: dict[tuple[int, int], AdcParams] = {}
        self._cal_xn: np.ndarray | None = None
        self._reference: dict[tuple[int, int], float] = {}
        self._compensations: dict[tuple[int, int, float | None], float] = {}
        self.program_stats: dict[str, float] = {}
        self.reads = 0
        self._pending_reads = 0
        self.in_array = False
        # converters' offsets: drawn only when asked for, so other draws stay as they were
        self._adc_seed = (int(rng.integers(2**31)) if hw.adc_offset_sigma_lsb > 0 else 0)
        self.program(w, rng, domains)

    # ------------------------------------------------------------ programming
    def _tile_mask(self, r: slice, c: slice) -> np.ndarray:
        return interleave(self.mask[r, c], self.mask[r, c])

    def program(self, w: np.ndarray, rng: np.random.Generator, domains: bool = False) -> None:
        """Write w as device states (with variation when configured): ideal programming
        sets the polarization exactly (then the C2C write error); pulse programming
        runs program-and-verify and always leaves domain states."""
        self._compensations.clear()
        g_phys = interleave(*weights_to_pairs(w * self.mask, self.mapping))
        stats = []
        for ri, r in enumerate(self.row_tiles):
            for ci, c in enumerate(self.col_tiles):
                cols = slice(2 * c.start, 2 * c.stop)
                if self.hw.programming == "pulse":
                    template = self.cell.program(np.full(g_phys[r, cols].shape,
                                                         self.cell.g_range()[0]))
                    if self.hw.write_variation:
                        template = d2d_fields(self.cell, template, rng)
                    d, fields, st = program_and_verify(self.cell, g_phys[r, cols], template,
                                                       self.hw.pulse_scheme(), rng)
                    self.domains[ri, ci] = d
                    stats.append(st)
                    if self.cell.prunable:
                        fields = self.cell.prune(fields, self._tile_mask(r, c))
                    self.fields[ri, ci] = fields
                    continue
                fields = self.cell.program(g_phys[r, cols])
                if self.cell.prunable:
                    fields = self.cell.prune(fields, self._tile_mask(r, c))
                if domains and not hasattr(self.cell, "switching_params"):
                    if not self.cell.programmable:
                        raise ParamError("hardware.cell", self.cell.kind,
                                         "in-array training needs a cell with a switching model")
                    self.in_array = True  # the state lives in the fields (memristor)
                elif domains:
                    d = _domains_for(fields["pol"], self.cell.switching_params, rng)
                    self.domains[ri, ci] = d
                    fields = {**fields, "pol": d.polarization}
                if self.hw.write_variation:
                    fields = self.cell.with_variation(fields, rng)
                self.fields[ri, ci] = fields
        if stats:
            self.program_stats = {k: float(np.mean([st[k] for st in stats])) for k in stats[0]}
            self.program_stats["pulses_max"] = max(st["pulses_max"] for st in stats)
            self.program_stats["levels"] = float(len(np.unique(self.levels)))

    def set_mask(self, keep: np.ndarray) -> None:
        """Write the digital FeFETs anew: on where ``keep`` (pruning and regrowing are
        the steps that use the index)."""
        if not self.cell.prunable:
            raise ParamError("hardware.cell", self.cell.kind, "has no digital FeFET to write")
        self.mask = np.asarray(keep, dtype=bool).copy()
        for (ri, ci), fields in self.fields.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            self.fields[ri, ci] = self.cell.prune(fields, self._tile_mask(r, c))
        self._compensations.clear()

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
            sigma = self.hw.adc_offset_sigma_lsb
            seed = (int(np.random.SeedSequence([self._adc_seed, ri, ci]).generate_state(1)[0])
                    if sigma > 0 else 0)
            self.adc[ri, ci] = AdcParams(self.hw.adc_bits, float(max(i_fs, 1e-15)), signed=True,
                                         offset_sigma_lsb=sigma, dnl_seed=seed,
                                         gain_error=self.hw.adc_gain_error,
                                         offset_lsb=self.hw.adc_offset_lsb,
                                         noise_lsb=self.hw.adc_noise_lsb)
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
        self.after_reads(len(x))
        return out * self.input_scale

    def after_reads(self, vectors: int) -> None:
        """Count reads and, where the state lives as domains, let the read gate bias
        stress them for ``vectors`` x ``read_time_s`` (read disturb). The stress is
        exact in closed form for any split (``fe.apply_stress``), so it is gathered
        and applied once ``READ_DISTURB_FLUSH`` vectors have accrued, and before any
        write or weight read-back: until then the state lags by at most that many
        reads' stress (4e-4 s at 100 ns; a measurable change needs ~1e8 reads)."""
        self.reads += vectors
        if not (self.hw.read_disturb and self.domains):
            return
        self._pending_reads += vectors
        if self._pending_reads >= READ_DISTURB_FLUSH:
            self.flush_read_disturb()

    def flush_read_disturb(self) -> None:
        """Apply the read stress gathered since the last flush."""
        if not self._pending_reads:
            return
        p = self.cell.switching_params
        weight = getattr(self.cell, "weight", self.cell)  # the analog device of the cell
        t = self._pending_reads * self.hw.read_time_s
        self._pending_reads = 0
        # the drain sits on the driven row line, so the mask device does not shield reads
        for key, d in self.domains.items():
            self._set_domains(key, fe.apply_stress(d, weight.vg_read_v, t, p, None))

    def _set_domains(self, key: tuple[int, int], d: fe.Domains) -> None:
        self.domains[key] = d
        self.fields[key] = {**self.fields[key],
                            "pol": fe.effective_polarization(d, self.cell.switching_params)}
        self._compensations.clear()

    # ------------------------------------------------------------ transposed reads
    def transposed_state(self, ri: int, ci: int) -> ArrayState:
        """Tile (ri, ci) read the other way: its columns driven, its rows sensed."""
        st = self.state(ri, ci)
        return ArrayState(transpose_fields(st.fields), TransposedCell(self.cell),
                          differential=False, age_s=st.age_s)

    def backward(self, delta: np.ndarray, rng: np.random.Generator | None = None
                 ) -> np.ndarray:
        """delta (K, out) -> delta @ W^T (K, in) as the arrays compute it: a transposed
        read of every tile (columns driven by the DACs, rows sensed by ADCs).

        Signed errors go in two phases of non-negative drive, each scaled by the
        batch's largest |delta| (a digital scale): phase A puts delta+ on the G+
        columns and delta- on the G- columns, phase B the reverse; the row ADCs
        digitise each phase (range: this batch's largest ideal row current) and
        the difference is taken digitally."""
        delta = np.asarray(delta, dtype=float)
        scale = float(np.abs(delta).max())
        out = np.zeros((len(delta), self.mask.shape[0]))
        if scale == 0:
            return out
        pos, neg = np.maximum(delta, 0.0) / scale, np.maximum(-delta, 0.0) / scale
        engine = self._engine(rng)
        for (ri, ci) in self.fields:
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            xt = np.concatenate([interleave(pos[:, c], neg[:, c]),
                                 interleave(neg[:, c], pos[:, c])])
            state = self.transposed_state(ri, ci)
            wide = ArrayConfig(self.dac, AdcParams(24, 1.0, signed=True))
            i_fs = float(np.abs(get_engine("ideal").run(state, xt, wide).i_out_a).max())
            config = ArrayConfig(self.dac, AdcParams(self.hw.adc_bits, max(i_fs, 1e-15)),
                                 self.hw.r_wire_ohm, self.hw.r_wire_ohm)
            y = engine.run(state, xt, config).y_a
            k = len(delta)
            out[:, r] += outputs_to_mac(y[:k] - y[k:], self.mapping, self.dac.v_fs_v)
        self.after_reads(2 * len(delta))
        return out * scale

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
        self.flush_read_disturb()
        w = np.zeros(self.mask.shape)
        for (ri, ci), fields in self.fields.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            g_pos, g_neg = deinterleave(self.cell.conductance(fields))
            w[r, c] = pairs_to_weights(g_pos, g_neg, self.mapping)
        return w * self.mask

    # ------------------------------------------------------------ in-array updates
    def write_circuit(self) -> WriteCircuit:
        return WriteCircuit(self.hw.pulse_v, self.hw.pulse_width_s, self.hw.write_scheme,
                            EnergyParams().c_line_per_cell_f, self.hw.write_polarities)

    def pulses_per_weight(self) -> float:
        """Nominal pulses per unit weight change on each side of a pair (open loop)."""
        g_min, g_max = self.mapping.g_min_s, self.mapping.g_max_s
        steps = getattr(self.cell, "pulses_full_range", STEPS_PER_RANGE)
        return 0.5 * self.mapping.s_per_weight / ((g_max - g_min) / steps)

    def write_update(self, dw: np.ndarray, rng: np.random.Generator, mode: str = "exact"
                     ) -> WriteLedger:
        """Write a given (in, out) update: ``apply_update`` with identity factors."""
        return self.apply_update(np.eye(dw.shape[0]), np.asarray(dw, dtype=float), -1.0, rng,
                                 mode)

    def apply_update(self, x: np.ndarray, delta: np.ndarray, lr: float,
                     rng: np.random.Generator, mode: str = "exact") -> WriteLedger:
        """Write the update -lr x^T delta as gate pulses: ``exact`` per cell (the
        reference) or ``vau`` (index-free line writes from row/column values the
        factors give). Pruned cells are protected by their own digital FeFET in the
        write path, in both modes. Returns the write operations spent."""
        check_choice("train.write_mode", mode, WRITE_MODES)
        self.flush_read_disturb()
        if self.in_array:
            return self._write_fields(x, delta, lr, rng, mode)
        if not self.domains:
            raise ParamError("mode", "in-array", "layer was programmed without domains")
        ledger = WriteLedger()
        p = self.cell.switching_params
        circuit = self.write_circuit()
        ppw = self.pulses_per_weight()
        xn = np.asarray(x, dtype=float)
        for (ri, ci), d in self.domains.items():
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            duty = self.cell.write_duty(self.fields[ri, ci], self.hw.pulse_width_s)
            if mode == "vau":
                u, v = vau_vectors(xn[:, r], delta[:, c], lr)
                n_rows = np.sign(u) * pulse_counts(u, ppw, self.hw.max_pulses, rng)
                n_cols = np.sign(v) * pulse_counts(v, ppw, self.hw.max_pulses, rng)
                d = vau_write(d, p, duty, circuit, n_rows.astype(np.int64),
                              n_cols.astype(np.int64), rng, ledger)
            else:
                n = self._cell_counts(xn[:, r], delta[:, c], lr, ppw, rng)
                d = exact_write(d, p, duty, circuit, n, rng, ledger)
            self._set_domains((ri, ci), d)
        return ledger


    def coincidence_update(self, terms: list[tuple[np.ndarray, np.ndarray, float]], lr: float,
                           rng: np.random.Generator) -> WriteLedger:
        """Write lr x sum_t sign_t mean_n a_t[n]^T b_t[n] (activities in [0, 1]) as row x
        column coincidence pulses: per term S slots, S the stochastically rounded
        lr x pulses-per-weight (at most ``max_pulses``); each slot's row and column
        lines fire with their activities (``coincidence_streams``, drawn once per
        layer and shared by its tiles), so a cell's expected full-pulse count is the
        outer product. A term of positive sign increases weights, negative decreases.
        FeFETs see the half-selects through their kinetics; a memristor below its
        threshold at V/2 does not move, so it takes only the coincidences."""
        if not (self.in_array or self.domains):
            raise ParamError("mode", "in-array", "layer was programmed without domains")
        self.flush_read_disturb()
        ledger = WriteLedger()
        circuit = self.write_circuit()
        want = abs(lr) * self.pulses_per_weight()
        for a, b, sign in terms:
            slots = min(int(np.floor(want + rng.uniform())), self.hw.max_pulses)
            if slots == 0 or not (np.any(a) and np.any(b)):  # nothing would fire
                continue
            rows_fired, cols_fired = coincidence_streams(a, b, slots, rng)
            increase = sign * lr > 0
            for (ri, ci), fields in self.fields.items():
                r, c = self.row_tiles[ri], self.col_tiles[ci]
                if self.in_array:
                    n = rows_fired[:, r].T.astype(np.int64) @ cols_fired[:, c].astype(np.int64)
                    n_phys = self._pulse_fields((ri, ci), n if increase else -n, rng, ledger)
                    sides = 2 if self.hw.write_polarities == "both" else 1
                    for _ in range(sides):
                        line_cost(circuit, n_phys.shape, rows_fired[:, r].sum(),
                                  cols_fired[:, c].sum(), slots, ledger)
                    continue
                duty = self.cell.write_duty(fields, self.hw.pulse_width_s)
                d = coincidence_write(self.domains[ri, ci], self.cell.switching_params, duty,
                                      circuit, rows_fired[:, r], cols_fired[:, c], increase,
                                      rng, ledger)
                self._set_domains((ri, ci), d)
        ledger.updates += 1
        self._compensations.clear()
        return ledger

    def _cell_counts(self, x: np.ndarray, delta: np.ndarray, lr: float, ppw: float,
                     rng: np.random.Generator) -> np.ndarray:
        """Signed pulse counts per weight of a tile for the update -lr x^T delta."""
        dw = -lr * (x.T @ delta)
        return (np.sign(dw) * pulse_counts(dw, ppw, self.hw.max_pulses, rng)).astype(np.int64)

    def _write_fields(self, x: np.ndarray, delta: np.ndarray, lr: float,
                      rng: np.random.Generator, mode: str) -> WriteLedger:
        """Per-cell set/reset pulses into a cell whose state is its fields (memristor)."""
        if mode != "exact":
            raise ParamError("train.write_mode", mode, f"{self.cell.kind} cells take per-cell "
                             "(exact) writes only")
        ledger = WriteLedger()
        circuit = self.write_circuit()
        ppw = self.pulses_per_weight()
        for ri, ci in list(self.fields):
            r, c = self.row_tiles[ri], self.col_tiles[ci]
            n = self._cell_counts(np.asarray(x, dtype=float)[:, r], delta[:, c], lr, ppw, rng)
            row_by_row_cost(self._pulse_fields((ri, ci), n, rng, ledger), circuit, ledger)
        ledger.updates += 1
        self._compensations.clear()
        return ledger

    def _pulse_fields(self, key: tuple[int, int], n: np.ndarray, rng: np.random.Generator,
                      ledger: WriteLedger) -> np.ndarray:
        """Full set/reset pulses into tile ``key`` of a cell whose state is its fields, from
        signed counts per weight; the devices' pulses and energy go to ``ledger``.
        Returns the signed counts per physical cell (for the line cost)."""
        n_phys = phys_counts(n, self.hw.write_polarities)
        self.fields[key], energy = self.cell.write_pulses(self.fields[key], n_phys, rng)
        ledger.cell_pulses += float(np.abs(n_phys).sum())
        ledger.energy_device_j += energy
        return n_phys


def _domains_for(pol: np.ndarray, p: fe.FefetParams, rng: np.random.Generator) -> fe.Domains:
    """Domain states realising pol: the lowest-Ea domains up (as potentiating from -1 leaves
    them), rounded to the nearest domain."""
    d = fe.new_domains(np.shape(pol), p, rng, pol=-1.0)
    n_up = np.rint((np.asarray(pol) + 1.0) / 2.0 * p.n_domains).astype(int)
    rank = np.argsort(np.argsort(d.ea_v, axis=-1), axis=-1)
    return fe.Domains(up=rank < n_up[..., None], progress=d.progress, ea_v=d.ea_v,
                      threshold=d.threshold, flips=d.flips)
