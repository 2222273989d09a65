"""Cells: what sits at one row/column crossing, composed from device models.

A cell has a numpy face (current at a bias, nominal conductance) and a SPICE
face (a preamble emitted once per deck and one instance per crossing). The
crossbar generator and every engine work through this small contract, so a
new cell type drops in without touching them.

Per-cell values are passed as named fields (``{"g_s": array}``), each an
array of shape (rows, physical columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from device_models import resistor
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

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray]) -> np.ndarray:
        """Numpy face: current (A) from row into column for row voltage v (column at 0 V)."""
        ...

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        """Nominal linear conductance (S) the cell is programmed to (ideal engine)."""
        ...

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        """Per-cell fields that realise a target conductance as closely as the device can."""
        ...


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
    if differential and phys % 2:
        raise ParamError("fields", (rows, phys), "differential arrays need an even column count")
    return rows, phys


@dataclass(frozen=True)
class ResistorCell:
    """An ideal programmable resistor (the reference cell)."""

    params: resistor.ResistorParams = field(default_factory=resistor.ResistorParams)
    kind: str = "resistor"
    fields: tuple[str, ...] = ("g_s",)

    def spice_preamble(self) -> str:
        return resistor.spice_subckt(self.params)

    def spice_instance(self, name: str, row_node: str, col_node: str, values: dict) -> str:
        return resistor.spice_instance(name, row_node, col_node, values["g_s"])

    def current(self, v_row_v: np.ndarray, fields: dict[str, np.ndarray]) -> np.ndarray:
        return resistor.drain_current(v_row_v, fields["g_s"])

    def conductance(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(fields["g_s"], dtype=float)

    def program(self, g_target_s: np.ndarray) -> dict[str, np.ndarray]:
        g = np.asarray(g_target_s, dtype=float)
        p = self.params
        if g.size and (g.min() < p.g_min_s * (1 - 1e-12) or g.max() > p.g_max_s * (1 + 1e-12)):
            raise ParamError("g_target_s", (float(g.min()), float(g.max())),
                             f"must lie within [{p.g_min_s:g}, {p.g_max_s:g}] S")
        return {"g_s": g.copy()}
