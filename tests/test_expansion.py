"""The behavioral engine's current expansion and the engines' per-array caches."""

import numpy as np
import pytest

from cosim.array.state import ArrayConfig, ArrayState, full_scale_current
from cosim.engines import get_engine
from cosim.engines.behavioral import EXPANSIONS
from cosim.engines.nodal import TRANSFER_MATRICES
from device_models.registry import CellOptions, make_cell
from periphery.converters import AdcParams, DacParams

DACS = {
    "amplitude_8": {"bits": 8},  # 256 levels: Chebyshev points, cut to the tolerance
    "amplitude_4": {"bits": 4},  # 16 levels: interpolated at every level
    "bit_serial_8": {"bits": 8, "bit_serial": True},  # 2 levels per plane
    "pwm_6": {"bits": 6, "encoding": "pwm"},
    "signed_8": {"bits": 8, "signed": True},
}


def case(kind: str, dac: dict, rows: int = 32, cols: int = 16, seed: int = 0,
         age_s: float = 0.0):
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, CellOptions(v_read_v=0.2))
    g0, g1 = cell.g_range()
    fields = cell.with_variation(cell.program(rng.uniform(g0, g1, (rows, 2 * cols))), rng)
    state = ArrayState(fields, cell, differential=True, age_s=age_s)
    d = DacParams(v_fs_v=0.2, **dac)
    lo = -1.0 if d.signed else 0.0
    x = rng.uniform(lo, 1.0, (200, rows))
    # ADC range: the largest output these inputs produce (the layers' "max" ranging)
    wide = ArrayConfig(d, AdcParams(24, full_scale_current(state, d)))
    i_fs = np.abs(get_engine("ideal").run(state, x, wide).i_out_a).max()
    return state, ArrayConfig(d, AdcParams(8, i_fs)), x


@pytest.mark.parametrize("kind", ["fefet", "sparse_fefet", "rram"])
@pytest.mark.parametrize("dac", list(DACS))
def test_expansion_is_within_its_stated_tolerance_of_every_cell_evaluated(kind, dac):
    """Noise off: the expanded column currents differ from the per-(vector, cell)
    device model by at most the engine's tol_lsb (0.01 LSB at 8 bits) per output, and
    by no more than the worst-case bound it reports."""
    state, config, x = case(kind, DACS[dac], age_s=3600.0)
    fast_engine = get_engine("behavioral", noise=False)
    fast = fast_engine.run(state, x, config)
    slow = get_engine("behavioral", noise=False, expansion=False).run(state, x, config)
    lsb = config.adc.lsb_a
    err = np.abs(fast.i_out_a - slow.i_out_a).max() / lsb
    ex = fast_engine.last_expansion
    assert ex is not None
    assert err <= 0.01
    assert err <= ex.bound_a / lsb + 1e-9
    # The outputs are not trivially small: they span a good part of the ADC's range.
    assert np.abs(slow.adc_code).max() > 100


def test_expansion_error_grows_when_the_tolerance_is_loosened():
    """The cut follows tol_lsb: a looser tolerance keeps fewer terms and errs more."""
    state, config, x = case("fefet", DACS["amplitude_8"])
    slow = get_engine("behavioral", noise=False, expansion=False).run(state, x, config).i_out_a
    errs, degrees = [], []
    for tol in (0.001, 0.3):
        engine = get_engine("behavioral", noise=False, tol_lsb=tol)
        errs.append(np.abs(engine.run(state, x, config).i_out_a - slow).max())
        degrees.append(engine.last_expansion.degree)
    assert degrees[0] > degrees[1]
    assert errs[1] > 3 * errs[0]


@pytest.mark.parametrize("kind", ["fefet", "rram"])
def test_column_read_noise_has_the_per_cell_distribution(kind):
    """One draw per column from the exact variance has the same spread as one draw per
    cell: the std of 4000 repeated reads of one input agrees within 10 % per column
    (the std estimate's own sampling error is ~1.1 %), and noise is really there."""
    state, config, x = case(kind, DACS["amplitude_8"], rows=16, cols=4)
    x = np.repeat(x[:1], 4000, axis=0)
    spreads = []
    for expansion in (True, False):
        engine = get_engine("behavioral", noise=True, seed=3, expansion=expansion)
        spreads.append(engine.run(state, x, config).i_col_a.std(axis=0))
    fast, slow = spreads
    assert slow.min() > 0
    np.testing.assert_allclose(fast, slow, rtol=0.10)


def test_expansion_is_cached_per_programmed_array_and_rebuilt_after_a_write():
    """A second batch on the same fields asks the device model for nothing; new fields
    (a write) give a new expansion and new outputs."""
    state, config, x = case("fefet", DACS["amplitude_8"], seed=7)
    calls = []
    real = state.cell.current

    def counting(v, fields, v_col=0.0):
        calls.append(np.size(v))
        return real(v, fields, v_col)

    object.__setattr__(state.cell, "current", counting)
    try:
        EXPANSIONS.clear()
        engine = get_engine("behavioral", noise=False)
        first = engine.run(state, x, config).i_out_a
        n_first = len(calls)
        again = engine.run(ArrayState(dict(state.fields), state.cell, differential=True),
                           x, config).i_out_a
        assert n_first > 0 and len(calls) == n_first
        np.testing.assert_array_equal(first, again)
        written = {**state.fields, "pol": state.fields["pol"] * 0.9}
        changed = engine.run(ArrayState(written, state.cell, differential=True), x,
                             config).i_out_a
        assert len(calls) > n_first
        assert not np.allclose(changed, first)
    finally:
        object.__delattr__(state.cell, "current")


def test_unreachable_tolerance_falls_back_to_every_cell():
    """1e-9 of a 24-bit ADC's LSB (~1e-20 A) is below what 16 degrees reach: the
    engine evaluates every (vector, cell) instead of returning a less accurate answer."""
    state, config, x = case("fefet", DACS["amplitude_8"])
    wide = ArrayConfig(config.dac, AdcParams(24, config.adc.i_fs_a))
    engine = get_engine("behavioral", noise=False, tol_lsb=1e-9)
    out = engine.run(state, x, wide).i_out_a
    assert engine.last_expansion is None
    ref = get_engine("behavioral", noise=False, expansion=False).run(state, x, wide).i_out_a
    np.testing.assert_array_equal(out, ref)


def test_nodal_transfer_matrix_is_kept_per_programmed_array():
    """Repeated batches on one resistor array reuse the transfer matrix (one cache
    entry, one hit); different conductances or wires get their own."""
    rng = np.random.default_rng(0)
    cell = make_cell("resistor", CellOptions())
    g0, g1 = cell.g_range()
    state = ArrayState(cell.program(rng.uniform(g0, g1, (24, 12))), cell)
    config = ArrayConfig(DacParams(v_fs_v=0.2), AdcParams(8, 1e-3), 2.0, 2.0)
    x = rng.uniform(size=(5, 24))
    TRANSFER_MATRICES.clear()
    engine = get_engine("nodal")
    a = engine.run(state, x, config).i_col_a
    b = engine.run(state, x, config).i_col_a
    np.testing.assert_array_equal(a, b)
    assert (TRANSFER_MATRICES.misses, TRANSFER_MATRICES.hits) == (1, 1)
    other = ArrayConfig(config.dac, config.adc, 4.0, 4.0)
    c = engine.run(state, x, other).i_col_a
    assert TRANSFER_MATRICES.misses == 2 and not np.allclose(a, c)
