"""Which ngspice runs the decks: every candidate found, its version and features,
and the best one.

Candidates, in this order:

1. ``$COSIM_NGSPICE``: when set, the only one (forced; an error if unusable);
2. the project's own builds, ``${XDG_CACHE_HOME:-~/.cache}/cosim/ngspice-*``
   (``bash bootstrap.sh`` builds ngspice 46 with KLU and OSDI there);
3. ``ngspice`` on PATH (Debian's 39.3: no KLU, no OSDI).

The best usable one wins: KLU first, then OSDI, then the newer version. KLU is
read from ``--version`` ("Compiled with KLU"); OSDI by asking the binary for
its ``osdi`` command (ngspice >= 44 built with it). Probes are cached per
process for the same environment.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cosim.simulators.processes import run_tool

FORCE_ENV = "COSIM_NGSPICE"
PROBE_TIMEOUT_S = 10.0
INSTALL_HINT = ("install it as root: apt-get update && apt-get install -y ngspice "
                "libngspice0-dev (or run `bash bootstrap.sh setup`, which also builds "
                "ngspice 46 with KLU and OSDI)")


@dataclass(frozen=True)
class NgspiceInfo:
    path: str
    version: str
    """Version as ngspice prints it, e.g. ``39.3`` or ``46``."""
    klu: bool = False
    """Built with KLU: decks with ``.options klu`` use it (Sparse 1.3 otherwise)."""
    osdi: bool = False
    """Loads compiled Verilog-A models (OSDI objects)."""
    origin: str = "PATH"
    """Where it was found: COSIM_NGSPICE, built (the project's cache) or PATH."""

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", self.version)[:3])

    def describe(self) -> str:
        yes = {True: "yes", False: "no"}
        return (f"ngspice {self.version} at {self.path} (KLU {yes[self.klu]}, "
                f"OSDI {yes[self.osdi]}; {self.origin})")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cosim"


def built() -> list[str]:
    """The project's finished ngspice builds (a ``.complete`` stamp marks one)."""
    return [str(p / "bin" / "ngspice") for p in sorted(cache_root().glob("ngspice-*"))
            if (p / ".complete").exists() and (p / "bin" / "ngspice").exists()]


def candidates() -> list[tuple[str, str]]:
    """(path, origin) of every simulator to consider, in order."""
    forced = os.environ.get(FORCE_ENV)
    if forced:
        return [(shutil.which(forced) or forced, FORCE_ENV)]
    found = [(p, "built") for p in built()]
    on_path = shutil.which("ngspice")
    if on_path is not None:
        found.append((on_path, "PATH"))
    return found


def probe_path(path: str, origin: str, timeout_s: float | None = None
               ) -> tuple[NgspiceInfo | None, str]:
    """(info, "") when ``path`` answers ``--version`` as ngspice; (None, why) otherwise."""
    timeout_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        out = run_tool([path, "--version"], timeout_s)
    except subprocess.TimeoutExpired:
        return None, (f"ngspice at {path} did not answer `ngspice --version` within "
                      f"{timeout_s:g} s (hung or blocked); run it by hand to see why")
    except OSError as exc:
        return None, f"ngspice at {path} cannot be started: {exc.strerror or exc}"
    text = out.stdout + out.stderr
    m = re.search(r"ngspice-([\d.]+\w*)", text)
    if m is None:
        return None, (f"{path} answered `--version` without an ngspice version "
                      f"(exit {out.returncode}): {text.strip()[:200]!r}")
    info = NgspiceInfo(path=path, version=m.group(1), klu="Compiled with KLU" in text,
                       origin=origin)
    if info.version_key >= (44,):
        info = NgspiceInfo(path, info.version, info.klu, _has_osdi(path, timeout_s), origin)
    return info, ""


OSDI_PROBE = "* osdi probe\n.control\nosdi\nquit\n.endc\n.end\n"


def _has_osdi(path: str, timeout_s: float) -> bool:
    """Whether the binary knows the ``osdi`` command (built with --enable-osdi).

    The deck goes in on stdin: no file, so a probe killed by an interrupt (it runs
    in every sweep worker) leaves nothing behind."""
    try:
        out = run_tool([path, "-b"], timeout_s, stdin_text=OSDI_PROBE)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "no such command" not in (out.stdout + out.stderr).lower()


def probe_all(timeout_s: float | None = None) -> list[tuple[str, NgspiceInfo | None, str]]:
    """(path, info or None, why) for every candidate."""
    return [(path, *probe_path(path, origin, timeout_s)) for path, origin in candidates()]


def best(timeout_s: float | None = None) -> tuple[NgspiceInfo | None, str]:
    """The simulator the harness uses, or (None, why none is usable)."""
    key = (os.environ.get(FORCE_ENV), os.environ.get("PATH"), tuple(built()),
           PROBE_TIMEOUT_S if timeout_s is None else timeout_s)
    return _best(key)


@functools.lru_cache(maxsize=8)
def _best(key: tuple) -> tuple[NgspiceInfo | None, str]:
    forced, _, _, timeout_s = key
    found = probe_all(timeout_s)
    if not found:
        return None, f"ngspice was not found on PATH; {INSTALL_HINT}"
    usable = [info for _, info, _ in found if info is not None]
    if not usable:
        why = found[0][2]
        return None, (f"{FORCE_ENV}={forced}: {why}" if forced else why)
    return max(usable, key=rank), ""


def rank(info: NgspiceInfo) -> tuple:
    """The order of preference: KLU, then OSDI, then the newer version."""
    return (info.klu, info.osdi, info.version_key)


def forget() -> None:
    """Drop the cached probes (after building or installing a simulator)."""
    _best.cache_clear()
