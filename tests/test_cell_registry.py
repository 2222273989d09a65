"""A new cell is one class plus one registry line: this test adds a toy nonlinear
cell without touching the project, and every engine and the compare study use it
by name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from cosim.studies.compare import CompareSpec, run_compare
from device_models.registry import (
    CellOptions,
    cell_kinds,
    make_cell,
    register_cell,
    unregister_cell,
)
from device_models.spice_text import fmt
from device_models.validation import ParamError

ALPHA_PER_V = 1.0
"""I = g V (1 + alpha V): 20 % above linear at the 0.2 V full scale."""


@dataclass(frozen=True)
class ToyCell:
    v_ref_v: float = 0.2
    kind: str = "toy"
    fields: tuple[str, ...] = ("g_s",)
    spice_options: tuple[str, ...] = ("reltol=1e-9", "abstol=1e-17", "vntol=1e-12")
    linear: bool = False
    programmable: bool = False
    prunable: bool = False

    def spice_preamble(self) -> str:
        return ""

    def spice_instance(self, name, row_node, col_node, values) -> str:
        v = f"V({row_node},{col_node})"
        return f"B{name} {row_node} {col_node} I={fmt(values['g_s'])}*{v}*(1+{ALPHA_PER_V}*{v})\n"

    def current(self, v_row_v, fields, v_col_v=0.0):
        v = np.asarray(v_row_v) - v_col_v
        return fields["g_s"] * v * (1 + ALPHA_PER_V * v)

    def conductance(self, fields):
        return self.current(self.v_ref_v, fields) / self.v_ref_v

    def program(self, g_target_s):
        return {"g_s": np.asarray(g_target_s, float) / (1 + ALPHA_PER_V * self.v_ref_v)}

    def g_range(self):
        return 1e-6, 1e-4

    def at_age(self, fields, age_s):
        return fields

    def with_variation(self, fields, rng):
        return fields

    def read_noise(self, i_a, rng):
        return i_a


@pytest.fixture
def toy():
    register_cell("toy", lambda o: ToyCell(v_ref_v=o.v_read_v))
    yield
    unregister_cell("toy")


def test_registry_knows_the_built_in_cells_and_their_capabilities():
    assert {"resistor", "fefet", "sparse_fefet"} <= set(cell_kinds())
    caps = {k: (make_cell(k).linear, make_cell(k).programmable, make_cell(k).prunable)
            for k in ("resistor", "fefet", "sparse_fefet")}
    assert caps == {"resistor": (True, False, False), "fefet": (False, True, False),
                    "sparse_fefet": (False, True, True)}
    assert make_cell("fefet", CellOptions(v_read_v=0.1)).v_ref_v == 0.1


def test_unknown_cell_names_the_registered_ones():
    with pytest.raises(ParamError, match=r"cell='memristor'.*resistor, fefet, sparse_fefet"):
        make_cell("memristor")


@pytest.mark.ngspice
def test_a_toy_cell_runs_through_every_engine_by_name(toy):
    """behavioral and nodal (wire-free) solve the same nonlinear cells as ngspice's
    B-sources: they agree to ~1e-9 relative (tightened spice tolerances), budget
    1e-3 LSB. The linearised ideal engine is far outside it (the 20 % curvature)."""
    spec = dict(rows=8, cols=6, vectors=12, cell="toy", adc_bits=8)
    for engines in (("behavioral", "spice"), ("behavioral", "nodal")):
        m, _, _ = run_compare(CompareSpec(engines=engines, **spec))
        assert m["max_err_lsb"] < 1e-3, (engines, m)
    ideal, _, _ = run_compare(CompareSpec(engines=("ideal", "behavioral"), **spec))
    assert ideal["max_err_lsb"] > 1.0


def test_the_cli_takes_a_registered_cell(toy):
    from typer.testing import CliRunner

    from cosim.cli.app import app

    res = CliRunner().invoke(app, ["compare", "--cell", "toy", "--engines", "ideal,behavioral",
                                   "--rows", "4", "--cols", "4", "--vectors", "5", "--json"])
    assert res.exit_code == 0, res.output
    assert '"cell": "toy"' in res.output
