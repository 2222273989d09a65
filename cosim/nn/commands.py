"""``cosim train`` and ``cosim evaluate``: run a config, write tables, curves and a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cosim.nn.config import RunConfig, load_config
from cosim.nn.training import progress_steps, run_evaluation, run_training
from cosim.runs.files import new_run_dir, write_atomic, write_figure, write_json, write_npz
from cosim.runs.manifest import now_utc, write_manifest
from cosim.runs.progress import report
from netlists.crossbar import crossbar


def _info(row: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in row.items() if k != "seconds")


def train_command(config_path: Path, results: Path) -> tuple[Path, dict]:
    cfg = load_config(config_path)
    started = now_utc()
    run_dir = new_run_dir(results, "train")
    seeds, folds = cfg.train.seeds, cfg.train.folds
    runs_n = max(seeds, folds)
    task, total, done = f"train [{cfg.train.mode}]", progress_steps(cfg) * runs_n, 0

    def progress(kind: str, row: dict) -> None:
        nonlocal done
        done += 1
        report(task, done, total, _info(row))

    import pandas as pd

    runs, tables = [], []
    for i in range(runs_n):  # each seed draws its own split, initialisation and devices;
        # each fold tests on its own images
        cfg_i = seed_config(cfg, i) if folds == 1 else cfg
        out_i = run_training(cfg_i, progress, fold=i if folds > 1 else None)
        runs.append(out_i)
        tables.append(pd.DataFrame(out_i["epochs"]).assign(
            **({"seed": cfg_i.train.seed} if folds == 1 else {"fold": i})))
    out = runs[0]
    epochs = pd.concat(tables, ignore_index=True)
    write_atomic(run_dir / "epochs.csv", epochs.to_csv(index=False))
    summary = (out["summary"] if runs_n == 1
               else seed_statistics([r["summary"] for r in runs],
                                    "folds" if folds > 1 else "seeds"))
    write_json(run_dir / "summary.json", summary)
    _write_model(run_dir, out)
    _plot_training(run_dir, tables[0], out["summary"])
    write_atomic(run_dir / "config.json", json.dumps(cfg.as_dict(), indent=2, default=list))
    write_manifest(run_dir, "train", cfg.as_dict(), cfg.train.seed, started)
    return run_dir, summary


def summary_lines(summary: dict) -> list[str]:
    """What ``cosim train`` prints: each number (mean +- std over seeds where there are
    several), then curves point by point."""
    lines = []
    if "per_run" in summary:
        lines.append(f"{summary['over']:>36}: {summary['runs']} (mean +- std)")
        for k, v in summary["mean"].items():
            if isinstance(v, float):
                lines.append(f"{k:>36}: {v:.4g} +- {summary['std'][k]:.2g}")
        curves = {k: v for k, v in summary["mean"].items() if isinstance(v, list)}
    else:
        for k, v in summary.items():
            if not isinstance(v, list):
                lines.append(f"{k:>36}: {v:.4g}" if isinstance(v, float) else f"{k:>36}: {v}")
        curves = {k: v for k, v in summary.items() if isinstance(v, list)}
    for name, points in curves.items():
        for point in points:
            lines.append(f"  {name}: " + ", ".join(
                f"{k} {v:.4g}" for k, v in point.items() if isinstance(v, int | float)))
    return lines


def seed_config(cfg: RunConfig, i: int) -> RunConfig:
    """The i-th seed's config: training seed and data-split seed both advanced by i."""
    import dataclasses

    return dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, seed=cfg.train.seed + i),
        data=dataclasses.replace(cfg.data, seed=cfg.data.seed + i))


def seed_statistics(summaries: list[dict], over: str = "seeds") -> dict:
    """Mean, std (ddof=1) and per-run values of every number the summaries share (runs:
    seeds or folds); lists of points (curves) are averaged point by point."""
    out: dict = {"over": over, "runs": len(summaries), "per_run": summaries,
                 "mean": {}, "std": {}}
    for key, value in summaries[0].items():
        if isinstance(value, bool) or not isinstance(value, int | float | list):
            continue
        if isinstance(value, list):
            if not all(isinstance(p, dict) for p in value):
                continue
            pts = []
            for j, point in enumerate(value):
                vals = {k: [s[key][j][k] for s in summaries] for k in point
                        if isinstance(point[k], int | float)}
                pts.append({**{k: float(np.mean(v)) for k, v in vals.items()},
                            **{f"{k}_std": float(np.std(v, ddof=1)) for k, v in vals.items()}})
            out["mean"][key] = pts
            continue
        vals = np.array([float(s[key]) for s in summaries])
        out["mean"][key] = float(vals.mean())
        out["std"][key] = float(vals.std(ddof=1))
    return out


