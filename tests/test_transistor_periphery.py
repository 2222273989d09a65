"""Transistor-level periphery: the MOSFET card's two faces, the CMOS op-amp's measured
figures, and behavioral vs transistor-level read-out of an array."""

import numpy as np
import pytest

from cosim.benches.opamp import characterize
from cosim.simulators import ngspice
from cosim.studies.compare import CompareSpec, run_compare
from device_models import mosfet
from device_models.mosfet import NMOS_GENERIC, PMOS_GENERIC, MosfetParams
from device_models.validation import ParamError
from periphery.opamp_cmos import CmosOpamp
from periphery.sensing import sized_for

pytestmark = pytest.mark.ngspice


@pytest.mark.parametrize("dev", [NMOS_GENERIC, PMOS_GENERIC])
def test_mosfet_numpy_face_matches_ngspice(dev):
    """Same level-1 equations on both faces: agreement to 1e-6 relative, plus 2 pA
    absolute: ngspice shunts each junction with gmin = 1e-12 S (up to 1.5 V here)."""
    w, length, s = 4e-6, 1e-6, dev.sign
    deck = (f"* {dev.polarity}mos id\n{mosfet.spice_model(dev)}"
            f"Vd d 0 0\nVg g 0 0\nVb b 0 {-0.3 * s}\n"
            f"{mosfet.spice_instance('1', 'd', 'g', '0', 'b', dev, w, length)}"
            ".options noacct reltol=1e-9 abstol=1e-18\n.save i(vd)\n"
            f".dc Vd 0 {1.2 * s} {0.1 * s} Vg 0 {1.2 * s} {0.1 * s}\n")
    plot = ngspice.run_deck(deck, name="mos").plot
    vd = np.real(plot["v(v-sweep)"])
    vg = np.repeat(np.arange(13) * 0.1 * s, 13)
    assert len(vd) == len(vg)
    got = -np.real(plot["i(vd)"])  # current into the drain
    want = mosfet.drain_current(dev, vg, vd, 0.3 * s, w_m=w, l_m=length)
    on = np.abs(want) > 1e-9
    assert on.sum() > 50
    np.testing.assert_allclose(got[on], want[on], rtol=1e-6, atol=2e-12)


def test_mosfet_card_rejects_mismatched_sign():
    with pytest.raises(ParamError) as exc:
        MosfetParams(polarity="p", vto_v=0.45)
    assert exc.value.field == "mosfet.vto_v"


def test_opamp_figures_follow_the_design():
    """The measured gain-bandwidth tracks gm1 / (2 pi Cc) within 10 % (the second
    pole and Miller zero move it a little); the DC gain is what two level-1 gain
    stages give, 2 / (Vov (lambda_n + lambda_p)) x gm6 (ro6 || ro7), within 20 %;
    quiescent current equals the designed branch currents within 5 % (lambda)."""
    design = CmosOpamp()
    fig = characterize(design, 200e-6)
    assert fig.gbw_hz == pytest.approx(design.gbw_hz, rel=0.10)
    a1 = 2 / (design.vov_in_v * (NMOS_GENERIC.lambda_per_v + PMOS_GENERIC.lambda_per_v))
    a2 = 2 / (design.vov_v * (NMOS_GENERIC.lambda_per_v + PMOS_GENERIC.lambda_per_v))
    assert fig.dc_gain == pytest.approx(a1 * a2, rel=0.20)
    assert fig.quiescent_a == pytest.approx(design.quiescent_a, rel=0.05)
    assert fig.phase_margin_deg > 45
    assert abs(fig.offset_sys_v) < 1e-4  # sized for zero systematic offset


@pytest.mark.parametrize(("cell", "kind"), [("resistor", "integrator"), ("fefet", "integrator"),
                                            ("resistor", "tia"), ("fefet", "tia")])
def test_behavioral_matches_transistor_level_periphery_within_one_lsb(cell, kind):
    """The issue's budget: 1 LSB at 8 bits. The behavioral engine stands in for the
    CMOS op-amps with their measured gain, GBW, output resistance and offset;
    measured 0.15-0.22 LSB at 8x8 (the residue is the op-amp's second pole)."""
    spec = CompareSpec(rows=8, cols=8, vectors=8, cell=cell, dac_bits=6,
                       engines=("behavioral", "spice"))
    metrics, _, cand = run_compare(spec, sense=kind, level="transistor", adc_level="behavioral")
    assert metrics["max_err_lsb"] <= 1.0
    assert cand.energy_basis["sensing"].startswith("simulated: transistor-level")
    assert 0 < cand.settling_s.max() < 100e-9  # within the integration window
    if kind == "integrator":
        # A ~200 MHz op-amp lifts the virtual ground by I / (C 2 pi GBW): the nominal
        # (5 GHz) model misses it by several LSB; that is the bandwidth effect.
        assert metrics["effect_bandwidth_settling_lsb"] > 1.0
        assert metrics["nominal_behavioral_vs_transistor_max_err_lsb"] > 1.0


def test_transistor_sensing_energy_includes_the_quiescent_supply():
    """Rails deliver at least vdd x I_q x period per column per vector."""
    spec = CompareSpec(rows=4, cols=3, vectors=3, engines=("behavioral", "spice"))
    metrics, beh, cand = run_compare(spec, sense="tia", level="transistor", adc_level="behavioral")
    period = sized_for(1e-4, "tia", level="transistor").period_s
    floor = 1.8 * 3 * metrics["opamp_quiescent_a"] * period
    # A zero vector draws only the quiescent current (to 1e-5: the transient's bias
    # point differs from the characterization's follower by a few microvolts).
    assert np.all(cand.energy_j["sensing"] >= floor * (1 - 1e-3))
    assert cand.energy_j["sensing"][-1] > floor * 1.05  # plus the sunk signal current
    # The class-A stand-in (quiescent + signal current through the lower rail) agrees
    # with the rails' simulated delivery within 5 %.
    np.testing.assert_allclose(cand.energy_j["sensing"], beh.energy_j["sensing"], rtol=0.05)


def test_transistor_level_needs_a_sensing_circuit():
    with pytest.raises(ParamError) as exc:
        run_compare(CompareSpec(rows=2, cols=2, vectors=2), level="transistor")
    assert exc.value.field == "periphery_level"


def test_tia_read_bench_refuses_a_lost_virtual_ground_and_keeps_its_deck(monkeypatch):
    """The TIA read bench fits R_out only while the column holds its virtual ground
    (measured ~1 mV at full scale on the generic card); past the limit it raises,
    naming the excursion, with the deck kept. Limit lowered to 10 uV to force it."""
    from cosim.benches import opamp as bench

    sense = sized_for(100e-6, "tia", level="transistor")
    r_out = bench.tia_read_r_out(sense, 100e-6, 1e3)
    assert 0 < r_out < 1e7
    monkeypatch.setattr(bench, "READ_VG_LIMIT_V", 10e-6)
    bench.tia_read_r_out.cache_clear()
    with pytest.raises(ngspice.SimulationError, match="left its virtual ground") as exc:
        bench.tia_read_r_out(sense, 100e-6, 1e3)
    assert exc.value.netlist.exists()
    bench.tia_read_r_out.cache_clear()
