"""In-array weight updates as the write circuit applies them, and what they cost.

Two ways to write an update dW = -lr x^T delta into a tile of FeFET pairs:

- ``exact`` (the reference): every cell gets its own pulse count, as a
  row-by-row write with per-column data would give it; no half-select disturb
  is applied (it is the idealised reference), but its cost is counted as that
  row-by-row write.
- ``vau`` (vectorial approximate update, index-free): one value per row and one
  per column, u_i + v_j, computed from quantities the periphery has without the
  pruning index: the row and column sums of the update's outer-product factors
  (``vau_vectors``). Each value becomes one pulse train on its line; a cell
  sees the difference of its word-line and bit-line voltages, so it switches
  fully where a pulsed line meets a selected line and is half-selected (V/2 or
  V/3 scheme) elsewhere; the half-selected disturb goes through the device's own
  switching kinetics. Pruned cells are protected by their digital FeFET in the
  write path (``cell.write_duty``), never by a mask multiply.

Each side of a differential pair takes half of a weight change: an increase
potentiates G+ and depresses G-, a decrease the reverse, so a line value is
written in four sub-phases (two polarities x two column sets), rows then
columns: eight in all.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from device_models import fefet_mos2 as fe
from device_models.validation import ParamError

WRITE_MODES = ("exact", "vau")
POLARITIES = ("both", "potentiate")
WRITE_SCHEMES = {"v2": (0.5, 0.0, -0.5, 0.0), "v3": (2 / 3, 0.0, -1 / 3, 1 / 3)}
"""Line voltages as fractions of the pulse amplitude: (selected word line, unselected
word line, selected bit line, unselected bit line). A cell sees word - bit: V where
both are selected, V/2 (v2) or V/3 (v3) where one is."""
STEPS_PER_RANGE = 32
"""Nominal pulses from g_min to g_max the open-loop update assumes (the pulse scheme's
mean step; the device's real step varies with its state)."""


@dataclass
class WriteLedger:
    """Counts of the write operations an update (or an epoch of them) spent."""

    updates: int = 0
    line_pulses: int = 0
    """Pulses the periphery drives on word and bit lines (operations issued)."""
    cell_pulses: float = 0.0
    """(cell, pulse) pairs at the full write voltage."""
    half_selected: float = 0.0
    """(cell, pulse) pairs at a partial (half-select) voltage."""
    time_s: float = 0.0
    """Write time, sub-phases and rows in sequence (s)."""
    energy_device_j: float = 0.0
    """Gate charging plus polarization switching in the cells (J)."""
    energy_lines_j: float = 0.0
    """Charging the word and bit lines (J)."""

    def add(self, other: WriteLedger) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        out = {f"{prefix}{f.name}": float(getattr(self, f.name)) for f in fields(self)}
        out[f"{prefix}energy_j"] = self.energy_device_j + self.energy_lines_j
        return out


def vau_vectors(x: np.ndarray, delta: np.ndarray, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Row values u and column values v whose sum u_i + v_j is the least-squares additive
    fit of dW = -lr x^T delta over *all* cells of a tile, from the factors alone:
    row sums x^T (delta 1), column sums (x 1)^T delta and the grand sum. The pruning
    mask is not an argument: the periphery never needs it."""
    x = np.asarray(x, dtype=float)
    delta = np.asarray(delta, dtype=float)
    d_mean = delta.mean(axis=1)  # per sample, over the tile's columns
    x_mean = x.mean(axis=1)  # per sample, over the tile's rows
    row = -lr * (x.T @ d_mean)
    col = -lr * (x_mean @ delta)
    grand = -lr * float(x_mean @ d_mean)
    return row - 0.5 * grand, col - 0.5 * grand


def pulse_counts(values: np.ndarray, pulses_per_weight: float, max_pulses: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Stochastically rounded pulse counts for |values| (weight units), capped."""
    want = np.abs(values) * pulses_per_weight
    n = np.floor(want + rng.uniform(size=np.shape(want))).astype(np.int64)
    return np.minimum(n, max_pulses)


@dataclass(frozen=True)
class WriteCircuit:
    """What a tile's write path is: pulse amplitude and width, scheme, line loads."""

    v_pulse_v: float
    width_s: float
    scheme: str
    c_line_per_cell_f: float
    polarities: str = "both"
    """both (potentiate one side of a pair, depress the other) | potentiate."""


def _line_energy(c: WriteCircuit, cells_on_line: int, pulses: float, swing_frac: float) -> float:
    return c.c_line_per_cell_f * cells_on_line * (swing_frac * c.v_pulse_v) ** 2 * pulses


def line_phase(d: fe.Domains, p: fe.FefetParams, duty: np.ndarray, c: WriteCircuit,
               word_slots: np.ndarray, bit_slots: np.ndarray, sign: float,
               rng: np.random.Generator, ledger: WriteLedger, held: str,
               both: np.ndarray | None = None, slots: int | None = None) -> fe.Domains:
    """One sub-phase: word line i selected in ``word_slots[i]`` slots, bit line j in
    ``bit_slots[j]``; every cell stressed by word - bit in each slot (categories in
    closed form, full-voltage first). By default each line's slots are its first
    ones, so cell (i, j) is fully selected min(word, bit) times; ``both`` gives those
    coincidences instead (stochastic slot streams) and ``slots`` the sub-phase's
    length. The ``held`` lines ("word" or "bit"; "" for none) sit at their level for
    the whole sub-phase (one operation, one charge each); the others carry pulse
    trains. Returns the new domains."""
    word_slots = np.asarray(word_slots, dtype=float)
    bit_slots = np.asarray(bit_slots, dtype=float)
    t_total = float(max(word_slots.max(initial=0), bit_slots.max(initial=0))
                    if slots is None else slots)
    if t_total == 0:
        return d
    a_sel, a_un, b_sel, b_un = WRITE_SCHEMES[c.scheme]
    w = word_slots[:, None]
    b = bit_slots[None, :]
    both = np.minimum(w, b) if both is None else np.asarray(both, dtype=float)
    word_only = w - both
    bit_only = b - both
    neither = t_total - both - word_only - bit_only
    pol_before = d.polarization
    for count, frac in ((both, a_sel - b_sel), (word_only, a_sel - b_un),
                        (bit_only, a_un - b_sel), (neither, a_un - b_un)):
        if frac == 0 or not count.any():
            continue
        d = fe.apply_stress(d, sign * frac * c.v_pulse_v, count * c.width_s * duty, p, rng)
        full = frac == 1.0
        seen = float((count * duty).sum())
        if full:
            ledger.cell_pulses += seen
        else:
            ledger.half_selected += seen
        ledger.energy_device_j += p.c_gate_f * (frac * c.v_pulse_v) ** 2 * seen
    ledger.energy_device_j += fe.write_energy_j(p, c.v_pulse_v, 0.0, d.polarization - pol_before)
    word_ops = (word_slots > 0).sum() if held == "word" else word_slots.sum()
    bit_ops = (bit_slots > 0).sum() if held == "bit" else bit_slots.sum()
    line_cost(c, duty.shape, word_ops, bit_ops, t_total, ledger)
    return d


def line_cost(c: WriteCircuit, shape: tuple[int, int], word_ops: float, bit_ops: float,
              slots: float, ledger: WriteLedger) -> None:
    """Operations, line energy and time of a sub-phase on a (rows, cols) tile."""
    a_sel, _, b_sel, _ = WRITE_SCHEMES[c.scheme]
    rows, cols = shape
    ledger.line_pulses += int(word_ops + bit_ops)
    ledger.energy_lines_j += (_line_energy(c, cols, word_ops, a_sel)
                              + _line_energy(c, rows, bit_ops, abs(b_sel)))
    ledger.time_s += slots * c.width_s


def pair_columns(phys: int) -> tuple[np.ndarray, np.ndarray]:
    """(G+ side?, logical column) of each physical column of interleaved pairs."""
    return np.arange(phys) % 2 == 0, np.arange(phys) // 2


def sub_phases(plus: np.ndarray, increase: bool, polarities: str
               ) -> list[tuple[np.ndarray, float]]:
    """(physical columns written, pulse polarity) for a weight increase or decrease:
    ``both`` potentiates one side of the pair and depresses the other; ``potentiate``
    only potentiates (G+ to increase, G- to decrease), for devices whose depression
    steps dwarf their potentiation steps."""
    grow, shrink = (plus, ~plus) if increase else (~plus, plus)
    return [(grow, 1.0), (shrink, -1.0)] if polarities == "both" else [(grow, 1.0)]


def vau_write(d: fe.Domains, p: fe.FefetParams, duty: np.ndarray, c: WriteCircuit,
              n_rows: np.ndarray, n_cols: np.ndarray, rng: np.random.Generator,
              ledger: WriteLedger) -> fe.Domains:
    """Write signed row counts (rows,) and signed column counts (logical cols,) as line
    pulse trains onto a tile of interleaved pairs (G+ even, G- odd physical columns)."""
    rows, phys = duty.shape
    plus, logical = pair_columns(phys)
    for increase in (True, False):
        for side, polarity in sub_phases(plus, increase, c.polarities):
            sel_rows = np.where((n_rows > 0) == increase, np.abs(n_rows), 0)
            t = sel_rows.max(initial=0)
            d = line_phase(d, p, duty, c, sel_rows, np.where(side, t, 0), polarity, rng, ledger,
                           held="bit")
            per_col = np.abs(n_cols)[logical] * ((n_cols[logical] > 0) == increase)
            sel_cols = np.where(side, per_col, 0)
            t = sel_cols.max(initial=0)
            d = line_phase(d, p, duty, c, np.full(rows, t), sel_cols, polarity, rng, ledger,
                           held="word")
    ledger.updates += 1
    return d


def phys_counts(n_cells: np.ndarray, polarities: str) -> np.ndarray:
    """Signed pulse counts per physical cell (rows, 2 cols) from signed counts per weight:
    ``both`` gives G+ +n and G- -n, ``potentiate`` gives the growing side +|n|."""
    n_cells = np.asarray(n_cells, dtype=np.int64)
    n_phys = np.empty((n_cells.shape[0], 2 * n_cells.shape[1]), dtype=np.int64)
    if polarities == "both":
        n_phys[:, 0::2] = n_cells
        n_phys[:, 1::2] = -n_cells
    else:
        n_phys[:, 0::2] = np.maximum(n_cells, 0)
        n_phys[:, 1::2] = np.maximum(-n_cells, 0)
    return n_phys


def row_by_row_cost(n_phys: np.ndarray, c: WriteCircuit, ledger: WriteLedger) -> None:
    """Operations, time and line energy of writing per-cell counts one row at a time:
    per row a word-line train as long as its longest cell (set and reset apart), per
    cell a bit-line train."""
    rows, cols = n_phys.shape
    pot = np.where(n_phys > 0, n_phys, 0)
    dep = np.where(n_phys < 0, -n_phys, 0)
    word = pot.max(axis=1) + dep.max(axis=1)
    line_cost(c, (rows, cols), word.sum(), np.abs(n_phys).sum(), word.sum(), ledger)


def exact_write(d: fe.Domains, p: fe.FefetParams, duty: np.ndarray, c: WriteCircuit,
                n_cells: np.ndarray, rng: np.random.Generator, ledger: WriteLedger
                ) -> fe.Domains:
    """Per-cell signed pulse counts (rows, logical cols): G+ takes +n, G- -n, each cell
    its own count at the full voltage (the reference: no half-select disturb).
    Counted as a row-by-row write: per row one word-line train as long as its
    longest cell, per cell a bit-line train, potentiation and depression apart."""
    n_phys = phys_counts(n_cells, c.polarities)
    pol_before = d.polarization
    d = fe.apply_stress(d, np.sign(n_phys) * c.v_pulse_v, np.abs(n_phys) * c.width_s * duty,
                        p, rng)
    seen = float((np.abs(n_phys) * duty).sum())
    ledger.cell_pulses += seen
    ledger.energy_device_j += (p.c_gate_f * c.v_pulse_v**2 * seen
                               + fe.write_energy_j(p, c.v_pulse_v, 0.0,
                                                   d.polarization - pol_before))
    row_by_row_cost(n_phys, c, ledger)
    ledger.updates += 1
    return d


def coincidence_streams(a: np.ndarray, b: np.ndarray, slots: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic pulse streams of a coincidence write: in each of ``slots`` slots one
    sample n of the batch is drawn, row line i fires with probability a[n, i] and
    column line j with b[n, j] (activities in [0, 1]). Returns the (slots, rows) and
    (slots, cols) firing patterns; a cell's coincidences R^T C have the expectation
    slots x mean_n a[n, i] b[n, j], the outer product the update needs."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    for name, v in (("pre-synaptic activity", a), ("post-synaptic activity", b)):
        if v.size and (v.min() < 0 or v.max() > 1):
            raise ParamError(name, (float(v.min()), float(v.max())),
                             "coincidence streams need activities in [0, 1]")
    n = rng.integers(len(a), size=slots)
    return (rng.uniform(size=(slots, a.shape[1])) < a[n],
            rng.uniform(size=(slots, b.shape[1])) < b[n])


def coincidence_write(d: fe.Domains, p: fe.FefetParams, duty: np.ndarray, c: WriteCircuit,
                      rows_fired: np.ndarray, cols_fired: np.ndarray, increase: bool,
                      rng: np.random.Generator, ledger: WriteLedger) -> fe.Domains:
    """Row x column coincidence pulses onto a tile of interleaved pairs (G+ even, G- odd
    physical columns): the row lines carry ``rows_fired`` (slots, rows), the column
    lines of the side(s) an increase (or decrease) writes carry ``cols_fired``
    (slots, logical cols). Full pulses where both fire, half-selects where one does,
    through the devices' own kinetics. The caller counts the update."""
    rows_fired = np.asarray(rows_fired, dtype=bool)
    cols_fired = np.asarray(cols_fired, dtype=bool)
    plus, logical = pair_columns(duty.shape[1])
    overlap = (rows_fired.T.astype(float) @ cols_fired.astype(float))[:, logical]
    word = rows_fired.sum(axis=0)
    for side, polarity in sub_phases(plus, increase, c.polarities):
        bit = np.where(side, cols_fired.sum(axis=0)[logical], 0)
        d = line_phase(d, p, duty, c, word, bit, polarity, rng, ledger, held="",
                       both=np.where(side[None, :], overlap, 0.0), slots=len(rows_fired))
    return d
