"""The TaOx memristor: read I-V, pulse response, variation, and its three faces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cosim.engines import get_engine
from cosim.studies.compare import CompareSpec, build_case
from device_models import rram_taox as rr
from device_models.cells import RramCell, TransposedCell, transpose_fields
from device_models.registry import make_cell
from device_models.validation import ParamError

P = rr.TAOX_DEFAULT


def test_read_is_odd_ohmic_at_small_bias_and_superlinear():
    g = np.array([1e-6, 5e-5])
    v = np.array([1e-4, 0.2, 0.5])
    i = rr.current(v[:, None], g[None], P)
    np.testing.assert_allclose(rr.current(-v[:, None], g[None], P), -i, rtol=1e-15)
    np.testing.assert_allclose(i[0] / 1e-4, g, rtol=1e-7)  # slope g near 0 V
    chord = i[1] / (0.2 * g)
    np.testing.assert_allclose(chord, np.sinh(0.4) / 0.4, rtol=1e-12)  # +2.7 % at 0.2 V
    assert RramCell().chord == pytest.approx(np.sinh(0.4) / 0.4)


def test_set_curve_is_monotone_saturating_and_spans_the_range():
    g = np.full(1, P.g_min_s)
    trace = [g[0]]
    for _ in range(P.pulses_full):
        g = rr.apply_pulses(g, P.v_set_v, 1, P)
        trace.append(g[0])
    steps = np.diff(trace)
    assert np.all(steps > 0) and steps[-1] < steps[0] / 2  # nl = 1: e^-1 of the first
    assert trace[-1] == pytest.approx(P.g_max_s, rel=1e-9)
    # pulse by pulse equals all at once (a pulse moves the device along its curve)
    assert rr.apply_pulses(np.full(1, P.g_min_s), P.v_set_v, 10, P)[0] == pytest.approx(
        trace[10], rel=1e-12)


def test_reset_is_steeper_than_set_and_half_select_does_nothing():
    mid = np.full(1, 0.5 * (P.g_min_s + P.g_max_s))
    up = rr.apply_pulses(mid, P.v_set_v, 1, P)[0] - mid[0]
    down = mid[0] - rr.apply_pulses(mid, P.v_reset_v, 1, P)[0]
    assert down > 1.2 * up  # nl_reset 2 vs nl_set 1: asymmetric
    for v in (P.v_set_v / 2, P.v_reset_v / 2):  # V/2 below both thresholds
        assert rr.apply_pulses(mid, v, 10, P)[0] == mid[0]
    assert rr.apply_pulses(mid, 0.8, 2, P)[0] == pytest.approx(
        rr.apply_pulses(mid, P.v_set_v, 1, P)[0])  # half the overdrive: half a pulse x 2


def test_c2c_and_d2d_variation():
    n = 20_000
    mid = np.full(n, 0.5 * (P.g_min_s + P.g_max_s))
    noisy = rr.apply_pulses(mid, P.v_set_v, 4, P, rng=np.random.default_rng(0))
    clean = rr.apply_pulses(mid, P.v_set_v, 4, P)
    # sigma = c2c x range x sqrt(4); sample std of 20k draws: 0.5 % error; 3 % budget
    assert np.std(noisy - clean) == pytest.approx(P.c2c_frac * (P.g_max_s - P.g_min_s) * 2,
                                                  rel=0.03)
    d2d = rr.draw_d2d((n,), P, np.random.default_rng(1))
    assert np.std(d2d) == pytest.approx(P.d2d_frac, rel=0.03)
    bigger = rr.apply_pulses(mid[:2], P.v_set_v, 1, P, d2d=np.array([1.0, 1.5]))
    assert bigger[1] - mid[1] > 1.4 * (bigger[0] - mid[0])


def test_cell_programs_reads_back_and_reads_the_same_transposed():
    cell = make_cell("rram")
    lo, hi = cell.g_range()
    g = np.random.default_rng(2).uniform(lo, hi, (5, 4))
    fields = cell.program(g)
    np.testing.assert_allclose(cell.conductance(fields), g, rtol=1e-12)
    tcell = TransposedCell(cell)
    v = np.random.default_rng(3).uniform(0, 0.2, (2, 4, 1))
    i_t = tcell.current(v, transpose_fields(fields), 0.0)  # columns driven
    np.testing.assert_allclose(i_t, cell.current(np.swapaxes(v, 1, 2), fields).transpose(
        0, 2, 1), rtol=1e-12)  # odd I-V: the same device either way


@pytest.mark.ngspice
def test_numpy_and_spice_faces_agree_with_and_without_wires():
    """No wires: every cell sits at its driver's voltage, so ngspice evaluates the same
    sinh (1e-12); with 2 ohm wires ngspice's Newton and the nodal engine's meet
    within ngspice's reltol 1e-7."""
    spec = CompareSpec(rows=12, cols=8, vectors=6, cell="rram", seed=4)
    state, config, x = build_case(spec)
    # every (vector, cell) from the numpy face: the faces, not the expansion, compared
    ref = get_engine("behavioral", noise=False, expansion=False).run(state, x, config).i_out_a
    got = get_engine("spice").run(state, x, config).i_out_a
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-20)
    wired = dataclasses.replace(config, r_row_wire_ohm=2.0, r_col_wire_ohm=2.0)
    nodal = get_engine("nodal").run(state, x, wired).i_out_a
    spice = get_engine("spice").run(state, x, wired).i_out_a
    np.testing.assert_allclose(spice, nodal, rtol=1e-6)
    assert np.abs(nodal - ref).max() > 1e-4 * np.abs(ref).max()  # the wires do matter


