"""The ngspice subprocess harness: success, failure, timeouts, raw files."""

import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.errors import SimulationError
from cosim.simulators import ngspice
from cosim.simulators.rawfile import RawFileError, read_raw

pytestmark = pytest.mark.ngspice

DIVIDER = """* divider
V1 a 0 DC 1
R1 a b 1k
R2 b 0 3k
.dc V1 0 2 0.5
.end
"""


def test_run_reads_binary_raw(tmp_path):
    out = ngspice.run_deck(DIVIDER, workdir=tmp_path, expect_points=5)
    np.testing.assert_allclose(out.plot["v(b)"], 0.75 * np.array([0, 0.5, 1, 1.5, 2]),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.plot["i(v1)"], -np.array([0, 0.5, 1, 1.5, 2]) / 4e3,
                               rtol=1e-12, atol=1e-18)
    assert out.rundir is None and not any(tmp_path.iterdir())  # cleaned on success


def test_keep_always_leaves_deck_log_and_raw(tmp_path):
    out = ngspice.run_deck(DIVIDER, workdir=tmp_path, keep="always", name="div")
    assert {p.name for p in out.rundir.iterdir()} == {"div.cir", "div.log", "div.raw"}


def test_broken_netlist_names_rundir_and_log_tail(tmp_path):
    broken = "* broken\nV1 a 0 DC 1\nR1 a b notanumber\n.op\n.end\n"
    with pytest.raises(SimulationError) as exc:
        ngspice.run_deck(broken, workdir=tmp_path)
    err = exc.value
    assert err.rundir is not None and err.rundir.is_dir()  # kept on failure
    assert err.netlist.read_text() == broken
    assert str(err.rundir) in str(err)
    assert "r1 a b notanumber" in err.log_tail.lower()  # the log tail shows ngspice's complaint
    assert "exited with status" in str(err)


def test_short_raw_file_is_detected(tmp_path):
    with pytest.raises(SimulationError, match="expected 7"):
        ngspice.run_deck(DIVIDER, workdir=tmp_path, expect_points=7)


def test_timeout_kills_ngspice(tmp_path):
    slow = ("* slow\nV1 a 0 SIN(0 1 1e6)\nR1 a 0 1k\nC1 a 0 1p\n"
            ".tran 1e-12 1 0 1e-12\n.end\n")
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="timed out"):
        ngspice.run_deck(slow, workdir=tmp_path, timeout_s=1.0)
    assert time.perf_counter() - t0 < 10


def test_truncated_raw_file_is_an_error(tmp_path):
    out = ngspice.run_deck(DIVIDER, workdir=tmp_path, keep="always", name="d")
    raw = out.rundir / "d.raw"
    data = raw.read_bytes()
    raw.write_bytes(data[:-8])
    with pytest.raises(RawFileError, match="truncated"):
        read_raw(raw)


def test_available_reports_version():
    info = ngspice.available()
    assert info is not None and info.version[0].isdigit()


OP_DECK = "* op\nV1 a 0 DC 1\nR1 a b 1k\nR2 b 0 3k\nR3 b c 2k\nR4 c 0 2k\n.op\n.end\n"


@pytest.fixture(scope="module")
def op_raw(tmp_path_factory) -> bytes:
    out = ngspice.run_deck(OP_DECK, workdir=tmp_path_factory.mktemp("op"), keep="always",
                           name="op")
    return (out.rundir / "op.raw").read_bytes()


def test_raw_truncated_inside_the_variables_block_fails_at_once(tmp_path, op_raw):
    """The reported hang: a file cut inside ``Variables:`` made the reader re-read its
    header forever. Every cut inside the header must now fail, each in well under 1 s."""
    assert b"Variables:" in op_raw[:230]
    raw = tmp_path / "cut.raw"
    header_end = op_raw.index(b"Binary:\n") + len(b"Binary:\n")
    for cut in [230, *range(1, header_end)]:
        raw.write_bytes(op_raw[:cut])
        t0 = time.perf_counter()
        with pytest.raises(RawFileError, match=r"truncated raw file at byte|no 'no\. "):
            read_raw(raw)
        assert time.perf_counter() - t0 < 1.0


