"""Periphery-variation report (HTML) of a ``cosim bench --mc`` run: nominal figures
per corner, Monte Carlo offset distributions and the per-converter offsets in LSB."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cosim.reports.html import Report
from cosim.runs.files import figures as plotting
from device_models.validation import ParamError


def periphery_report(run_dir: Path) -> Path:
    import pandas as pd

    run_dir = Path(run_dir)
    if not (run_dir / "monte_carlo.csv").exists():
        raise ParamError("run_dir", str(run_dir), "is not a finished 'cosim bench --mc' run "
                         "(no monte_carlo.csv)")
    summary = json.loads((run_dir / "summary.json").read_text())
    figures = pd.read_csv(run_dir / "figures.csv")
    mc = pd.read_csv(run_dir / "monte_carlo.csv")
    sigmas = summary["monte_carlo"]
    plt = plotting()
    n = summary["mc_instances"]
    rep = Report(f"Periphery variation: {summary['pdk']}, {n} instances", run_dir)
    rep.heading("Nominal figures per corner")
    rep.table(figures)
    rep.heading("Monte Carlo mismatch")
    rep.text(f"{n} instances per corner, each transistor its own draw from the "
             f"{summary['pdk']} mismatch models; op-amps ({summary['output_stage']}, designed "
             f"for {summary['i_fs_a'] * 1e6:.0f} uA) as unity-gain followers at zero load, "
             "StrongARM comparators on a +-64 mV ramp in 1 mV steps. Offsets in LSB are of a "
             "signed converter on the sensing swing: what the behavioural models draw per "
             "converter (HardwareConfig.adc_offset_sigma_lsb).")
    rep.table(pd.DataFrame([{"corner": c, **{k: v for k, v in s.items()
                                              if k != "offset_sigma_lsb"},
                             **{f"{k}_lsb": v for k, v in s["offset_sigma_lsb"].items()}}
                            for c, s in sigmas.items()]))
    for col, label in (("opamp_offset_v", "op-amp input offset"),
                       ("comparator_offset_v", "comparator input offset")):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for corner, g in mc.groupby("corner"):
            v = g[col].to_numpy() * 1e3
            v = v[np.isfinite(v)]
            ax.hist(v, bins=20, alpha=0.5,
                    label=f"{corner}: sigma {np.std(v, ddof=1):.2f} mV (n={len(v)})")
        ax.set_xlabel(f"{label} (mV)")
        ax.set_ylabel("instances")
        ax.legend(fontsize=8)
        rep.figure(fig, col[:-2], f"Distribution of the {label} over the Monte Carlo "
                   "instances.")
        plt.close(fig)
    return rep.write({"pdk": summary["pdk"], "seed": summary["seed"], "run": run_dir.name})
