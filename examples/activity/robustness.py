"""Robustness of activity-difference training vs deploy-from-float on MoS2 FeFET
arrays (digits, 64-32-10): test accuracy vs D2D sigma_Vth {0, 30, 60, 100} mV,
read noise {0.5, 2, 5} % and usable levels {8, 16, 23, 64}, one knob at a time
(the others at the preset: 30 mV, 0.5 %, 64 domains programmed continuously).

Each point is 5 seeds (split, initialisation and devices drawn per seed). Deploy:
30 float epochs, then the weights programmed onto the arrays. Activity: 4
in-array epochs from a random start; the reported epoch is the one with the best
validation accuracy (20 % of the training split), per seed.

Writes robustness.json and robustness.png to the output folder (default
runs/activity_robustness). 28 min on 2 cores (2 worker processes, measured).

    python examples/activity/robustness.py [OUT_DIR] [--seeds N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cosim.nn.commands import seed_config
from cosim.nn.config import config_from_dict
from cosim.nn.training import run_training
from cosim.studies.jobs import JobRunner, mean_std

KNOBS = {
    "d2d_sigma_v": [0.0, 0.03, 0.06, 0.10],
    "read_noise_frac": [0.005, 0.02, 0.05],
    "levels": [8, 16, 23, 64],
}
ACTIVITY = {"mode": "activity", "array_epochs": 4, "array_lr": 0.3, "batch": 16}
ACTIVITY_HW = {"cell": "fefet", "pair_mapping": "balanced", "write_polarities": "potentiate"}
DEPLOY = {"mode": "deploy", "epochs": 30}


def job(mode: str, knob: str, value: float, seed: int, quick: bool) -> dict:
    """One training run; returns its test accuracy (at the best-validation epoch)."""
    train, hw = (ACTIVITY, ACTIVITY_HW) if mode == "activity" else (DEPLOY, {"cell": "fefet"})
    raw = {"train": dict(train), "hardware": {**hw, knob: value}}
    if quick:  # a smoke run: a few images, one epoch
        raw["data"] = {"limit_train": 200, "limit_test": 100}
        raw["train"].update({"array_epochs": 1, "epochs": 2})
    cfg = seed_config(config_from_dict(raw), seed)
    t0 = time.perf_counter()
    out = run_training(cfg)
    if mode == "activity":
        rows = [r for r in out["epochs"] if r["phase"] == "activity"]
        best = max(rows, key=lambda r: r.get("val_acc", 0.0))
        acc, epoch = best["test_acc"], best["epoch"]
    else:
        acc, epoch = out["summary"]["hardware_test_acc"], cfg.train.epochs
    return {"mode": mode, "knob": knob, "value": value, "seed": seed, "test_acc": acc,
            "epoch": epoch, "seconds": time.perf_counter() - t0}


def plot(points: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"d2d_sigma_v": "D2D sigma_Vth (mV)", "read_noise_frac": "read noise (%)",
              "levels": "usable levels"}
    scale = {"d2d_sigma_v": 1e3, "read_noise_frac": 100, "levels": 1}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for ax, knob in zip(axes, KNOBS, strict=True):
        for mode, style in (("deploy", "o-"), ("activity", "s--")):
            pts = [p for p in points[knob] if p["mode"] == mode]
            ax.errorbar([p["value"] * scale[knob] for p in pts],
                        [100 * p["mean"] for p in pts], [100 * p["std"] for p in pts],
                        fmt=style, capsize=3, label=mode)
        ax.set_xlabel(labels[knob])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%), mean +- std")
    axes[0].legend()
    fig.suptitle("FeFET arrays, digits: deploy-from-float vs activity difference")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/activity_robustness")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke run: few images, 1 epoch")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(mode, knob, value, s, args.quick) for knob, values in KNOBS.items()
            for value in values for mode in ("activity", "deploy") for s in range(args.seeds)]
    t0 = time.perf_counter()
    with JobRunner(args.workers, len(jobs), "robustness runs") as runner:
        results = runner.run(job, jobs, lambda r: f"{r['mode']} {r['knob']}={r['value']} "
                             f"seed {r['seed']}: {r['test_acc']:.3f}")
    points: dict = {knob: [] for knob in KNOBS}
    for knob, values in KNOBS.items():
        for value in values:
            for mode in ("deploy", "activity"):
                accs = [r["test_acc"] for r in results
                        if (r["mode"], r["knob"], r["value"]) == (mode, knob, value)]
                points[knob].append({"mode": mode, "value": value, **mean_std(accs),
                                     "per_seed": accs})
    report = {"seeds": args.seeds, "points": points, "runs": results,
              "wall_s": time.perf_counter() - t0}
    (out / "robustness.json").write_text(json.dumps(report, indent=1))
    plot(points, out / "robustness.png")
    for knob in KNOBS:
        for p in points[knob]:
            print(f"{knob:>16} {p['value']:>7g} {p['mode']:>9}: "
                  f"{100 * p['mean']:.1f} +- {100 * p['std']:.1f} %")
    return report


if __name__ == "__main__":
    main()
