"""Stoppable work: a forked child per call (CLI commands) or one reused child per
sweep worker; deadlines kill, errors come back with their type, the scratch
folder holds the simulators' files and goes when empty."""

from __future__ import annotations

import os
import time

import pytest

from cosim.errors import CosimError, ParamError, SimulationTimeout
from cosim.runs.isolated import StoppableWorker, run_isolated


def _pid() -> int:
    return os.getpid()


def _sleep(s: float) -> None:
    time.sleep(s)


def _refuse() -> None:
    raise ParamError("rows", 0, "must be >= 1")


def _die() -> None:
    os._exit(3)


def _scratch() -> str:
    return os.environ["COSIM_SCRATCH"]


def test_the_worker_is_reused_until_a_deadline_kills_it(tmp_path):
    w = StoppableWorker()
    try:
        first = w.call(_pid, timeout_s=10, what="t")
        assert first != os.getpid() and w.call(_pid, timeout_s=10, what="t") == first
        t0 = time.monotonic()
        with pytest.raises(SimulationTimeout, match=r"t timed out after 0\.5 s"):
            w.call(_sleep, 30, timeout_s=0.5, what="t")
        assert time.monotonic() - t0 < 3.0  # stopped, not waited for
        second = w.call(_pid, timeout_s=10, what="t")  # a fresh child
        assert second not in (first, os.getpid())
    finally:
        w.close()


@pytest.mark.parametrize("runner", ["fresh", "reused"])
def test_errors_come_back_typed_and_a_dead_child_is_named(runner):
    w = StoppableWorker()

    def call(fn):
        if runner == "fresh":
            return run_isolated(fn, timeout_s=10, what="job")
        return w.call(fn, timeout_s=10, what="job")

    try:
        with pytest.raises(ParamError) as exc:
            call(_refuse)
        assert exc.value.field == "rows"
        with pytest.raises(CosimError, match="job: the worker process died"):
            call(_die)
        assert call(_pid) != os.getpid()  # usable again after the death
    finally:
        w.close()


def test_each_call_gets_a_scratch_folder_removed_when_empty(tmp_path):
    w = StoppableWorker()
    try:
        seen = {w.call(_scratch, timeout_s=10, what="t", scratch_root=tmp_path)
                for _ in range(2)}
        assert len(seen) == 2 and all(str(tmp_path) in s for s in seen)
        assert not any(tmp_path.iterdir())
    finally:
        w.close()


STUBBORN = """import os, signal, sys, time
from pathlib import Path
from cosim.runs.isolated import StoppableWorker, run_isolated


def stubborn():
    (Path(os.environ["COSIM_SCRATCH"]) / "deck.cir").write_text("* kept on failure")
    print(os.environ["COSIM_SCRATCH"], flush=True)
    while True:  # swallows the stop: only the watchdog ends this child
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            pass


if sys.argv[1] == "fresh":
    run_isolated(stubborn, timeout_s=None, what="t", scratch_root=sys.argv[2])
else:
    StoppableWorker().call(stubborn, timeout_s=None, what="t", scratch_root=sys.argv[2])
"""


@pytest.mark.parametrize("runner", ["fresh", "reused"])
def test_a_child_orphaned_by_sigkill_removes_its_scratch_even_when_it_hangs(tmp_path, runner):
    """The parent is SIGKILLed (no handler runs in it); the child, signalled by the
    kernel, hangs while unwinding. Its watchdog's exit still removes the scratch
    (a non-empty one: the deck it was writing) after CLEANUP_S."""
    import signal
    import subprocess
    import sys

    from cosim.runs.isolated import CLEANUP_S

    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    root = tmp_path / "scratch"
    proc = subprocess.Popen([sys.executable, str(script), runner, str(root)],
                            stdout=subprocess.PIPE, text=True)
    scratch = proc.stdout.readline().strip()
    assert scratch and os.path.exists(os.path.join(scratch, "deck.cir"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + CLEANUP_S + 5
    while os.path.exists(scratch) and time.monotonic() < end:
        time.sleep(0.1)
    assert not os.path.exists(scratch)


def test_a_scratch_still_being_written_is_removed_whole(tmp_path):
    """A stopped child removes its scratch while deck threads it does not wait for
    still make run directories in it; nothing may survive under either name."""
    import tempfile
    import threading

    from cosim.simulators.processes import remove_tree_in_use

    scratch = tmp_path / "cosim-work-1"
    scratch.mkdir()
    stop = threading.Event()
    made = [0]

    def writer() -> None:
        while not stop.is_set():
            try:
                rundir = tempfile.mkdtemp(prefix="cosim-crossbar-", dir=scratch)
                for name in ("deck.cir", "deck.log"):
                    with open(os.path.join(rundir, name), "w") as f:
                        f.write("x" * 10_000)
                made[0] += 1
            except OSError:  # the scratch is gone: what a late deck thread meets
                pass

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    while made[0] < 20:  # the writers are busy in it
        time.sleep(0.001)
    remove_tree_in_use(scratch)
    time.sleep(0.05)  # writers keep trying after the removal
    stop.set()
    for t in threads:
        t.join()
    assert list(tmp_path.iterdir()) == []


KEEPER = """import os, sys, time
from pathlib import Path
from cosim.errors import SimulationError
from cosim.runs.isolated import StoppableWorker


def fails_keeping_its_deck():
    (Path(os.environ["COSIM_SCRATCH"]) / "deck.cir").write_text("* kept on failure")
    raise SimulationError("failed", rundir=Path(os.environ["COSIM_SCRATCH"]))


w = StoppableWorker()
try:
    w.call(fails_keeping_its_deck, timeout_s=None, what="t", scratch_root=sys.argv[1])
except SimulationError as exc:
    print(exc.rundir, w.pid, flush=True)
time.sleep(600)  # the worker idles between calls
"""


def test_an_idle_worker_orphaned_by_sigkill_keeps_the_folder_its_failure_named(tmp_path):
    """A call that failed keeping its deck hands the scratch to the parent (the error
    names it); the worker, killed later while idle, must not remove it."""
    import signal
    import subprocess
    import sys

    from cosim.runs.isolated import CLEANUP_S
    from cosim.simulators.processes import wait_gone

    script = tmp_path / "keeper.py"
    script.write_text(KEEPER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "scratch")],
                            stdout=subprocess.PIPE, text=True)
    rundir, child = proc.stdout.readline().split()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_gone([int(child)], CLEANUP_S + 5) == []  # it ran its way out
    assert os.path.exists(os.path.join(rundir, "deck.cir"))
