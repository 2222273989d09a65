"""Cells: what sits at one row/column crossing, composed from device models.

A cell has a numpy face (current at a bias, nominal conductance) and a SPICE
face (a preamble emitted once per deck and one instance per crossing). The
crossbar generator and every engine work through this small contract, so a
new cell type drops in without touching them.

Per-cell values are passed as named fields (``{"g_s": array}``), each an
array of shape (rows, physical columns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from device_models import fefet_mos2 as fe
from device_models import resistor
from device_models import rram_taox as rram
from device_models.spice_text import fmt
from device_models.validation import ParamError


@runtime_checkable
class Cell(Protocol):
    kind: str
    fields: tuple[str, ...]

    def spice_preamble(self) -> str:
        """Text emitted once per deck (subcircuits, models, shared bias sources)."""
        ...

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        """One cell between a row node and a column node."""
        ...

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        """Numpy face: current (A) from the row node into the column node."""
        ...

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        """Nominal linear conductance (S) the cell is programmed to (ideal engine)."""
        ...

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        """Per-cell fields that realise a target conductance as closely as the device can."""
        ...

    def g_range(self) -> tuple[float, float]:
        """(lowest, highest) programmable nominal conductance (S)."""
        ...

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        """Fields as read ``age_s`` after programming (retention drift)."""
        ...

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        """Fields as actually written: device-to-device and write variation drawn from rng."""
        ...

    def read_noise(self, i_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Currents of one noisy read."""
        ...

    spice_options: tuple[str, ...]
    """``.options`` entries this cell needs for its accuracy (tolerances)."""

    linear: bool
    """Current is proportional to the voltage across the cell (I = G V): the array is
    a linear network, so engines may solve it once per programmed array (transfer
    matrix, superposition) instead of once per input."""

    programmable: bool
    """The cell has a switching model (``switching_params``) that in-array training
    writes with gate pulses."""

    prunable: bool
    """The cell holds its own sparsity bit (``prune(fields, keep)``): pruned weights
    need no index outside the array."""