def _write_model(run_dir: Path, out: dict) -> None:
    """Export weights, masks and every tile's device state; one tile's deck as a netlist."""
    model, layers = out["model"], out["layers"]
    arrays = {f"w{k}": w for k, w in enumerate(model.weights)}
    arrays.update({f"b{k}": b for k, b in enumerate(model.biases)})
    arrays.update({f"mask{k}": m for k, m in enumerate(model.masks)})
    for k, layer in enumerate(layers):
        for (ri, ci), fields in layer.fields.items():
            for name, value in fields.items():
                arrays[f"layer{k}_tile{ri}_{ci}_{name}"] = value
    write_npz(run_dir / "device_states.npz", **arrays)
    from cosim.engines.spice import SpiceEngine
    from periphery.converters import dac_codes

    layer = layers[0]
    state = layer.state(0, 0)
    x = np.full((1, state.rows), 0.5)
    from cosim.array.state import ArrayConfig

    config = ArrayConfig(layer.dac, layer.adc[0, 0])
    p = SpiceEngine().params(state, dac_codes(x, layer.dac), config)
    write_atomic(run_dir / "layer0_tile0_0.cir", crossbar(p).render())


def _plot_training(run_dir: Path, epochs, summary: dict) -> None:
    from cosim.runs.files import figures

    plt = figures()

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for phase, sub in epochs.groupby("phase", sort=False):
        ax[0].plot(np.arange(len(sub)) + 1, sub["loss"], ".-", label=str(phase))
        if "test_acc" in sub and sub["test_acc"].notna().any():
            ax[1].plot(np.arange(len(sub)) + 1, sub["test_acc"] * 100, "o-", label=str(phase))
    ax[0].set(xlabel="epoch", ylabel="training loss", title="loss")
    ax[0].legend(fontsize=7)
    if "curve" in summary:
        cur = summary["curve"]
        s = [c["sparsity"] * 100 for c in cur]
        ax[1].plot(s, [c["float_test_acc"] * 100 for c in cur], "o-", label="float")
        ax[1].plot(s, [c["hardware_test_acc"] * 100 for c in cur], "s-", label="on arrays")
        ax[1].set(xlabel="sparsity (%)", title="sparsity vs accuracy")
    else:
        ax[1].set(xlabel="array epoch", title="test accuracy on the arrays")
    ax[1].set_ylabel("test accuracy (%)")
    if ax[1].get_legend_handles_labels()[0]:
        ax[1].legend(fontsize=7)
    else:  # deploy / hwa: one number, no curve
        ax[1].text(0.5, 0.5, "\n".join(f"{k}: {v:.4f}" for k, v in summary.items()
                                       if isinstance(v, float)),
                   ha="center", va="center", transform=ax[1].transAxes)
    write_figure(fig, run_dir / "curves.png")
    plt.close(fig)


def evaluate_command(config_path: Path, results: Path) -> tuple[Path, object]:
    cfg: RunConfig = load_config(config_path)
    started = now_utc()
    run_dir = new_run_dir(results, "evaluate")
    ev = cfg.evaluate
    n_jobs = ev.seeds * (len(ev.adc_bits) + 2 * len(ev.drift_times_s) + len(ev.programming)
                         + len(ev.reads)
                         + (len(ev.d2d_sigma_v) if cfg.hardware.cell != "resistor" else 0))
    n_jobs *= cfg.train.seeds
    done = 0

    def progress(kind: str, row: dict) -> None:
        nonlocal done
        done += 1
        report("evaluate", done, n_jobs, f"{row['sweep']}={row['value']:g}")

    rows = []
    for i in range(cfg.train.seeds):  # each training seed: its own split and network
        cfg_i = seed_config(cfg, i)
        rows += [{**r, "train_seed": cfg_i.train.seed} for r in run_evaluation(cfg_i, progress)]
    import pandas as pd

    table = pd.DataFrame(rows)
    write_atomic(run_dir / "evaluate.csv", table.to_csv(index=False))
    summary = (table[table.sweep != "float"]
               .groupby(["sweep", "value", "label", "compensated"])["accuracy"]
               .agg(["mean", "std", "min", "max", "count"]).reset_index())
    write_atomic(run_dir / "evaluate_summary.csv", summary.to_csv(index=False))
    _plot_evaluation(run_dir, table, summary)
    write_manifest(run_dir, "evaluate", cfg.as_dict(), cfg.train.seed, started)
    return run_dir, summary.assign(float_acc=float(table[table.sweep == "float"].accuracy.mean()))


def _plot_evaluation(run_dir: Path, table, summary) -> None:
    from cosim.runs.files import figures

    plt = figures()

    sweeps = [s for s in ("adc_bits", "drift_time_s", "d2d_sigma_v", "programming", "reads")
              if s in set(summary.sweep)]
    if not sweeps:
        return
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.5 * len(sweeps), 4), squeeze=False)
    f_acc = float(table[table.sweep == "float"].accuracy.mean()) * 100
    for ax, sw in zip(axes[0], sweeps, strict=True):
        for comp, sub in summary[summary.sweep == sw].groupby("compensated"):
            label = "drift compensated" if comp else "as read"
            ax.errorbar(sub.value, sub["mean"] * 100, yerr=sub["std"].fillna(0) * 100,
                        fmt="o-", capsize=3, label=label)
        ax.axhline(f_acc, color="k", ls=":", lw=0.8, label="floating point")
        if sw in ("drift_time_s", "reads"):
            ax.set_xscale("symlog" if sw == "reads" else "log")
        if sw == "programming":
            sub = summary[summary.sweep == sw]
            ax.set_xticks(sub.value, sub.label)
        ax.set(xlabel=sw, ylabel="test accuracy (%)")
        ax.legend(fontsize=7)
    write_figure(fig, run_dir / "evaluate.png")
    plt.close(fig)
