"""The same decks on three simulator backends, in one run: times, ratios, agreement.

    .venv/bin/python benchmarks/simulator_backends.py [--quick] [--debian-limit 900]

Backends:
- ``debian``: Debian's ngspice 39.3 (Sparse 1.3; cells as B-sources), forced with
  COSIM_NGSPICE=/usr/bin/ngspice;
- ``klu``: the project's ngspice 46 build, ``.options klu``, cells as B-sources;
- ``klu_osdi``: the same with FeFET cells as compiled Verilog-A (OSDI).

Cases (1-ohm wire segments, one ngspice process, one deck, no superposition):
resistive 64x64 ``.dc`` K=100 and 128x128 ``.op``; FeFET 32x32, 64x64 and
128x128 ``.dc`` K=100; and a 256x256 FeFET array (K=10) on klu_osdi against the
nodal engine. A Debian run is stopped at ``--debian-limit`` seconds and reported
as such. Agreement: max |I - I_klu_osdi| / max |I_klu_osdi| (resistive cases: vs
klu). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from cosim.engines import get_engine
from cosim.errors import SimulationTimeout
from cosim.simulators import finder, ngspice
from cosim.studies.compare import CompareSpec, build_case

DEBIAN = "/usr/bin/ngspice"
BIG = "fefet_256_dc_k10_vs_nodal"
CASES = [  # name, cell, size, vectors (1 = .op)
    ("resistor_64_dc_k100", "resistor", 64, 100),
    ("resistor_128_op", "resistor", 128, 1),
    ("fefet_32_dc_k100", "fefet", 32, 100),
    ("fefet_64_dc_k100", "fefet", 64, 100),
    ("fefet_128_dc_k100", "fefet", 128, 100),
]


def solve(cell: str, n: int, k: int, backend: str, limit_s: float) -> tuple[float, np.ndarray]:
    """(seconds, column currents) of one deck on ``backend``."""
    state, config, x = build_case(CompareSpec(rows=n, cols=n, vectors=k, r_wire_ohm=1.0,
                                              cell=cell))
    if backend == "debian":
        os.environ[finder.FORCE_ENV] = DEBIAN
    else:
        os.environ.pop(finder.FORCE_ENV, None)
    models = "osdi" if backend == "klu_osdi" and cell != "resistor" else "bsource"
    eng = get_engine("spice", jobs=1, chunk=max(k, 1), superpose="off", models=models,
                     timeout_s=limit_s, batch="op" if k == 1 else "dc")
    t0 = time.perf_counter()
    res = eng.run(state, x, config)
    return time.perf_counter() - t0, res.i_col_a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 128x128 FeFET case and "
                    "the 256x256 one")
    ap.add_argument("--debian-limit", type=float, default=900.0)
    ap.add_argument("--cases", nargs="+", default=[c[0] for c in CASES] + [BIG],
                    choices=[c[0] for c in CASES] + [BIG])
    args = ap.parse_args()
    best = ngspice.require()
    assert best.klu and best.osdi, f"needs the ngspice 46 build; found {best.describe()}"
    os.environ[finder.FORCE_ENV] = DEBIAN
    debian = ngspice.require()
    os.environ.pop(finder.FORCE_ENV)
    out: dict = {"benchmark": "simulator_backends", "wire_ohm": 1.0,
                 "simulators": {"debian": debian.describe(), "klu": best.describe()},
                 "cases": {}}
    cases = [c for c in CASES if c[0] in args.cases
             and not (args.quick and c[2] >= 128 and c[1] == "fefet")]
    for name, cell, n, k in cases:
        row: dict = {}
        currents = {}
        for backend in ("klu_osdi", "klu", "debian"):
            if backend == "klu_osdi" and cell == "resistor":
                continue  # nothing to compile: the resistive decks are the klu ones
            try:
                t, i = solve(cell, n, k, backend,
                             args.debian_limit if backend == "debian" else 3600.0)
            except SimulationTimeout:
                row[f"{backend}_s"] = None
                row[f"{backend}_note"] = f"stopped at {args.debian_limit:g} s"
                continue
            row[f"{backend}_s"] = t
            currents[backend] = i
        ref_name = "klu" if cell == "resistor" else "klu_osdi"
        ref = currents[ref_name]
        for backend, i in currents.items():
            if backend != ref_name:
                row[f"{backend}_vs_{ref_name}_max_rel"] = float(
                    np.abs(i - ref).max() / np.abs(ref).max())
        for backend in ("klu", "klu_osdi"):
            if row.get("debian_s") and row.get(f"{backend}_s"):
                row[f"speedup_{backend}_over_debian"] = row["debian_s"] / row[f"{backend}_s"]
        out["cases"][name] = row
        print(json.dumps({name: row}), flush=True)
    os.environ.pop(finder.FORCE_ENV, None)
    if BIG in args.cases and not args.quick:
        state, config, x = build_case(CompareSpec(rows=256, cols=256, vectors=10,
                                                  r_wire_ohm=1.0, cell="fefet"))
        t0 = time.perf_counter()
        spice = get_engine("spice", jobs=1, chunk=10, models="osdi", timeout_s=3600.0).run(
            state, x, config)
        t_spice = time.perf_counter() - t0
        t0 = time.perf_counter()
        nodal = get_engine("nodal").run(state, x, config)
        t_nodal = time.perf_counter() - t0
        out[BIG] = {
            "klu_osdi_s": t_spice, "nodal_s": t_nodal,
            "nodal_vs_spice_max_rel": float(np.abs(nodal.i_col_a - spice.i_col_a).max()
                                            / np.abs(spice.i_col_a).max())}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
