"""The ngspice subprocess harness: success, failure, timeouts, raw files."""

import time

import numpy as np
import pytest

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
