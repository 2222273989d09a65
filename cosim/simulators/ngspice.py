"""ngspice harness: one subprocess per deck, binary raw output, always a timeout.

Lifecycle: setup (temp rundir, write deck) -> run (``ngspice -b -r out.raw``,
own session, dies with its parent, killed on timeout) -> read (raw file parsed
to numpy, point count checked) -> cleanup (rundir removed on success unless
asked to keep it; always kept on failure; removed when the run is interrupted).
Failure is decided from the exit status, the raw file's presence and its point
count, never by grepping the log. The log is read only for progress: ngspice
prints the sweep's ``Reference value`` as it goes.

Every live ngspice is registered; :func:`stop_all` kills them (the engines call
it when the thread waiting on them is interrupted, so Ctrl-C does not wait for
decks running on worker threads).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cosim.errors import EngineUnavailable, SimulationError, SimulationTimeout
from cosim.simulators import finder
from cosim.simulators.finder import NgspiceInfo
from cosim.simulators.processes import kill_group, scratch_dir, simulator_preexec
from cosim.simulators.rawfile import RawFileError, RawPlot, read_raw

LOG_TAIL_LINES = 25
INSTALL_HINT = finder.INSTALL_HINT


def probe(timeout_s: float | None = None) -> tuple[NgspiceInfo | None, str]:
    """(the best ngspice found, "") or (None, why none is usable): see ``finder``."""
    return finder.best(timeout_s)


def available(timeout_s: float | None = None) -> NgspiceInfo | None:
    """The best ngspice found, or None."""
    return probe(timeout_s)[0]


def require() -> NgspiceInfo:
    info, why = probe()
    if info is None:
        raise EngineUnavailable(why)
    return info


T = TypeVar("T")
R = TypeVar("R")

_LIVE: dict[int, subprocess.Popen] = {}
_STOPPED: dict[int, bool] = {}
_LIVE_LOCK = threading.Lock()


_GENERATION = [0, False]
"""[how many times stop_all ran, its last ``keep``]: a deck whose process started
while stop_all ran (not yet registered) sees the count change and stops too."""


def stop_all(keep: bool = False) -> None:
    """Kill every ngspice this process is running; their waiters raise, removing the
    run directories (an interrupt) or keeping them (``keep``: a deadline passed)."""
    with _LIVE_LOCK:
        _GENERATION[0] += 1
        _GENERATION[1] = keep
        for pid in _LIVE:
            _STOPPED[pid] = keep
            kill_group(pid)


def map_decks(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``fn`` over ``items`` in order, on up to ``workers`` threads that run decks.

    An interrupt (Ctrl-C, SIGTERM) stops every deck at once and returns without
    waiting for the threads: one still writing its deck (Python, which cannot be
    interrupted) finds that :func:`stop_all` ran when it starts ngspice. Waiting
    for it could outlast the grace a stopped process has to clean up. A failed item
    stops its siblings' decks, keeping them (the error names one), and waits."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)))
    try:
        out = list(pool.map(fn, items))
    except KeyboardInterrupt:
        stop_all(keep=False)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException as exc:
        stop_all(keep=isinstance(exc, SimulationError))
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out


REFERENCE = re.compile(rb"Reference value\s*:\s*([-+0-9.eE]+)")


def _last_reference(log: Path, offset: int) -> tuple[float | None, int]:
    """The last ``Reference value`` ngspice printed after ``offset`` in its log."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, offset - 64))
            chunk = f.read()
    except OSError:
        return None, offset
    found = REFERENCE.findall(chunk)
    end = max(0, offset - 64) + len(chunk)
    try:
        return (float(found[-1]) if found else None), end
    except ValueError:
        return None, end


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


def seed_option(seed: int) -> str:
    """The deck line that seeds ngspice's random draws (``agauss`` mismatch). ngspice
    takes seed 0 as "from the clock" (two runs then draw differently), so seeds
    start at 1."""
    if int(seed) < 1:
        raise ValueError(f"ngspice seed {seed}: must be >= 1 (0 seeds from the clock)")
    return f".option seed={int(seed)}\n"


