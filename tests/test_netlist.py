import numpy as np
import pytest

from device_models.cells import ResistorCell
from device_models.validation import ParamError
from netlists import CrossbarParams, crossbar
from periphery.converters import DacParams


def _params(rng, rows=4, cols=3, k=5, **kw):
    g = rng.uniform(1e-6, 1e-4, (rows, cols))
    codes = rng.integers(0, 256, (k, rows))
    return CrossbarParams(fields={"g_s": g}, input_codes=codes, **kw)


def test_render_is_deterministic(rng):
    p = _params(rng, r_row_wire_ohm=1.0, r_col_wire_ohm=2.0)
    assert crossbar(p).render() == crossbar(p).render()
    # Same values in new objects render the same text too.
    q = CrossbarParams(fields={"g_s": p.fields["g_s"].copy()}, input_codes=p.input_codes.copy(),
                       r_row_wire_ohm=1.0, r_col_wire_ohm=2.0)
    assert crossbar(q).render() == crossbar(p).render()


def test_render_lines_end_in_newline_and_deck_ends(rng):
    text = crossbar(_params(rng)).render()
    assert text.endswith(".end\n")
    assert all(line == line.rstrip("\r") for line in text.split("\n"))


def test_element_counts_with_and_without_wires(rng):
    rows, cols = 4, 3
    ideal = crossbar(_params(rng, rows, cols)).render()
    wired = crossbar(_params(rng, rows, cols, r_row_wire_ohm=1.0, r_col_wire_ohm=1.0)).render()
    count = lambda text, prefix: sum(ln.startswith(prefix) for ln in text.splitlines())  # noqa: E731
    assert count(ideal, "Rc") == rows * cols  # cells only
    assert count(ideal, "Rrw") == count(ideal, "Rcw") == 0
    assert count(wired, "Rrw") == rows * cols  # one segment per cell pitch per row
    assert count(wired, "Rcw") == rows * cols
    assert count(wired, "Vs") == cols


def test_dc_batch_uses_one_sweep(rng):
    net = crossbar(_params(rng, k=7))
    assert ".dc Vindex 0 6 1" in net.render()
    assert net.points == 7


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"analysis": "ac"}, "analysis"),
        ({"r_row_wire_ohm": -1.0}, "r_row_wire_ohm"),
        ({"r_col_wire_ohm": float("nan")}, "r_col_wire_ohm"),
        ({"differential": True}, "fields"),  # 3 physical columns cannot pair up
        ({"dac": DacParams(bits=4)}, "input_codes"),  # codes up to 255 exceed 4 bits
        ({"analysis": "op"}, "analysis"),  # K=5 but op simulates one vector
    ],
)
def test_invalid_params_name_the_field(rng, kw, field):
    with pytest.raises(ParamError) as exc:
        _params(rng, **kw)
    assert exc.value.field == field
    assert field in str(exc.value)


def test_wrong_fields_and_shapes_are_rejected(rng):
    codes = np.zeros((1, 2), dtype=int)
    with pytest.raises(ParamError, match="fields"):
        CrossbarParams(fields={"r_ohm": np.ones((2, 2))}, input_codes=codes)
    with pytest.raises(ParamError, match="input_codes"):
        CrossbarParams(fields={"g_s": np.ones((3, 2))}, input_codes=codes)
    with pytest.raises(ParamError, match="g_target_s"):
        ResistorCell().program(np.full((2, 2), 1.0))
