"""ideal vs spice on resistive arrays, and the batch paths against each other.

Tolerances: with ideal wires both engines evaluate the same linear sums in
double precision; resistor values are written with 17 significant digits, so
they agree to ~1e-13 relative (measured 2.5e-13). 1e-10 leaves room for LU
pivot order without hiding a modelling error (a wrong cell is >1e-3 off).
"""

import numpy as np
import pytest

from cosim import ArrayConfig, ArrayState, ParamError
from cosim.engines import get_engine
from cosim.studies.compare import CompareSpec, build_case

pytestmark = pytest.mark.ngspice
RTOL = 1e-10


def _case(rows=12, cols=6, k=30, differential=True, r_wire=0.0):
    spec = CompareSpec(rows=rows, cols=cols, vectors=k, seed=3, differential=differential,
                       r_wire_ohm=r_wire)
    return build_case(spec)


def _close(a, b, rtol=RTOL):
    scale = np.abs(a).max()
    np.testing.assert_allclose(b, a, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("differential", [False, True])
def test_spice_matches_ideal_with_ideal_wires(differential):
    state, config, x = _case(differential=differential)
    ref = get_engine("ideal").run(state, x, config)
    got = get_engine("spice").run(state, x, config)
    _close(ref.i_col_a, got.i_col_a)
    _close(ref.i_out_a, got.i_out_a)
    np.testing.assert_array_equal(got.adc_code, ref.adc_code)
    assert got.i_out_a.shape == (30, 6) and got.i_col_a.shape == (30, 12 if differential else 6)


def test_batch_equals_one_vector_at_a_time():
    state, config, x = _case(k=6, r_wire=2.0)
    batched = get_engine("spice", batch="dc").run(state, x, config)
    single = get_engine("spice", batch="op").run(state, x, config)
    _close(single.i_col_a, batched.i_col_a)


def test_transient_batch_equals_dc_batch():
    state, config, x = _case(k=8, r_wire=1.0)
    dc = get_engine("spice", batch="dc").run(state, x, config)
    tran = get_engine("spice", batch="tran").run(state, x, config)
    # Resistive network: each PWL step settles exactly; the transient's own
    # truncation error on a memoryless circuit is at round-off level.
    _close(dc.i_col_a, tran.i_col_a, rtol=1e-9)


def test_chunked_parallel_equals_single_run():
    state, config, x = _case(k=25)
    one = get_engine("spice", chunk=1000, jobs=1).run(state, x, config)
    many = get_engine("spice", chunk=7, jobs=2).run(state, x, config)
    _close(one.i_col_a, many.i_col_a)  # decks differ in K only: round-off (measured 5e-15)


def test_pyspice_shared_backend_equals_subprocess():
    state, config, x = _case(rows=6, cols=3, k=5)
    sub = get_engine("spice").run(state, x, config)
    shared = get_engine("spice", backend="shared").run(state, x, config)
    _close(sub.i_col_a, shared.i_col_a)


def test_ideal_engine_quantizes_inputs_and_outputs():
    g = np.full((2, 1), 1e-5)
    state = ArrayState({"g_s": g})
    from periphery.converters import AdcParams, DacParams

    config = ArrayConfig(DacParams(bits=2, v_fs_v=0.3), AdcParams(bits=4, i_fs_a=6e-6,
                                                                  signed=False))
    res = get_engine("ideal").run(state, np.array([[0.5, 1.0]]), config)
    # x=0.5 -> code 2 -> 0.2 V; x=1 -> code 3 -> 0.3 V; I = 1e-5 * 0.5 = 5 uA
    np.testing.assert_allclose(res.v_row_v, [[0.2, 0.3]], rtol=1e-15)
    np.testing.assert_allclose(res.i_out_a, [[5e-6]], rtol=1e-12)
    assert res.adc_code[0, 0] == round(5e-6 / (6e-6 / 15))


@pytest.mark.parametrize("name", ["ideal", "spice"])
def test_engines_reject_bad_inputs(name):
    state, config, _ = _case()
    with pytest.raises(ParamError, match="inputs"):
        get_engine(name).run(state, np.ones((3, 5)), config)
    with pytest.raises(ParamError, match="inputs"):
        get_engine(name).run(state, np.full((1, 12), np.nan), config)


def test_unknown_engine_and_options():
    with pytest.raises(ParamError, match="engine"):
        get_engine("magic")
    with pytest.raises(ParamError, match="batch"):
        get_engine("spice", batch="ac")
    with pytest.raises(ParamError, match="backend"):
        get_engine("spice", backend="remote")


def test_superposition_equals_direct_sweep_with_wires():
    """Linear network: N unit solves + V @ T.T equal the K-point sweep to round-off."""
    state, config, x = _case(rows=6, cols=4, k=15, r_wire=2.0)
    direct = get_engine("spice", superpose="off").run(state, x, config)
    superposed = get_engine("spice", superpose="on").run(state, x, config)
    _close(direct.i_col_a, superposed.i_col_a)


def test_superposition_refuses_nonlinear_cells():
    from cosim.studies.compare import CompareSpec, build_case

    state, config, x = build_case(CompareSpec(rows=4, cols=3, vectors=2, cell="fefet"))
    with pytest.raises(ParamError, match="superpose"):
        get_engine("spice", superpose="on").run(state, x, config)
