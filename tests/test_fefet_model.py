"""MoS2 FeFET compact model: numpy face vs SPICE face, switching, hysteresis, drift."""

import dataclasses

import numpy as np
import pytest

from cosim.simulators import ngspice
from cosim.studies.device import (
    PulseScheme,
    distinguishable_levels,
    drift_table,
    hysteresis,
    pulse_train,
)
from device_models import fefet_mos2 as fe
from device_models.cells import FefetCell, SparseFefetCell
from device_models.spice_text import fmt
from device_models.validation import ParamError

P = fe.MOS2_HZO_DEFAULT
POLS = (-1.0, -0.4, 0.0, 0.6, 1.0)


@pytest.mark.ngspice
def test_numpy_face_matches_spice_face_over_grid():
    """Id over Vg x Vd x state: 1 % or 1 pA (the issue's budget). The B-source
    evaluates the same expression, so agreement is in fact ~1e-12."""
    name = fe.subckt_name(P, "read")
    deck = [fe.spice_subckt(P), "Vg g 0 0\n", "Vd d 0 0\n"]
    for k, pol in enumerate(POLS):
        deck.append(f"X{k} d g s{k} {name} pol={fmt(pol)} dvth={fmt(0.01 * k)}\n")
        deck.append(f"Vs{k} s{k} 0 0\n")
    # Tight tolerances: at the defaults a .dc sweep stops Newton once a B-source
    # current moves < abstol = 1 pA, leaving ~1 pA of linearisation error.
    deck.append(".options noacct abstol=1e-18 reltol=1e-9\n.dc Vd -0.2 0.4 0.05 Vg -1.5 2.5 0.25\n")
    out = ngspice.run_deck("* fefet grid\n" + "".join(deck) + ".end\n")
    plot = out.plot
    vd, vg = plot["v(d)"], plot["v(g)"]  # the sweep values ngspice actually used
    assert plot.points == 13 * 17
    assert np.ptp(vg) == pytest.approx(4.0) and np.ptp(vd) == pytest.approx(0.6)
    for k, pol in enumerate(POLS):
        spice = plot[f"i(vs{k})"]  # current into the source meter = drain current
        numpy_ = fe.drain_current(vg, vd, pol, P, 0.01 * k)
        np.testing.assert_allclose(spice, numpy_, rtol=1e-2, atol=1e-12)
        big = np.abs(numpy_) > 1e-12
        assert np.max(np.abs(spice[big] / numpy_[big] - 1)) < 1e-6  # actual agreement


def test_subthreshold_slope_and_on_off_follow_params():
    vth = float(fe.vth_v(-1.0, P))
    vg = vth + np.array([-0.4, -0.3])  # subthreshold, above the leakage floor
    i = fe.drain_current(vg, 0.1, -1.0, dataclasses.replace(P, on_off_ratio=1e15))
    decades = np.log10(i[1] / i[0])
    assert 0.1 / decades == pytest.approx(P.ss_v_per_dec, rel=0.02)
    i_on = fe.drain_current(P.vth_mid_v + 1.0, 0.1, 0.0, P)  # 1 V overdrive
    i_floor = fe.drain_current(-5.0, 0.1, -1.0, P)
    assert i_on / i_floor == pytest.approx(P.on_off_ratio, rel=0.01)


def test_hysteresis_window_matches_parameter():
    for mw in (1.0, 1.6, 2.0):
        p = dataclasses.replace(P, memory_window_v=mw, vth_mid_v=0.0)
        _, out = hysteresis(p, np.random.default_rng(0))
        assert out["memory_window_v"] == pytest.approx(mw, rel=0.05)


def test_minor_loop_switches_part_of_the_domains():
    rng = np.random.default_rng(1)
    d = fe.new_domains((1,), P, rng)
    full, _ = fe.preisach_sweep(d, np.linspace(0, 4, 41), P, 1e-6)
    minor, _ = fe.preisach_sweep(d, np.linspace(0, 1.45, 41), P, 1e-6)
    assert full[-1, 0] == 1.0
    assert -1.0 < minor[-1, 0] < 0.5


def test_pulse_train_monotonic_saturating_with_16_levels():
    train = pulse_train(FefetCell(), np.random.default_rng(0), PulseScheme())
    pot = train[train.phase == "potentiation"].g_s.to_numpy()
    dep = train[train.phase == "depression"].g_s.to_numpy()
    assert np.all(np.diff(pot) >= 0) and np.all(np.diff(dep) <= 0)
    # Saturating: the last quarter of the pulses adds less than the first quarter.
    q = len(pot) // 4
    assert pot[-1] - pot[-q] < 0.25 * (pot[q] - pot[0])
    assert distinguishable_levels(pot, P.read_noise_frac) >= 16


