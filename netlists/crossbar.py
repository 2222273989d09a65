"""Crossbar netlist generator: ``crossbar(p) -> Netlist``.

Topology (rows = word/bit lines driven by DACs, columns read at virtual ground):

    in<i> --Rw-- r<i>_0 --Rw-- r<i>_1 ... r<i>_<M-1>        (row wire, M segments)
                   |             |
                 cell          cell                          (cell between r<i>_<j> and c<i>_<j>)
                   |             |
    c0_<j> --Rw-- c1_<j> ... c<N-1>_<j> --Rw-- o<j>          (column wire, N segments)
    Vs<j> o<j> 0 0      virtual ground; i(vs<j>) is the column current (A, into the column)

With zero wire resistance the wire nodes collapse onto ``in<i>`` and ``o<j>``.
Differential pairs put G+ on physical column 2j and G- on 2j+1 (adjacent, as
laid out); the engine subtracts their currents.

Analyses:
- ``dc``:   K vectors in one ``.dc`` sweep of an index source; drivers look
            their code up from the index (fastest measured batching).
- ``tran``: K vectors as a stepped PWL transient; sample at each step's end.
- ``op``:   one operating point (K must be 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from device_models import sky130
from device_models.cells import Cell, ResistorCell, check_fields
from device_models.validation import ParamError, check_choice, check_range
from netlists.netlist import Netlist, fmt
from periphery import sar_adc, sensing
from periphery.converters import DacParams, spice_dac_lookup, spice_dac_pwl, spice_dac_rz

ANALYSES = ("dc", "tran", "op")
INDEX_NODE = "idx"


@dataclass(frozen=True, eq=False)
class CrossbarParams:
    fields: dict[str, np.ndarray]
    """Per-cell values the cell type needs, each (rows, physical columns)."""
    input_codes: np.ndarray
    """DAC codes, shape (K vectors, rows)."""
    cell: Cell = field(default_factory=ResistorCell)
    """What sits at each crossing (pluggable)."""
    dac: DacParams = field(default_factory=DacParams)
    """Row drivers: code -> volts."""
    differential: bool = False
    """Physical columns come in (G+, G-) pairs."""
    r_row_wire_ohm: float = 0.0
    """Row wire resistance per cell pitch (ohm); 0 = ideal wire."""
    r_col_wire_ohm: float = 0.0
    """Column wire resistance per cell pitch (ohm); 0 = ideal wire."""
    analysis: str = "dc"
    """How the K vectors are simulated: dc | tran | op."""
    t_step_s: float = 1e-6
    """Transient only: time each vector is held (s)."""
    t_edge_s: float = 1e-9
    """Transient only: rise/fall time between vectors (s)."""
    options: tuple[str, ...] = ()
    """Extra ``.options`` entries (e.g. tolerances), emitted verbatim."""
    sense: sensing.SenseParams | None = None
    """Column sensing circuit; None = ideal virtual ground (0 V sources). Needs tran."""
    osdi: bool = False
    """Cells as compiled Verilog-A (OSDI ``N`` instances) instead of B-sources: needs a
    cell with a Verilog-A face and an ngspice that loads the objects (the harness
    writes the ``osdi`` commands into the run directory's ``.spiceinit``)."""
    adc_circuit: sar_adc.SarAdcCircuit | None = None
    """SAR ADC circuits converting the sensing's outputs in the transient (one per
    output column: a differential pair's two columns, or one column); needs
    transistor-level sensing."""
    title: str = "cosim crossbar"

    def __post_init__(self) -> None:
        rows, _ = check_fields(self.cell, self.fields, self.differential)
        codes = np.asarray(self.input_codes)
        if codes.ndim != 2 or codes.shape[1] != rows or codes.shape[0] < 1:
            raise ParamError("input_codes", codes.shape, f"must be (K>=1, rows={rows})")
        if codes.min() < self.dac.min_code or codes.max() > self.dac.max_code:
            raise ParamError("input_codes", (int(codes.min()), int(codes.max())),
                             f"must lie in [{self.dac.min_code}, {self.dac.max_code}]")
        if self.osdi and not hasattr(self.cell, "verilog_a_modules"):
            raise ParamError("osdi", True, f"needs a cell with a Verilog-A face, not "
                             f"{self.cell.kind}")
        check_range("r_row_wire_ohm", self.r_row_wire_ohm, 0.0)
        check_range("r_col_wire_ohm", self.r_col_wire_ohm, 0.0)
        check_choice("analysis", self.analysis, ANALYSES)
        if self.analysis == "op" and codes.shape[0] != 1:
            raise ParamError("analysis", "op", f"needs exactly one vector, got K={codes.shape[0]}")
        check_range("t_step_s", self.t_step_s, 0.0, lo_open=True)
        if self.sense is not None and self.analysis != "tran":
            raise ParamError("analysis", self.analysis, "column sensing circuits need tran")
        check_range("t_edge_s", self.t_edge_s, 0.0, self.t_step_s / 2, lo_open=True)
        if self.adc_circuit is not None:
            if self.sense is None or self.sense.cmos is None:
                raise ParamError("adc_circuit", "sar", "needs transistor-level sensing")
            self.adc_circuit.check_period(self.t_step_s)

    @property
    def rows(self) -> int:
        return int(np.shape(self.fields[self.cell.fields[0]])[0])

    @property
    def phys_cols(self) -> int:
        return int(np.shape(self.fields[self.cell.fields[0]])[1])

    @property
    def vectors(self) -> int:
        return int(np.shape(self.input_codes)[0])


def sense_probe(col: int) -> str:
    """Raw-file vector holding physical column ``col``'s current."""
    return f"i(vs{col})"


RESET_EDGE_S = 1e-12
"""Edge of the integrator's reset clock (behavioural switch)."""
TG_RESET_EDGE_S = 100e-12
"""Edge of the reset clock driving a transistor-level integrator's transmission gate."""


def reset_edge_s(sense) -> float:
    """The reset clock's edge for this sensing (``SenseParams``): it rises over the
    last ``reset_edge_s`` of each window, so the outputs are read before it."""
    return TG_RESET_EDGE_S if sense.transistor_reset else RESET_EDGE_S


def sense_out_node(col: int) -> str:
    """Physical column ``col``'s sensing output."""
    return f"so{col}"


def sense_out_probe(col: int) -> str:
    return f"v({sense_out_node(col)})"


def adc_code_node(col: int) -> str:
    """Output column ``col``'s SAR code (1 V per code)."""
    return f"code{col}"


def adc_code_probe(col: int) -> str:
    return f"v({adc_code_node(col)})"


def adc_inputs(col: int, differential: bool, signed: bool) -> tuple[str, str]:
    """(inp, inn) of output column ``col``'s converter: a differential pair's sensed
    outputs, or one column's against ground (signed) or the unsigned reference."""
    if differential:
        return sense_out_node(2 * col), sense_out_node(2 * col + 1)
    return sense_out_node(col), "0" if signed else sar_adc.UNSIGNED_REF


def sense_supply_probe(col: int) -> str:
    """Behavioural op-amp: the current its output delivers."""
    return f"i(v.xs{col}.vo)"


RAIL_PROBES = ("i(vsp)", "i(vsn)")
"""Transistor-level sensing: currents into the + terminals of the upper and lower rail."""


def driver_probe(row: int) -> str:
    """Raw-file vector holding the current drawn from row ``row``'s driver."""
    return f"i(vd{row})"


def _row_node(i: int, j: int, wired: bool) -> str:
    return f"r{i}_{j}" if wired else f"in{i}"


def _col_node(i: int, j: int, wired: bool) -> str:
    return f"c{i}_{j}" if wired else f"o{j}"


def crossbar(p: CrossbarParams) -> Netlist:
    """Render the array, its drivers, sensing and analysis as a standalone deck."""
    rows, cols, k = p.rows, p.phys_cols, p.vectors
    row_wired, col_wired = p.r_row_wire_ohm > 0, p.r_col_wire_ohm > 0
    codes = np.asarray(p.input_codes, dtype=np.int64)
    out: list[str] = [f"* {rows}x{cols} {p.cell.kind} cells, K={k}, analysis={p.analysis}\n"]
    out.append(p.cell.osdi_preamble() if p.osdi else p.cell.spice_preamble())
    instance = p.cell.osdi_instance if p.osdi else p.cell.spice_instance

    # Row drivers: each driver feeds in<i> through a 0 V meter (its current is the
    # row's supply current).
    if p.analysis == "dc" and k > 1:
        out.append(f"Vindex {INDEX_NODE} 0 0\n")
    rz = p.sense is not None and p.sense.sensor.integrating
    for i in range(rows):
        if rz:  # integrating read-out: rows are driven only inside the integration window
            out.append(spice_dac_rz(f"dac{i}", f"d{i}", codes[:, i], p.dac, p.t_step_s,
                                    p.sense.t_reset_s, p.t_edge_s, p.sense.t_settle_s))
        elif p.analysis == "tran":
            out.append(spice_dac_pwl(f"dac{i}", f"d{i}", codes[:, i], p.dac,
                                     p.t_step_s, p.t_edge_s))
        else:
            out.append(spice_dac_lookup(f"dac{i}", f"d{i}", INDEX_NODE, codes[:, i], p.dac))
        if p.dac.r_out_ohm > 0:  # the driver's output resistance, then its current meter
            out.append(f"Rdo{i} d{i} dm{i} {fmt(p.dac.r_out_ohm)}\nVd{i} dm{i} in{i} 0\n")
        else:
            out.append(f"Vd{i} d{i} in{i} 0\n")

    if row_wired:
        rw = fmt(p.r_row_wire_ohm)
        for i in range(rows):
            prev = f"in{i}"
            for j in range(cols):
                out.append(f"Rrw{i}_{j} {prev} r{i}_{j} {rw}\n")
                prev = f"r{i}_{j}"
    if col_wired:
        cw = fmt(p.r_col_wire_ohm)
        for j in range(cols):
            for i in range(rows):
                nxt = f"c{i + 1}_{j}" if i + 1 < rows else f"o{j}"
                out.append(f"Rcw{i}_{j} c{i}_{j} {nxt} {cw}\n")

    names = p.cell.fields
    arrays = [np.asarray(p.fields[f], dtype=float) for f in names]
    for i in range(rows):
        for j in range(cols):
            values = {f: a[i, j] for f, a in zip(names, arrays, strict=True)}
            out.append(instance(
                f"c{i}_{j}", _row_node(i, j, row_wired), _col_node(i, j, col_wired), values))

    if p.sense is None:
        for j in range(cols):
            out.append(f"Vs{j} o{j} 0 0\n")
    else:
        sp = p.sense
        out.append(sensing.spice_subckt(sp))
        # the reset clock: 0/1 V for the behavioural switch, rail to rail with a
        # transistor edge for the transmission gate
        e = reset_edge_s(sp)
        on, off = ((fmt(sp.vdd_v / 2), fmt(-sp.vdd_v / 2)) if sp.transistor_reset
                   else ("1", "0"))
        out.append(f"Vrst rst 0 PULSE({on} {off} {fmt(sp.t_reset_s)} {fmt(e)} {fmt(e)} "
                   f"{fmt(sp.t_int_s - 2 * e)} {fmt(sp.period_s)})\n"
                   if sp.sensor.integrating else "Vrst rst 0 0\n")
        name = sensing.subckt_name(sp)
        rails = ""
        if sp.cmos is not None:
            half = fmt(sp.vdd_v / 2)
            out.append(f"Vsp svdd 0 {half}\nVsn svss 0 -{half}\n")
            rails = " svdd svss"
        for j in range(cols):
            out.append(f"Vs{j} o{j} sc{j} 0\nXs{j} sc{j} {sense_out_node(j)} rst{rails} "
                       f"{name}\n")
    adc = p.adc_circuit
    n_adc = cols // 2 if p.differential else cols
    if adc is not None:
        out.append(sar_adc.spice_subckt(adc) + sar_adc.spice_clocks(adc, p.t_step_s))
        for j in range(n_adc):
            inp, inn = adc_inputs(j, p.differential, adc.signed)
            out.append(sar_adc.instance(f"adc{j}", adc, inp, inn, adc_code_node(j),
                                        sar_adc.capacitors(adc, j)))

    probes = (tuple(sense_probe(j) for j in range(cols))
              + tuple(driver_probe(i) for i in range(rows)))
    if p.sense is not None:
        probes += (tuple(f"v(in{i})" for i in range(rows)) + tuple(f"v(o{j})" for j in range(cols))
                   + tuple(sense_out_probe(j) for j in range(cols))
                   + (RAIL_PROBES if p.sense.cmos is not None
                      else tuple(sense_supply_probe(j) for j in range(cols))))
    if adc is not None:
        probes += tuple(adc_code_probe(j) for j in range(n_adc)) + sar_adc.ADC_RAILS
    # KLU where the simulator has it (ngspice 46 built here); others ignore the option
    out.append(".options noacct klu\n")
    for opt in p.options:
        out.append(f".options {opt}\n")
    out.append(".save " + " ".join(probes) + "\n")
    if p.analysis == "dc" and k > 1:
        out.append(f".dc Vindex 0 {k - 1} 1\n")
        points = k
    elif p.analysis == "tran":
        # the converters finish each sample one period later
        t_stop = k * p.t_step_s + (0 if adc is None else sar_adc.cycle_start_s(adc, p.t_step_s))
        # With sensing, 200 steps a window resolve the integration and the settling.
        # The behavioural read-out starts from rest (uic); transistor-level op-amps need
        # their bias point first.
        div, uic = ((200, " uic" if p.sense.cmos is None else "") if p.sense is not None
                    else (20, ""))
        out.append(f".tran {fmt(p.t_step_s / div)} {fmt(t_stop)} 0 {fmt(p.t_step_s / div)}"
                   f"{uic}\n")
        points = -1  # variable; the reader samples at step ends
    else:
        out.append(".op\n")
        points = 1
    # Standalone `ngspice -b deck` prints the column currents (ignored when a raw file
    # is written, as the harness does).
    kind = "dc" if points == k and k > 1 else "tran" if points == -1 else "op"
    out.append(f".print {kind} " + " ".join(sense_probe(j) for j in range(cols)) + "\n")
    return Netlist(title=p.title, body=sky130.selected_once("".join(out)), probes=probes,
                   points=points)
