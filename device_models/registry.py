"""Cell registry: cells by name, built from one small set of options.

A new cell is one module (the class, following the ``Cell`` protocol) plus one
``register_cell`` line; every command that takes ``cell = "<kind>"`` then knows
it. Callers ask a cell's capabilities (``linear``, ``programmable``,
``prunable``), never its class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from device_models import fefet_mos2 as fe
from device_models import rram_taox as rram
from device_models.cells import (
    Cell,
    FefetCell,
    ResistorCell,
    RramCell,
    SparseFefetCell,
    SparsePairCell,
)
from device_models.resistor import ResistorParams
from device_models.validation import ParamError, check_int, check_range


@dataclass(frozen=True)
class CellOptions:
    """What callers may say about a cell beyond its kind; each factory uses what applies."""

    v_read_v: float = 0.2
    """Read (DAC full-scale) voltage at which a nonlinear cell's nominal G is defined (V)."""
    g_min_s: float = 1e-6
    """Lowest conductance of a resistive cell (S)."""
    g_max_s: float = 1e-4
    """Highest conductance of a resistive cell (S)."""
    d2d_sigma_v: float | None = None
    """Override of a FeFET preset's device-to-device Vth sigma (V); None keeps the preset."""
    fefet_preset: str = "mos2_hzo"
    """FeFET parameters: a preset name or a TOML file (``cosim fit`` writes one)."""
    read_noise_frac: float | None = None
    """Override of a FeFET preset's relative read noise (1 sigma); None keeps the preset."""
    levels: int | None = None
    """Usable levels per FeFET: n_domains = levels - 1 and programming lands on them;
    None keeps the preset's domains and programs any polarization."""

    def __post_init__(self) -> None:
        fe.preset(self.fefet_preset)
        check_range("v_read_v", self.v_read_v, 0.0, 5.0, lo_open=True)
        if self.d2d_sigma_v is not None:
            check_range("d2d_sigma_v", self.d2d_sigma_v, 0.0, 1.0)
        if self.read_noise_frac is not None:
            check_range("read_noise_frac", self.read_noise_frac, 0.0, 0.5)
        if self.levels is not None:
            check_int("levels", self.levels, 2, 4097)


CellFactory = Callable[[CellOptions], Cell]
_CELLS: dict[str, CellFactory] = {}


def register_cell(kind: str, factory: CellFactory) -> None:
    """Make ``kind`` available by name; re-registering a kind replaces it."""
    if not kind or not kind.replace("_", "").isalnum():
        raise ParamError("cell kind", kind, "must be a non-empty identifier")
    _CELLS[kind] = factory


def unregister_cell(kind: str) -> None:
    _CELLS.pop(kind, None)


def cell_kinds() -> tuple[str, ...]:
    return tuple(_CELLS)


def check_cell_kind(field: str, kind: str) -> None:
    if kind not in _CELLS:
        raise ParamError(field, kind, f"must be one of {', '.join(_CELLS)}")


def make_cell(kind: str, options: CellOptions | None = None) -> Cell:
    check_cell_kind("cell", kind)
    return _CELLS[kind](options or CellOptions())


def _fefet(o: CellOptions) -> FefetCell:
    params = fe.preset(o.fefet_preset)
    if o.d2d_sigma_v is not None:
        params = dataclasses.replace(params, sigma_vth_d2d_v=o.d2d_sigma_v)
    if o.read_noise_frac is not None:
        params = dataclasses.replace(params, read_noise_frac=o.read_noise_frac)
    if o.levels is not None:
        params = dataclasses.replace(params, n_domains=o.levels - 1)
    return FefetCell(params=params, v_ref_v=o.v_read_v, discrete=o.levels is not None)


register_cell("resistor", lambda o: ResistorCell(ResistorParams(o.g_min_s, o.g_max_s)))
register_cell("fefet", _fefet)
register_cell("sparse_fefet", lambda o: SparseFefetCell(weight=_fefet(o)))
register_cell("sparse_fefet_pair", lambda o: SparsePairCell(weight=_fefet(o)))
def _rram(o: CellOptions) -> RramCell:
    params = rram.TAOX_DEFAULT
    if o.read_noise_frac is not None:
        params = dataclasses.replace(params, read_noise_frac=o.read_noise_frac)
    return RramCell(params=params, v_ref_v=o.v_read_v)


register_cell("rram", _rram)
