"""Behavioral engine: one cell evaluation per distinct row voltage (level table) vs one
per (vector, cell), same outputs.

    .venv/bin/python benchmarks/level_table.py [--vectors 600]

Prints one JSON object: for the FeFET and the 2-FeFET sparse cell on a 64 x 64
signed array (64 x 128 physical), seconds with and without the table for 8-bit
bit-serial, 4-bit amplitude and 8-bit amplitude inputs (the table is skipped where
the vectors do not outnumber the levels 8 to 1), the ratio, and the largest
difference of the outputs (0: the same numbers).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import get_engine
from device_models.registry import CellOptions, make_cell
from periphery.converters import AdcParams, DacParams

CASES = {"bit_serial_8": {"bits": 8, "bit_serial": True}, "amplitude_4": {"bits": 4},
         "amplitude_8": {"bits": 8}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=600)
    args = ap.parse_args()
    out = {"benchmark": "level_table", "host": platform.node(), "vectors": args.vectors,
           "cases": []}
    for kind in ("fefet", "sparse_fefet"):
        rng = np.random.default_rng(0)
        cell = make_cell(kind, CellOptions(v_read_v=0.2))
        g0, g1 = cell.g_range()
        state = ArrayState(cell.program(rng.uniform(g0, g1, (64, 128))), cell, differential=True)
        x = rng.uniform(size=(args.vectors, 64))
        for name, dac in CASES.items():
            config = ArrayConfig(DacParams(v_fs_v=0.2, **dac), AdcParams(8, 1e-4))
            secs, res = {}, {}
            for table in (True, False):
                engine = get_engine("behavioral", noise=True, seed=1)
                engine.level_table = table
                t0 = time.perf_counter()
                res[table] = engine.run(state, x, config).i_col_a
                secs[table] = time.perf_counter() - t0
            out["cases"].append({"cell": kind, "inputs": name, "seconds_table": secs[True],
                                 "seconds_per_vector": secs[False],
                                 "ratio": secs[False] / secs[True],
                                 "max_abs_diff_A": float(np.abs(res[True] - res[False]).max())})
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
