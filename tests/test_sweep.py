"""Sweeps on a real Dask LocalCluster: results, failures, kill + resume, reports."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cosim.cli.app import app
from cosim.sweeps.runner import run_sweep
from cosim.sweeps.spec import spec_from_dict
from device_models.validation import ParamError

pytestmark = pytest.mark.ngspice
runner = CliRunner()

COMPARE = """name = "t"
kind = "compare"
seeds = 2
[base]
vectors = 8
engines = ["ideal", "spice"]
[axes.rows]
values = [4, 8]
[axes.r_wire_ohm]
values = [0.0, 2.0]
"""


def _write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_sweep_on_two_worker_local_cluster(tmp_path):
    spec = spec_from_dict(__import__("tomllib").loads(COMPARE))
    table = run_sweep(spec, COMPARE, tmp_path / "run", workers=2, csv=True)
    assert len(table) == 8 and set(table.status) == {"ok"}
    assert table.point_id.is_unique
    ideal = table[table.r_wire_ohm == 0.0]
    assert (ideal.max_rel_err < 1e-10).all()  # ideal wires: spice == ideal
    wired = table[table.r_wire_ohm == 2.0].groupby("rows").max_rel_err.max()
    assert wired[8] > wired[4] > 1e-5  # IR drop grows with size
    assert (tmp_path / "run" / "results.parquet").exists()
    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 8
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["config"]["points"] == 8 and man["ngspice_version"]


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    # 160 rows with wires, 64 vectors: tens of seconds even with KLU, stopped at 3 s
    # while the deck runs; the 4-row points take ~0.2 s and finish.
    text = COMPARE.replace('kind = "compare"', 'kind = "compare"\ntimeout_s = 3.0')
    text = text.replace("values = [4, 8]", "values = [4, 160]").replace(
        "vectors = 8", "vectors = 64\ncols = 160")
    spec = spec_from_dict(__import__("tomllib").loads(text))
    t0 = time.time()
    table = run_sweep(spec, text, tmp_path / "run", workers=2)
    assert time.time() - t0 < 60
    assert len(table) == 8
    timed_out = table[table.status == "timeout"]
    assert set(timed_out.rows) == {160} and len(timed_out) >= 2  # the wired 160-row points
    assert timed_out.error.str.contains("timed out after 3 s").all()
    assert (table[table.rows == 4].status == "ok").all()
    rec = json.loads((tmp_path / "run" / "points" / f"{timed_out.point_id.iloc[0]}.json")
                     .read_text())
    # kept for the user to re-run, inside the run directory
    assert Path(rec["netlist"]).exists() and (tmp_path / "run" / "sim") in Path(
        rec["netlist"]).parents


def _wait_group_gone(pgid: int, timeout_s: float = 20.0) -> None:
    """Until no process of the group is left (workers may take a moment to die)."""
    end = time.time() + timeout_s
    while time.time() < end:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes of group {pgid} still alive after {timeout_s} s")


def test_killed_sweep_resumes_to_every_point_exactly_once(tmp_path):
    # 32 points of ~0.1-0.3 s each: the kill always lands mid-sweep.
    text = (COMPARE.replace("seeds = 2", "seeds = 8")
            .replace("values = [4, 8]", "values = [24, 32]")
            .replace("vectors = 8", "vectors = 60"))
    spec_path = _write(tmp_path, text)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "cosim.cli.app", "sweep", str(spec_path),
           "--run-dir", str(run_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    points = run_dir / "points"
    deadline = time.time() + 120
    while time.time() < deadline:
        if points.exists() and len(list(points.glob("*.json"))) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # client, cluster and workers, mid-sweep
    proc.wait()
    _wait_group_gone(proc.pid)
    partial = len(list(points.glob("*.json")))
    assert 3 <= partial < 32, partial
    res = runner.invoke(app, ["sweep", str(spec_path), "--run-dir", str(run_dir), "--resume"])
    assert res.exit_code == 0, res.output
    files = sorted(points.glob("*.json"))
    records = [json.loads(f.read_text()) for f in files]  # every file parses: none corrupt
    assert len(records) == 32 and len({r["id"] for r in records}) == 32
    assert not list(points.glob("*.tmp"))
    table = pd.read_parquet(run_dir / "results.parquet")
    assert len(table) == 32 and table.point_id.is_unique and set(table.status) == {"ok"}


def test_resume_guards(tmp_path):
    spec_path = _write(tmp_path, COMPARE)
    res = runner.invoke(app, ["sweep", str(spec_path), "--resume"])
    assert res.exit_code == 2 and "run_dir" in res.output
    res = runner.invoke(app, ["sweep", str(spec_path), "--run-dir", str(tmp_path / "x"),
                              "--resume"])
    assert res.exit_code == 2 and "nothing to resume" in res.output


@pytest.mark.parametrize(("text", "needle"), [
    ('kind = "magic"\n', "kind='magic'"),
    ('kindd = "compare"\n', "kindd="),
    ("seeds = 0\n", "seeds=0"),
    ("seeds = [1, 1]\n", "seeds=[1, 1]"),
    ('seeds = "two"\n', "seeds='two'"),
    ('combine = "cross"\n', "combine='cross'"),
    ('metrics = ["speed"]\n', "metrics[0]='speed'"),
    ("timeout_s = -1\n", "timeout_s=-1"),
    ("[base]\nrowz = 3\n", "base.rowz=3"),
    ('[base]\nrows = "8"\n', "base.rows='8'"),
    ("[axes.rows]\nvalues = []\n", "axes.rows.values=[]"),
    ("[axes.rows]\nvalues = [8, 0]\n", "axes.rows[1]=0"),
    ("[axes.rows]\nlinspace = [1, 2, 3]\n", "axes.rows.linspace"),
    ("[axes.rows]\nvalues = [4]\nlinspace = [1, 2, 2]\n", "axes.rows"),
    ("[axes.r_wire_ohm]\nlogspace = [0, 400, 3]\n", "axes.r_wire_ohm.logspace"),
    ('combine = "zip"\n[axes.rows]\nvalues = [4, 8]\n[axes.cols]\nvalues = [4]\n',
     "combine='zip'"),
    ('name = "a b"\n', "name='a b'"),
    ("[axes\n", "not valid TOML"),
])
def test_invalid_specs_exit_2_naming_the_key(tmp_path, text, needle):
    res = runner.invoke(app, ["sweep", str(_write(tmp_path, text)), "--results",
                              str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert not (tmp_path / "r").exists()  # nothing half-written


scalars = (st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats()
           | st.text(max_size=6))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10)
keys = st.sampled_from(["name", "kind", "seeds", "combine", "metrics", "timeout_s", "base",
                        "axes", "x"])
axis_tables = st.dictionaries(st.sampled_from(["rows", "r_wire_ohm", "engines", "bogus"]),
                              st.dictionaries(st.sampled_from(["values", "linspace", "logspace",
                                                               "x"]), values, max_size=2),
                              max_size=2)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=5), axis_tables)
def test_random_specs_never_traceback(raw, axes):
    if "axes" not in raw:
        raw["axes"] = axes
    try:
        spec = spec_from_dict(raw)
    except ParamError:
        return
    assert spec.points()


def test_reports_render_and_open_in_headless_chromium(tmp_path):
    spec_path = _write(tmp_path, """name = "v"\nkind = "variation"\nseeds = 2
