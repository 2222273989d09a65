"""IR-drop study: error of the ideal MAC against the exact wired array (nodal engine),
over array size and the wire-to-cell resistance ratio."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cosim.array.memory import batch_bytes, check_memory
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import get_engine
from cosim.engines.nodal import DEFAULT_CHUNK, plan
from cosim.runs.files import new_run_dir, write_atomic, write_figure
from cosim.runs.manifest import now_utc, write_manifest
from device_models.validation import ParamError, check_int

SIZES = (16, 32, 64, 128, 256)
RATIOS = (1e-6, 1e-5, 1e-4, 1e-3)
G_MIN_S, G_MAX_S = 1e-6, 1e-4


def irdrop_table(sizes: tuple[int, ...], ratios: tuple[float, ...], vectors: int, seed: int):
    """Rows: size, ratio r_wire / r_cell (r_cell = 1 / mean G), max and mean relative error."""
    import pandas as pd

    from cosim.runs.progress import report

    rows = []
    # progress weighted by the solve's cost, ~N^3 (the transfer matrix), for a fair estimate
    total, done = float(sum(n**3 for n in sizes) * len(ratios)), 0.0
    for n in sizes:
        rng = np.random.default_rng(seed)
        g = rng.uniform(G_MIN_S, G_MAX_S, (n, n))
        x = rng.uniform(0, 1, (vectors, n))
        state = ArrayState({"g_s": g})
        ideal = get_engine("ideal").run(state, x, ArrayConfig()).i_col_a
        scale = np.abs(ideal).max()
        for ratio in ratios:
            r_wire = ratio / g.mean()
            t0 = time.perf_counter()
            wired = get_engine("nodal").run(state, x, ArrayConfig(r_row_wire_ohm=r_wire,
                                                                  r_col_wire_ohm=r_wire)).i_col_a
            err = np.abs(wired - ideal) / scale
            rows.append({"size": n, "ratio": ratio, "r_wire_ohm": r_wire,
                         "max_rel_err": float(err.max()), "mean_rel_err": float(err.mean()),
                         "seconds_nodal": time.perf_counter() - t0})
            done += n**3
            report("irdrop (nodal solves)", done, total, f"N={n}, ratio={ratio:g}")
    return pd.DataFrame(rows)


def run_irdrop(results_root: Path, sizes: tuple[int, ...] = SIZES,
               ratios: tuple[float, ...] = RATIOS, vectors: int = 50, seed: int = 0) -> Path:
    check_int("vectors", vectors, 1, 100_000)
    if not sizes or min(sizes) < 1:
        raise ParamError("sizes", sizes, "must be positive integers")
    if not ratios or min(ratios) <= 0:
        raise ParamError("ratios", ratios, "must be positive numbers")
    for n in sizes:  # conductances, one batch of results, the nodal transfer matrix
        need = (8.0 * n * n + batch_bytes(n, n, n, vectors)
                + plan(n, n, vectors, True, DEFAULT_CHUNK)["peak_bytes"])
        check_memory("sizes", n, need, f"an IR-drop study of a {n}x{n} array")
    from cosim.runs.files import figures

    plt = figures()

    started = now_utc()
    run_dir = new_run_dir(results_root, "irdrop")
    table = irdrop_table(sizes, ratios, vectors, seed)
    write_atomic(run_dir / "irdrop.csv", table.to_csv(index=False))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for ratio, sub in table.groupby("ratio"):
        ax.loglog(sub["size"], sub.max_rel_err, "o-", label=f"r_wire / r_cell = {ratio:g}")
    ax.axhline(1 / 255, color="k", ls=":", lw=0.8)
    ax.text(sizes[0], 1 / 255, " 1 LSB at 8 bits", va="bottom", fontsize=8)
    ax.set_xticks(list(sizes), [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set(xlabel="array size N (N x N)", ylabel="max |I_wired - I_ideal| / max |I_ideal|",
           title="IR drop vs array size (nodal engine, exact)")
    ax.legend(fontsize=8)
    write_figure(fig, run_dir / "irdrop.png")
    plt.close(fig)
    write_manifest(run_dir, "irdrop", {"sizes": list(sizes), "ratios": list(ratios),
                                       "vectors": vectors, "g_range_s": [G_MIN_S, G_MAX_S]},
                   seed, started)
    return run_dir
