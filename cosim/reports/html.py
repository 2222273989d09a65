"""Self-contained HTML reports from sweep runs (figures embedded as base64 PNG;
PNG and SVG copies beside the HTML).

- ``variation``: a Monte Carlo device-variation sweep (kind = variation):
  distributions of cell current error and ADC code error, per-cell error
  heatmaps, accuracy vs D2D sigma and vs drift time, worst cases.
- ``compare``: an engine-comparison sweep (kind = compare): error vs each axis
  (array size, wire resistance, bits), scatter plots of candidate vs reference.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import CosimError
from cosim.runs.files import figures, write_atomic
from cosim.sweeps.runner import load_run
from device_models.validation import ParamError

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:right}th{background:#f4f4f4}img{max-width:100%}.meta{color:#666;font-size:.85em}"""


class Report:
    def __init__(self, title: str, out_dir: Path) -> None:
        self.title = title
        self.out_dir = out_dir
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def table(self, df) -> None:
        self.parts.append(df.to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                     na_rep="-", border=0))

    def figure(self, fig, name: str, caption: str = "") -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        write_atomic(self.out_dir / f"{name}.png", buf.getvalue())
        svg = io.BytesIO()
        fig.savefig(svg, format="svg", bbox_inches="tight")
        write_atomic(self.out_dir / f"{name}.svg", svg.getvalue())
        data = base64.b64encode(buf.getvalue()).decode()
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img alt="{html.escape(name)}" '
                          f'src="data:image/png;base64,{data}">{cap}</figure>')

    def write(self, meta: dict[str, Any]) -> Path:
        meta_html = "".join(f"<div>{html.escape(str(k))}: {html.escape(str(v))}</div>"
                            for k, v in meta.items())
        page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1><div class='meta'>{meta_html}</div>"
                + "".join(self.parts) + "</body></html>\n")
        return write_atomic(self.out_dir / "report.html", page)


def _artifacts(run_dir: Path, point_id: str) -> dict[str, np.ndarray]:
    f = run_dir / "points" / f"{point_id}.npz"
    if not f.exists():
        return {}
    with np.load(f) as z:
        return {k: z[k] for k in z.files}


def _meta(run_dir: Path, spec) -> dict[str, Any]:
    man = json.loads((run_dir / "manifest.json").read_text())
    return {"sweep": spec.name, "run": str(run_dir), "points": man["config"]["points"],
            "git commit": man.get("git_commit"), "ngspice": man.get("ngspice_version"),
            "finished": man.get("ended_utc")}


class NoSuccessfulPoints(CosimError):
    """Every point of the sweep failed; the report page lists their errors."""


def _no_successful_points(rep: Report, table, run_dir: Path, spec) -> Path:
    """The page a sweep without one successful point gets: the failures, nothing else;
    the command then exits 1 naming it."""
    rep.heading("No successful points")
    rep.text(f"All {len(table)} points failed; nothing to plot. Their errors:")
    cols = [c for c in ("point_id", "seed", "status", "error") if c in table]
    rep.table(table[cols])
    path = rep.write(_meta(run_dir, spec))
    raise NoSuccessfulPoints(f"no successful points in {run_dir}: {len(table)} failed, first "
                             f"error: {str(table['error'].iloc[0]).splitlines()[0]}; "
                             f"report: {path}")


