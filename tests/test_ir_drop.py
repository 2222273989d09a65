"""Wire resistance: spice against a closed form, and the error's growth with size.

One row of M cells G, row wire r per pitch, ideal column wires. Node k
(k = 1..M) sits behind k segments; the ladder's solution is
    V_k = V_in cosh(g (M + 1/2 - k)) / cosh(g (M + 1/2)),  cosh g = 1 + r G / 2
(the open end acts as a mirror at M + 1/2). Cell k carries G V_k.
"""

import numpy as np
import pytest

from cosim import ArrayConfig, ArrayState
from cosim.engines import get_engine, without_features
from periphery.converters import AdcParams, DacParams

pytestmark = pytest.mark.ngspice
G_S, R_OHM = 1e-4, 2.0


def closed_form_currents(m: int, v_in: float) -> np.ndarray:
    gamma = np.arccosh(1 + R_OHM * G_S / 2)
    k = np.arange(1, m + 1)
    return G_S * v_in * np.cosh(gamma * (m + 0.5 - k)) / np.cosh(gamma * (m + 0.5))


def _row(m: int):
    state = ArrayState({"g_s": np.full((1, m), G_S)})
    config = ArrayConfig(DacParams(bits=8, v_fs_v=0.2), AdcParams(bits=8, i_fs_a=1e-3),
                         r_row_wire_ohm=R_OHM)
    x = np.ones((1, 1))
    return state, config, x


@pytest.mark.parametrize("m", [4, 32, 128])
def test_single_row_matches_closed_form(m):
    state, config, x = _row(m)
    got = get_engine("spice").run(state, x, config).i_col_a[0]
    # Linear resistive ladder solved in double precision: 1e-9 relative.
    np.testing.assert_allclose(got, closed_form_currents(m, 0.2), rtol=1e-9)


def test_ir_drop_error_grows_with_array_size():
    errs = []
    for m in (4, 16, 64):
        state, config, x = _row(m)
        spice = get_engine("spice").run(state, x, config).i_col_a[0]
        ideal = get_engine("ideal").run(state, x, without_features(config, ["wires"])).i_col_a[0]
        assert np.all(spice < ideal)  # every cell sees less than the driver's voltage
        errs.append(float(np.max(np.abs(spice - ideal)) / np.max(ideal)))
        exact = closed_form_currents(m, 0.2)
        assert errs[-1] == pytest.approx(np.max(G_S * 0.2 - exact) / (G_S * 0.2), rel=1e-6)
    assert errs[0] < errs[1] < errs[2]
    assert errs[0] > 1e-4  # a measurable drop even at 4 cells (r G = 2e-4 per pitch)
