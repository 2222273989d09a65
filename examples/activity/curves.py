"""Accuracy vs epoch on TaOx memristor arrays, from one random start per seed:

- deploy-from-float: float SGD, the weights programmed onto fresh arrays after
  every epoch;
- in-array backprop: forward on the arrays, errors back through transposed
  reads, per-cell set/reset pulses (ADC ranges re-set once per epoch);
- activity difference: free and +-beta phases read from the arrays, per-cell
  pulses (``mode = "activity"``).

Digits (64-32-10) and the generated Braille letters (96-64-26), 5 seeds each
(split, initialisation and devices drawn per seed); validation is 20 % of the
training split (the same images for the three methods). The in-array learning
rate is chosen on seed 0's validation accuracy from {0.02, 0.05, 0.1}.

Writes curves.json and curves.png to the output folder (default
runs/activity_curves). 9 min 15 s on 2 cores (2 worker processes, measured).

    python examples/activity/curves.py [OUT_DIR] [--seeds N] [--epochs E] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cosim.nn.commands import seed_config
from cosim.nn.config import config_from_dict
from cosim.nn.layers import AnalogLayer
from cosim.nn.mlp import MLP, accuracy, train_float
from cosim.nn.training import (
    CALIBRATION_SAMPLES,
    array_matmul,
    deploy,
    load_dataset,
    run_training,
    split_validation,
    train_in_array,
)
from cosim.studies.jobs import JobRunner, mean_std

DATASETS = {"digits": [64, 32, 10], "braille": [96, 64, 26]}
HW = {"cell": "rram", "pair_mapping": "balanced", "write_polarities": "both"}
IN_ARRAY_LRS = (0.02, 0.05, 0.1)
METHODS = ("deploy", "in_array", "activity")


def _config(dataset: str, seed: int, epochs: int, quick: bool, **train):
    raw = {"data": {"dataset": dataset}, "model": {"sizes": DATASETS[dataset]},
           "train": {"mode": "activity", "array_epochs": epochs, "array_lr": 0.3,
                     "batch": 16, **train}, "hardware": dict(HW)}
    if quick:
        raw["data"].update({"limit_train": 200, "limit_test": 100})
    return seed_config(config_from_dict(raw), seed)


def deploy_curve(cfg, epochs: int) -> list[dict]:
    rng = np.random.default_rng(cfg.train.seed)
    ds, xv, yv = split_validation(load_dataset(cfg), cfg.train.val_fraction, rng)
    model = MLP.init(cfg.model.sizes, rng)
    rows = []
    for ep in range(epochs):
        train_float(model, ds.x_train, ds.y_train, 1, rng, cfg.train.lr, cfg.train.batch)
        mm = array_matmul(deploy(model, cfg.hardware, ds, rng), rng)
        rows.append({"epoch": ep + 1, "test_acc": accuracy(model, ds.x_test, ds.y_test, mm),
                     "val_acc": accuracy(model, xv, yv, mm)})
    return rows


def in_array_curve(cfg, epochs: int, lr: float) -> list[dict]:
    rng = np.random.default_rng(cfg.train.seed)
    ds, xv, yv = split_validation(load_dataset(cfg), cfg.train.val_fraction, rng)
    model = MLP.init(cfg.model.sizes, rng)
    cal = ds.x_train[:CALIBRATION_SAMPLES]
    acts = model.forward(cal)
    layers = [AnalogLayer(w, cfg.hardware, rng, input_scale=float(max(a.max(), 1e-12)),
                          domains=True, w_max=2.0 * float(np.abs(w).max()))
              for w, a in zip(model.weights, acts, strict=False)]
    for layer, a in zip(layers, acts, strict=False):
        layer.calibrate(a)

    def recalibrate(net: MLP) -> None:  # ADC ranges re-set once per epoch, as in activity
        for layer, a in zip(layers, net.forward(cal, array_matmul(layers, None)),
                            strict=False):
            layer.calibrate(a)

    rows, _ = train_in_array(model, layers, ds, epochs, lr, cfg.train.batch, rng, val=(xv, yv),
                             before_epoch=recalibrate)
    return [{"epoch": r["epoch"], "test_acc": r["test_acc"], "val_acc": r["val_acc"]}
            for r in rows]


def activity_curve(cfg) -> list[dict]:
    out = run_training(cfg)
    return [{"epoch": r["epoch"], "test_acc": r["test_acc"], "val_acc": r["val_acc"]}
            for r in out["epochs"] if r["phase"] == "activity"]


def job(method: str, dataset: str, seed: int, epochs: int, quick: bool,
        lr: float | None = None) -> dict:
    cfg = _config(dataset, seed, epochs, quick)
    t0 = time.perf_counter()
    if method == "deploy":
        rows = deploy_curve(cfg, epochs)
    elif method == "in_array":
        rows = in_array_curve(cfg, epochs, lr)
    else:
        rows = activity_curve(cfg)
    return {"method": method, "dataset": dataset, "seed": seed, "lr": lr, "rows": rows,
            "seconds": time.perf_counter() - t0}


def _mean_curve(runs: list[dict]) -> list[dict]:
    return [{"epoch": j + 1, **mean_std([r["rows"][j]["test_acc"] for r in runs])}
            for j in range(len(runs[0]["rows"]))]


def _at_best_val(runs: list[dict]) -> dict:
    """Test accuracy at each seed's best-validation epoch: mean, std, epochs chosen."""
    picks = [max(r["rows"], key=lambda row: row["val_acc"]) for r in runs]
    return {**mean_std([p["test_acc"] for p in picks]), "epochs": [p["epoch"] for p in picks]}


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6))
    for ax, (dataset, by_method) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for method, style in zip(METHODS, ("o-", "s-", "^--"), strict=True):
            pts = by_method[method]
            ax.errorbar([p["epoch"] for p in pts], [100 * p["mean"] for p in pts],
                        [100 * p["std"] for p in pts], fmt=style, capsize=3,
                        label=method.replace("_", "-"))
        ax.set_title(f"{dataset}, TaOx memristor arrays")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%), mean +- std")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _describe(r: dict) -> str:
    return (f"{r['dataset']} {r['method']} seed {r['seed']}: final "
            f"{r['rows'][-1]['test_acc']:.3f} ({r['seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/activity_curves")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke run: few images")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total = len(DATASETS) * (len(IN_ARRAY_LRS) + len(METHODS) * args.seeds)
    t0 = time.perf_counter()
    runs, chosen = [], {}
    with JobRunner(args.workers, total, "curve runs") as runner:
        for dataset in DATASETS:  # the in-array learning rate, on seed 0's validation split
            trials = runner.run(job, [("in_array", dataset, 0, args.epochs, args.quick, lr)
                                      for lr in IN_ARRAY_LRS], _describe)
            best = max(trials, key=lambda r: max(row["val_acc"] for row in r["rows"]))
            chosen[dataset] = best["lr"]
            runs += [dict(r, trial=True) for r in trials]
        jobs = [(m, d, s, args.epochs, args.quick, chosen[d] if m == "in_array" else None)
                for d in DATASETS for m in METHODS for s in range(args.seeds)]
        runs += runner.run(job, jobs, _describe)
    curves: dict = {}
    best: dict = {}
    for d in DATASETS:
        curves[d], best[d] = {}, {}
        for m in METHODS:
            sel = [r for r in runs if (r["dataset"], r["method"]) == (d, m) and not r.get("trial")]
            curves[d][m] = _mean_curve(sel)
            best[d][m] = _at_best_val(sel)
    report = {"seeds": args.seeds, "epochs": args.epochs, "in_array_lr": chosen,
              "curves": curves, "at_best_validation_epoch": best, "runs": runs,
              "wall_s": time.perf_counter() - t0}
    (out / "curves.json").write_text(json.dumps(report, indent=1))
    plot(curves, out / "curves.png")
    for d in DATASETS:
        for m in METHODS:
            b = best[d][m]
            line = " ".join(f"{100 * p['mean']:.1f}" for p in curves[d][m])
            print(f"{d:>8} {m:>9}: per epoch {line} | at best val epoch "
                  f"{100 * b['mean']:.1f} +- {100 * b['std']:.1f} %")
    return report


if __name__ == "__main__":
    main()