def variation_report(run_dir: Path) -> Path:
    spec, table = load_run(run_dir)
    if spec.kind != "variation":
        raise ParamError("source", str(run_dir), f"is a {spec.kind} sweep, not a variation one")
    plt = figures()
    rep = Report(f"Device-variation report: {spec.name}", run_dir)
    ok = table[table.status == "ok"].copy()
    failed = table[table.status != "ok"]
    if ok.empty:
        return _no_successful_points(rep, table, run_dir, spec)
    for col, default in (("d2d_sigma_v", 0.03), ("age_s", 0.0)):
        if col not in ok:
            ok[col] = default
    rep.text(f"{len(ok)} of {len(table)} points succeeded"
             + (f"; {len(failed)} failed (see the last table)." if len(failed) else "."))

    def pooled(name: str):
        """(sigma, every point's artifact ``name`` at the earliest read time, pooled)."""
        for sigma, sub in ok.groupby("d2d_sigma_v"):
            young = sub[sub.age_s == sub.age_s.min()]
            yield sigma, np.concatenate([_artifacts(run_dir, pid).get(name, np.zeros(0)).ravel()
                                         for pid in young.point_id])

    rep.heading("Cell current error")
    fig, ax = plt.subplots(figsize=(7, 4))
    for sigma, errs in pooled("cell_err"):
        if errs.size:
            ax.hist(errs * 100, bins=60, histtype="step", density=True,
                    label=f"sigma_Vth = {sigma * 1e3:g} mV")
    ax.set(xlabel="cell current error at full-scale read (% of the largest cell)",
           ylabel="density", title="Per-cell current error (earliest read time)")
    ax.legend(fontsize=8)
    rep.figure(fig, "cell_error_hist", "Each cell's read current with variation vs nominal.")

    rep.heading("ADC code error")
    fig, ax = plt.subplots(figsize=(7, 4))
    for sigma, errs in pooled("code_err"):
        if errs.size:
            lim = int(np.abs(errs).max()) + 1
            ax.hist(errs, bins=np.arange(-lim, lim + 1) - 0.5, histtype="step", density=True,
                    label=f"sigma_Vth = {sigma * 1e3:g} mV")
    ax.set(xlabel="ADC code error (LSB)", ylabel="density",
           title="Output code error vs the nominal array's ideal codes")
    ax.legend(fontsize=8)
    rep.figure(fig, "code_error_hist")

    rep.heading("Per-cell error maps")
    picks = ok.sort_values(["d2d_sigma_v", "age_s", "seed"]).groupby("d2d_sigma_v").tail(1)
    fig, axes = plt.subplots(1, len(picks), figsize=(4.2 * len(picks), 3.6), squeeze=False,
                             layout="constrained")
    for ax, (_, row) in zip(axes[0], picks.iterrows(), strict=True):
        err = _artifacts(run_dir, row.point_id).get("cell_err")
        if err is None:
            continue
        lim = max(float(np.abs(err).max()), 1e-12) * 100
        im = ax.imshow(err * 100, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set(title=f"sigma {row.d2d_sigma_v * 1e3:g} mV, t = {row.age_s:g} s",
               xlabel="physical column", ylabel="row")
        fig.colorbar(im, ax=ax, label="error (%)")
    rep.figure(fig, "cell_error_maps", "One array per sigma (latest read time, last seed).")

    rep.heading("Accuracy vs variation and drift")
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    young = ok[ok.age_s == ok.age_s.min()]
    g = young.groupby("d2d_sigma_v")["accuracy"].agg(["mean", "std"]).reset_index()
    a0.errorbar(g.d2d_sigma_v * 1e3, g["mean"] * 100, yerr=g["std"].fillna(0) * 100, fmt="o-",
                capsize=3)
    a0.set(xlabel="D2D sigma_Vth (mV)", ylabel="test accuracy (%)", title="vs D2D variation")
    for sigma, sub in ok.groupby("d2d_sigma_v"):
        g = sub.groupby("age_s")["accuracy"].agg(["mean", "std"]).reset_index()
        a1.errorbar(np.maximum(g.age_s, 1e-1), g["mean"] * 100, yerr=g["std"].fillna(0) * 100,
                    fmt="o-", capsize=3, label=f"{sigma * 1e3:g} mV")
    a1.set_xscale("log")
    a1.set(xlabel="time after programming (s)", ylabel="test accuracy (%)", title="vs drift")
    a1.legend(fontsize=8)
    rep.figure(fig, "accuracy", "Default MLP on digits, behavioral engine, mean +- std over seeds.")

    rep.heading("Summary")
    cols = [c for c in ("d2d_sigma_v", "age_s") if c in ok]
    summary = ok.groupby(cols)[[m for m in spec.metrics if m in ok]].mean().reset_index()
    rep.table(summary)
    rep.heading("Worst cases")
    worst = ok.sort_values(["code_err_max", "code_err_rms"], ascending=False).head(5)
    rep.table(worst[[*cols, "seed", "code_err_max", "code_err_rms", "cell_err_p99",
                     "accuracy"]])
    if len(failed):
        rep.heading("Failed points")
        rep.table(failed[["point_id", *cols, "seed", "error"]])
    return rep.write(_meta(run_dir, spec))


def compare_report(run_dir: Path) -> Path:
    spec, table = load_run(run_dir)
    if spec.kind != "compare":
        raise ParamError("source", str(run_dir), f"is a {spec.kind} sweep, not a compare one")
    plt = figures()
    engines = spec.base.get("engines", ["ideal", "spice"])
    rep = Report(f"Engine comparison: {engines[1]} vs {engines[0]} ({spec.name})", run_dir)
    ok = table[table.status == "ok"]
    if ok.empty:
        return _no_successful_points(rep, table, run_dir, spec)
    rep.text(f"{len(ok)} of {len(table)} points succeeded.")
    axes = list(spec.axes)
    for metric in [m for m in ("max_rel_err", "max_err_lsb") if m in spec.metrics]:
        rep.heading(f"{metric} vs each axis")
        fig, axs = plt.subplots(1, max(1, len(axes)), figsize=(5 * max(1, len(axes)), 4),
                                layout="constrained",
                                squeeze=False)
        for ax, axis in zip(axs[0], axes or ["seed"], strict=False):
            others = [a for a in axes if a != axis]
            groups = ok.groupby(others) if others else [((), ok)]
            for key, sub in groups:
                g = sub.groupby(axis)[metric].max().reset_index()
                label = ", ".join(f"{o}={k}" for o, k in zip(others, np.atleast_1d(key),
                                                             strict=False))
                ax.semilogy(g[axis], np.maximum(g[metric], 1e-17), "o-", label=label or None)
            ax.set(xlabel=axis, ylabel=f"{metric} (max over seeds)")
            if others:
                ax.legend(fontsize=7)
        rep.figure(fig, f"{metric}_vs_axes")
    rep.heading("Candidate vs reference outputs")
    picks = ok.sort_values("max_rel_err").iloc[[0, -1]] if len(ok) > 1 else ok
    fig, axs = plt.subplots(1, len(picks), figsize=(5 * len(picks), 4.5), squeeze=False)
    for ax, (_, row) in zip(axs[0], picks.iterrows(), strict=True):
        art = _artifacts(run_dir, row.point_id)
        if not art:
            continue
        r, c = art["reference_a"] * 1e6, art["candidate_a"] * 1e6
        ax.plot(r, c, ".", ms=2)
        ax.plot([r.min(), r.max()], [r.min(), r.max()], "k--", lw=0.8)
        desc = ", ".join(f"{a}={row[a]}" for a in axes)
        ax.set(xlabel=f"{engines[0]} output (uA)", ylabel=f"{engines[1]} output (uA)",
               title=f"{desc}\nmax rel err {row.max_rel_err:.2e}")
    rep.figure(fig, "scatter", "Best and worst agreeing points.")
    rep.heading("All points")
    rep.table(table.drop(columns=["point_id"]))
    return rep.write(_meta(run_dir, spec))


def report_command(kind: str, source: Path, results: Path) -> Path:
    """Report from a finished run directory, or run the spec first."""
    source = Path(source)
    if source.is_dir():
        run_dir = source
    elif source.is_file():
        from cosim.sweeps.command import sweep_command

        run_dir, _ = sweep_command(source, results, None, False, None, 2, False)
    else:
        raise ParamError("source", str(source), "must be a sweep run directory or a spec file")
    return (variation_report if kind == "variation" else compare_report)(run_dir)


__all__ = ["compare_report", "report_command", "variation_report"]
