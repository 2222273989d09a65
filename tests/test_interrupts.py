"""Interrupts, kills and deadlines leave nothing behind: no simulator process
(checked by pid), no temporary directory, exit 130 (SIGINT) / 143 (SIGTERM).

Each case runs the real ``cosim`` in a subprocess with ``TMPDIR`` pointing at a
fresh folder, so that every temporary directory it makes can be seen. The fake
simulator is a script named ``ngspice`` that answers ``--version`` and then
hangs in ``sleep``, recording its pid; the real one is handed a deck that runs
for minutes even on the KLU build (160x160 with wires, 400 vectors).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cosim.simulators.processes import wait_gone

pytestmark = pytest.mark.ngspice

FAKE = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "** ngspice-39 : Circuit level simulation program"; exit 0; fi
echo $$ >> "$FAKE_NGSPICE_PIDS"
exec sleep 600
"""
SLOW_COMPARE = ["compare", "--rows", "160", "--cols", "160", "--vectors", "400", "--r-wire",
                "1", "--engines", "nodal,spice"]
SLOW_SWEEP = """name = "slow"
kind = "compare"
seeds = 1
[base]
rows = 160
cols = 160
vectors = 400
r_wire_ohm = 1.0
engines = ["nodal", "spice"]
"""
FAST_SWEEP = SLOW_SWEEP.replace("rows = 160\ncols = 160\nvectors = 400", "rows = 4\ncols = 4\n"
                                 "vectors = 2")


def _env(tmp_path: Path, fake: bool) -> dict:
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), PYTHONUNBUFFERED="1")
    (tmp_path / "tmp").mkdir()
    if fake:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "ngspice").write_text(FAKE)
        (bin_dir / "ngspice").chmod(0o755)
        env["COSIM_NGSPICE"] = str(bin_dir / "ngspice")  # forced over any real one
        env["FAKE_NGSPICE_PIDS"] = str(tmp_path / "pids")
    return env


