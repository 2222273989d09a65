"""The SAR ADC circuit (capacitive DAC, StrongARM, XSPICE register, transistor
switches) on its ramp bench and inside the array transient, on the generic card
(fast); the transistor reset switch's sizing constant."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cosim.benches import sar_adc as bench
from cosim.engines import get_engine
from cosim.simulators import ngspice
from cosim.studies.compare import CompareSpec, build_case, with_sensing
from device_models.validation import ParamError
from periphery import sar_adc
from periphery.process import GENERIC, TG_RON_OHM_M, Process
from periphery.sar_adc import SarAdcCircuit

pytestmark = pytest.mark.ngspice

# 4 bits with units large against the top plates' parasitics: a ramp of 18 LSB
FOUR = SarAdcCircuit(bits=4, lsb_v=0.5 / 7, cu_f=20e-15, sigma_cu=0.0)


def _levels(p: SarAdcCircuit, steps: int) -> np.ndarray:
    return bench.ramp_levels_lsb(p, steps)


def dac_levels_lsb(p: SarAdcCircuit, caps: np.ndarray) -> np.ndarray:
    """Where an ideal comparator flips into each code c (min_code+1..max_code), in units
    of the nominal LSB, from the capacitor values alone: the differential DAC level
    of D = c + 2^(N-1) relative to the sampling state, minus the dummies' half LSB."""
    n = p.bits
    tot = caps.sum(axis=1)
    d_s = 2 ** (n - 1)
    out = []
    for c in range(p.min_code + 1, p.max_code + 1):
        d = c + d_s
        bits = np.array([(d >> k) & 1 for k in range(n)]) - np.array(
            [(d_s >> k) & 1 for k in range(n)])
        c_bit = sar_adc.bit_capacitors(caps)
        step = 2 * (c_bit[0] / tot[0] + c_bit[1] / tot[1]) @ bits
        half = caps[0, 0] / tot[0] + caps[1, 0] / tot[1]
        out.append((step - half) * p.v_ref_v / p.lsb_v)
    return np.array(out)


def test_trimmed_converter_codes_are_the_rounded_input():
    """After the one-step gain trim a 4-bit converter's codes are round(V_x / LSB) on a
    ramp with 4 levels per LSB, except within 0.15 LSB of a transition (the charge
    injection and kickback it keeps): the sign and the scale of the conversion."""
    p = bench.trimmed(FOUR)
    # the lift capacitors attenuate by C_lift / C_side, the parasitics by a few %
    lift = 1 + p.cm_units / 2**p.bits
    assert 0.9 * lift < p.v_ref_scale < 1.3 * lift
    levels = _levels(p, 4) + 0.125  # off the ideal transitions by an eighth
    codes, energy = bench.convert(p, levels * p.lsb_v)
    ideal = np.clip(np.rint(levels), p.min_code, p.max_code)
    near = np.abs(levels - np.round(levels - 0.5) - 0.5) < 0.15
    assert np.array_equal(codes[~near, 0], ideal[~near]), (codes[:, 0], ideal)
    assert energy > 0


def test_capacitor_mismatch_sets_the_transitions():
    """With 8 % unit mismatch the measured transitions follow the DAC levels computed
    from the drawn capacitors (best line, offset and gain free) to the ramp's
    resolution plus 0.1 LSB of charge injection; the ideal levels miss them by far more,
    so the mismatch reaches the circuit."""
    p = bench.trimmed(dataclasses.replace(FOUR, sigma_cu=0.08, cap_seed=3))
    steps = 8
    levels = _levels(p, steps)
    codes, _ = bench.convert(p, levels * p.lsb_v)
    t = bench.transitions(levels, codes[:, 0], p)
    predicted = dac_levels_lsb(p, sar_adc.capacitors(p))
    ideal = np.arange(p.min_code + 1, p.max_code + 1) - 0.5

    def residual(model: np.ndarray) -> float:
        fit = np.polyval(np.polyfit(model, t, 1), model)
        return float(np.abs(t - fit).max())

    tol = 0.5 / steps + 0.1
    assert residual(predicted) < tol, (t, predicted)
    assert residual(ideal) > 2 * tol


def test_figures_of_an_ideal_ramp():
    """``figures`` reads a perfect quantizer as 0 offset, 0 gain error, 0 DNL/INL and N
    effective bits (within the ramp's resolution)."""
    p = FOUR
    levels = _levels(p, 8) + 0.01
    codes = np.clip(np.rint(levels), p.min_code, p.max_code)
    f = bench.figures(levels, codes, p, 1e-12)
    assert abs(f.offset_lsb) <= f.resolution_lsb and abs(f.gain_error) < 0.01
    assert f.dnl_max_lsb < 0.01 and f.inl_max_lsb <= f.resolution_lsb
    assert abs(f.enob - p.bits) < 0.05 and f.missing_codes == 0


