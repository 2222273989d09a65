"""behavioral engine: numpy face at the read bias vs ngspice, noise, drift."""

import numpy as np
import pytest

from cosim import ArrayConfig, ArrayState
from cosim.engines import get_engine
from cosim.studies.compare import CompareSpec, build_case, run_compare
from device_models.cells import FefetCell
from periphery.converters import AdcParams, DacParams


@pytest.mark.ngspice
@pytest.mark.parametrize(("cell", "sparsity"), [("fefet", 0.0), ("sparse_fefet", 0.75)])
def test_behavioral_matches_spice_within_half_lsb(cell, sparsity):
    """The issue's budget is 0.5 LSB at 8 bits. Both faces evaluate one expression at
    voltages fixed by sources (no wires): per (vector, cell) the gap is ngspice's Newton
    tolerance (~1e-9 LSB, reltol 1e-7 / 1e-9 set by the cells); the engine's default
    current expansion adds at most its stated 0.01 LSB (measured 0.004)."""
    spec = CompareSpec(rows=12, cols=6, vectors=40, cell=cell, sparsity=sparsity,
                       engines=("behavioral", "spice"))
    metrics, ref, _ = run_compare(spec)
    assert metrics["max_err_lsb"] < 0.01
    assert metrics["max_code_diff"] <= 1
    # The outputs span the ADC's range (spanning inputs), not one corner of it.
    assert ref.adc_code.max() > 0.6 * (2**8 - 1)


def test_behavioral_is_nonlinear_in_input_unlike_ideal():
    state, config, _ = build_case(CompareSpec(rows=4, cols=3, vectors=1, cell="fefet"))
    x = np.linspace(0.1, 1.0, 10)[:, None] * np.ones((1, 4))
    ideal = get_engine("ideal").run(state, x, config).i_out_a
    beh = get_engine("behavioral", noise=False, expansion=False).run(state, x, config).i_out_a
    # Equal at the full-scale input, where the nominal conductance is defined ...
    np.testing.assert_allclose(beh[-1], ideal[-1], rtol=1e-9)
    # ... different below it: the channel is not a linear resistor.
    assert np.max(np.abs(beh[:-1] / ideal[:-1] - 1)) > 1e-3


def test_read_noise_is_seeded_and_has_the_model_sigma():
    cell = FefetCell()
    lo, hi = cell.g_range()
    state = ArrayState(cell.program(np.full((1, 2000), 0.5 * (lo + hi))), cell)
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-4, signed=False))
    x = np.ones((3, 1))
    a = get_engine("behavioral", seed=5).run(state, x, config).i_col_a
    b = get_engine("behavioral", seed=5).run(state, x, config).i_col_a
    clean = get_engine("behavioral", noise=False).run(state, x, config).i_col_a
    np.testing.assert_array_equal(a, b)
    rel = (a / clean - 1).ravel()
    # 6000 single-cell reads: the sample std is within 3 % of sigma (standard error 0.9 %).
    assert rel.std() == pytest.approx(cell.params.read_noise_frac, rel=0.03)


def test_age_drifts_every_engine_through_the_state():
    state, config, x = build_case(CompareSpec(rows=8, cols=4, vectors=5, cell="fefet"))
    old = ArrayState(state.fields, state.cell, age_s=3.15e7)
    for name in ("ideal", "behavioral"):
        opts = {"noise": False} if name == "behavioral" else {}
        fresh = get_engine(name, **opts).run(state, x, config).i_out_a
        aged = get_engine(name, **opts).run(old, x, config).i_out_a
        assert not np.allclose(fresh, aged, rtol=1e-3)


def test_variation_is_drawn_once_into_the_state():
    cell = FefetCell()
    lo, hi = cell.g_range()
    fields = cell.program(np.full((16, 16), 0.5 * (lo + hi)))
    varied = cell.with_variation(fields, np.random.default_rng(1))
    again = cell.with_variation(fields, np.random.default_rng(1))
    np.testing.assert_array_equal(varied["dvth_v"], again["dvth_v"])
    assert varied["dvth_v"].std() > 0.01 and fields["dvth_v"].std() == 0
