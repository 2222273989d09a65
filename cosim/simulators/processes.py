"""Child processes that cannot outlive the cosim process that started them.

Three guards, from the gentlest:

- the interrupt path (SIGINT, SIGTERM) stops every descendant it knows of:
  :func:`stop_descendants` walks the process tree (psutil), SIGTERMs it, waits a
  grace period and SIGKILLs what is left;
- a child asks the kernel to signal it when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, Linux), so a SIGKILLed cosim, which runs no
  handler at all, still takes its simulators with it;
- work that must be stoppable runs in its own process group, killed as a whole.

Scratch space: run directories of simulators go under ``$COSIM_SCRATCH`` when
it is set (the stoppable-work runner sets it per task, so the parent can remove
what a killed child left behind).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SCRATCH_ENV = "COSIM_SCRATCH"
GRACE_S = 0.5
"""Time a SIGTERMed descendant gets to clean up before SIGKILL (our own children
need milliseconds: kill a simulator, remove a folder)."""

_PR_SET_PDEATHSIG = 1
try:  # resolved once, here: a preexec function must not load libraries after fork
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the interrupt path still stops children
    _prctl = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup path runs (exit 143)."""

    exit_code = 143


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


_HANDLER_OWNER = [0]
"""The pid that installed the stop handlers (see :func:`handle_stop_signals`)."""


def handle_stop_signals(handlers: dict[int, Callable[[int, object], None]]) -> None:
    """Install ``handlers`` (signal -> handler) for this process alone.

    A fork of this process that has not exec'd yet inherits them: a subprocess
    started with ``preexec_fn`` runs Python's after-fork hooks between fork and
    exec, still in this process group, and a stop signal sent to the group there
    raised inside those hooks ("Exception ignored in _after_fork" and a traceback
    on the terminal). Such a fork ignores the signal instead; the stop reaches it
    another way (its group is killed, or it dies with its parent)."""
    _HANDLER_OWNER[0] = os.getpid()
    for sig, handler in handlers.items():
        signal.signal(sig, functools.partial(_if_owner, handler))


def _if_owner(handler: Callable[[int, object], None], signum: int, frame: object) -> None:
    if os.getpid() == _HANDLER_OWNER[0]:
        handler(signum, frame)


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent thread exits.

    Call it in the child, right after fork. When the parent already died in
    between (``parent`` given and no longer our parent), exit at once."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def simulator_preexec() -> None:
    """``preexec_fn`` of simulator subprocesses (they also get their own session)."""
    die_with_parent(signal.SIGKILL)


def run_tool(cmd: list[str], timeout_s: float, cwd: str | Path | None = None,
             stdin_text: str | None = None) -> subprocess.CompletedProcess:
    """A short external command (a version probe, a compiler) with the same guards as
    the simulators: own session, dies with its parent; stdin is ``stdin_text`` or
    nothing; output captured as text. Raises subprocess.TimeoutExpired (the command
    is killed) or OSError."""
    stdin = {"input": stdin_text} if stdin_text is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                          start_new_session=True, preexec_fn=simulator_preexec, **stdin)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_descendants(grace_s: float = GRACE_S) -> list[int]:
    """SIGTERM every descendant of this process, SIGKILL those alive after ``grace_s``.

    Returns the pids that were signalled (for tests and logs)."""
    import psutil

    try:
        children = [p for p in psutil.Process().children(recursive=True)
                    if not _is_tracker(p) and not _is_zombie(p)]  # zombies are dead already
    except psutil.Error:
        return []
    for p in children:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)
    return [p.pid for p in children]


def _is_zombie(proc) -> bool:
    import psutil

    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _is_tracker(proc) -> bool:
    """multiprocessing's resource tracker: it ends by itself when this process exits,
    and killing it first makes it print tracebacks about leaked semaphores."""
    import psutil

    try:
        return "multiprocessing.resource_tracker" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def scratch_dir() -> Path | None:
    """Where simulators put their run directories (None: the system temp dir)."""
    value = os.environ.get(SCRATCH_ENV)
    return Path(value) if value else None


def new_scratch(root: str | Path | None, label: str) -> Path:
    """A fresh scratch directory named after this process, for one stoppable task."""
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"cosim-{label}-{os.getpid()}-", dir=root))


def is_empty_tree(path: Path) -> bool:
    """True when ``path`` holds no file at any depth (only empty folders)."""
    return path.is_dir() and not any(p.is_file() or p.is_symlink() for p in path.rglob("*"))


def remove_tree_in_use(path: Path, tries: int = 5) -> None:
    """Remove a folder that other threads of this process may still be writing into
    (a stopped child's scratch: its deck threads are not waited for).

    Moved aside first, so that a path under the old name can make nothing more
    (``mkdtemp`` or ``open`` there fails), then removed; retried while a file
    opened before the move still lands. A plain ``rmtree`` lost that race: a
    thread made its run directory after the listing and the folder stayed."""
    gone = path.with_name(path.name + ".removing")
    try:
        os.rename(path, gone)
    except OSError:  # already gone, or not ours to move: remove in place
        gone = path
    for _ in range(tries):
        shutil.rmtree(gone, ignore_errors=True)
        if not gone.exists():
            return
        time.sleep(0.02)


def wait_gone(pids: list[int], timeout_s: float = 5.0) -> list[int]:
    """Pids still alive after waiting up to ``timeout_s`` (zombies count as gone)."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while True:
        alive = []
        for pid in pids:
            try:
                if not _is_zombie(psutil.Process(pid)):
                    alive.append(pid)
            except psutil.Error:  # gone
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
