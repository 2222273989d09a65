"""Batched vs one-simulation-per-vector throughput of the spice engine.

    .venv/bin/python benchmarks/batching.py [--vectors 100]

Prints one JSON object: for 32x32 and 64x64 resistive arrays (ideal wires),
seconds for K vectors as one ``.dc`` sweep, as one stepped PWL transient, and
as K separate ``.op`` runs; ratios per_vector/dc and tran/dc. All runs use
one ngspice process at a time (jobs=1) so the ratio measures batching alone.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform

import numpy as np
from _timing import best_of

from cosim.engines import get_engine
from cosim.simulators.ngspice import available
from cosim.studies.compare import CompareSpec, build_case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=100)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    args = ap.parse_args()
    out = {"benchmark": "batching", "vectors": args.vectors, "ngspice": available().version,
           "machine": platform.machine(), "cases": []}
    for n in args.sizes:
        state, config, x = build_case(CompareSpec(rows=n, cols=n, vectors=args.vectors))
        engines = {m: get_engine("spice", batch=m, jobs=1) for m in ("dc", "tran", "op")}
        res = {m: e.run(state, x, config) for m, e in engines.items()}  # warm-up + check
        agree = max(float(np.abs(res[m].i_col_a - res["dc"].i_col_a).max()
                          / np.abs(res["dc"].i_col_a).max()) for m in ("tran", "op"))
        t = {m: best_of(functools.partial(e.run, state, x, config), 1 if m == "op" else 3)
             for m, e in engines.items()}
        out["cases"].append({
            "rows": n, "cols": n, "seconds_dc": t["dc"], "seconds_tran": t["tran"],
            "seconds_per_vector": t["op"],
            "ratio_per_vector_over_dc": t["op"] / t["dc"],
            "ratio_tran_over_dc": t["tran"] / t["dc"],
            "max_rel_disagreement": agree,
        })
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
