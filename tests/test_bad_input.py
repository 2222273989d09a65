"""Bad input, hostile or careless: a clear message and exit 2 (a value the user gave)
or exit 1 (a path that cannot be used, a run that failed), never a traceback, and a
refusal with the estimate before any large allocation."""

from __future__ import annotations

import gzip
import subprocess
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from cosim import ArrayConfig, ArrayState, ParamError, get_engine
from cosim.cli.app import app
from device_models.cells import FefetCell, ResistorCell
from netlists import CrossbarParams, crossbar
from periphery.converters import AdcParams, DacParams

runner = CliRunner()


def _cli(*args):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def test_results_path_under_a_file_names_the_path(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    res = _cli("irdrop", "--sizes", "8", "--ratios", "1e-4", "--vectors", "2",
               "--results", blocker / "sub")
    assert res.exit_code == 1 and str(blocker) in res.output, res.output


def test_non_utf8_spec_and_config(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    for cmd in ("sweep", "train", "evaluate"):
        res = _cli(cmd, bad, "--results", tmp_path)
        assert res.exit_code == 2 and "is not UTF-8 text" in res.output, (cmd, res.output)


def test_run_dir_that_is_a_file(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('kind = "compare"\nmetrics = ["max_err_lsb"]\n[base]\nrows = 2\ncols = 2\n'
                    'vectors = 2\nengines = ["ideal", "nodal"]\n')
    res = _cli("sweep", spec, "--run-dir", spec)
    assert res.exit_code == 2 and "run_dir" in res.output and "is a file" in res.output


def test_scheduler_malformed_and_unreachable(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('kind = "compare"\nmetrics = ["max_err_lsb"]\n[base]\nrows = 2\ncols = 2\n'
                    'vectors = 2\nengines = ["ideal", "nodal"]\n')
    res = _cli("sweep", spec, "--scheduler", "localhost", "--results", tmp_path)
    assert res.exit_code == 2 and "tcp://host:port" in res.output
    t0 = time.monotonic()
    res = _cli("sweep", spec, "--scheduler", "tcp://127.0.0.1:9", "--results", tmp_path)
    assert res.exit_code == 1 and "cannot reach the Dask scheduler" in res.output, res.output
    assert time.monotonic() - t0 < 30


def test_zero_epochs_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nepochs = 0\n")
    res = _cli("train", cfg, "--results", tmp_path)
    assert res.exit_code == 2 and "train.epochs=0" in res.output


def test_corrupt_and_short_idx_files(tmp_path):
    from cosim.nn.datasets import read_idx

    not_gzip = tmp_path / "x-images.idx.gz"
    not_gzip.write_bytes(b"this is not gzip")
    with pytest.raises(ParamError, match="cannot be read as gzip-compressed IDX"):
        read_idx(not_gzip)
    short = tmp_path / "short.idx.gz"
    with gzip.open(short, "wb") as f:
        f.write(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(ParamError, match="truncated inside its header"):
        read_idx(short)


def test_negative_vectors_in_irdrop(tmp_path):
    res = _cli("irdrop", "--vectors", "-5", "--results", tmp_path)
    assert res.exit_code == 2 and "vectors=-5" in res.output


def test_huge_runs_are_refused_up_front_with_the_estimate(tmp_path):
    t0 = time.monotonic()
    res = _cli("compare", "--rows", "4096", "--cols", "4096", "--vectors", "1000000",
               "--engines", "ideal,nodal")
    assert res.exit_code == 2 and "GiB, above the" in res.output, res.output
    res = _cli("irdrop", "--sizes", "100000", "--results", tmp_path)
    assert res.exit_code == 2 and "GiB, above the" in res.output, res.output
    assert time.monotonic() - t0 < 5  # refused, not attempted


@pytest.mark.parametrize("value", [np.nan, np.inf, -1e-6])
def test_array_state_rejects_bad_conductances(value):
    g = np.full((3, 3), 1e-5)
    g[1, 2] = value
    with pytest.raises(ParamError, match=r"fields\['g_s'\]\[1, 2\]"):
        ArrayState({"g_s": g}, ResistorCell())
    pol = np.zeros((2, 2))
    pol[0, 1] = np.nan
    with pytest.raises(ParamError, match=r"fields\['pol'\]\[0, 1\]"):
        ArrayState({"pol": pol, "dvth_v": np.zeros((2, 2))}, FefetCell())


@pytest.mark.ngspice
def test_zero_conductance_is_an_open_cell_in_every_engine():
    g = np.full((3, 2), 1e-5)
    g[0, 0] = 0.0
    state = ArrayState({"g_s": g}, ResistorCell())
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-5, signed=False))
    x = np.array([[1.0, 0.5, 0.25]])
    want = get_engine("ideal").run(state, x, config).i_col_a
    got = get_engine("spice").run(state, x, config).i_col_a
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.ngspice
def test_a_generated_deck_runs_standalone_and_prints_the_currents(tmp_path):
    g = np.full((2, 2), 1e-5)
    p = CrossbarParams(fields={"g_s": g}, input_codes=np.array([[255, 0], [255, 255]]),
                       dac=DacParams(8, 0.2))
    deck = tmp_path / "x.cir"
    deck.write_text(crossbar(p).render())
    out = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2.000000e-06" in out.stdout and "4.000000e-06" in out.stdout, out.stdout


def test_report_on_a_sweep_whose_points_all_failed(tmp_path):
    """Every point times out (nodal, 96x96 wired, 1 ms budget): the report page says
    so and lists the errors, and the command exits 1 naming it."""
    spec = tmp_path / "s.toml"
    spec.write_text('kind = "compare"\nmetrics = ["max_err_lsb"]\ntimeout_s = 0.001\n'
                    '[base]\nrows = 96\ncols = 96\nvectors = 2\nr_wire_ohm = 1.0\n'
                    'engines = ["ideal", "nodal"]\n')
    res = _cli("report", "compare", spec, "--results", tmp_path)
    assert res.exit_code == 1 and "no successful points" in res.output, res.output
    page = next(tmp_path.rglob("report.html")).read_text()
    assert "No successful points" in page and "timed out after 0.001 s" in page
