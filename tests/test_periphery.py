import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_models.validation import ParamError
from periphery.converters import AdcParams, DacParams, adc_codes, adc_current, dac_codes, dac_volts


@given(bits=st.integers(2, 12), signed=st.booleans(), data=st.data())
def test_dac_code_volts_code_round_trip(bits, signed, data):
    p = DacParams(bits=bits, v_fs_v=0.3, signed=signed)
    codes = np.array(data.draw(st.lists(st.integers(p.min_code, p.max_code), min_size=1)))
    back = np.rint(dac_volts(codes, p) / p.lsb_v).astype(int)
    np.testing.assert_array_equal(back, codes)


@given(bits=st.integers(2, 16), signed=st.booleans(), data=st.data())
def test_adc_code_current_code_round_trip(bits, signed, data):
    p = AdcParams(bits=bits, i_fs_a=1e-4, signed=signed)
    codes = np.array(data.draw(st.lists(st.integers(p.min_code, p.max_code), min_size=1)))
    np.testing.assert_array_equal(adc_codes(adc_current(codes, p), p), codes)


def test_dac_to_adc_chain_is_exact_for_unit_conductance():
    # V = code * lsb_v through G with ADC lsb = G * lsb_v gives back the DAC code.
    dac = DacParams(bits=6, v_fs_v=0.2)
    g = 1e-5
    adc = AdcParams(bits=6, i_fs_a=g * dac.v_fs_v, signed=False)
    codes = np.arange(dac.max_code + 1)
    np.testing.assert_array_equal(adc_codes(g * dac_volts(codes, dac), adc), codes)


def test_quantizers_clip_and_round():
    dac = DacParams(bits=2, v_fs_v=1.0)
    np.testing.assert_array_equal(dac_codes(np.array([-0.5, 0.0, 0.16, 0.17, 1.0, 2.0]), dac),
                                  [0, 0, 0, 1, 3, 3])
    adc = AdcParams(bits=3, i_fs_a=3e-6, signed=True)  # lsb 1 uA, codes -4..3
    np.testing.assert_array_equal(adc_codes(np.array([-9e-6, -0.4e-6, 0.6e-6, 9e-6]), adc),
                                  [-4, 0, 1, 3])


@pytest.mark.parametrize(("cls", "kw", "field"), [
    (DacParams, {"bits": 0}, "dac.bits"),
    (DacParams, {"bits": 17}, "dac.bits"),
    (DacParams, {"v_fs_v": 0.0}, "dac.v_fs_v"),
    (AdcParams, {"bits": 2.5}, "adc.bits"),
    (AdcParams, {"bits": 1, "signed": True}, "adc.bits"),
    (DacParams, {"bits": 1, "signed": True}, "dac.bits"),
    (AdcParams, {"i_fs_a": -1e-6}, "adc.i_fs_a"),
    (AdcParams, {"gain_error": 0.8}, "adc.gain_error"),
])
def test_periphery_validation(cls, kw, field):
    with pytest.raises(ParamError) as exc:
        cls(**kw)
    assert exc.value.field == field


def test_dac_nonidealities_follow_their_definitions():
    p = DacParams(bits=4, v_fs_v=1.5, offset_v=0.01, gain_error=0.02, inl_lsb=0.5)
    codes = np.arange(16)
    v = dac_volts(codes, p)
    bow = 4 * (codes / 15) * (1 - codes / 15)
    np.testing.assert_allclose(v, 0.01 + 1.02 * codes * 0.1 + 0.5 * 0.1 * bow, rtol=1e-14)


