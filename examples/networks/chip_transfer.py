"""Chip-to-chip transfer: one network trained once in float, deployed on N
independently drawn chips (each its own device variation, write error and read
noise), against per-chip in-array fine-tuning of each deployed copy.

    .venv/bin/python examples/networks/chip_transfer.py [OUT_DIR] [--chips 10] [--seeds 5]

Digits, MLP 64-32-10 on MoS2 FeFET arrays (behavioral engine), at the preset's
device-to-device Vth sigma (30 mV) and at 100 mV. Per training seed (split, initialisation)
one float network; per chip a deployment with its own device draw, then 2 epochs of
in-array fine-tuning on that chip (errors through transposed reads, updates
written as pulses, lr 0.02 as ``examples/in_array_fefet.toml``), the epoch chosen on
a 20 % validation split (0 = keep the deployed weights). Reports the accuracy
distribution over chips (mean, std, worst, best) before and after. Writes
chip_transfer.json and chip_transfer.png to OUT_DIR (default runs/chip_transfer).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

SIGMAS = (None, 0.1)
"""D2D Vth sigma: the preset's (30 mV), and 100 mV."""


def job(seed: int, sigma: float | None, chips: int) -> dict:
    from cosim.nn.config import config_from_dict
    from cosim.nn.layers import HardwareConfig
    from cosim.nn.mlp import MLP, accuracy, train_float
    from cosim.nn.training import (
        array_matmul,
        deploy,
        load_dataset,
        split_validation,
        train_in_array,
    )

    t0 = time.time()
    cfg = config_from_dict({"data": {"seed": seed}, "train": {"seed": seed}})
    ds = load_dataset(cfg)
    rng = np.random.default_rng(seed)
    ds, xv, yv = split_validation(ds, 0.2, rng)
    model = MLP.init(cfg.model.sizes, rng)
    train_float(model, ds.x_train, ds.y_train, cfg.train.epochs, rng, cfg.train.lr,
                cfg.train.batch)
    hw = dataclasses.replace(HardwareConfig(), d2d_sigma_v=sigma)
    before, after, epochs = [], [], []
    for chip in range(chips):
        r = np.random.default_rng([seed, 1000 + chip])
        layers = deploy(model, hw, ds, r, domains=True)
        mm = array_matmul(layers, r)
        acc0, val0 = accuracy(model, ds.x_test, ds.y_test, mm), accuracy(model, xv, yv, mm)
        rows, _ = train_in_array(model, layers, ds, 2, 0.02, cfg.train.batch, r,
                                 val=(xv, yv))
        best = max(range(len(rows)), key=lambda i: rows[i]["val_acc"])
        keep = rows[best]["val_acc"] > val0
        before.append(acc0)
        after.append(rows[best]["test_acc"] if keep else acc0)
        epochs.append(best + 1 if keep else 0)
    return {"seed": seed, "sigma_v": sigma, "float": accuracy(model, ds.x_test, ds.y_test),
            "deployed": before, "fine_tuned": after, "epochs": epochs,
            "seconds": time.time() - t0}


def stats(v: list[float]) -> dict:
    a = np.asarray(v)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)), "min": float(a.min()),
            "max": float(a.max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/chip_transfer")
    ap.add_argument("--chips", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(s, sig, args.chips) for sig in SIGMAS for s in range(args.seeds)]
    t0 = time.time()
    with JobRunner(args.workers, len(jobs), "chips") as runner:
        rows = runner.run(job, jobs, lambda r: (
            f"seed {r['seed']} sigma {r['sigma_v']}: deployed {np.mean(r['deployed']):.3f}"
            f" -> fine-tuned {np.mean(r['fine_tuned']):.3f} ({r['seconds']:.0f} s)"))
    summary = {}
    for sig in SIGMAS:
        rs = [r for r in rows if r["sigma_v"] == sig]
        key = "30 mV (preset)" if sig is None else f"{sig * 1000:g} mV"
        summary[key] = {"float": stats([r["float"] for r in rs]),
                        "deployed": stats([a for r in rs for a in r["deployed"]]),
                        "fine_tuned": stats([a for r in rs for a in r["fine_tuned"]]),
                        "chips": len(rs) * args.chips,
                        "kept_deployed": int(sum(e == 0 for r in rs for e in r["epochs"]))}
    result = {"study": "chip_transfer", "seeds": args.seeds, "chips_per_seed": args.chips,
              "seconds": time.time() - t0, "summary": summary, "rows": rows}
    (out / "chip_transfer.json").write_text(json.dumps(result, indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SIGMAS), figsize=(5 * len(SIGMAS), 3.6), squeeze=False)
    for ax, sig in zip(axes[0], SIGMAS, strict=True):
        rs = [r for r in rows if r["sigma_v"] == sig]
        data = [[100 * a for r in rs for a in r[k]] for k in ("deployed", "fine_tuned")]
        ax.boxplot(data, tick_labels=["deployed", "fine-tuned\non each chip"])
        ax.set_title(f"D2D sigma: {'30' if sig is None else f'{sig * 1000:g}'} mV "
                     f"({len(data[0])} chips)")
        ax.set_ylabel("test accuracy (%)")
    fig.tight_layout()
    fig.savefig(out / "chip_transfer.png", dpi=120)
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
