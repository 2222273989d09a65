"""The simulators: discovery of every ngspice, the Verilog-A face of the FeFET
compiled to OSDI, and agreement across backends.

Backends: Debian's ngspice 39.3 (Sparse 1.3, cells as B-sources) and the
project's ngspice 46 build (KLU, cells as compiled Verilog-A). Tests marked
``osdi`` need the second and fail (never skip) without it: ``bash bootstrap.sh
setup`` builds it. Each fallback path has its test: Debian's binary forced with
COSIM_NGSPICE, and B-source cells on ngspice 46 (``models="bsource"``).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cosim.engines import get_engine
from cosim.simulators import finder, ngspice, osdi
from cosim.studies.compare import CompareSpec, build_case
from device_models import fefet_mos2 as fe
from device_models.cells import FefetCell, SparseFefetCell
from device_models.spice_text import fmt

DEBIAN = "/usr/bin/ngspice"


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.osdi
def test_the_best_simulator_is_the_klu_osdi_build():
    info = ngspice.require()
    assert info.klu and info.osdi and info.origin == "built", info.describe()
    assert info.version_key >= (46,)


@pytest.mark.ngspice
def test_cosim_ngspice_forces_a_simulator(monkeypatch, tmp_path):
    monkeypatch.setenv("COSIM_NGSPICE", DEBIAN)
    info = ngspice.require()
    assert info.path == DEBIAN and info.origin == "COSIM_NGSPICE"
    assert not info.klu and not info.osdi  # Debian's 39.3
    monkeypatch.setenv("COSIM_NGSPICE", str(tmp_path / "nothing"))
    found, why = ngspice.probe()
    assert found is None and "COSIM_NGSPICE=" in why and "cannot be started" in why


def test_every_deck_asks_for_klu():
    from netlists.crossbar import CrossbarParams, crossbar

    deck = crossbar(CrossbarParams(fields={"g_s": np.full((2, 2), 1e-5)},
                                   input_codes=np.ones((2, 2), int))).render()
    assert ".options noacct klu" in deck


@pytest.mark.osdi
def test_verilog_a_face_matches_numpy_over_vg_vd_p_grid(tmp_path):
    """Every combination of gate voltage, drain voltage and polarization (plus a Vth
    offset) as one instance in one .op: the compiled model's current against
    ``drain_current``. Budget 1e-6 relative (like the B-source face) above a 1e-15 A
    floor; ngspice solves with reltol 1e-9 and the model is the same expression."""
    p = fe.MOS2_HZO_DEFAULT
    name, src = fe.verilog_a(p)
    obj = osdi.compile_va(src, name)
    vg, vd, pol = np.meshgrid(np.linspace(-1.0, 1.5, 6), np.linspace(0.005, 0.4, 5),
                              np.linspace(-1, 1, 5), indexing="ij")
    vg, vd, pol = vg.ravel(), vd.ravel(), pol.ravel()
    dvth = np.tile([0.0, 0.03, -0.02], len(vg))[:len(vg)]
    lines = ["* va grid", f".model fm {name}"]
    for k in range(len(vg)):
        lines += [f"Vg{k} g{k} 0 {fmt(vg[k])}", f"Vd{k} d{k} 0 {fmt(vd[k])}",
                  f"N{k} d{k} g{k} 0 fm pol={fmt(pol[k])} dvth={fmt(dvth[k])}"]
    lines += [".options reltol=1e-9 abstol=1e-18", ".op", ".end", ""]
    out = ngspice.run_deck("\n".join(lines), workdir=tmp_path,
                           files={".spiceinit": f"osdi {obj}\n"})
    spice = np.array([-out.plot[f"i(vd{k})"][0] for k in range(len(vg))])
    want = fe.drain_current(vg, vd, pol, p, dvth)
    assert np.all(np.abs(spice - want) <= 1e-6 * np.abs(want) + 1e-15)
    assert np.ptp(np.log10(np.abs(want) + 1e-30)) > 6  # the grid spans sub- to above-threshold


@pytest.mark.osdi
def test_osdi_objects_are_cached_by_source():
    name, src = fe.verilog_a(fe.MOS2_HZO_DEFAULT)
    first = osdi.compile_va(src, name)
    assert osdi.compile_va(src, name) == first
    other = fe.verilog_a(fe.FefetParams(width_m=4e-6))
    assert other[0] != name and osdi.compile_va(other[1], other[0]) != first


@pytest.mark.osdi
@pytest.mark.parametrize("cell", ["fefet", "sparse_fefet"])
def test_osdi_and_bsource_cells_agree_with_wires(cell):
    """The same wired FeFET array on ngspice 46: compiled Verilog-A cells against the
    B-source cells, and both against the nodal engine. Budget 1e-6 relative: the two
    faces are one expression; Newton stops at reltol 1e-7..1e-9."""
    state, config, x = build_case(CompareSpec(rows=12, cols=12, vectors=6, r_wire_ohm=2.0,
                                              cell=cell))
    va = get_engine("spice", models="osdi").run(state, x, config)
    bs = get_engine("spice", models="bsource").run(state, x, config)
    nodal = get_engine("nodal").run(state, x, config)
    assert _rel(va.i_col_a, bs.i_col_a) <= 1e-6
    assert _rel(va.i_col_a, nodal.i_col_a) <= 1e-4  # the nodal budget (test_nodal.py)


@pytest.mark.ngspice
@pytest.mark.skipif(not shutil.which(DEBIAN), reason="Debian's ngspice is the fallback path")
def test_debian_fallback_still_solves_fefet_arrays_with_wires(monkeypatch):
    monkeypatch.setenv("COSIM_NGSPICE", DEBIAN)
    state, config, x = build_case(CompareSpec(rows=10, cols=10, vectors=5, r_wire_ohm=2.0,
                                              cell="fefet"))
    eng = get_engine("spice")
    assert not eng.use_osdi(state)  # no OSDI in 39.3: B-sources
    spice = eng.run(state, x, config)
    nodal = get_engine("nodal").run(state, x, config)
    assert _rel(spice.i_col_a, nodal.i_col_a) <= 1e-4


def test_verilog_a_source_follows_the_parameter_object():
    """Change a parameter: the module (name and numbers) changes with it."""
    a = fe.verilog_a(fe.MOS2_HZO_DEFAULT)
    b = fe.verilog_a(fe.FefetParams(memory_window_v=1.2))
    assert a[0] != b[0] and "0.80000000000000004 * pol" in a[1] and "0.59999999999999998" in b[1]
    assert set(SparseFefetCell().verilog_a_modules()) >= set(FefetCell().verilog_a_modules())


def test_models_osdi_refuses_a_cell_without_a_verilog_a_face():
    from cosim import ParamError

    state, _, _ = build_case(CompareSpec(rows=2, cols=2, vectors=1))
    with pytest.raises(ParamError, match="models"):
        get_engine("spice", models="osdi").use_osdi(state)


def test_finder_prefers_klu_then_osdi_then_version():
    a = finder.NgspiceInfo("/a", "39.3")
    b = finder.NgspiceInfo("/b", "46", klu=True, osdi=True, origin="built")
    c = finder.NgspiceInfo("/c", "47")
    d = finder.NgspiceInfo("/d", "45", klu=True)
    assert max([a, b, c, d], key=finder.rank) is b
    assert max([a, c, d], key=finder.rank) is d
    assert max([a, c], key=finder.rank) is c


@pytest.mark.osdi
def test_doctor_lists_each_simulator_and_the_compiler_and_manifests_name_the_one_used(
        tmp_path):
    from typer.testing import CliRunner

    from cosim.cli.app import app
    from cosim.runs.manifest import build_manifest

    res = CliRunner().invoke(app, ["doctor"])
    found = [ln for ln in res.output.splitlines() if ln.startswith("found")]
    assert any("KLU yes, OSDI yes; built" in ln for ln in found), res.output
    assert "uses ngspice 46" in res.output and "Verilog-A   : OpenVAF" in res.output
    man = build_manifest("t", {}, 0, "now")
    assert man["ngspice"]["klu"] and man["ngspice"]["osdi"] and man["ngspice"]["origin"] == "built"
