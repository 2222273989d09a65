"""MNIST-5k on FeFET arrays: an MLP (784-256-10) and a LeNet-class CNN, float vs
deploy vs hardware-aware training, on 64x64, 128x128 and 256x256 arrays with 4-,
6- and 8-bit ADCs, over several seeds.

    .venv/bin/python examples/networks/mnist5k.py [OUT_DIR] [--seeds 5] [--quick]

Per seed (the seed draws the 80/20 train/test split, a 20 % validation split of the
training images, the initialisation and every device draw):

- float: PyTorch training (Adam), the epoch chosen on the validation split;
- deploy: the float network converted onto arrays (``convert_to_analog``): every
  Conv2d/Linear tiled onto N x N physical arrays (N rows, N/2 differential pairs),
  behavioral MoS2 FeFET engine with variation and read noise, 8-bit amplitude
  DAC, each tile's ADC ranged on 256 calibration images, partial sums of row tiles
  added digitally;
- hwa: the float network fine-tuned in the hardware-aware mode (every batch
  through freshly programmed arrays with each tile's ADC, straight-through
  gradients), epochs chosen on the validation split read through deployed
  arrays, then deployed and tested like the others. Run for the 4-bit ADC, where
  deployment loses most.

Writes mnist5k.json (per-seed rows and mean +- std) and mnist5k.png (accuracy vs
ADC bits per array size) to OUT_DIR (default runs/mnist5k). Two worker processes
(one per core); a rich progress bar gives the estimate. Measured run time on 2
cores: see the README (``--quick``: 2 seeds, 1 epoch each, 200 test images).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

SIZES = (64, 128, 256)
ADC_BITS = (4, 6, 8)
HWA_BITS = 4
NETS = ("mlp", "lenet")


def make_net(name: str):
    from torch import nn

    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(  # LeNet-5 class: 6 and 16 5x5 kernels, 120-84-10
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def accuracy(model, x, y) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return float((pred == y).float().mean())


def fit(model, x, y, xv, yv, epochs: int, lr: float, seed: int, evaluate=None) -> tuple:
    """Adam, batch 64; keeps the epoch with the best validation accuracy
    (``evaluate(model)``, default float). Returns (best val acc, best epoch)."""
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    evaluate = evaluate or (lambda m: accuracy(m, xv, yv))
    best = (evaluate(model), 0, copy.deepcopy(model.state_dict()))
    for ep in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        acc = evaluate(model)
        if acc > best[0]:
            best = (acc, ep, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    return best[0], best[1]


@dataclass(frozen=True)
class Split:
    """One seed's MNIST-5k tensors: training, validation (20 % of the training split)
    and test images as (n, 1, 28, 28), with their labels."""

    x: object
    y: object
    xv: object
    yv: object
    xt: object
    yt: object


def split(seed: int, test_limit: int | None = None) -> Split:
    """The seed's stratified 80/20 train/test split, and 20 % of the training images
    held out for validation (drawn with seed + 1000)."""
    import torch

    from cosim.nn.datasets import load_mnist5k_dataset, stratified_split

    ds = load_mnist5k_dataset(seed=seed)
    xtr, ytr, xva, yva = stratified_split(ds.x_train, ds.y_train, 0.2, seed + 1000)

    def images(a):
        return torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 28, 28)

    return Split(images(xtr), torch.tensor(ytr), images(xva), torch.tensor(yva),
                 images(ds.x_test[:test_limit]), torch.tensor(ds.y_test[:test_limit]))


def trained(net: str, seed: int, epochs: int, data: Split) -> tuple:
    """The float network of ``net`` for ``seed`` (initialisation from the seed, Adam
    lr 1e-3, the epoch chosen on validation): (model, best val acc, its epoch)."""
    import torch

    torch.manual_seed(seed)
    model = make_net(net)
    val, ep = fit(model, data.x, data.y, data.xv, data.yv, epochs, 1e-3, seed)
    return model, val, ep


def deployed_chips(seed: int, epochs: int, chips: int, configs: dict[str, dict],
                   test_limit: int | None) -> dict:
    """One seed's float LeNet (epoch chosen on validation), then ``chips`` deployments
    onto 128x128 tiles with 8-bit ADCs per named set of ``HardwareConfig`` fields
    (each chip its own device and converter draws): the periphery studies' job."""
    from cosim.nn.analog_torch import convert_to_analog
    from cosim.nn.layers import HardwareConfig

    t0 = time.time()
    data = split(seed, test_limit)
    model, _, ep = trained("lenet", seed, epochs, data)
    row = {"seed": seed, "float_epochs": ep, "float_test_acc": accuracy(model, data.xt, data.yt),
           "chips": {}}
    for name, fields in configs.items():
        hw = HardwareConfig(tile_rows=128, tile_cols=64, adc_bits=8, **fields)
        row["chips"][name] = [
            accuracy(convert_to_analog(model, hw, calibration=data.x[:256],
                                       seed=seed * 1000 + chip), data.xt, data.yt)
            for chip in range(chips)]
    row["seconds"] = time.time() - t0
    return row