def run_deck(
    deck: str,
    *,
    timeout_s: float | None = 600.0,
    expect_points: int | None = None,
    keep: str = "on_failure",
    workdir: str | Path | None = None,
    name: str = "deck",
    on_progress: Callable[[float], None] | None = None,
    files: dict[str, str] | None = None,
) -> RunOutput:
    """Run one standalone deck in its own rundir and return its parsed raw file.

    keep: ``on_failure`` (default), ``always`` or ``never``.
    workdir: parent of the rundir (default: ``$COSIM_SCRATCH``, else the system
    temp dir).
    on_progress: called about every 0.5 s with the sweep variable's latest value
    (the vector index of a ``.dc`` batch, the time of a ``.tran``).
    files: more files for the rundir, name -> text (``.spiceinit`` loading OSDI models).
    """
    info = require()
    if keep not in ("on_failure", "always", "never"):
        raise ValueError(f"keep={keep!r}: must be on_failure, always or never")
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    else:  # the scratch its owner made; gone when the owner was stopped (never remade)
        workdir = scratch_dir()
    rundir = Path(tempfile.mkdtemp(prefix=f"cosim-{name}-", dir=workdir))
    netlist = rundir / f"{name}.cir"
    netlist.write_text(deck)
    for fname, text in (files or {}).items():
        (rundir / fname).write_text(text)
    raw = rundir / f"{name}.raw"
    log = rundir / f"{name}.log"
    t0 = time.perf_counter()

    def fail(message: str, kind: type[SimulationError] = SimulationError) -> SimulationError:
        text = log.read_text(errors="replace") if log.exists() else ""
        return kind(message, rundir=rundir, netlist=netlist, log_tail=log_tail(text),
                    simulator="ngspice" if info.origin == "PATH" else info.path)

    with log.open("w") as logf:
        # ngspice buffers its log when it is a file; unbuffered, the progress it
        # prints can be followed (stdbuf, coreutils, execs ngspice: same pid)
        stdbuf = shutil.which("stdbuf") if on_progress is not None else None
        with _LIVE_LOCK:
            generation = _GENERATION[0]
        proc = subprocess.Popen(
            ([stdbuf, "-o0", "-e0"] if stdbuf else []) + [info.path, "-b", "-r", raw.name,
                                                           netlist.name],
            cwd=rundir, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=simulator_preexec,
        )
        with _LIVE_LOCK:
            _LIVE[proc.pid] = proc
            if _GENERATION[0] != generation:  # stop_all ran while this one started
                _STOPPED[proc.pid] = _GENERATION[1]
                kill_group(proc.pid)
        try:
            rc = _wait(proc, t0, timeout_s, log, on_progress)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
            raise fail(f"ngspice timed out after {timeout_s:g} s",
                       SimulationTimeout) from None
        except SimulationError:  # the enclosing work's deadline: keep the deck and log
            kill_group(proc.pid)
            proc.wait()
            raise
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): nothing to keep
            kill_group(proc.pid)
            proc.wait()
            shutil.rmtree(rundir, ignore_errors=True)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.pop(proc.pid, None)
                stopped = _STOPPED.pop(proc.pid, None)
    if stopped is not None:  # another thread was interrupted and stopped this run
        if stopped:
            raise fail("ngspice stopped: the enclosing work ended (its deadline, or a "
                       "sibling deck failed)",
                       SimulationTimeout)
        shutil.rmtree(rundir, ignore_errors=True)
        raise SimulationError("ngspice stopped: the run was interrupted")
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


POLL_S = 0.5


def _wait(proc: subprocess.Popen, t0: float, timeout_s: float | None, log: Path,
          on_progress: Callable[[float], None] | None) -> int:
    """Wait for ngspice; raise TimeoutExpired past ``timeout_s``; report progress
    (every POLL_S, when asked) from the sweep position ngspice printed last.

    The wait is a ``select`` on the process's pidfd (Linux): it wakes when ngspice
    exits, where ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, a cost
    paid by every small deck."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: Popen's polling wait below
        fd = None
    offset = 0
    try:
        while True:
            left = None if timeout_s is None else timeout_s - (time.perf_counter() - t0)
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout_s)
            step = left if on_progress is None else min(POLL_S, left or POLL_S)
            if fd is None:
                try:
                    return proc.wait(timeout=step)
                except subprocess.TimeoutExpired:
                    pass
            elif select.select([fd], [], [], step)[0]:
                return proc.wait()
            if on_progress is not None:
                value, offset = _last_reference(log, offset)
                if value is not None:
                    on_progress(value)
    finally:
        if fd is not None:
            os.close(fd)