@pytest.mark.osdi
def test_verilog_a_face_agrees_with_the_b_source():
    spec = CompareSpec(rows=6, cols=5, vectors=4, cell="rram", seed=5)
    state, config, x = build_case(spec)
    wired = dataclasses.replace(config, r_row_wire_ohm=1.0, r_col_wire_ohm=1.0)
    b = get_engine("spice", models="bsource").run(state, x, wired).i_out_a
    va = get_engine("spice", models="osdi").run(state, x, wired).i_out_a
    np.testing.assert_allclose(va, b, rtol=1e-6)


def test_networks_deploy_on_memristor_arrays():
    from cosim.nn.config import config_from_dict
    from cosim.nn.training import run_training

    cfg = config_from_dict({"data": {"limit_train": 400, "limit_test": 200},
                            "train": {"mode": "deploy", "epochs": 10},
                            "hardware": {"cell": "rram"}})
    s = run_training(cfg)["summary"]
    assert s["hardware_test_acc"] > s["float_test_acc"] - 0.05


def test_in_array_writes_move_memristor_weights_the_right_way():
    from cosim.nn.layers import AnalogLayer, HardwareConfig
    from device_models.validation import ParamError

    rng = np.random.default_rng(6)
    w = rng.normal(0.0, 0.5, (8, 5))
    layer = AnalogLayer(w, HardwareConfig(cell="rram", write_variation=False), rng,
                        domains=True)
    assert layer.in_array and not layer.domains  # the state is the fields
    before = layer.read_weights()
    dw = np.sign(rng.normal(size=w.shape)) * 0.3 * np.abs(w).max()
    ledger = layer.write_update(dw, np.random.default_rng(1))
    moved = layer.read_weights() - before
    agree = np.sign(moved[moved != 0]) == np.sign(dw[moved != 0])
    assert (moved != 0).mean() > 0.8 and agree.all()
    assert ledger.cell_pulses > 0 and ledger.energy_device_j > 0 and ledger.time_s > 0
    with pytest.raises(ParamError, match="per-cell"):
        layer.write_update(dw, rng, "vau")


def test_program_refuses_targets_beyond_the_memristors_range():
    cell = RramCell()
    lo, hi = cell.g_range()
    with pytest.raises(ParamError, match=r"g_target_s.*memristor's range"):
        cell.program(np.array([[lo, 2 * hi]]))
    with pytest.raises(ParamError, match="memristor's range"):
        cell.program(np.array([[0.5 * lo]]))
