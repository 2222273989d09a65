"""The engine contract: declared features, refusal by name, common options."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from cosim import ArrayConfig, ArrayState, ParamError
from cosim.engines import ENGINES, FEATURES, feature_table, get_engine, without_features
from cosim.errors import SimulationTimeout
from device_models.cells import ResistorCell
from periphery.converters import AdcParams, DacParams
from periphery.sensing import sized_for

README = Path(__file__).resolve().parents[1] / "README.md"


def _state(rows=4, cols=3):
    g = np.random.default_rng(0).uniform(1e-6, 1e-4, (rows, cols))
    return ArrayState({"g_s": g}, ResistorCell())


def config_needing(feature: str) -> ArrayConfig:
    base = ArrayConfig(DacParams(4, 0.2), AdcParams(8, 1e-3, signed=False))
    if feature == "wires":
        return dataclasses.replace(base, r_row_wire_ohm=1.0, r_col_wire_ohm=1.0)
    if feature == "sense":
        return dataclasses.replace(base, sense=sized_for(1e-3, "tia"))
    if feature == "dac_r_out":
        return dataclasses.replace(base, dac=DacParams(4, 0.2, r_out_ohm=100.0))
    if feature == "dac_pwm":
        return dataclasses.replace(base, dac=DacParams(4, 0.2, encoding="pwm"))
    if feature == "dac_bit_serial":
        return dataclasses.replace(base, dac=DacParams(4, 0.2, bit_serial=True))
    raise AssertionError(feature)


FIELD = {"wires": "r_row_wire_ohm", "sense": "sense", "dac_r_out": "dac.r_out_ohm",
         "dac_pwm": "dac.encoding", "dac_bit_serial": "dac.bit_serial"}
REFUSALS = [(name, f) for name, cls in ENGINES.items() for f in FIELD if f not in cls.features]


def test_some_engines_refuse_something():
    """The parametrised refusal test below is not empty: ideal, behavioral and nodal
    each lack a feature."""
    assert {name for name, _ in REFUSALS} == {"ideal", "behavioral", "nodal"}


@pytest.mark.parametrize(("engine", "feature"), REFUSALS)
def test_engine_refuses_an_unmodelled_feature_by_name(engine, feature):
    with pytest.raises(ParamError) as err:
        get_engine(engine).run(_state(), np.full((2, 4), 0.5), config_needing(feature))
    msg = str(err.value)
    assert FIELD[feature] in msg and f"the {engine} engine" in msg, msg
    # ...and runs once the feature is idealised away explicitly.
    res = get_engine(engine).run(_state(), np.full((2, 4), 0.5),
                                 without_features(config_needing(feature), [feature]))
    assert res.i_out_a.shape == (2, 3)


@pytest.mark.parametrize("engine", [n for n, c in ENGINES.items()
                                    if "read_noise" not in c.features])
def test_noise_is_refused_where_it_is_not_modelled(engine):
    with pytest.raises(ParamError, match=rf"noise=True .* {engine} engine models no read noise"):
        get_engine(engine, noise=True)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_engine_takes_the_common_options(engine):
    e = get_engine(engine, noise=False, seed=3, timeout_s=30.0)
    assert (e.noise, e.seed, e.timeout_s) == (False, 3, 30.0)
    with pytest.raises(ParamError, match="timeout_s"):
        get_engine(engine, timeout_s=0.0)
    with pytest.raises(ParamError, match="seed"):
        get_engine(engine, seed=-1)


def test_behavioral_noise_advances_between_runs_and_is_reproducible():
    """One engine: each run draws new noise. Two engines with the same seed: the
    same sequence. A passed Generator overrides the engine's own."""
    from device_models.cells import FefetCell

    cell = FefetCell()
    g = np.random.default_rng(1).uniform(*cell.g_range(), (8, 4))
    state = ArrayState(cell.program(g), cell)
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-4, signed=False))
    x = np.full((3, 8), 0.7)
    a = get_engine("behavioral", seed=5)
    first, second = (a.run(state, x, config).i_col_a for _ in range(2))
    assert np.abs(first - second).max() > 0
    b = get_engine("behavioral", seed=5)
    np.testing.assert_array_equal(b.run(state, x, config).i_col_a, first)
    np.testing.assert_array_equal(b.run(state, x, config).i_col_a, second)
    c = get_engine("behavioral", seed=99)
    np.testing.assert_array_equal(
        c.run(state, x, config, rng=np.random.default_rng(7)).i_col_a,
        a.run(state, x, config, rng=np.random.default_rng(7)).i_col_a)


def test_nodal_stops_at_its_timeout():
    """A 96x96 wired array's transfer matrix takes ~0.1 s; a 1 ms budget stops it."""
    g = np.random.default_rng(0).uniform(1e-6, 1e-4, (96, 96))
    state = ArrayState({"g_s": g}, ResistorCell())
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-2, signed=False), 1.0, 1.0)
    with pytest.raises(SimulationTimeout, match=r"nodal engine ran past its timeout of 0\.001 s"):
        get_engine("nodal", timeout_s=1e-3).run(state, np.full((4, 96), 0.5), config)
    assert get_engine("nodal", timeout_s=60).run(state, np.full((4, 96), 0.5), config).vectors == 4


def test_readme_feature_table_is_generated_from_the_declarations():
    text = README.read_text()
    block = re.search(r"<!-- engine-features -->\n(.*?)<!-- /engine-features -->", text, re.S)
    assert block, "README lacks the engine x feature table"
    assert block.group(1) == feature_table()
    assert all(what in block.group(1) for what in FEATURES.values())