def test_adc_static_errors_move_the_transitions():
    p = AdcParams(bits=6, i_fs_a=63e-6, signed=False, offset_lsb=0.3, inl_lsb=0.8,
                  dnl_sigma_lsb=0.15, dnl_seed=4)
    from periphery.converters import adc_inl_dnl, adc_transitions

    t = adc_transitions(p)
    inl, dnl = adc_inl_dnl(t, p)
    assert abs(inl[len(inl) // 2] - (0.8 - 0.3)) < 0.5  # bow peak in the middle, less offset
    assert abs(dnl.mean()) < 1e-12 and 0.05 < dnl.std() < 0.3
    # Codes jump exactly at the transitions (1 uA = 1 LSB here).
    assert adc_codes(np.array([t[10] - 1e-9]) * 1e-6, p)[0] == 10
    assert adc_codes(np.array([t[10] + 1e-9]) * 1e-6, p)[0] == 11


def test_adc_gain_error_and_offset_scale_the_codes():
    """code = round((1 + g) x + offset): at g = +5 % and offset -2 LSB an input of
    100.2 LSB reads 103 (105.21 - 2), and -60.2 LSB reads -65 (-63.21 - 2); the sign
    of g matters (g = -5 %: 93, -59)."""
    lsb = 1e-6
    x = np.array([100.2, -60.2]) * lsb
    p = AdcParams(bits=8, i_fs_a=127 * lsb, offset_lsb=-2.0, gain_error=0.05)
    np.testing.assert_array_equal(adc_codes(x, p), [103, -65])
    q = AdcParams(bits=8, i_fs_a=127 * lsb, offset_lsb=-2.0, gain_error=-0.05)
    np.testing.assert_array_equal(adc_codes(x, q), [93, -59])


def test_adc_thermal_noise_is_seeded_and_sized():
    p = AdcParams(bits=10, i_fs_a=1023e-6, signed=False, noise_lsb=2.0)
    x = np.full(50_000, 500.2e-6)
    a = adc_codes(x, p, np.random.default_rng(1))
    np.testing.assert_array_equal(a, adc_codes(x, p, np.random.default_rng(1)))
    # Gaussian sigma 2 LSB quantized to 1 LSB: std sqrt(4 + 1/12) = 2.02; 3 % budget
    # for 50 000 draws (standard error 0.3 %).
    assert a.std() == pytest.approx(2.02, rel=0.03)
    assert np.all(adc_codes(x, p) == 500)  # no rng: no noise


@pytest.mark.ngspice
def test_spice_flash_adc_ramp_recovers_inl_dnl_within_a_tenth_lsb():
    """The issue's must-show: an 8-bit converter with offset, bow INL and random DNL,
    ramped slowly in an ngspice transient; transitions are read off the code waveform."""
    from cosim.simulators import ngspice
    from device_models.spice_text import fmt
    from periphery.converters import adc_inl_dnl, adc_transitions, spice_adc_flash

    p = AdcParams(bits=8, i_fs_a=1e-4, signed=False, offset_lsb=0.25, inl_lsb=0.7,
                  dnl_sigma_lsb=0.2, dnl_seed=11)
    lsb_v = 1e-3
    lo, hi = -3 * lsb_v, (p.max_code + 3) * lsb_v
    t_end = 1e-3
    step = t_end * 0.01 * lsb_v / (hi - lo)  # the ramp moves 0.01 LSB per time step
    deck = ("* adc ramp\n" + spice_adc_flash("adc", p, lsb_v)
            + f"Vin in 0 PWL(0 {fmt(lo)} {fmt(t_end)} {fmt(hi)})\nXadc in code adc\n"
            + f".options noacct\n.tran {fmt(step)} {fmt(t_end)} 0 {fmt(step)}\n.end\n")
    plot = ngspice.run_deck(deck, timeout_s=300).plot
    vin, code = plot["v(in)"], np.rint(plot["v(code)"])
    jumps = np.flatnonzero(np.diff(code) > 0)
    assert len(jumps) == p.max_code  # every code appears once, in order
    measured = 0.5 * (vin[jumps] + vin[jumps + 1]) / lsb_v
    inl_m, dnl_m = adc_inl_dnl(measured, p)
    inl_c, dnl_c = adc_inl_dnl(adc_transitions(p), p)
    assert np.max(np.abs(inl_m - inl_c)) < 0.1
    assert np.max(np.abs(dnl_m - dnl_c)) < 0.1
    assert np.max(np.abs(inl_c)) > 0.5  # the configured errors are not trivially small
