"""HTML report of a co-design search run: the searches and their cost, Pareto fronts,
rank-agreement histograms, sensitivity to K and to the proxy, accuracy on hardware,
and the closed-form energy against the engines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cosim.reports.html import Report
from cosim.runs.files import figures
from device_models.validation import ParamError


def pareto(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both x and y, by x."""
    order = np.lexsort((y, x))
    front, best = [], np.inf
    for i in order:
        if y[i] < best:
            front.append(i)
            best = y[i]
    return np.array(front, dtype=int)


def codesign_report(run_dir: Path) -> Path:
    import pandas as pd

    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").exists():
        raise ParamError("run_dir", str(run_dir), "is not a finished codesign run "
                         "(no summary.json)")
    summary = json.loads((run_dir / "summary.json").read_text())
    t = {name: pd.read_parquet(run_dir / f"{name}.parquet")
         for name in ("architectures", "searches", "sensitivity", "rank_agreement",
                      "hardware_accuracy", "spot_check")}
    with np.load(run_dir / "costs.npz") as z:
        cost = {k: z[k] for k in z.files}
    arch = t["architectures"]
    plt = figures()
    rep = Report(f"Co-design search: {run_dir.name}", run_dir)
    sc = summary["search_cost"]
    rep.heading("Searches")
    rep.text(f"{summary['architectures']} architectures x {summary['designs']} hardware "
             f"designs; {summary['feasible_architectures']} architectures reach the target "
             f"{summary['target_accuracy']:.3f} validation accuracy in floating point "
             f"(mean over {summary['seeds']} seeds). Objective: {summary['objective']}. "
             f"Search cost: exhaustive {sc['exhaustive']} evaluations, semi-decoupled "
             f"|A| + K|H| = {sc['semi_decoupled']} ({sc['ratio']:.1f}x fewer). The cost model "
             f"takes {summary['cost_model_us_per_evaluation']:.2f} us per evaluation; the "
             f"whole run took {summary['wall_s']:.0f} s ({summary['scheduler']}).")
    rep.table(t["searches"])

    feasible = arch.feasible.to_numpy()
    kept = arch.kept.to_numpy()
    e, lat = cost["energy_j"], cost["latency_s"]
    ok = np.isfinite(e) & feasible[:, None]
    xs, ys = lat[ok], e[ok]
    if not len(xs):
        rep.text("No architecture reaches the target accuracy: there is no front to draw and "
                 "nothing to search. Lower target_accuracy or widen the architectures.")
        return _rest(rep, t, summary, run_dir, plt)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    rng = np.random.default_rng(0)
    show = rng.choice(len(xs), min(len(xs), 20000), replace=False) if len(xs) else []
    ax.scatter(np.asarray(xs)[show] * 1e9, np.asarray(ys)[show] * 1e12, s=2, c="0.8",
               label="feasible (a, h), sample")
    if len(xs):
        f = pareto(xs, ys)
        ax.plot(xs[f] * 1e9, ys[f] * 1e12, "ko-", ms=7, mfc="none",
                label="exhaustive Pareto front")
        sub = np.isfinite(e) & kept[:, None]
        sx, sy = lat[sub], e[sub]
        if len(sx):
            f2 = pareto(sx, sy)
            ax.plot(sx[f2] * 1e9, sy[f2] * 1e12, "r.--", label="semi-decoupled (K archs)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency per inference (ns)")
    ax.set_ylabel("energy per inference (pJ)")
    ax.legend(fontsize=8)
    rep.figure(fig, "pareto", "Energy vs latency per inference: the front over all feasible "
               "pairs and the front the kept architectures reach.")
    plt.close(fig)

    return _rest(rep, t, summary, run_dir, plt)


def _rest(rep: Report, t: dict, summary: dict, run_dir: Path, plt) -> Path:
    """Everything after the searches and the front."""
    import pandas as pd

    rep.heading("Does the premise hold? Architecture rankings across designs")
    ra = t["rank_agreement"]
    metrics = list(dict.fromkeys(ra.metric))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        rho = ra[ra.metric == m].spearman.dropna()
        ax.hist(rho, bins=np.linspace(-1, 1, 41), color="C0")
        ax.axvline(0.9, color="k", ls=":")
        ax.set_title(f"{m}: {np.mean(rho >= 0.9):.0%} of pairs >= 0.9", fontsize=9)
        ax.set_xlabel("Spearman rho between two designs")
    rep.figure(fig, "rank_agreement", "Spearman rank correlation of the architectures' order "
               "under two hardware designs, over pairs of designs (accuracy on hardware: the "
               "kept architectures on the sampled designs).")
    plt.close(fig)
    rows = []
    for m, v in summary["rank_agreement"].items():
        rows.append({"metric": m, **v})
    rep.table(pd.DataFrame(rows))
    rep.text(premise_statement(summary))

    rep.heading("Sensitivity to K and to the proxy")
    sens = t["sensitivity"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    piv = sens.pivot_table(index="k", columns="proxy", values="regret")
    for col in piv.columns:
        named = col == "named"
        ax.plot(piv.index, piv[col] * 100, "k-o" if named else "-", lw=2 if named else 0.7,
                alpha=1 if named else 0.4, label="named proxy" if named else None)
    ax.set_xlabel("K (architectures kept)")
    ax.set_ylabel("regret (%)")
    ax.set_xscale("log")
    ax.legend(fontsize=8)
    rep.figure(fig, "sensitivity", "Regret of the semi-decoupled optimum vs K, for the named "
               "proxy (black) and random proxies (grey).")
    plt.close(fig)
    agg = sens.groupby("k").regret.agg(["median", "max", lambda r: float((r == 0).mean())])
    agg.columns = ["regret_median", "regret_max", "fraction_zero_regret"]
    rep.table(agg.reset_index())

    rep.heading("Accuracy on hardware (kept architectures, behavioral deploy)")
    rep.table(t["hardware_accuracy"])
    rep.heading("Closed-form energy vs the engines (one tile per design)")
    rep.text("closed_vs_X = closed form / engine - 1, energy per vector by block. With "
             "amplitude inputs the closed form's chord conductance at full scale "
             "over-states the FeFET's sub-linear current below it; PWM and bit-serial rows "
             "sit at 0 or full scale.")
    rep.table(t["spot_check"])
    rep.heading("Architectures")
    rep.table(t["architectures"])
    return rep.write({"run": str(run_dir), "proxy": summary["proxy"]})


def premise_statement(summary: dict) -> str:
    """One plain sentence per metric: does the ranking carry over between designs?"""
    parts = []
    for m, v in summary["rank_agreement"].items():
        if not np.isfinite(v["fraction_spearman_ge_0.9"]):
            parts.append(f"{m}: every design gives the architectures tied values; no ranking "
                         "to compare.")
            continue
        verdict = ("holds" if v["fraction_spearman_ge_0.9"] >= 0.9 else
                   "holds only partly" if v["fraction_spearman_ge_0.9"] >= 0.5 else
                   "does not hold")
        parts.append(f"{m}: {v['fraction_spearman_ge_0.9']:.0%} of design pairs rank the "
                     f"architectures with Spearman >= 0.9 (median {v['spearman_median']:.2f}); "
                     f"the premise {verdict} for {m}.")
    return " ".join(parts)
