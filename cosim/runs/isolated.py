"""Stoppable work: run a function in a forked child that can be killed on a deadline.

A numpy solve or a scipy factorisation cannot be interrupted from Python; a
child process can. :func:`run_isolated` forks, runs the function in the child
(its own process group, signalled when the parent dies, simulators' run
directories under a scratch folder of its own) and sends the result or the
exception back through a pipe. The parent waits with the deadline:

- the result comes back: scratch removed (it is empty unless a failure kept a
  simulator's run directory there, which is then named by the error);
- the deadline passes: the child gets SIGUSR1, raised in it as a timeout (the
  simulator in flight is killed and its run directory kept), then SIGKILL after a
  grace period; :class:`SimulationTimeout` names the scratch
  folder with what the child left (netlist and log of the deck in flight);
- the parent is interrupted (Ctrl-C, SIGTERM): the child is stopped the same
  way, the scratch removed, and the interrupt goes on up.

Fork (not spawn) keeps the cost to milliseconds and needs nothing picklable but
the result. Output the child prints goes to the parent's terminal as it is.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cosim.errors import CosimError, SimulationTimeout
from cosim.simulators.processes import (
    GRACE_S,
    SCRATCH_ENV,
    die_with_parent,
    handle_stop_signals,
    is_empty_tree,
    kill_group,
    new_scratch,
    raise_terminated,
    remove_tree_in_use,
)

T = TypeVar("T")


def run_isolated(fn: Callable[..., T], *args: Any, timeout_s: float | None, what: str,
                 scratch_root: str | Path | None = None) -> T:
    """``fn(*args)`` in a forked child, stopped after ``timeout_s`` seconds (None: never).

    Exceptions raised by ``fn`` are raised here (they must pickle; the project's own
    do). ``what`` names the work in messages ("compare", "point a1b2")."""
    scratch = new_scratch(scratch_root, "work")
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = _fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        _child(fn, args, write_fd, scratch, parent)
    os.close(write_fd)
    try:
        payload = _receive(read_fd, time.monotonic(), timeout_s)
    except BaseException:  # interrupted: stop the child, nothing of it is kept
        _stop(pid)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        os.close(read_fd)
    if payload is None:  # past the deadline
        _stop(pid, signal.SIGUSR1)
        raise _timeout(what, timeout_s, scratch)
    _, status = os.waitpid(pid, 0)
    _drop_if_empty(scratch)
    return _result(payload, what, status)


def _fork() -> int:
    """fork with flushed streams (nothing printed twice); in the parent, the child is
    put in its own group at once, so that a kill right after fork finds the group."""
    _flush()
    pid = os.fork()
    if pid:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
    return pid


def _become_stoppable(parent: int) -> None:
    """In a fresh child: its own group (one killpg stops it and what it started),
    SIGTERM when the parent dies, the stop signals raised as exceptions."""
    os.setpgid(0, 0)
    die_with_parent(signal.SIGTERM, parent)
    handle_stop_signals({signal.SIGTERM: _terminated_with_watchdog,
                         signal.SIGINT: _terminated_with_watchdog,
                         signal.SIGUSR1: _deadline_passed})


def _child(fn: Callable, args: tuple, write_fd: int, scratch: Path, parent: int) -> None:
    code = 0
    try:
        _become_stoppable(parent)
        _in_flight(scratch, parent)
        try:
            out = (True, fn(*args))
        except BaseException as exc:
            from cosim.runs.files import discard_empty_run_dirs

            discard_empty_run_dirs()
            if os.getppid() != parent:  # the parent was killed: _exit removes the scratch
                raise
            out = (False, exc)
        _send(write_fd, _encode(out))
        _answered()
    except BaseException:  # stopped (deadline, interrupt, parent gone)
        code = 1
    finally:
        _exit(code)


def _encode(out: tuple[bool, Any]) -> bytes:
    """(ok, result or exception), pickled; an unpicklable one becomes a CosimError."""
    try:
        return pickle.dumps(out)
    except Exception as exc:
        return pickle.dumps((False, CosimError(
            f"{type(out[1]).__name__}: {out[1]} (could not be sent back: {exc})")))


def _result(payload: bytes, what: str, status: int) -> Any:
    """The child's answer: its result, or its exception raised here; an empty answer
    (it died first) is a CosimError naming how it ended."""
    if not payload:
        raise CosimError(f"{what}: the worker process died ({_describe(status)}) before "
                         "returning a result; out of memory?")
    ok, value = pickle.loads(payload)
    if ok:
        return value
    raise value


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: nothing to lose
            pass


_IN_FLIGHT: list = [None, 0]
"""[scratch, parent pid] of the call this child runs."""


def _in_flight(scratch: Path, parent: int) -> None:
    _IN_FLIGHT[:] = [scratch, parent]
    os.environ[SCRATCH_ENV] = str(scratch)


def _answered() -> None:
    """The call's answer is sent: its scratch is the parent's now (a failure's kept
    deck, named by the error, must outlive this child)."""
    _IN_FLIGHT[0] = None


def _exit(code: int) -> None:
    """A child's way out, orderly or by the watchdog: flush, remove the scratch of the
    call in flight when the parent died (nobody else will), then leave without
    running the parent's exit handlers."""
    _flush()
    scratch, parent = _IN_FLIGHT
    if scratch is not None and os.getppid() != parent:
        remove_tree_in_use(scratch)
    os._exit(code)


_DEADLINE_HIT = False
CLEANUP_S = 2.0
"""A stopped child gets this long to clean up before it exits regardless (its
simulators die with it: they are signalled when their parent thread ends)."""


