"""ngspice harness: one subprocess per deck, binary raw output, always a timeout.

Lifecycle: setup (temp rundir, write deck) -> run (``ngspice -b -r out.raw``,
own process group, killed on timeout) -> read (raw file parsed to numpy,
point count checked) -> cleanup (rundir removed on success unless asked to
keep it; always kept on failure). Failure is decided from the exit status,
the raw file's presence and its point count, never by grepping the log.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import EngineUnavailable, SimulationError
from cosim.simulators.rawfile import RawFileError, RawPlot, read_raw

INSTALL_HINT = "install it as root: apt-get update && apt-get install -y ngspice libngspice0-dev"
LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class NgspiceInfo:
    path: str
    version: str
    """Version as ngspice prints it, e.g. ``39.3`` or ``39``."""


def available(timeout_s: float = 10.0) -> NgspiceInfo | None:
    """Probe for the ngspice binary: path and version, or None."""
    path = shutil.which("ngspice")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=timeout_s, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"ngspice-([\d.]+\w*)", out.stdout + out.stderr)
    return NgspiceInfo(path=path, version=m.group(1) if m else "unknown")


def require() -> NgspiceInfo:
    info = available()
    if info is None:
        raise EngineUnavailable(f"ngspice was not found on PATH; {INSTALL_HINT}")
    return info


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


@dataclass(frozen=True, eq=False)
class RunOutput:
    plots: list[RawPlot]
    rundir: Path | None
    """Kept run directory, or None when it was cleaned up."""
    seconds: float

    @property
    def plot(self) -> RawPlot:
        return self.plots[-1]


def run_deck(
    deck: str,
    *,
    timeout_s: float = 600.0,
    expect_points: int | None = None,
    keep: str = "on_failure",
    workdir: str | Path | None = None,
    name: str = "deck",
) -> RunOutput:
    """Run one standalone deck in its own rundir and return its parsed raw file.

    keep: ``on_failure`` (default), ``always`` or ``never``.
    workdir: parent of the rundir (default: the system temp dir).
    """
    info = require()
    if keep not in ("on_failure", "always", "never"):
        raise ValueError(f"keep={keep!r}: must be on_failure, always or never")
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix=f"cosim-{name}-", dir=workdir))
    netlist = rundir / f"{name}.cir"
    netlist.write_text(deck)
    raw = rundir / f"{name}.raw"
    log = rundir / f"{name}.log"
    t0 = time.perf_counter()

    def fail(message: str) -> SimulationError:
        text = log.read_text(errors="replace") if log.exists() else ""
        return SimulationError(message, rundir=rundir, netlist=netlist, log_tail=log_tail(text))

    with log.open("w") as logf:
        proc = subprocess.Popen(
            [info.path, "-b", "-r", raw.name, netlist.name],
            cwd=rundir, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise fail(f"ngspice timed out after {timeout_s:g} s") from None
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise fail(f"ngspice exited with status {rc}")
    if not raw.exists() or raw.stat().st_size == 0:
        raise fail("ngspice exited 0 but wrote no raw file")
    try:
        plots = read_raw(raw)
    except (RawFileError, KeyError, ValueError) as exc:
        raise fail(f"unreadable raw file: {exc}") from None
    if expect_points is not None and plots[-1].points != expect_points:
        raise fail(f"raw file has {plots[-1].points} points, expected {expect_points} "
                   "(the analysis stopped early)")
    if keep == "always":
        return RunOutput(plots, rundir, seconds)
    shutil.rmtree(rundir, ignore_errors=True)
    return RunOutput(plots, None, seconds)