[base]\nrows = 8\ncols = 4\nvectors = 20\nnetwork = false
[axes.d2d_sigma_v]\nvalues = [0.0, 0.05]\n""")
    res = runner.invoke(app, ["report", "variation", str(spec_path), "--results", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = Path(res.output.strip().split("report: ")[-1])
    page = report.read_text()
    assert page.count("data:image/png;base64,") >= 4 and "Worst cases" in page
    for stem in ("cell_error_hist", "code_error_hist", "cell_error_maps", "accuracy"):
        assert (report.parent / f"{stem}.png").exists() and (report.parent / f"{stem}.svg").exists()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed for this test; bootstrap.sh test installs it"
    shot = tmp_path / "report.png"
    out = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
         "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    console_errors = [ln for ln in out.stderr.splitlines()
                      if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]
    assert not console_errors, console_errors


def test_resume_removes_temp_files_of_an_interrupted_write(tmp_path):
    import tomllib

    text = COMPARE.replace("seeds = 2", "seeds = 1").replace("values = [0.0, 2.0]",
                                                               "values = [0.0]")
    spec = spec_from_dict(tomllib.loads(text))
    run_dir = tmp_path / "run"
    run_sweep(spec, text, run_dir, workers=1)
    stale = run_dir / "points" / ".abc.json.x1y2.tmp"
    stale.write_text('{"half": ')  # what SIGKILL during write_atomic leaves behind
    table = run_sweep(spec, text, run_dir, workers=1, resume=True)
    assert not stale.exists() and len(table) == 2 and set(table.status) == {"ok"}


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "examples"
                                          / "sweeps").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_spec_loads(path):
    from cosim.sweeps.spec import load_spec

    spec, text = load_spec(path)
    assert spec.points() and text


def test_sweepable_fields_follow_the_dataclasses():
    """A field added to CompareSpec / HardwareConfig is sweepable without a list to
    edit (adc_percentile had drifted out of the hand-written one)."""
    import dataclasses as dc

    from cosim.nn.layers import HardwareConfig
    from cosim.studies.compare import CompareSpec
    from cosim.sweeps.spec import ACCURACY, COMPARE, spec_from_dict

    assert {f.name for f in dc.fields(CompareSpec)} - {"seed"} == set(COMPARE.fields)
    assert {f"hardware.{f.name}" for f in dc.fields(HardwareConfig)} <= set(ACCURACY.fields)
    spec = spec_from_dict({"kind": "compare", "metrics": ["max_err_lsb"],
                           "base": {"rows": 4, "cols": 4, "engines": ["ideal", "nodal"]},
                           "axes": {"adc_percentile": {"values": [99.0, 100.0]}}})
    assert len(spec.points()) == 2


def test_a_nodal_point_past_its_timeout_is_stopped(tmp_path):
    """A 1024x1024 wired nodal point runs for minutes inside one sparse factorisation
    (no Python-level check can stop it); the point's child process is killed at 2 s
    and the point recorded as timed out."""
    text = ('name = "big"\nkind = "compare"\ntimeout_s = 2.0\n[base]\nrows = 1024\n'
            'cols = 1024\nvectors = 2\nr_wire_ohm = 1.0\nengines = ["ideal", "nodal"]\n')
    spec = spec_from_dict(__import__("tomllib").loads(text))
    t0 = time.time()
    table = run_sweep(spec, text, tmp_path / "run", workers=1)
    assert time.time() - t0 < 30
    row = table.iloc[0]
    assert row.status == "timeout" and "timed out after 2 s" in row.error
    assert row.seconds < 5
