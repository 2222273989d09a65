"""What an engine is asked to simulate: per-cell state plus the array's circuit settings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim.array.energy import EnergyParams
from device_models.cells import Cell, ResistorCell, check_fields
from device_models.validation import ParamError, check_range
from periphery.converters import AdcParams, DacParams
from periphery.sar_adc import SarAdcCircuit
from periphery.sensing import SenseParams


@dataclass(frozen=True, eq=False)
class ArrayState:
    """Device state of every cell of one array."""

    fields: dict[str, np.ndarray]
    """Per-cell values the cell type needs, each (rows, physical columns)."""
    cell: Cell = field(default_factory=ResistorCell)
    """Cell type at every crossing."""
    differential: bool = False
    """Physical columns 2j (G+) and 2j+1 (G-) form logical column j."""
    age_s: float = 0.0
    """Time since programming at which the array is read (s); drives retention drift."""

    def __post_init__(self) -> None:
        check_fields(self.cell, self.fields, self.differential)
        check_range("age_s", self.age_s, 0.0)

    def read_fields(self) -> dict[str, np.ndarray]:
        """Per-cell fields as the array is read at ``age_s`` (after drift)."""
        return self.cell.at_age(self.fields, self.age_s) if self.age_s > 0 else self.fields

    @property
    def rows(self) -> int:
        return int(np.shape(self.fields[self.cell.fields[0]])[0])

    @property
    def phys_cols(self) -> int:
        return int(np.shape(self.fields[self.cell.fields[0]])[1])

    @property
    def cols(self) -> int:
        """Logical (output) columns."""
        return self.phys_cols // 2 if self.differential else self.phys_cols

    def conductance(self) -> np.ndarray:
        """Nominal conductance of every cell as read at ``age_s`` (S), (rows, phys cols)."""
        return self.cell.conductance(self.read_fields())

    def combine(self, i_phys: np.ndarray) -> np.ndarray:
        """Physical column currents (K, phys) -> logical outputs (K, cols)."""
        i_phys = np.asarray(i_phys)
        return i_phys[:, 0::2] - i_phys[:, 1::2] if self.differential else i_phys.copy()


@dataclass(frozen=True)
class ArrayConfig:
    """Everything about the array that is not per-cell state."""

    dac: DacParams = field(default_factory=DacParams)
    """Row drivers."""
    adc: AdcParams = field(default_factory=AdcParams)
    """Column converters (after an ideal virtual-ground transimpedance stage)."""
    r_row_wire_ohm: float = 0.0
    """Row wire resistance per cell pitch (ohm)."""
    r_col_wire_ohm: float = 0.0
    """Column wire resistance per cell pitch (ohm)."""
    sense: SenseParams | None = None
    """Column sensing circuit (integrator / TIA); None = ideal virtual ground."""
    energy: EnergyParams = field(default_factory=EnergyParams)
    """Figures for the blocks whose energy is modelled rather than simulated."""
    adc_circuit: SarAdcCircuit | None = None
    """The column converters as SAR ADC circuits converting the transistor-level
    sensing's outputs inside the spice engine's transient (the codes come from the
    circuit); None: ``adc`` converts the sensed currents in numpy."""

    def __post_init__(self) -> None:
        check_range("r_row_wire_ohm", self.r_row_wire_ohm, 0.0, 1e6)
        check_range("r_col_wire_ohm", self.r_col_wire_ohm, 0.0, 1e6)
        c = self.adc_circuit
        if c is None:
            return
        if self.sense is None or self.sense.cmos is None:
            raise ParamError("adc_level", "transistor", "the SAR ADC circuit needs the "
                             "transistor-level sensing (periphery_level transistor)")
        if (c.bits, c.signed) != (self.adc.bits, self.adc.signed):
            raise ParamError("adc_circuit.bits", (c.bits, c.signed),
                             f"must match the ADC's (bits, signed) = "
                             f"{(self.adc.bits, self.adc.signed)}")
        if self.adc.cols_per_adc != 1:
            raise ParamError("adc.cols_per_adc", self.adc.cols_per_adc, "the SAR ADC "
                             "circuit converts one output column (use adc_level behavioral "
                             "for a multiplexed converter)")
        c.check_period(self.sense.period_s)

    @property
    def adc_level(self) -> str:
        """transistor where SAR ADC circuits convert in the deck, else behavioral."""
        return "behavioral" if self.adc_circuit is None else "transistor"


def full_scale_current(state: ArrayState, dac: DacParams) -> float:
    """Largest |output current| this programmed array can produce (ADC "max" range)."""
    g = state.conductance()
    per_col = g.sum(axis=0) * dac.v_fs_v
    if state.differential:
        per_col = np.maximum(per_col[0::2], per_col[1::2])
    return float(per_col.max())


def check_inputs(x: np.ndarray, state: ArrayState) -> np.ndarray:
    """Inputs must be (K >= 1, rows) and finite."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != state.rows or x.shape[0] < 1:
        raise ParamError("inputs", x.shape, f"must be (K>=1 vectors, rows={state.rows})")
    if not np.all(np.isfinite(x)):
        raise ParamError("inputs", "non-finite values", "must be finite")
    return x
