"""Config loading: each mistake is a ParamError naming its place; random input never tracebacks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.nn.config import config_from_dict, load_config
from device_models.validation import ParamError


@pytest.mark.parametrize(("raw", "place"), [
    ({"trian": {}}, "trian"),
    ({"train": {"epoch": 3}}, "train.epoch"),
    ({"train": {"epochs": "3"}}, "train.epochs"),
    ({"train": {"epochs": 2.5}}, "train.epochs"),
    ({"train": {"lr": -1}}, "train.lr"),
    ({"train": {"mode": "magic"}}, "train.mode"),
    ({"train": {"sparsity": 1.0}}, "train.sparsity"),
    ({"train": {"sparsities": [0.5, 2]}}, "train.sparsities[]"),
    ({"hardware": {"cell": "x"}}, "hardware.cell"),
    ({"hardware": {"adc_bits": 0}}, "adc.bits"),
    ({"hardware": {"write_variation": 1}}, "hardware.write_variation"),
    ({"model": {"sizes": [64]}}, "model.sizes"),
    ({"model": {"sizes": "64,10"}}, "model.sizes"),
    ({"evaluate": {"adc_bits": [3, "a"]}}, "evaluate.adc_bits[1]"),
    ({"data": {"dataset": "mnist"}}, "data.train_images"),
    ({"train": 3}, "train"),
])
def test_invalid_configs_name_the_key(raw, place):
    with pytest.raises(ParamError) as exc:
        config_from_dict(raw)
    assert exc.value.field == place, str(exc.value)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ParamError, match="existing TOML"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nmode = 1")
    with pytest.raises(ParamError, match="not valid TOML"):
        load_config(bad)


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
section_keys = st.sampled_from(["data", "model", "train", "hardware", "evaluate", "extra"])
field_keys = st.sampled_from(["mode", "epochs", "lr", "cell", "adc_bits", "sizes", "seeds",
                              "sparsity", "dataset", "engine", "tile_rows", "bogus"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(section_keys, st.dictionaries(field_keys, toml_values, max_size=4)
                       | toml_values, max_size=4))
def test_random_configs_never_traceback(raw):
    try:
        config_from_dict(raw)
    except ParamError:
        pass
