"""The README's main job: ideal vs spice at several sizes, with and without wire resistance."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cosim.compare import CompareSpec, run_compare, spec_dict
from cosim.manifest import now_utc, write_manifest
from cosim.runio import new_run_dir, write_atomic, write_figure

SIZES = (8, 16, 32)
WIRES_OHM = (0.0, 1.0, 5.0)
VECTORS = 100


def run_demo(results_root: Path, seed: int = 0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from rich.progress import Progress

    started = now_utc()
    run_dir = new_run_dir(results_root, "demo")
    specs = [CompareSpec(rows=n, cols=n, vectors=VECTORS, seed=seed, r_wire_ohm=r,
                         differential=True) for r in WIRES_OHM for n in SIZES]
    rows, scatter = [], None
    with Progress(transient=True) as progress:
        task = progress.add_task("ideal vs spice", total=len(specs))
        for spec in specs:
            t0 = time.perf_counter()
            metrics, ref, cand = run_compare(spec)
            metrics["seconds_total"] = time.perf_counter() - t0
            rows.append(metrics)
            if spec.rows == max(SIZES) and spec.r_wire_ohm == max(WIRES_OHM):
                scatter = (ref.i_out_a.ravel(), cand.i_out_a.ravel())
            progress.advance(task)
    table = pd.DataFrame(rows)
    write_atomic(run_dir / "compare.csv", table.to_csv(index=False))

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in WIRES_OHM:
        sub = table[table.r_wire_ohm == r]
        ax0.semilogy(sub.rows, np.maximum(sub.max_rel_err, 1e-16), "o-", label=f"{r:g} ohm/pitch")
    ax0.set_xlabel("array size N (N x N, differential)")
    ax0.set_ylabel("max |spice - ideal| / max |ideal|")
    ax0.set_title("IR drop: spice vs ideal")
    ax0.legend()
    if scatter is not None:
        ref_i, cand_i = scatter
        ax1.plot(ref_i * 1e6, cand_i * 1e6, ".", ms=2)
        lim = [ref_i.min() * 1e6, ref_i.max() * 1e6]
        ax1.plot(lim, lim, "k--", lw=0.8, label="y = x")
        ax1.set_xlabel("ideal output current (uA)")
        ax1.set_ylabel("spice output current (uA)")
        ax1.set_title(f"{max(SIZES)}x{max(SIZES)}, {max(WIRES_OHM):g} ohm/pitch")
        ax1.legend()
    write_figure(fig, run_dir / "compare.png")
    plt.close(fig)

    config = {"sizes": list(SIZES), "wires_ohm": list(WIRES_OHM), "vectors": VECTORS,
              "specs": [spec_dict(s) for s in specs]}
    write_manifest(run_dir, "demo", config, seed, started)
    from rich.console import Console

    cols = ["rows", "r_wire_ohm", "max_rel_err", "max_err_lsb", "seconds_spice"]
    Console().print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return run_dir
