import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cosim.array.mapping import (
    WeightMapping,
    deinterleave,
    fit_mapping,
    interleave,
    outputs_to_mac,
    pairs_to_weights,
    weights_to_pairs,
)
from device_models.validation import ParamError

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60)
@given(w=arrays(float, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=finite))
def test_weight_conductance_round_trip(w):
    m = fit_mapping(w, 1e-6, 1e-4)
    g_pos, g_neg = weights_to_pairs(w, m)
    # Both sides stay inside the programmable range.
    assert g_pos.min() >= 1e-6 - 1e-18 and g_pos.max() <= 1e-4 + 1e-18
    assert g_neg.min() >= 1e-6 - 1e-18 and g_neg.max() <= 1e-4 + 1e-18
    # Round trip: relative to w_max, limited by double rounding of g_min + dG*w/w_max.
    np.testing.assert_allclose(pairs_to_weights(g_pos, g_neg, m), w, rtol=0,
                               atol=1e-10 * m.w_max)
    gp, gn = deinterleave(interleave(g_pos, g_neg))
    np.testing.assert_array_equal(gp, g_pos)
    np.testing.assert_array_equal(gn, g_neg)


def test_mac_units_recovered_from_currents(rng):
    w = rng.normal(size=(5, 3))
    x = rng.uniform(0, 1, size=(4, 5))
    m = fit_mapping(w, 2e-6, 5e-5)
    g_pos, g_neg = weights_to_pairs(w, m)
    v_per_input = 0.2
    i_out = (x * v_per_input) @ g_pos - (x * v_per_input) @ g_neg
    np.testing.assert_allclose(outputs_to_mac(i_out, m, v_per_input), x @ w, rtol=1e-10, atol=1e-12)


def test_mapping_validation():
    with pytest.raises(ParamError, match="g_max_s"):
        WeightMapping(1e-4, 1e-5, 1.0)
    with pytest.raises(ParamError, match="weights"):
        fit_mapping(np.array([[np.nan]]), 1e-6, 1e-4)


def test_numerically_zero_weights_map_to_g_min():
    w = np.array([[2.2e-313, 0.0]])  # subnormal: dG / w_max would overflow
    m = fit_mapping(w, 1e-6, 1e-4)
    g_pos, g_neg = weights_to_pairs(w, m)
    np.testing.assert_allclose(g_pos, 1e-6, rtol=1e-12)
    np.testing.assert_allclose(g_neg, 1e-6, rtol=1e-12)
    with pytest.raises(ParamError, match="w_max"):
        WeightMapping(1e-6, 1e-4, 1e-320)


def test_balanced_mapping_centres_both_sides_with_the_same_difference():
    from cosim.array.mapping import WeightMapping, pairs_to_weights, weights_to_pairs

    w = np.array([[-1.0, -0.25, 0.0, 0.5, 1.0]])
    plain = WeightMapping(1e-6, 1e-4, 1.0)
    bal = WeightMapping(1e-6, 1e-4, 1.0, balanced=True)
    gp, gn = weights_to_pairs(w, bal)
    np.testing.assert_allclose(gp + gn, 1e-6 + 1e-4, rtol=1e-12)  # both around mid-range
    np.testing.assert_allclose(gp - gn, np.subtract(*weights_to_pairs(w, plain)), rtol=1e-12)
    np.testing.assert_allclose(pairs_to_weights(gp, gn, bal), w, atol=1e-12)
    assert gp.min() >= 1e-6 * (1 - 1e-12) and gp.max() <= 1e-4 * (1 + 1e-12)