@settings(max_examples=300, deadline=1000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_raw_reader_fuzz_truncated_and_corrupted(tmp_path, op_raw, data):
    """Truncations, flipped bytes, inserted and deleted runs: the reader returns plots
    or raises RawFileError, never anything else and never slowly (deadline 1 s)."""
    blob = bytearray(op_raw)
    for _ in range(data.draw(st.integers(0, 4), label="edits")):
        kind = data.draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(blob) - 1)))
        if kind == "cut":
            del blob[at:]
        elif kind == "flip" and blob:
            blob[at] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=40))
        else:
            del blob[at:at + data.draw(st.integers(1, 40))]
    raw = tmp_path / "fuzz.raw"
    raw.write_bytes(bytes(blob))
    try:
        plots = read_raw(raw)
    except RawFileError:
        return
    assert all(p.points >= 0 for p in plots)


def test_probe_names_a_simulator_that_hangs_on_version(tmp_path, monkeypatch):
    fake = tmp_path / "ngspice"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    from cosim.simulators import finder

    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))  # no built ngspice
    monkeypatch.setattr(finder, "PROBE_TIMEOUT_S", 0.5)
    info, why = ngspice.probe()
    assert info is None and "did not answer `ngspice --version` within 0.5 s" in why
    assert "not found" not in why
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert "not found on PATH" in ngspice.probe()[1]


def test_interrupted_deck_is_killed_and_its_rundir_removed(tmp_path):
    """Ctrl-C while waiting (KeyboardInterrupt): ngspice is killed, nothing kept."""

    slow = "* slow\nV1 a 0 SIN(0 1 1e6)\nR1 a 0 1k\nC1 a 0 1p\n.tran 1e-12 1 0 1e-12\n.end\n"
    seen = {}

    def interrupt_soon():  # a real SIGINT, as Ctrl-C sends: it interrupts the wait
        import os
        import signal

        time.sleep(1.0)
        seen["pids"] = list(ngspice._LIVE)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_soon).start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        ngspice.run_deck(slow, workdir=tmp_path, timeout_s=60)
    assert time.perf_counter() - t0 < 5  # not the deck's 60 s timeout
    from cosim.simulators.processes import wait_gone

    assert seen["pids"] and wait_gone(seen["pids"]) == []
    assert not any(tmp_path.iterdir())


def test_a_deck_starting_while_stop_all_runs_is_stopped_too(tmp_path, monkeypatch):
    """The race of an interrupt with a deck being started on another thread: stop_all
    runs after the process exists but before it is registered. The deck must still
    be killed (it ran for its whole timeout before: 600 s with a hanging simulator)."""
    slow = "* slow\nV1 a 0 SIN(0 1 1e6)\nR1 a 0 1k\nC1 a 0 1p\n.tran 1e-12 1 0 1e-12\n.end\n"
    real_popen = ngspice.subprocess.Popen
    started = []

    def popen_then_interrupt(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        ngspice.stop_all()  # another thread's interrupt, in the window
        return proc

    monkeypatch.setattr(ngspice.subprocess, "Popen", popen_then_interrupt)
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="stopped"):
        ngspice.run_deck(slow, workdir=tmp_path, timeout_s=60)
    assert time.perf_counter() - t0 < 5
    from cosim.simulators.processes import wait_gone

    assert started and wait_gone(started) == []
    assert not any(tmp_path.iterdir())  # an interrupt keeps nothing


def test_map_decks_returns_on_an_interrupt_without_waiting_for_a_deck_being_written():
    """A thread still writing its deck (Python, not interruptible) must not hold up
    the interrupt: a stopped process has CLEANUP_S (2 s) to remove its scratch, and
    waiting for the thread made it miss that under load (scratch left behind)."""
    writing, release = threading.Event(), threading.Event()

    def item(k: int) -> int:
        if k == 0:
            assert writing.wait(5)
            raise KeyboardInterrupt  # the interrupt, as the waiting thread sees it
        writing.set()
        release.wait(10)  # "writing a deck" for 10 s
        return k

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        ngspice.map_decks(item, [0, 1], workers=2)
    assert time.perf_counter() - t0 < 2.0  # measured ~1 ms; waiting is 10 s
    release.set()


def test_map_decks_keeps_order_and_runs_serially_with_one_worker():
    assert ngspice.map_decks(lambda k: k * k, range(5), workers=3) == [0, 1, 4, 9, 16]
    seen = []
    assert ngspice.map_decks(lambda k: seen.append(threading.get_ident()) or k, [1, 2],
                             workers=1) == [1, 2]
    assert set(seen) == {threading.get_ident()}
