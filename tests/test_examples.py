"""Every example runs: Python scripts as they are, TOML configs shrunk to a few samples."""

import runpy
import tomllib
from pathlib import Path

import pytest

from cosim.nn.config import config_from_dict
from cosim.nn.training import run_evaluation, run_training

ROOT = Path(__file__).parent.parent / "examples"
SMALL = {"data": {"limit_train": 96, "limit_test": 24},
         "train": {"epochs": 4, "array_epochs": 1, "finetune_epochs": 1},
         "evaluate": {"seeds": 1}}


@pytest.mark.ngspice
@pytest.mark.parametrize("path", sorted(ROOT.glob("*.py")), ids=lambda p: p.name)
def test_python_example_runs(path, capsys):
    runpy.run_path(str(path), run_name="__main__")
    assert "spice" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.py")), ids=lambda p: p.name)
def test_python_example_without_ngspice_exits_3_with_a_line(path):
    """No simulator: one line naming why, exit 3 like the CLI, no traceback."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, COSIM_NGSPICE="/nonexistent/ngspice")
    res = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 3, res.stderr
    assert "not usable here" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.ngspice
@pytest.mark.parametrize("path", sorted(ROOT.glob("*.toml")), ids=lambda p: p.name)
def test_toml_example_runs_small(path):
    raw = tomllib.loads(path.read_text())
    config_from_dict(raw)  # the example as shipped is valid
    for section, values in SMALL.items():
        raw.setdefault(section, {}).update(values)
    cfg = config_from_dict(raw)
    if "evaluate" in path.stem:
        rows = run_evaluation(cfg)
        assert {r["sweep"] for r in rows} >= {"float", "adc_bits", "drift_time_s"}
    else:  # activity mode trains on the arrays from the start: no float network
        assert {"float_test_acc", "activity_test_acc"} & set(run_training(cfg)["summary"])