def test_nls_progress_accumulates_over_pulses():
    d = fe.new_domains((50,), P, np.random.default_rng(2))
    two = fe.apply_pulses(d, 1.6, 50e-9, 2, P)
    one = fe.apply_pulses(d, 1.6, 100e-9, 1, P)
    np.testing.assert_array_equal(two.up, one.up)
    np.testing.assert_allclose(two.progress, one.progress, rtol=1e-12)
    back = fe.apply_pulses(one, -3.5, 1e-6, 1, P)
    assert np.all(back.polarization == -1.0)


def test_stochastic_switching_is_seeded_and_spreads_identical_devices():
    """Poisson nucleation: identical devices (same domains) pulsed alike end in
    different states; the same seed repeats them; deterministic switching does not
    spread at all."""
    d = fe.new_domains((1,), P, np.random.default_rng(3))
    same = fe.Domains(np.repeat(d.up, 400, 0), np.repeat(d.progress, 400, 0),
                      np.repeat(d.ea_v, 400, 0))  # threshold None: drawn below
    rng = np.random.default_rng(9)
    stoch = fe.Domains(same.up, same.progress, same.ea_v, rng.exponential(1.0, same.up.shape))
    a = fe.apply_pulses(stoch, 1.5, 100e-9, 5, P, np.random.default_rng(9))
    b = fe.apply_pulses(stoch, 1.5, 100e-9, 5, P, np.random.default_rng(9))
    det = fe.apply_pulses(same, 1.5, 100e-9, 5, P)
    np.testing.assert_array_equal(a.up, b.up)
    assert a.polarization.std() > 0.05  # binomial-like spread of a 64-domain device
    assert det.polarization.std() == 0.0
    # Poisson law: domains held for exactly one Merz time switch with probability
    # 1 - 1/e (25,600 domains: standard error 0.003; 4 SE budget).
    ea = np.full((400, P.n_domains), 2.3)
    down = fe.Domains(np.zeros(ea.shape, bool), np.zeros(ea.shape), ea,
                      np.random.default_rng(1).exponential(1.0, ea.shape))
    t = float(fe.merz_tau_s(1.5, 2.3, P))
    frac = fe.apply_stress(down, 1.5, t, P).up.mean()
    assert abs(frac - (1 - np.exp(-1))) < 4 * 0.003


def test_stress_is_closed_form_of_same_polarity_pulses():
    d = fe.new_domains((30,), P, np.random.default_rng(4))
    one_by_one = d
    for _ in range(7):
        one_by_one = fe.apply_pulses(one_by_one, 1.4, 100e-9, 1, P)
    np.testing.assert_array_equal(fe.apply_stress(d, 1.4, 700e-9, P).up, one_by_one.up)


def test_endurance_closes_the_window_past_the_onset():
    assert fe.window_factor(1e3, P) == 1.0
    assert fe.window_factor(P.endurance_onset_cycles * 100, P) == pytest.approx(
        1 - 2 * P.window_loss_per_decade)
    d = fe.new_domains((2,), P, np.random.default_rng(5), pol=1.0)
    worn = fe.Domains(d.up, d.progress, d.ea_v, d.threshold,
                      np.array([0.0, 2 * P.n_domains * P.endurance_onset_cycles * 10]))
    pol = fe.effective_polarization(worn, P)
    assert pol[0] == 1.0 and pol[1] == pytest.approx(1 - P.window_loss_per_decade)


def test_variation_draws_have_requested_sigma():
    rng = np.random.default_rng(4)
    n = 200_000
    dv = fe.draw_vth_offsets((n,), P, rng)
    pol = fe.write_error(np.zeros(n), P, rng)
    i = fe.read_noise(np.ones(n), P, rng)
    # Sample std of n normal draws: relative standard error 1/sqrt(2n) = 0.16 %; 1 % budget.
    assert dv.std() == pytest.approx(P.sigma_vth_d2d_v, rel=0.01)
    assert (pol.std() * P.memory_window_v / 2) == pytest.approx(P.c2c_frac * P.memory_window_v,
                                                                 rel=0.01)
    assert i.std() == pytest.approx(P.read_noise_frac, rel=0.01)


