import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_models.validation import ParamError
from netlists.periphery import AdcParams, DacParams, adc_codes, adc_current, dac_codes, dac_volts


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
])
def test_periphery_validation(cls, kw, field):
    with pytest.raises(ParamError) as exc:
        cls(**kw)
    assert exc.value.field == field
