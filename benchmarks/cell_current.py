"""Cost of one cell-current evaluation: the 2-FeFET sparse cell (a series solve for
its internal node) vs the one-FeFET cell (closed form), same inputs.

    .venv/bin/python benchmarks/cell_current.py

Prints one JSON object: best-of-3 seconds for 300 vectors x 64 rows x 128 physical
columns (2.5 M currents) with a varied virtual ground, per cell, and the ratio.
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np

from device_models.registry import CellOptions, make_cell


def seconds(kind: str) -> float:
    rng = np.random.default_rng(0)
    cell = make_cell(kind, CellOptions(v_read_v=0.2))
    g0, g1 = cell.g_range()
    fields = cell.program(rng.uniform(g0, g1, (64, 128)))
    if cell.prunable:
        fields = cell.prune(fields, rng.uniform(size=(64, 128)) > 0.5)
    fields = cell.with_variation(fields, rng)
    v = rng.uniform(0.0, 0.2, (300, 64, 1))
    vc = rng.uniform(-1e-3, 1e-3, (300, 1, 128))
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        cell.current(v, fields, vc)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    fefet, sparse = seconds("fefet"), seconds("sparse_fefet")
    print(json.dumps({"benchmark": "cell_current", "host": platform.node(),
                      "currents": 300 * 64 * 128, "fefet_s": fefet, "sparse_fefet_s": sparse,
                      "ratio_sparse_over_fefet": sparse / fefet}, indent=2))


if __name__ == "__main__":
    main()
