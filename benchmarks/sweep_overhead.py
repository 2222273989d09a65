"""Sweep overhead: 200 cheap points through the Dask sweep runner.

    .venv/bin/python benchmarks/sweep_overhead.py [--points 200] [--workers 2]

Prints JSON for two point sizes: total wall time of the sweep (cluster start,
scheduling, atomic writes, final table included), the sum of the points' own
run times, and overhead = wall x workers / sum - 1 (0 = perfect use of the
workers). "tiny": 24x24 ideal vs nodal, ~10 ms a point; "cheap": 16x16 ideal
vs spice (one ngspice run), ~0.1 s a point.

Also the price of stoppable points (a timeout must stop a point whatever the
engine, so points run in a child process): mean time of 20 points run one after
the other in this process, in a fresh forked child each (``run_isolated``, what
CLI commands do) and in one reused child (``StoppableWorker``, what sweep
workers do); ratios over in-process.
"""


from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cosim.engines import clear_caches
from cosim.runs.isolated import StoppableWorker, run_isolated
from cosim.sweeps.points import run_point
from cosim.sweeps.runner import run_sweep
from cosim.sweeps.spec import spec_from_dict

REPEAT = 20


def point(kind: str, params: dict, timeout_s: float) -> dict:
    """One sweep point solved in full: every repeat here runs the same array, so the
    engines' per-array caches are cleared first (a sweep's points are distinct arrays)."""
    clear_caches()
    return run_point(kind, params, timeout_s)


def isolation_cost(params: dict) -> dict:
    """Mean seconds of one point in this process and in a stoppable child."""
    point("compare", params, 600.0)  # warm: imports
    t0 = time.perf_counter()
    for _ in range(REPEAT):
        point("compare", params, 600.0)
    direct = (time.perf_counter() - t0) / REPEAT
    t0 = time.perf_counter()
    for _ in range(REPEAT):
        run_isolated(point, "compare", params, 600.0, timeout_s=600.0, what="bench")
    isolated = (time.perf_counter() - t0) / REPEAT
    worker = StoppableWorker()
    worker.call(point, "compare", params, 600.0, timeout_s=600.0, what="bench")  # fork
    t0 = time.perf_counter()
    for _ in range(REPEAT):
        worker.call(point, "compare", params, 600.0, timeout_s=600.0, what="bench")
    reused = (time.perf_counter() - t0) / REPEAT
    worker.close()
    return {"point_in_process_s": direct, "point_fresh_child_s": isolated,
            "point_reused_child_s": reused, "fresh_child_ratio": isolated / direct,
            "reused_child_ratio": reused / direct}

CASES = {
    "tiny": {"rows": 24, "cols": 24, "vectors": 400, "r_wire_ohm": 1.0,
             "engines": ["ideal", "nodal"]},
    "cheap": {"rows": 16, "cols": 16, "vectors": 50, "r_wire_ohm": 1.0,
              "engines": ["ideal", "spice"]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    out = {"benchmark": "sweep_overhead", "points": args.points, "workers": args.workers,
           "cases": {}}
    for name, base in CASES.items():
        raw = {"name": f"overhead_{name}", "kind": "compare", "seeds": args.points,
               "base": base}
        spec = spec_from_dict(raw)
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            table = run_sweep(spec, json.dumps(raw), Path(d) / "run", workers=args.workers)
            wall = time.perf_counter() - t0
        busy = float(table.seconds.sum())
        out["cases"][name] = {"wall_s": wall, "sum_point_s": busy,
                              "mean_point_s": busy / len(table),
                              "overhead": wall * args.workers / busy - 1.0,
                              **isolation_cost({**base, "seed": 0})}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