def job(net: str, seed: int, epochs: int, hwa_epochs: int, test_limit: int | None) -> dict:
    from cosim.nn.analog_torch import convert_to_analog, program_analog, set_mode, tile_report
    from cosim.nn.layers import HardwareConfig

    t0 = time.time()
    data = split(seed, test_limit)
    x, y, xv, yv, xt, yt = data.x, data.y, data.xv, data.yv, data.xt, data.yt
    model, val, ep = trained(net, seed, epochs, data)
    row = {"net": net, "seed": seed, "float_val_acc": val, "float_epochs": ep,
           "float_test_acc": accuracy(model, xt, yt), "deploy": {}, "hwa": {}, "tiles": {}}
    cal = x[:256]
    for size in SIZES:
        for bits in ADC_BITS:
            hw = HardwareConfig(tile_rows=size, tile_cols=size // 2, adc_bits=bits)
            analog = convert_to_analog(model, hw, calibration=cal, seed=seed)
            row["deploy"][f"{size}/{bits}"] = accuracy(analog, xt, yt)
            row["tiles"][str(size)] = sum(r["tiles"] for r in tile_report(analog))
            row.setdefault("utilisation", {})[str(size)] = (
                sum(r["utilisation"] * r["tiles"] for r in tile_report(analog))
                / row["tiles"][str(size)])
        hw = HardwareConfig(tile_rows=size, tile_cols=size // 2, adc_bits=HWA_BITS)
        tuned = convert_to_analog(model, hw, calibration=cal, seed=seed)

        def on_arrays(m, hw=hw):  # validation through freshly deployed arrays
            set_mode(m, "arrays")
            program_analog(m, cal)
            acc = accuracy(m, xv, yv)
            set_mode(m, "hwa")
            return acc

        set_mode(tuned, "hwa")
        hv, hep = fit(tuned, x, y, xv, yv, hwa_epochs, 2e-4, seed + 1, evaluate=on_arrays)
        set_mode(tuned, "arrays")
        program_analog(tuned, cal)
        row["hwa"][f"{size}/{HWA_BITS}"] = accuracy(tuned, xt, yt)
        row.setdefault("hwa_epochs", {})[str(size)] = hep
        row.setdefault("hwa_val_acc", {})[str(size)] = hv
    row["seconds"] = time.time() - t0
    return row


def summarise(rows: list[dict]) -> dict:
    from cosim.studies.jobs import mean_std

    out = {}
    for net in NETS:
        rs = [r for r in rows if r["net"] == net]
        if not rs:
            continue
        s = {"float": mean_std([r["float_test_acc"] for r in rs]),
             "tiles": rs[0]["tiles"], "utilisation": rs[0]["utilisation"]}
        for key in rs[0]["deploy"]:
            s[f"deploy {key}"] = mean_std([r["deploy"][key] for r in rs])
        for key in rs[0]["hwa"]:
            s[f"hwa {key}"] = mean_std([r["hwa"][key] for r in rs])
        out[net] = s
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(summary), figsize=(5.5 * len(summary), 4), squeeze=False)
    for ax, (net, s) in zip(axes[0], summary.items(), strict=True):
        f = s["float"]
        ax.axhline(100 * f["mean"], color="k", ls="--", label="float")
        for size in SIZES:
            m = [100 * s[f"deploy {size}/{b}"]["mean"] for b in ADC_BITS]
            e = [100 * s[f"deploy {size}/{b}"]["std"] for b in ADC_BITS]
            ax.errorbar(ADC_BITS, m, e, marker="o", capsize=3,
                        label=f"deploy {size}x{size} ({s['tiles'][str(size)]} tiles)")
            h = s.get(f"hwa {size}/{HWA_BITS}")
            if h:
                ax.errorbar([HWA_BITS + 0.1], [100 * h["mean"]], [100 * h["std"]],
                            marker="s", capsize=3, ls="none", label=f"hwa {size}x{size}")
        ax.set_title(f"{net}, MNIST-5k, FeFET arrays")
        ax.set_xlabel("ADC bits")
        ax.set_ylabel("test accuracy (%)")
        ax.set_xticks(ADC_BITS)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/mnist5k")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--hwa-epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner

    seeds, epochs, hwa_epochs, limit = args.seeds, args.epochs, args.hwa_epochs, None
    if args.quick:
        seeds, epochs, hwa_epochs, limit = 2, 1, 1, 200
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(net, seed, epochs, hwa_epochs, limit) for net in NETS for seed in range(seeds)]
    t0 = time.time()
    with JobRunner(args.workers, len(jobs), "MNIST-5k") as runner:
        rows = runner.run(job, jobs, lambda r: (
            f"{r['net']} seed {r['seed']}: float {r['float_test_acc']:.3f}, deploy "
            f"128/8 {r['deploy']['128/8']:.3f}, 128/4 {r['deploy']['128/4']:.3f}, hwa "
            f"128/4 {r['hwa']['128/4']:.3f} ({r['seconds']:.0f} s)"))
    summary = summarise(rows)
    result = {"study": "mnist5k", "seeds": seeds, "epochs": epochs, "hwa_epochs": hwa_epochs,
              "test_limit": limit, "seconds": time.time() - t0, "summary": summary,
              "rows": rows}
    (out / "mnist5k.json").write_text(json.dumps(result, indent=2))
    plot(summary, out / "mnist5k.png")
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