@pytest.mark.parametrize(("pdk", "seed"), [("generic", 1), ("sky130", 0)])
def test_sar_in_the_array_transient_converts_the_sensed_outputs(pdk, seed):
    """At adc_level transistor the codes come from the circuit: on a 4x2 differential
    FeFET array (integrator) they are the sensed currents rounded, to 1 LSB (the
    converter's offset, DNL and charge injection; measured 0.5 generic, 0.7 sky130;
    with the sensed outputs read inside the reset switch's edge they were 4-10 % off),
    they follow the sign of the outputs, and the ADC energy is simulated. On sky130
    seed 0's last vectors put both sensing outputs of a pair near -0.35 V: without the
    common-mode lift the StrongARM's NMOS inputs stop deciding there (codes off by up
    to 66 LSB); the deck also needs the library selected once."""
    spec = CompareSpec(rows=4, cols=2, vectors=4, differential=True, cell="fefet",
                       engines=("behavioral", "spice"), seed=seed)
    state, config, x = build_case(spec)
    config, figures = with_sensing(config, "integrator", "transistor", Process(pdk),
                                   "class_ab" if pdk == "sky130" else "class_a",
                                   adc_level="transistor")
    assert config.adc_circuit is not None and "adc_v_ref_scale" in figures
    res = get_engine("spice").run(state, x, config)
    numpy_codes = np.rint(res.i_out_a / config.adc.lsb_a)
    assert np.all(np.abs(res.adc_code - numpy_codes) <= 1), (res.adc_code, numpy_codes)
    big = np.abs(numpy_codes) >= 8
    assert big.any() and np.all(np.sign(res.adc_code[big]) == np.sign(numpy_codes[big]))
    assert res.energy_basis["adc"].startswith("simulated: SAR")
    assert np.all(res.energy_j["adc"] > 0)


def test_library_selected_once_per_deck():
    from device_models import sky130

    deck = '.lib "/m/s.lib" tt\nX1 a b c\n.lib "/m/s.lib" tt\n.LIB "/m/o.lib" ff\n'
    assert sky130.selected_once(deck) == '.lib "/m/s.lib" tt\nX1 a b c\n.LIB "/m/o.lib" ff\n'
    with pytest.raises(ValueError, match="tt and tt_mm"):
        sky130.selected_once('.lib "/m/s.lib" tt\n.lib "/m/s.lib" tt_mm\n')


def test_converter_and_comparator_read_one_sky130_section():
    from periphery import comparator_cmos

    sky = Process("sky130", "ss")
    text = sar_adc.spice_subckt(SarAdcCircuit(process=sky))
    assert [ln.split()[-1] for ln in text.splitlines() if ln.lower().startswith(".lib ")] \
        == ["ss"]
    own = comparator_cmos.designed_for(Process("sky130", "ss", mismatch=True))
    with pytest.raises(ParamError, match=r"sar\.comparator\.process.*one deck reads one"):
        SarAdcCircuit(process=sky, comparator=own)


def test_adc_circuit_needs_transistor_sensing():
    spec = CompareSpec(rows=2, cols=2, vectors=2)
    _, config, _ = build_case(spec)
    with pytest.raises(ParamError, match="adc_level"):
        with_sensing(config, "integrator", "behavioral", adc_level="transistor")
    with pytest.raises(ParamError, match=r"sar\.t_bit_s"):
        SarAdcCircuit(t_bit_s=20e-9).check_period(110e-9)
    muxed = dataclasses.replace(config, adc=dataclasses.replace(config.adc, cols_per_adc=2))
    with pytest.raises(ParamError, match=r"adc\.cols_per_adc=2.*one output column"):
        with_sensing(muxed, "integrator", "transistor", adc_level="transistor")


def test_cli_refuses_the_circuit_adc_at_behavioural_periphery():
    from typer.testing import CliRunner

    from cosim.cli.app import app

    res = CliRunner().invoke(app, ["compare", "--rows", "2", "--cols", "2", "--vectors", "2",
                                   "--periphery", "integrator", "--adc-level", "transistor"])
    assert res.exit_code == 2, res.output
    assert "adc_level" in res.output and "transistor-level sensing" in res.output


@pytest.mark.parametrize("pdk", ["generic", "sky130"])
def test_transmission_gate_on_resistance_constant(pdk):
    """``TG_RON_OHM_M`` (what sizes the integrator's reset switch) re-measured: a 10 um
    gate passing 10 mV at 0 V, to 1 %."""
    pr = Process(pdk) if pdk == "sky130" else GENERIC
    w = 10e-6
    deck = ("* tg\n" + pr.deck_models() + ".subckt tg a b g gb vdd vss\n"
            + pr.subckt_models() + pr.transmission_gate("t", "a", "b", "g", "gb", w)
            + ".ends\nVdd vdd 0 0.9\nVss vss 0 -0.9\nVg g 0 0.9\nVgb gb 0 -0.9\n"
            "Va a 0 0.01\nVb b 0 0\nXt a b g gb vdd vss tg\n.op\n")
    i = -float(np.real(ngspice.run_deck(deck, name="tg").plot["i(va)"])[0])
    assert 0.01 / i * w == pytest.approx(TG_RON_OHM_M[pdk], rel=0.01)


def test_behavioural_sar_dnl_sigma_reproduces_the_msb_carry_spread():
    """The hand-off from the Monte Carlo to the behavioural model: AdcParams(arch="sar")
    with ``behavioral_dnl_sigma_lsb(s, 8)`` spreads its MSB-carry DNL (code -1's width
    less one) with sigma s over 2,000 converters (5 %: the sample sigma's standard
    error is 1.6 %, the full-span normalisation moves it by < 1 %)."""
    from periphery.converters import AdcParams, adc_inl_dnl, adc_transitions

    target = 0.1
    p = AdcParams(bits=8, arch="sar", dnl_sigma_lsb=bench.behavioral_dnl_sigma_lsb(target, 8),
                  dnl_seed=7)
    carry = [adc_inl_dnl(adc_transitions(p, k), p)[1][126] for k in range(2000)]
    assert np.std(carry, ddof=1) == pytest.approx(target, rel=0.05)