def _terminated_with_watchdog(signum: int, frame: object) -> None:
    """SIGTERM in a child: unwind to clean up, but never hang on the way out."""
    import threading

    timer = threading.Timer(CLEANUP_S, _exit, (1,))
    timer.daemon = True
    timer.start()
    raise_terminated(signum, frame)


def _deadline_passed(signum: int, frame: object) -> None:
    global _DEADLINE_HIT
    _DEADLINE_HIT = True
    raise SimulationTimeout("the deadline passed")


def _stop(pid: int, first: int = signal.SIGTERM) -> None:
    """Signal the child (SIGTERM: interrupted, SIGUSR1: deadline), SIGKILL its group
    after the grace period, reap the child."""
    if first == signal.SIGTERM:
        kill_group(pid, first)
    else:
        try:
            os.kill(pid, first)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            kill_group(pid, signal.SIGKILL)  # anything it left in its group
            return
        time.sleep(0.02)
    kill_group(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _timeout(what: str, timeout_s: float, scratch: Path) -> SimulationTimeout:
    """The timeout error, naming the deck that was running (netlist, log tail)."""
    message = f"{what} timed out after {timeout_s:g} s (raise the timeout to let it finish)"
    if _drop_if_empty(scratch):
        return SimulationTimeout(message)
    decks = sorted(scratch.rglob("*.cir"), key=lambda p: p.stat().st_mtime)
    if not decks:
        return SimulationTimeout(message, rundir=scratch)
    from cosim.simulators.ngspice import log_tail

    log = decks[-1].with_suffix(".log")
    tail = log_tail(log.read_text(errors="replace")) if log.exists() else ""
    return SimulationTimeout(message, rundir=decks[-1].parent, netlist=decks[-1], log_tail=tail)


def _drop_if_empty(path: Path) -> bool:
    if is_empty_tree(path):
        shutil.rmtree(path, ignore_errors=True)
        return True
    return False


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"killed by {signal.Signals(sig).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


_HEADER = struct.Struct("<Q")


class StoppableWorker:
    """A forked child that runs calls one after another, each stoppable like
    :func:`run_isolated`, without paying the fork (and the child re-touching the
    parent's memory) on every call: the child stays while its calls finish and is
    killed, to be forked again on the next call, when one passes its deadline or
    the caller is interrupted. Functions and arguments go to it pickled (they
    must be importable: module-level functions)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._to_child = self._from_child = -1

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float | None, what: str,
             scratch_root: str | Path | None = None) -> T:
        if self.pid is None:
            self._start()
        scratch = new_scratch(scratch_root, "work")
        t0 = time.monotonic()
        try:
            _send(self._to_child, pickle.dumps((fn, args, str(scratch))))
            payload = _receive(self._from_child, t0, timeout_s)
        except BaseException:  # interrupted: stop the child, nothing of it is kept
            self._discard(signal.SIGTERM)
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        if payload is None:  # past the deadline
            self._discard(signal.SIGUSR1)
            raise _timeout(what, timeout_s, scratch)
        _drop_if_empty(scratch)
        status = 0
        if not payload:  # the child died: reap it, the next call forks a new one
            pid, self.pid = self.pid, None
            _, status = os.waitpid(pid, 0)
            self._close()
        return _result(payload, what, status)

    def _start(self) -> None:
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        parent = os.getpid()
        pid = _fork()
        if pid == 0:  # child: never returns
            os.close(req_w)
            os.close(res_r)
            _serve(req_r, res_w, parent)
        os.close(req_r)
        os.close(res_w)
        self.pid, self._to_child, self._from_child = pid, req_w, res_r

    def _discard(self, first: int) -> None:
        if self.pid is not None:
            pid, self.pid = self.pid, None
            _stop(pid, first)
        self._close()

    def _close(self) -> None:
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                os.close(fd)
        self._to_child = self._from_child = -1

    def close(self) -> None:
        """Let the child exit (it ends when its request pipe closes) and reap it."""
        pid, self.pid = self.pid, None
        self._close()
        if pid is not None:
            os.waitpid(pid, 0)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int, t0: float, timeout_s: float | None) -> bytes | None:
    """One framed message; b"" when the pipe closed first; None past the deadline."""
    buf = bytearray()
    need = _HEADER.size
    header_done = False
    while True:
        if len(buf) >= need:
            if header_done:
                return bytes(buf[_HEADER.size:need])
            need = _HEADER.size + _HEADER.unpack(bytes(buf[:_HEADER.size]))[0]
            header_done = True
            continue
        left = None if timeout_s is None else timeout_s - (time.monotonic() - t0)
        if left is not None and left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b""
        buf += chunk


def _serve(req_fd: int, res_fd: int, parent: int) -> None:
    """The worker child's loop: run each request, answer it; exit when the pipe closes."""
    code = 0
    try:
        _become_stoppable(parent)
        while True:
            request = _receive(req_fd, time.monotonic(), None)
            if not request:
                break
            fn, args, scratch = pickle.loads(request)
            _in_flight(Path(scratch), parent)
            try:
                out = (True, fn(*args))
            except Exception as exc:  # every failure goes to the parent
                out = (False, exc)
            _send(res_fd, _encode(out))
            _answered()
            if _DEADLINE_HIT:  # the parent gave up on this call and stops this child
                break
    except BaseException:  # stopped (deadline, interrupt, parent gone)
        code = 1
    finally:
        _exit(code)
