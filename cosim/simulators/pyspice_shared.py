"""In-process ngspice through PySpice's shared-library binding (``NgSpiceShared``).

What PySpice serves here: small interactive runs without a process start per
deck, and its unit-aware waveforms for callers who want them. Large arrays go
through the subprocess harness (``cosim.simulators.ngspice``): a crash there kills one
job, never the caller, and jobs run in parallel.

PySpice 1.5's *subprocess* mode is not used at all: with ngspice 39 and numpy
2 its raw reader breaks (``Note:`` lines before ``Circuit:``; ``np.fromstring``
removed). The shared mode reads vectors straight from memory and works; it
logs "Unsupported Ngspice version 39", which is harmless.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from cosim.errors import EngineUnavailable, SimulationError
from cosim.simulators.ngspice import log_tail
from cosim.simulators.rawfile import RawPlot

_LOCK = threading.Lock()
_INSTANCE = None


def _shared():
    global _INSTANCE
    if _INSTANCE is None:
        try:
            logging.getLogger("PySpice").setLevel(logging.ERROR)
            from PySpice.Spice.NgSpice.Shared import NgSpiceShared
        except ImportError as exc:  # pragma: no cover - PySpice is a hard dependency
            raise EngineUnavailable(f"PySpice is not importable: {exc}") from None
        try:
            _INSTANCE = NgSpiceShared.new_instance()
        except (OSError, Exception) as exc:
            raise EngineUnavailable(
                f"libngspice could not be loaded by PySpice ({exc}); install libngspice0-dev "
                "or set NGSPICE_LIBRARY_PATH to libngspice.so.0") from None
    return _INSTANCE


def version() -> str | None:
    """PySpice version and the shared library's ngspice version, or None if unusable."""
    try:
        import PySpice

        ng = _shared()
        return f"PySpice {PySpice.__version__}, libngspice {ng.ngspice_version}"
    except EngineUnavailable:
        return None


def _vector_name(name: str) -> str:
    """PySpice names branch currents ``vs0#branch``; the raw files say ``i(vs0)``."""
    name = name.lower()
    return f"i({name[:-7]})" if name.endswith("#branch") else name


def run_deck_shared(deck: str, *, expect_points: int | None = None) -> tuple[RawPlot, float]:
    """Run a deck in the in-process ngspice; return its last plot and the wall time."""
    with _LOCK:
        ng = _shared()
        t0 = time.perf_counter()
        ng.destroy()
        ng.clear_output()
        try:
            ng.load_circuit(deck)
            ng.run()
        except Exception as exc:
            raise SimulationError(f"in-process ngspice failed: {exc}",
                                  log_tail=log_tail(ng.stderr)) from None
        plotname = ng.last_plot
        if plotname in ("const", None):
            raise SimulationError("in-process ngspice produced no analysis plot",
                                  log_tail=log_tail(ng.stderr))
        vectors = {_vector_name(k): np.array(v.to_waveform(), dtype=float)
                   for k, v in ng.plot(None, plotname).items()}
        seconds = time.perf_counter() - t0
    plot = RawPlot(title="", plotname=plotname, flags="real", vectors=vectors)
    if expect_points is not None and plot.points != expect_points:
        raise SimulationError(f"in-process ngspice gave {plot.points} points, "
                              f"expected {expect_points}")
    return plot, seconds
