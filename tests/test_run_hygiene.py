"""What runs leave behind: file modes from the umask, no empty run folders after a
failure, progress reports from long work, a validated --timeout."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from cosim import ArrayConfig, ArrayState, get_engine
from cosim.cli.app import app
from cosim.runs.files import write_atomic
from cosim.runs.progress import shown_by
from device_models.cells import ResistorCell
from periphery.converters import AdcParams, DacParams

runner = CliRunner()


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        path = write_atomic(tmp_path / "out.csv", "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_cli_outputs_are_world_readable_under_the_usual_umask(tmp_path):
    old = os.umask(0o022)
    try:
        res = runner.invoke(app, ["irdrop", "--sizes", "8", "--ratios", "1e-4", "--vectors",
                                  "2", "--results", str(tmp_path)])
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files)


def test_a_failed_train_leaves_no_empty_run_folder(tmp_path):
    """vau mode on cells without a pruning transistor is refused inside the run, after
    the run folder was made: the folder goes with the failure."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[train]\nmode = "vau"\nepochs = 1\n[hardware]\ncell = "fefet"\n')
    res = runner.invoke(app, ["train", str(cfg), "--results", str(tmp_path / "res")])
    assert res.exit_code == 2 and "vau mode needs a prunable cell" in res.output, res.output
    assert not any((tmp_path / "res").iterdir())


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_timeout_must_be_positive(tmp_path, value):
    res = runner.invoke(app, ["compare", "--rows", "2", "--cols", "2", "--timeout", value])
    assert res.exit_code == 2 and "timeout" in res.output, res.output


@pytest.mark.ngspice
def test_spice_engine_reports_progress_while_its_deck_runs():
    """A 160x160 wired deck, 8 vectors in one ngspice run (~5 s even with KLU): the
    reports come while it runs (some with done < total, increasing), read from
    ngspice's log, and end at the total. The log may show the last vector before
    ngspice has written its raw file and exited, so a running report may already
    read 8 of 8."""
    rng = np.random.default_rng(0)
    state = ArrayState({"g_s": rng.uniform(1e-6, 1e-5, (160, 160))}, ResistorCell())
    config = ArrayConfig(dac=DacParams(6, 0.2), adc=AdcParams(8), r_row_wire_ohm=1.0,
                         r_col_wire_ohm=1.0)
    seen: list[tuple[float, float]] = []
    with shown_by(lambda task, done, total, info: seen.append((done, total))):
        get_engine("spice", jobs=1, superpose="off").run(state, rng.uniform(0, 1, (8, 160)),
                                                          config)
    assert seen[-1] == (8, 8)
    during = [d for d, _ in seen[:-1]]
    assert during and all(0 < d <= 8 for d in during), seen
    assert any(d < 8 for d in during), seen
    assert during == sorted(during)


def test_every_project_error_survives_the_trip_from_a_worker_process():
    """Work in a child process sends its exception back pickled: each error type must
    come back with its type, message and fields (exit codes depend on the type)."""
    import pickle
    from pathlib import Path

    from cosim.array.memory import MemoryBudgetError
    from cosim.errors import CosimError, EngineUnavailable, ParamError, SimulationTimeout

    errors = [ParamError("rows", 0, "must be >= 1"), MemoryBudgetError("rows", 9, "too big"),
              CosimError("x"), EngineUnavailable("no ngspice"),
              SimulationTimeout("slow", rundir=Path("/r"), netlist=Path("/r/d.cir"),
                                log_tail="tail")]
    for exc in errors:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert vars(back) == vars(exc)