def _start(tmp_path: Path, args: list[str], fake: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cosim.cli.app", *args], cwd=tmp_path,
                            env=_env(tmp_path, fake), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _simulator_pids(proc: subprocess.Popen, tmp_path: Path, fake: bool,
                    timeout_s: float = 60.0) -> list[int]:
    """The pids of the simulators the command started, once one is running."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if fake:
            f = tmp_path / "pids"
            pids = [int(x) for x in f.read_text().split()] if f.exists() else []
        else:
            try:
                pids = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)
                        if p.name() == "ngspice" and "-r" in p.cmdline()]  # not a probe
            except psutil.Error:
                pids = []
        if pids:
            return pids
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("no simulator started within the time limit")


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("cosim"))


@pytest.mark.parametrize("fake", [True, False], ids=["fake-simulator", "real-ngspice"])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_to_compare_stops_its_simulators(tmp_path, fake, sig, code):
    proc = _start(tmp_path, SLOW_COMPARE, fake)
    pids = _simulator_pids(proc, tmp_path, fake)
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 2.0, out  # Ctrl-C returns at once (measured 0.04 s)
    assert proc.returncode == code, out
    assert "Traceback" not in out, out
    assert wait_gone(pids) == [], f"simulator left running; {out}"
    assert _leftovers(tmp_path) == [], out


@pytest.mark.parametrize("fake", [True, False], ids=["fake-simulator", "real-ngspice"])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_to_sweep_stops_workers_and_simulators(tmp_path, fake, sig, code):
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SWEEP)
    proc = _start(tmp_path, ["sweep", str(spec), "--run-dir", str(tmp_path / "run")], fake)
    pids = _simulator_pids(proc, tmp_path, fake)
    workers = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out
    assert time.monotonic() - t0 < 5.0, out  # measured 2.1 s: workers stopped, then exit
    assert wait_gone(pids) == [], "simulator left running"
    assert wait_gone(workers) == [], "worker left running"
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "run" / "sim").exists()  # the point in flight left nothing


def test_sigkill_of_cosim_takes_the_simulator_with_it(tmp_path):
    proc = _start(tmp_path, SLOW_COMPARE, fake=True)
    pids = _simulator_pids(proc, tmp_path, fake=True)
    proc.kill()  # no handler runs in cosim itself
    proc.communicate(timeout=30)
    assert wait_gone(pids) == [], "simulator outlived a SIGKILLed cosim"
    end = time.monotonic() + 5
    while _leftovers(tmp_path) and time.monotonic() < end:
        time.sleep(0.1)
    assert _leftovers(tmp_path) == []


def test_compare_timeout_keeps_and_names_the_deck(tmp_path):
    proc = _start(tmp_path, [*SLOW_COMPARE, "--timeout", "4"], fake=False)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "timed out after 4 s" in out and "netlist:" in out, out
    netlist = Path(out.split("netlist:")[1].split()[0])
    assert netlist.exists() and netlist.with_suffix(".log").exists()
    assert "Traceback" not in out


def test_sweep_with_every_point_failing_exits_1_and_says_why(tmp_path):
    spec = tmp_path / "fast.toml"
    spec.write_text(FAST_SWEEP)
    env = _env(tmp_path, fake=False)
    env["PATH"] = "/nonexistent"  # no ngspice: every spice point fails
    env["XDG_CACHE_HOME"] = str(tmp_path / "no-cache")  # nor a built one
    res = subprocess.run([sys.executable, "-m", "cosim.cli.app", "sweep", str(spec),
                          "--results", str(tmp_path / "res")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "1 of 1 points failed" in res.stderr and "ngspice was not found" in res.stderr


def test_sweep_with_some_points_failing_exits_4(tmp_path):
    spec = tmp_path / "mixed.toml"
    # 4x160: about a second; 160x160 with wires: minutes, stopped at 5 s
    spec.write_text(SLOW_SWEEP.replace('kind = "compare"', 'kind = "compare"\ntimeout_s = 5')
                    .replace("rows = 160\n", "").replace('"spice"]', '"spice"]\n[axes.rows]\n'
                                                          'values = [4, 160]'))
    res = subprocess.run([sys.executable, "-m", "cosim.cli.app", "sweep", str(spec),
                          "--results", str(tmp_path / "res")], env=_env(tmp_path, False),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 4, res.stderr
    assert "1 of 2 points failed" in res.stderr and "(timeout)" in res.stderr, res.stderr


HANGING_PROBE = """#!/bin/sh
echo $$ >> "$FAKE_NGSPICE_PIDS"
exec sleep 600
"""


def test_sigkill_during_the_osdi_probe_leaves_no_file(tmp_path):
    """Each sweep worker probes the simulator; a worker killed in the middle of its
    probe runs no cleanup, so the probe must not make files (its deck goes in on
    stdin). A temporary deck folder was left behind this way before."""
    env = _env(tmp_path, fake=False)
    fake = tmp_path / "ngspice"
    fake.write_text(HANGING_PROBE)
    fake.chmod(0o755)
    env["FAKE_NGSPICE_PIDS"] = str(tmp_path / "pids")
    proc = subprocess.Popen([sys.executable, "-c", "from cosim.simulators import finder; "
                             f"finder._has_osdi({str(fake)!r}, 60.0)"], env=env)
    pids = _simulator_pids(proc, tmp_path, fake=True)
    proc.kill()
    proc.wait(timeout=30)
    assert wait_gone(pids) == [], "the probe outlived its SIGKILLed parent"
    assert list((tmp_path / "tmp").iterdir()) == []


STOPPED_BETWEEN_FORK_AND_EXEC = """
import os, signal, subprocess
from cosim.simulators.processes import handle_stop_signals, raise_terminated

handle_stop_signals({signal.SIGTERM: raise_terminated})
# the signal a group kill sends, arriving in the window where Python's after-fork
# hooks run in a subprocess that has not exec'd yet
os.register_at_fork(after_in_child=lambda: [os.kill(os.getpid(), signal.SIGTERM),
                                            sum(range(100))])
print("exit", subprocess.run(["true"], preexec_fn=lambda: None).returncode)
"""


def test_a_stop_signal_between_fork_and_exec_is_ignored_by_the_fork():
    """The fork ignores it (its group is killed or it dies with its parent another
    way); raising there printed a traceback from threading._after_fork."""
    out = subprocess.run([sys.executable, "-c", STOPPED_BETWEEN_FORK_AND_EXEC],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "exit 0\n", "")