def check_fields(cell: Cell, fields: dict[str, np.ndarray],
                 differential: bool = False) -> tuple[int, int]:
    """Validate that ``fields`` carries exactly the cell's fields, one non-empty shape
    (even column count when ``differential``); return (rows, physical columns)."""
    missing = [f for f in cell.fields if f not in fields]
    extra = [f for f in fields if f not in cell.fields]
    if missing or extra:
        raise ParamError("fields", sorted(fields), f"{cell.kind} cell needs exactly {cell.fields}")
    shapes = {np.shape(fields[f]) for f in cell.fields}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ParamError("fields", {f: np.shape(fields[f]) for f in cell.fields},
                         "every field must be one 2-D array (rows, physical columns)")
    rows, phys = next(iter(shapes))
    if rows < 1 or phys < 1:
        raise ParamError("fields", (rows, phys), "array needs at least one row and column")
    for f in cell.fields:
        values = np.asarray(fields[f], dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ParamError(f"fields[{f!r}][{i}, {j}]", float(values[i, j]),
                             f"must be finite ({int(bad.sum())} non-finite values)")
        if f in getattr(cell, "nonnegative_fields", ()) and (values < 0).any():
            i, j = np.argwhere(values < 0)[0]
            raise ParamError(f"fields[{f!r}][{i}, {j}]", float(values[i, j]),
                             f"must be >= 0 ({int((values < 0).sum())} negative values)")
    if differential and phys % 2:
        raise ParamError("fields", (rows, phys), "differential arrays need an even column count")
    if getattr(cell, "paired", False) and not differential:
        raise ParamError("differential", False, f"the {cell.kind} cell shares one digital "
                         "FeFET between the two columns of a pair: it needs a differential "
                         "array")
    return rows, phys


@dataclass(frozen=True)
class ResistorCell:
    """An ideal programmable resistor (the reference cell)."""

    params: resistor.ResistorParams = field(default_factory=resistor.ResistorParams)
    kind: str = "resistor"
    fields: tuple[str, ...] = ("g_s",)
    nonnegative_fields: tuple[str, ...] = ("g_s",)
    spice_options: tuple[str, ...] = ()
    linear: bool = True
    programmable: bool = False
    prunable: bool = False
    fefets_per_cell: ClassVar[float] = 0

    def spice_preamble(self) -> str:
        return resistor.spice_subckt(self.params)

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return resistor.spice_instance(name, row_node, col_node, values["g_s"])

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        return resistor.drain_current(np.asarray(v_row_v) - v_col_v, fields["g_s"])

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(fields["g_s"], dtype=float)

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        g = _check_targets(g_target_s, *self.g_range(), "", rel=1e-12)
        return {"g_s": g.copy()}

    def g_range(self) -> tuple[float, float]:
        return self.params.g_min_s, self.params.g_max_s

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        return fields  # an ideal resistor does not drift

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        return fields  # the reference cell is exact

    read_noise_frac: ClassVar[float] = 0.0
    """Relative read noise per cell (none: the reference cell is exact)."""

    def read_noise(self, i_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return i_a


READ_GATE_NODE = "wlread"
MASK_GATE_NODE = "wlmask"


def osdi_model(module: str) -> str:
    """The ``.model`` name of a Verilog-A module in decks."""
    return f"{module}_m"


def osdi_models(modules: dict[str, str]) -> str:
    return "".join(f".model {osdi_model(m)} {m}\n" for m in modules)


def _check_targets(g_target_s: np.ndarray, lo: float, hi: float, what: str,
                   rel: float = 1e-9) -> np.ndarray:
    """Target conductances as floats, refused (naming ``what``) beyond [lo, hi] by more
    than the relative slack ``rel``."""
    g = np.asarray(g_target_s, dtype=float)
    if g.size and (g.min() < lo * (1 - rel) or g.max() > hi * (1 + rel)):
        raise ParamError("g_target_s", (float(g.min()), float(g.max())),
                         f"must lie within {what}[{lo:g}, {hi:g}] S")
    return g


def _invert_monotone(fn, target: np.ndarray, lo: float, hi: float, iters: int = 60) -> np.ndarray:
    """x in [lo, hi] with fn(x) = target for increasing fn, to round-off.

    A table of fn on 4097 points gives each target its bracket and a start by
    linear interpolation; chord steps with the bracket's slope converge by a factor
    ~ h fn''/fn' (about 1e-3) per step. Entries whose residual is still above
    1e-14 of the range after 6 steps (flat or kinked fn) finish by bisection."""
    target = np.asarray(target, dtype=float)
    grid = np.linspace(lo, hi, 4097)
    table = np.asarray(fn(grid), dtype=float)
    k = np.clip(np.searchsorted(table, target) - 1, 0, len(grid) - 2)
    slope = np.maximum((table[k + 1] - table[k]) / (grid[1] - grid[0]), 1e-300)
    x = np.clip(grid[k] + (target - table[k]) / slope, lo, hi)
    tol = 1e-14 * max(abs(table[-1] - table[0]), 1e-300)
    for _ in range(6):
        r = fn(x) - target
        if np.all(np.abs(r) <= tol):
            return x
        x = np.clip(x - r / slope, lo, hi)
    bad = np.abs(fn(x) - target) > tol
    if not bad.any():
        return x
    a = np.full(np.shape(target), lo, dtype=float)
    b = np.full(np.shape(target), hi, dtype=float)
    for _ in range(iters):
        mid = 0.5 * (a + b)
        below = fn(mid) < target
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    return np.where(bad, 0.5 * (a + b), x)


@dataclass(frozen=True)
class FefetCell:
    """One MoS2 FeFET per crossing: drain on the row, source on the column, gate on a
    shared read word line at ``vg_read_v``. The weight is the polarization."""

    params: fe.FefetParams = field(default_factory=lambda: fe.MOS2_HZO_DEFAULT)
    vg_read_v: float = 0.6
    """Read word-line (gate) voltage (V)."""
    v_ref_v: float = 0.2
    """Drain bias at which the nominal conductance I/V is defined (the DAC full scale)."""
    pol_min: float = -1.0
    """Lowest polarization used for weights (sets g_min)."""
    discrete: bool = False
    """Programming lands on the domain grid (n_domains + 1 levels) instead of any
    polarization: the device's usable levels are its domain states."""
    kind: str = "fefet"
    fields: tuple[str, ...] = ("pol", "dvth_v")
    spice_options: tuple[str, ...] = ("reltol=1e-7", "abstol=1e-16", "vntol=1e-10")
    linear: bool = False
    programmable: bool = True
    prunable: bool = False

    @property
    def switching_params(self) -> fe.FefetParams:
        """The device whose domains in-array training switches."""
        return self.params

    def __post_init__(self) -> None:
        from device_models.validation import check_range

        check_range("vg_read_v", self.vg_read_v, -10.0, 10.0)
        check_range("v_ref_v", self.v_ref_v, 0.0, 5.0, lo_open=True)
        check_range("pol_min", self.pol_min, -1.0, 0.9)

    def spice_preamble(self) -> str:
        return (fe.spice_subckt(self.params)
                + f"Vwl {READ_GATE_NODE} 0 DC {fmt(self.vg_read_v)}\n")

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return (f"X{name} {row_node} {READ_GATE_NODE} {col_node} "
                f"{fe.subckt_name(self.params, 'read')} pol={fmt(values['pol'])} "
                f"dvth={fmt(values['dvth_v'])}\n")

    # The Verilog-A face (OSDI): the same read current, compiled.
    def verilog_a_modules(self) -> dict[str, str]:
        return dict([fe.verilog_a(self.params)])

    def osdi_preamble(self) -> str:
        return (osdi_models(self.verilog_a_modules())
                + f"Vwl {READ_GATE_NODE} 0 DC {fmt(self.vg_read_v)}\n")

    def osdi_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return (f"N{name} {row_node} {READ_GATE_NODE} {col_node} "
                f"{osdi_model(fe.subckt_name(self.params, 'va'))} pol={fmt(values['pol'])} "
                f"dvth={fmt(values['dvth_v'])}\n")

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        vc = np.asarray(v_col_v, dtype=float)
        return fe.drain_current(self.vg_read_v - vc, np.asarray(v_row_v) - vc, fields["pol"],
                                self.params, fields["dvth_v"], vs_v=vc)

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return self.current(self.v_ref_v, fields) / self.v_ref_v

    def _g_of_pol(self, pol: np.ndarray) -> np.ndarray:
        return self.conductance({"pol": pol, "dvth_v": np.zeros_like(pol)})

    def g_range(self) -> tuple[float, float]:
        return float(self._g_of_pol(np.array(self.pol_min))), float(self._g_of_pol(np.array(1.0)))

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        lo, hi = self.g_range()
        g = _check_targets(g_target_s, lo, hi, "the FeFET's range ")
        pol = self.on_levels(_invert_monotone(self._g_of_pol, np.clip(g, lo, hi),
                                              self.pol_min, 1.0))
        return {"pol": pol, "dvth_v": np.zeros_like(pol)}

    def on_levels(self, pol: np.ndarray) -> np.ndarray:
        """``pol`` rounded to the nearest domain state (up-rounded where that falls
        below pol_min) when the cell is discrete; unchanged otherwise."""
        if not self.discrete:
            return pol
        n = self.params.n_domains
        q = np.rint((np.asarray(pol) + 1.0) / 2.0 * n)
        q = np.where(2.0 * q / n - 1.0 < self.pol_min - 1e-12, q + 1, q)
        return np.minimum(2.0 * q / n - 1.0, 1.0)

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        return {**fields, "pol": fe.drift(fields["pol"], age_s, self.params)}

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        pol = fe.write_error(fields["pol"], self.params, rng)
        dvth = fields["dvth_v"] + fe.draw_vth_offsets(np.shape(pol), self.params, rng)
        return {"pol": pol, "dvth_v": dvth}

    @property
    def read_noise_frac(self) -> float:
        """Sigma of the relative Gaussian read noise, independent per cell and read."""
        return self.params.read_noise_frac

    def read_noise(self, i_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return fe.read_noise(i_a, self.params, rng)

    def write_duty(self, fields: dict[str, np.ndarray], width_s: float) -> np.ndarray:
        """Fraction of each write pulse the ferroelectric sees at the full line voltage:
        1 (the channel sits on the driven lines)."""
        return np.ones(np.shape(fields["pol"]))

    fefets_per_cell: ClassVar[float] = 1


DIGITAL_FEFET = fe.FefetParams(width_m=4e-6)
"""Digital (sparsity) FeFET: the default device, 4x wider so its on-resistance
adds little in series with the weight FeFET."""


@dataclass(frozen=True)
class SparseFefetCell:
    """Index-free sparse 2-FeFET cell (Ning et al., Nat. Electron. 2025): the analog
    weight FeFET (row -> internal node) in series with a digital FeFET (internal
    node -> column) whose polarization says whether the weight is kept (+1) or
    pruned (-1). The two gates sit on shared read lines."""

    weight: FefetCell = field(default_factory=FefetCell)
    """The analog weight device and its read bias."""
    mask_params: fe.FefetParams = field(default_factory=lambda: DIGITAL_FEFET)
    """The digital sparsity device."""
    vg_mask_v: float = 0.3
    """Read gate voltage of the digital device: on at P=+1, deep off at P=-1 (V)."""
    kind: str = "sparse_fefet"
    fields: tuple[str, ...] = ("pol", "dvth_v", "mask_pol", "mask_dvth_v")
    spice_options: tuple[str, ...] = ("reltol=1e-9", "abstol=1e-17", "vntol=1e-12")
    linear: bool = False
    programmable: bool = True
    prunable: bool = True

    @property
    def switching_params(self) -> fe.FefetParams:
        """The analog weight device (the digital one is written only when pruning)."""
        return self.weight.params

    def _mask_name(self) -> str:
        return fe.subckt_name(self.mask_params, "read")

    def spice_preamble(self) -> str:
        pre = self.weight.spice_preamble()
        if self.mask_params != self.weight.params:
            pre += fe.spice_subckt(self.mask_params)
        return pre + f"Vwm {MASK_GATE_NODE} 0 DC {fmt(self.vg_mask_v)}\n"

    def verilog_a_modules(self) -> dict[str, str]:
        return dict([fe.verilog_a(self.weight.params), fe.verilog_a(self.mask_params)])

    def osdi_preamble(self) -> str:
        return (osdi_models(self.verilog_a_modules())
                + f"Vwl {READ_GATE_NODE} 0 DC {fmt(self.weight.vg_read_v)}\n"
                + f"Vwm {MASK_GATE_NODE} 0 DC {fmt(self.vg_mask_v)}\n")

    def osdi_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        mid = f"m_{name}"
        weight = osdi_model(fe.subckt_name(self.weight.params, "va"))
        mask = osdi_model(fe.subckt_name(self.mask_params, "va"))
        return (f"N{name}w {row_node} {READ_GATE_NODE} {mid} {weight} "
                f"pol={fmt(values['pol'])} dvth={fmt(values['dvth_v'])}\n"
                f"N{name}m {mid} {MASK_GATE_NODE} {col_node} {mask} "
                f"pol={fmt(values['mask_pol'])} dvth={fmt(values['mask_dvth_v'])}\n")

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        mid = f"m_{name}"
        w = self.weight
        return (f"X{name}w {row_node} {READ_GATE_NODE} {mid} "
                f"{fe.subckt_name(w.params, 'read')} pol={fmt(values['pol'])} "
                f"dvth={fmt(values['dvth_v'])}\n"
                f"X{name}m {mid} {MASK_GATE_NODE} {col_node} {self._mask_name()} "
                f"pol={fmt(values['mask_pol'])} dvth={fmt(values['mask_dvth_v'])}\n")

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        """Series solve for the internal node by safeguarded Newton (bracketed between
        the column and row voltages); converges to |dV| < 1e-15 V + 1e-13 |Vds|."""
        wp, mp = self.weight.params, self.mask_params
        vg_w, vg_m = self.weight.vg_read_v, self.vg_mask_v
        pol, dvth = fields["pol"], fields["dvth_v"]
        mpol, mdvth = fields["mask_pol"], fields["mask_dvth_v"]
        shape = np.broadcast_shapes(np.shape(v_row_v), np.shape(v_col_v), np.shape(pol))
        v = np.broadcast_to(np.asarray(v_row_v, dtype=float), shape)
        vc = np.broadcast_to(np.asarray(v_col_v, dtype=float), shape)
        lo, hi = np.minimum(v, vc), np.maximum(v, vc)
        # Start one linearised step from where the node sits: next to the column when
        # the digital FeFET is on, next to the row when it is off (pruned). The root can
        # lie ~1e-8 V from the bracket's edge, where plain Newton keeps overshooting.
        i_w_at_col = fe.drain_current(vg_w - vc, v - vc, pol, wp, dvth, vs_v=vc)
        near_col = vc + i_w_at_col / fe.d_current_d_vd(vg_m, vc, vc, mpol, mp, mdvth)
        i_m_at_row = fe.drain_current(vg_m - vc, v - vc, mpol, mp, mdvth, vs_v=vc)
        near_row = v + i_m_at_row / fe.d_current_d_vs(vg_w, v, v, pol, wp, dvth)
        vm = np.clip(np.where(np.asarray(mpol) > 0, near_col, near_row), lo, hi)

        def mask_current(vm, vc, mpol, mdvth):
            return fe.drain_current(vg_m - vc, vm - vc, mpol, mp, mdvth, vs_v=vc)

        # Iterate on the unconverged entries only: after a few passes most have
        # converged and the last ones take the rest (an entry stops at its own
        # tolerance). Everything is flattened to the broadcast shape.
        flat = [np.broadcast_to(a, shape).ravel() for a in (v, vc, pol, dvth, mpol, mdvth)]
        a_v, a_vc, a_pol, a_dvth, a_mpol, a_mdvth = flat
        out = np.array(np.broadcast_to(vm, shape), dtype=float).ravel()
        act = np.arange(out.size)
        a_vm = out.copy()
        a_lo = np.broadcast_to(lo, shape).ravel().copy()
        a_hi = np.broadcast_to(hi, shape).ravel().copy()
        for _ in range(100):
            f = (fe.drain_current(vg_w - a_vm, a_v - a_vm, a_pol, wp, a_dvth, vs_v=a_vm)
                 - mask_current(a_vm, a_vc, a_mpol, a_mdvth))
            a_lo = np.where(f > 0, a_vm, a_lo)  # f decreases with vm: root lies above
            a_hi = np.where(f > 0, a_hi, a_vm)
            df = (fe.d_current_d_vs(vg_w, a_v, a_vm, a_pol, wp, a_dvth)
                  - fe.d_current_d_vd(vg_m, a_vm, a_vc, a_mpol, mp, a_mdvth))
            step = np.where(df < 0, -f / np.where(df < 0, df, -1.0), 0.0)
            new = a_vm + step
            # Strict: a converged step rounds to zero and lands on the bracket's edge.
            bad = (new < a_lo) | (new > a_hi) | (df >= 0)
            new = np.where(bad, 0.5 * (a_lo + a_hi), new)
            done = np.abs(new - a_vm) <= 1e-15 + 1e-13 * np.abs(a_v - a_vc)
            out[act] = new
            if np.all(done):
                break
            keep = ~done
            act, a_vm, a_lo, a_hi = act[keep], new[keep], a_lo[keep], a_hi[keep]
            a_v, a_vc, a_pol, a_dvth, a_mpol, a_mdvth = (
                a[keep] for a in (a_v, a_vc, a_pol, a_dvth, a_mpol, a_mdvth))
        vm = out.reshape(shape)
        return mask_current(vm, vc, mpol, mdvth)

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return self.current(self.weight.v_ref_v, fields) / self.weight.v_ref_v

    def _g_of_pol(self, pol: np.ndarray) -> np.ndarray:
        z = np.zeros_like(pol)
        return self.conductance({"pol": pol, "dvth_v": z, "mask_pol": z + 1.0, "mask_dvth_v": z})

    def g_range(self) -> tuple[float, float]:
        return (float(self._g_of_pol(np.array(self.weight.pol_min))),
                float(self._g_of_pol(np.array(1.0))))

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        """Every cell kept (mask on); prune with ``prune``."""
        lo, hi = self.g_range()
        g = _check_targets(g_target_s, lo, hi, "the sparse cell's range ")
        pol = self.weight.on_levels(_invert_monotone(self._g_of_pol, np.clip(g, lo, hi),
                                                     self.weight.pol_min, 1.0))
        z = np.zeros_like(pol)
        return {"pol": pol, "dvth_v": z, "mask_pol": z + 1.0, "mask_dvth_v": z.copy()}

    @staticmethod
    def prune(fields: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
        """Write the digital devices: +1 where ``keep``, -1 (pruned) elsewhere."""
        return {**fields, "mask_pol": np.where(np.asarray(keep, dtype=bool), 1.0, -1.0)}

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        return {**fields, "pol": fe.drift(fields["pol"], age_s, self.weight.params),
                "mask_pol": fe.drift(fields["mask_pol"], age_s, self.mask_params)}

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        w = self.weight.with_variation({"pol": fields["pol"], "dvth_v": fields["dvth_v"]}, rng)
        shape = np.shape(fields["mask_pol"])
        mdvth = fields["mask_dvth_v"] + fe.draw_vth_offsets(shape, self.mask_params, rng)
        return {**fields, **w, "mask_dvth_v": mdvth}

    @property
    def read_noise_frac(self) -> float:
        """The weight FeFET's relative read noise (it sets the cell's current)."""
        return self.weight.read_noise_frac

    def read_noise(self, i_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.weight.read_noise(i_a, rng)

    fefets_per_cell: ClassVar[float] = 2

    def write_duty(self, fields: dict[str, np.ndarray], width_s: float) -> np.ndarray:
        """Fraction of each write pulse the weight FeFET's ferroelectric sees at the full
        line voltage, decided by the digital FeFET.

        Write path (this project's assumption; the publication does not draw its write
        circuit): the weight FeFET's channel reaches the write reference only through
        the digital FeFET, whose gate line tracks the channel lines at the read pass
        bias ``vg_mask_v``; the drain lines float. A pulse charges the weight gate's
        capacitance C_g through the digital FeFET's channel conductance g_m: the
        ferroelectric sees 90 % of the pulse after 2.3 C_g / g_m, and the pulse is
        counted from then. A kept cell (g_m ~ 1e-5 S) loses ~2 ns of a 100 ns pulse;
        a pruned one (g_m ~ 1e-11 S, ~1 ms) sees nothing: the digital FeFET blocks
        the write in the cell, with no index outside it."""
        mp = self.mask_params
        g_m = fe.d_current_d_vd(self.vg_mask_v, 0.0, 0.0, fields["mask_pol"], mp,
                                fields["mask_dvth_v"])
        t_charge = 2.3 * self.weight.params.c_gate_f / np.maximum(g_m, 1e-30)
        return np.clip(1.0 - t_charge / width_s, 0.0, 1.0)


@dataclass(frozen=True)
class SparsePairCell(SparseFefetCell):
    """Index-free sparse differential pair with one digital FeFET for both sides: the
    row line feeds the digital FeFET, whose far node feeds the G+ weight FeFET (to
    column 2j) and the G- weight FeFET (to column 2j+1). Three FeFETs per signed
    weight instead of four; it only exists on differential arrays.

    Per-crossing fields as in ``sparse_fefet``; the mask fields of a pair are those
    of its even (G+) column. With row-wire resistance the shared device sits at the
    G+ crossing's row node (the G- crossing's row-wire segment is not in its path;
    the nodal engine, which injects per crossing, approximates that one segment)."""

    kind: str = "sparse_fefet_pair"
    paired: ClassVar[bool] = True
    fefets_per_cell: ClassVar[float] = 1.5

    @staticmethod
    def _pair_node(name: str) -> str:
        m = re.fullmatch(r"c(\d+)_(\d+)", name)
        if m is None:
            raise ParamError("instance name", name, "pair cells need crossbar names c<i>_<j>")
        return f"mp_{m.group(1)}_{int(m.group(2)) // 2}"

    def _instance(self, name: str, row_node: str, col_node: str, values: dict,
                  prefix: str, weight: str, mask: str) -> str:
        mid = self._pair_node(name)
        j = int(name.rsplit("_", 1)[1])
        out = (f"{prefix}{name}w {mid} {READ_GATE_NODE} {col_node} {weight} "
               f"pol={fmt(values['pol'])} dvth={fmt(values['dvth_v'])}\n")
        if j % 2 == 0:  # the shared digital FeFET lives with the G+ crossing
            out = (f"{prefix}{name}m {row_node} {MASK_GATE_NODE} {mid} {mask} "
                   f"pol={fmt(values['mask_pol'])} dvth={fmt(values['mask_dvth_v'])}\n") + out
        return out

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return self._instance(name, row_node, col_node, values, "X",
                              fe.subckt_name(self.weight.params, "read"), self._mask_name())

    def osdi_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return self._instance(name, row_node, col_node, values, "N",
                              osdi_model(fe.subckt_name(self.weight.params, "va")),
                              osdi_model(fe.subckt_name(self.mask_params, "va")))

    def _g_of_pol(self, pol: np.ndarray) -> np.ndarray:
        """Nominal G of one side with the other side at g_min (a single-branch series
        solve; the other branch's current through the shared device is < 1 %)."""
        z = np.zeros_like(pol)
        return SparseFefetCell.current(self, self.weight.v_ref_v, {
            "pol": pol, "dvth_v": z, "mask_pol": z + 1.0, "mask_dvth_v": z}
        ) / self.weight.v_ref_v

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        """KCL at each pair's shared node (digital FeFET in, two weight FeFETs out),
        by safeguarded Newton inside the terminals' voltage range."""
        wp, mp = self.weight.params, self.mask_params
        vg_w, vg_m = self.weight.vg_read_v, self.vg_mask_v
        shape = np.broadcast_shapes(np.shape(v_row_v), np.shape(v_col_v),
                                    np.shape(fields["pol"]))
        if len(shape) < 2 or shape[-1] % 2:
            raise ParamError("fields", shape, "sparse_fefet_pair needs an even number of "
                             "physical columns (differential pairs)")
        b = [np.broadcast_to(np.asarray(a, dtype=float), shape) for a in (
            v_row_v, v_col_v, fields["pol"], fields["dvth_v"], fields["mask_pol"],
            fields["mask_dvth_v"])]
        vr = b[0][..., 0::2]  # the pair's digital FeFET sits at the G+ crossing
        vcp, vcn = b[1][..., 0::2], b[1][..., 1::2]
        pp, pn, dp, dn = b[2][..., 0::2], b[2][..., 1::2], b[3][..., 0::2], b[3][..., 1::2]
        mpol, mdvth = b[4][..., 0::2], b[5][..., 0::2]
        half = vr.shape
        flat = [np.ascontiguousarray(a).ravel() for a in (vr, vcp, vcn, pp, pn, dp, dn, mpol,
                                                          mdvth)]
        lo = np.minimum(np.minimum(flat[1], flat[2]), flat[0])
        hi = np.maximum(np.maximum(flat[1], flat[2]), flat[0])
        vm_all = 0.5 * (lo + hi)
        act = np.arange(vm_all.size)  # iterate on the unconverged pairs only
        a_vm = vm_all.copy()
        for _ in range(200):
            r_, cp_, cn_, pp_, pn_, dp_, dn_, mp_, md_ = (a[act] if len(act) < a.size else a
                                                          for a in flat)
            i_mask = fe.drain_current(vg_m - a_vm, r_ - a_vm, mp_, mp, md_, vs_v=a_vm)
            r = (i_mask - fe.drain_current(vg_w - cp_, a_vm - cp_, pp_, wp, dp_, vs_v=cp_)
                 - fe.drain_current(vg_w - cn_, a_vm - cn_, pn_, wp, dn_, vs_v=cn_))
            lo_a = np.where(r > 0, a_vm, lo)  # r falls with vm: the root lies above
            hi_a = np.where(r > 0, hi, a_vm)
            dr = (fe.d_current_d_vs(vg_m, r_, a_vm, mp_, mp, md_)
                  - fe.d_current_d_vd(vg_w, a_vm, cp_, pp_, wp, dp_)
                  - fe.d_current_d_vd(vg_w, a_vm, cn_, pn_, wp, dn_))
            new = a_vm - r / np.where(dr < 0, dr, -1.0)
            bad = (new <= lo_a) | (new >= hi_a) | (dr >= 0)
            new = np.where(bad, 0.5 * (lo_a + hi_a), new)
            done = np.abs(new - a_vm) <= 1e-15 + 1e-13 * (hi_a - lo_a + np.abs(r_))
            vm_all[act] = new
            if np.all(done):
                break
            keep = ~done
            act, a_vm, lo, hi = act[keep], new[keep], lo_a[keep], hi_a[keep]
        vm = vm_all.reshape(half)

        def branch(vm, vc, pol, dvth):
            return fe.drain_current(vg_w - vc, vm - vc, pol, wp, dvth, vs_v=vc)

        out = np.empty(shape)
        out[..., 0::2] = branch(vm, vcp, pp, dp)
        out[..., 1::2] = branch(vm, vcn, pn, dn)
        return out

    @staticmethod
    def _share_mask(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One digital FeFET per pair: the odd column's mask fields copy the even's."""
        out = dict(fields)
        for k in ("mask_pol", "mask_dvth_v"):
            a = np.array(fields[k], dtype=float)
            a[..., 1::2] = a[..., 0::2]
            out[k] = a
        return out

    def prune(self, fields: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
        keep = np.asarray(keep, dtype=bool)
        both = keep.copy()
        both[..., 1::2] = keep[..., 0::2]
        return self._share_mask(SparseFefetCell.prune(fields, both))

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        return self._share_mask(SparseFefetCell.with_variation(self, fields, rng))


@dataclass(frozen=True)
class RramCell:
    """One TaOx memristor per crossing (row line to column line). Its nominal
    conductance is the chord I(v_ref) / v_ref of the sinh I-V at the DAC full scale.
    In-array training writes it per cell with set/reset pulses (``write_pulses``);
    its state is its fields."""

    params: rram.RramParams = field(default_factory=lambda: rram.TAOX_DEFAULT)
    v_ref_v: float = 0.2
    """Bias at which the nominal conductance I/V is defined (the DAC full scale)."""
    kind: str = "rram"
    fields: tuple[str, ...] = ("g_s", "d2d")
    nonnegative_fields: tuple[str, ...] = ("g_s", "d2d")
    spice_options: tuple[str, ...] = ("reltol=1e-7", "abstol=1e-15")
    linear: bool = False
    programmable: bool = True
    prunable: bool = False
    fefets_per_cell: ClassVar[float] = 0

    def __post_init__(self) -> None:
        from device_models.validation import check_range

        check_range("v_ref_v", self.v_ref_v, 0.0, 5.0, lo_open=True)

    @property
    def chord(self) -> float:
        """I(v_ref) / (g v_ref): how much a device passes at v_ref over its small-bias g."""
        return float(rram.current(self.v_ref_v, 1.0, self.params) / self.v_ref_v)

    def spice_preamble(self) -> str:
        return rram.spice_subckt(self.params)

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return (f"X{name} {row_node} {col_node} {rram.subckt_name(self.params, 'read')} "
                f"g={fmt(values['g_s'])}\n")

    def verilog_a_modules(self) -> dict[str, str]:
        return dict([rram.verilog_a(self.params)])

    def osdi_preamble(self) -> str:
        return osdi_models(self.verilog_a_modules())

    def osdi_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return (f"N{name} {row_node} {col_node} "
                f"{osdi_model(rram.subckt_name(self.params, 'va'))} g={fmt(values['g_s'])}\n")

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        return rram.current(np.asarray(v_row_v) - v_col_v, fields["g_s"], self.params)

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(fields["g_s"], dtype=float) * self.chord

    def g_range(self) -> tuple[float, float]:
        return self.params.g_min_s * self.chord, self.params.g_max_s * self.chord

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        g = _check_targets(g_target_s, *self.g_range(), "the memristor's range ")
        g_s = np.clip(g / self.chord, self.params.g_min_s, self.params.g_max_s)
        return {"g_s": g_s, "d2d": np.ones_like(g_s)}

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        return fields  # retention is not modelled for the memristor

    def with_variation(self, fields: dict[str, np.ndarray], rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
        """D2D step factors, and a direct write's C2C error (sigma c2c x range)."""
        p = self.params
        g = fields["g_s"] + rng.normal(0.0, p.c2c_frac * (p.g_max_s - p.g_min_s),
                                       np.shape(fields["g_s"]))
        return {"g_s": np.clip(g, p.g_min_s, p.g_max_s),
                "d2d": fields["d2d"] * rram.draw_d2d(np.shape(g), p, rng)}

    @property
    def read_noise_frac(self) -> float:
        """Sigma of the relative Gaussian read noise, independent per cell and read."""
        return self.params.read_noise_frac

    def read_noise(self, i_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rram.read_noise(i_a, self.params, rng)

    @property
    def pulses_full_range(self) -> int:
        """Nominal pulses across the G range (what an open-loop update assumes)."""
        return self.params.pulses_full

    def write_pulses(self, fields: dict[str, np.ndarray], n_signed: np.ndarray,
                     rng: np.random.Generator) -> tuple[dict[str, np.ndarray], float]:
        """(fields after n set (n > 0) or reset (n < 0) pulses per cell at the nominal
        amplitudes, energy the devices absorbed)."""
        p = self.params
        n = np.asarray(n_signed, dtype=np.int64)
        v = np.where(n > 0, p.v_set_v, p.v_reset_v)
        energy = rram.write_energy_j(fields["g_s"], v, n, p)
        g = rram.apply_pulses(fields["g_s"], v, np.abs(n), p, fields["d2d"], rng)
        return {**fields, "g_s": g}, energy


def _swap(a):
    """Swap the last two axes (rows <-> columns) of an array of 2 or more dims."""
    return np.swapaxes(a, -1, -2) if np.ndim(a) >= 2 else a


def _swap_name(name: str) -> str:
    """The crossbar's instance name ``c<i>_<j>`` of a transposed crossing, as the
    original array names it."""
    m = re.fullmatch(r"c(\d+)_(\d+)", name)
    return f"c{m.group(2)}_{m.group(1)}" if m else name


@dataclass(frozen=True)
class TransposedCell:
    """A cell read the other way round: the array's column lines driven, its row
    lines sensed (the transposed read of a backward pass). Fields are the original
    ones transposed, (columns, rows); the current from a transposed row (an original
    column line) into a transposed column (an original row line) is minus the
    original cell's current with the two line voltages swapped, evaluated in the
    original orientation (so cells that couple neighbouring columns still see their
    neighbours), and a SPICE instance is the original one with its two line nodes
    swapped. Works for any cell: for the symmetric one-FeFET channel the two
    directions agree exactly; in the 2-FeFET cell the drive then meets the digital
    FeFET first."""

    inner: Cell
    paired: ClassVar[bool] = False
    """The transposed array is read non-differentially; pairing stays the inner's."""

    @property
    def kind(self) -> str:
        return f"{self.inner.kind}^T"

    def __getattr__(self, name: str):  # fields, options, flags, variation, noise...
        return getattr(self.inner, name)

    def _fields(self, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: _swap(np.asarray(v)) for k, v in fields.items()}

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray],
                v_col_v: np.ndarray | float = 0.0) -> np.ndarray:
        i = self.inner.current(_swap(np.asarray(v_col_v, dtype=float)), self._fields(fields),
                               _swap(np.asarray(v_row_v, dtype=float)))
        return -_swap(i)

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return _swap(self.inner.conductance(self._fields(fields)))

    def at_age(self, fields: dict[str, np.ndarray], age_s: float) -> dict[str, np.ndarray]:
        return self._fields(self.inner.at_age(self._fields(fields), age_s))

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return self.inner.spice_instance(_swap_name(name), col_node, row_node, values)

    def osdi_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return self.inner.osdi_instance(_swap_name(name), col_node, row_node, values)


def transpose_fields(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-cell fields of an array as its transposed read sees them."""
    return {k: np.ascontiguousarray(np.asarray(v).T) for k, v in fields.items()}
