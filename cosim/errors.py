"""Error types. User mistakes are ParamError (exit 2 from the CLI); simulator
failures are SimulationError and carry what is needed to reproduce them."""

from __future__ import annotations

from pathlib import Path

from device_models.validation import ParamError


class CosimError(Exception):
    """Base of the project's own failures."""


class EngineUnavailable(CosimError):
    """An engine cannot run here (e.g. ngspice missing); the message says how to fix it."""


class SimulationError(CosimError):
    """A simulation failed. The run directory with netlist and log is kept."""

    def __init__(self, message: str, *, rundir: Path | None = None,
                 netlist: Path | None = None, log_tail: str = "",
                 simulator: str = "ngspice") -> None:
        self.message = message
        self.simulator = simulator
        self.rundir = rundir
        self.netlist = netlist
        self.log_tail = log_tail
        parts = [message]
        if rundir is not None:
            parts.append(f"rundir: {rundir}")
        if netlist is not None:
            parts.append(f"netlist: {netlist}  (re-run: cd {netlist.parent} && "
                         f"{simulator} -b -r out.raw {netlist.name})")
        if log_tail:
            parts.append("ngspice log tail:\n" + log_tail)
        super().__init__("\n".join(parts))

    def __reduce__(self):  # keep the paths when sent between processes
        return _rebuild, (type(self), self.message, self.rundir, self.netlist, self.log_tail,
                          self.simulator)


def _rebuild(kind: type[SimulationError], message: str, rundir: Path | None,
             netlist: Path | None, log_tail: str, simulator: str) -> SimulationError:
    return kind(message, rundir=rundir, netlist=netlist, log_tail=log_tail,
                simulator=simulator)


class SimulationTimeout(SimulationError):
    """A simulation ran past its wall-clock limit (any engine)."""


__all__ = ["CosimError", "EngineUnavailable", "ParamError", "SimulationError",
           "SimulationTimeout"]