def test_drift_moves_toward_mid_linearly_in_log_time():
    pol = np.array([-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(fe.drift(pol, 0.0, P), pol)
    p10, p100 = fe.drift(pol, 9.0, P), fe.drift(pol, 99.0, P)  # log10(1 + t/1 s) = 1, 2
    np.testing.assert_allclose(p10, pol * (1 - P.retention_loss_per_decade), rtol=1e-12)
    np.testing.assert_allclose(p100, pol * (1 - 2 * P.retention_loss_per_decade), rtol=1e-12)
    table = drift_table(FefetCell())
    assert list(table.time) == ["1 s", "1 h", "1 day", "1 year"]
    assert np.all(np.diff(table.mean_err_of_range) > 0)


@pytest.mark.ngspice
def test_spice_write_face_follows_closed_form():
    """One rectangular gate pulse (1 ps edges) on the write subcircuit (uic
    transient) vs the closed-form relaxation of its domain groups. Budget 2e-3 in
    P: the transient's time-step truncation error at reltol 1e-6 (one domain of
    64 is 3e-2)."""
    name = f"{fe.subckt_name(P, 'write')}_8"
    for v, w in ((2.0, 200e-9), (-2.5, 100e-9)):
        pol0 = -1.0 if v > 0 else 1.0
        edge = 1e-12
        deck = ("* write\n" + fe.spice_subckt_write(P, 8)
                + f"Vg g 0 PWL(0 0 {fmt(edge)} {v} {fmt(edge + w)} {v} "
                  f"{fmt(2 * edge + w)} 0)\n"
                + "Vd d 0 0.1\nVs s 0 0\n"
                + f"X1 d g s {name} pol0={pol0}\n"
                + f".options noacct reltol=1e-6\n.tran {fmt(w / 200)} {fmt(w + 10e-9)} 0 "
                  f"{fmt(w / 200)} uic\n.end\n")
        plot = ngspice.run_deck(deck).plot
        expect = fe.group_relaxation(pol0, v, w, P)
        assert plot["v(x1.pol)"][-1] == pytest.approx(expect, abs=2e-3)


@pytest.mark.ngspice
def test_pruned_sparse_cell_passes_under_1e3_in_numpy_and_spice():
    from cosim import ArrayConfig, ArrayState
    from cosim.engines import get_engine
    from periphery.converters import AdcParams, DacParams

    cell = SparseFefetCell()
    lo, hi = cell.g_range()
    g = np.full((1, 6), 0.5 * (lo + hi))
    g[0, :2] = hi
    fields = cell.prune(cell.program(g), np.array([[1, 0, 1, 0, 1, 0]]))
    state = ArrayState(fields, cell)
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-4, signed=False))
    for engine in (get_engine("behavioral", noise=False), get_engine("spice")):
        i = engine.run(state, np.ones((1, 1)), config).i_col_a[0]
        assert i[1] < 1e-3 * i[0] and i[3] < 1e-3 * i[2] and i[5] < 1e-3 * i[4], engine.name


@pytest.mark.parametrize(("kw", "field"), [
    ({"memory_window_v": 2.5}, "memory_window_v"),  # above 2 Ec t_fe = 2 V
    ({"n_domains": 0}, "n_domains"),
    ({"ss_v_per_dec": 0.05}, "ss_v_per_dec"),  # below the 60 mV/dec thermal limit
    ({"on_off_ratio": 1.0}, "on_off_ratio"),
    ({"tau0_s": -1.0}, "tau0_s"),
    ({"read_noise_frac": 0.9}, "read_noise_frac"),
])
def test_fefet_params_validation(kw, field):
    with pytest.raises(ParamError) as exc:
        dataclasses.replace(P, **kw)
    assert exc.value.field == field


def test_program_inverts_conductance_and_rejects_out_of_range():
    for cell in (FefetCell(), SparseFefetCell()):
        lo, hi = cell.g_range()
        g = np.linspace(lo, hi, 9)[None, :]
        # Bisection to 60 halvings of P: G matches to round-off.
        np.testing.assert_allclose(cell.conductance(cell.program(g)), g, rtol=1e-9)
        with pytest.raises(ParamError, match="g_target_s"):
            cell.program(np.array([[2 * hi]]))


def test_per_device_pulse_counts():
    d = fe.new_domains((3,), P, np.random.default_rng(5))
    counts = np.array([0, 3, 10])
    got = fe.apply_pulses(d, 1.5, 100e-9, counts, P, np.random.default_rng(1))
    np.testing.assert_array_equal(got.up[0], d.up[0])  # no pulses: untouched, no jitter
    np.testing.assert_array_equal(got.progress[0], d.progress[0])
    exact = fe.apply_pulses(d, 1.5, 100e-9, counts, P)  # no jitter: must equal one at a time
    for i, n in enumerate(counts[1:], start=1):
        alone = fe.apply_pulses(fe.Domains(d.up[i:i + 1], d.progress[i:i + 1], d.ea_v[i:i + 1],
                                           d.threshold[i:i + 1]), 1.5, 100e-9, int(n), P)
        np.testing.assert_array_equal(exact.up[i], alone.up[0])
        np.testing.assert_allclose(exact.progress[i], alone.progress[0], rtol=1e-12)
    with pytest.raises(ParamError, match="pulse counts"):
        fe.apply_pulses(d, 1.5, 100e-9, np.array([1, -1, 0]), P)
