"""Chip roll-up of the MNIST-5k LeNet: energy, latency, area and TOPS/W per inference
on FeFET tiles beside a digital baseline, and the same network pruned to 75 % held
three ways: dense cells, conventional sparse (CSR index + gather) and the index-free
2-FeFET cell.

    .venv/bin/python examples/networks/chip_rollup.py [OUT_DIR] [--seeds 5] [--quick]

Per seed (split, initialisation, pruning fine-tune and device draws): LeNet trained
in float (epochs chosen on a validation split), pruned to 75 % per layer by
magnitude and fine-tuned with the mask held (2 epochs), then deployed on 128 x 128
arrays (8-bit DAC, 8-bit SAR ADCs, 4 columns per converter): the dense network on
one-FeFET cells, the pruned network on one-FeFET cells (pruned pairs at G_min) and
on 2-FeFET index-free cells. Test accuracy of each, and the chip roll-up
(``cosim.codesign.chip``) from the layers' measured input statistics. Writes
chip_rollup.json to OUT_DIR (default runs/chip_rollup).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

SPARSITY = 0.75
TILE = 128


def prune_(model, sparsity: float) -> dict:
    """Magnitude pruning per Conv2d/Linear weight; returns the masks."""
    import torch

    masks = {}
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            k = round(sparsity * p.numel())
            cut = p.detach().abs().flatten().kthvalue(max(k, 1)).values
            masks[name] = (p.detach().abs() > cut).to(p.dtype)
            with torch.no_grad():
                p.mul_(masks[name])
    return masks


def job(seed: int, epochs: int, test_limit: int | None) -> dict:
    from mnist5k import accuracy, fit, make_net, split, trained

    from cosim.codesign.chip import ChipDesign, chip_loads, digital_baseline, rollup
    from cosim.nn.analog_torch import convert_to_analog
    from cosim.nn.layers import HardwareConfig

    t0 = time.time()
    data = split(seed, test_limit)
    x, y, xv, yv, xt, yt = data.x, data.y, data.xv, data.yv, data.xt, data.yt
    dense, _, _ = trained("lenet", seed, epochs, data)
    pruned = make_net("lenet")
    pruned.load_state_dict(dense.state_dict())
    masks = prune_(pruned, SPARSITY)
    params = dict(pruned.named_parameters())
    hooks = [params[n].register_hook(lambda g, m=m: g * m) for n, m in masks.items()]
    fit(pruned, x, y, xv, yv, 2, 3e-4, seed + 1)
    for h in hooks:
        h.remove()
    prune_(pruned, SPARSITY)  # Adam's momentum may have nudged pruned weights
    cal = x[:256]
    fefet = HardwareConfig(tile_rows=TILE, tile_cols=TILE // 2)
    index_free = HardwareConfig(cell="sparse_fefet", tile_rows=TILE, tile_cols=TILE // 2)
    row = {"seed": seed, "float_dense": accuracy(dense, xt, yt),
           "float_pruned": accuracy(pruned, xt, yt)}
    deployed = {"dense": (dense, fefet), "pruned_dense_cells": (pruned, fefet),
                "pruned_index_free": (pruned, index_free)}
    loads = {}
    for name, (net, hw) in deployed.items():
        analog = convert_to_analog(net, hw, calibration=cal, seed=seed)
        row[f"arrays_{name}"] = accuracy(analog, xt, yt)
        loads[name] = chip_loads(analog, x[:200])
    designs = {"dense network, dense cells": ("dense", "dense"),
               "pruned 75 %, dense cells": ("pruned_dense_cells", "dense"),
               "pruned 75 %, CSR + gather": ("pruned_dense_cells", "csr"),
               "pruned 75 %, index-free cells": ("pruned_index_free", "index_free")}
    row["chip"] = {}
    for label, (which, storage) in designs.items():
        r = rollup(loads[which], ChipDesign(tile=TILE, storage=storage))
        r.pop("layers")
        row["chip"][label] = r
    dense_macs = row["chip"]["dense network, dense cells"]["useful_macs"]
    kept_macs = row["chip"]["pruned 75 %, index-free cells"]["useful_macs"]
    row["digital"] = {
        "int8 arithmetic, dense network": digital_baseline(dense_macs, "int8", False),
        "int8 + SRAM weight reads, dense network": digital_baseline(dense_macs, "int8", True),
        "int8 + SRAM weight reads, kept MACs only": digital_baseline(kept_macs, "int8", True),
    }
    row["seconds"] = time.time() - t0
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/chip_rollup")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner, mean_std

    seeds, epochs, limit = args.seeds, args.epochs, None
    if args.quick:
        seeds, epochs, limit = 2, 1, 200
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with JobRunner(args.workers, seeds, "chip roll-up") as runner:
        rows = runner.run(job, [(s, epochs, limit) for s in range(seeds)], lambda r: (
            f"seed {r['seed']}: float {r['float_dense']:.3f} / pruned {r['float_pruned']:.3f}"
            f", arrays {r['arrays_dense']:.3f} / index-free {r['arrays_pruned_index_free']:.3f}"
            f" ({r['seconds']:.0f} s)"))
    acc = {k: mean_std([r[k] for r in rows]) for k in rows[0]
           if k.startswith(("float_", "arrays_"))}
    chip = {}
    for label in rows[0]["chip"]:
        chip[label] = {k: mean_std([r["chip"][label][k] for r in rows])
                       for k in ("energy_j", "latency_s", "area_mm2", "tops_per_w",
                                 "tops_per_mm2", "tiles")}
        chip[label]["energy_by_block_j"] = {
            b: float(np.mean([r["chip"][label]["energy_by_block_j"][b] for r in rows]))
            for b in rows[0]["chip"][label]["energy_by_block_j"]}
    result = {"study": "chip_rollup", "seeds": seeds, "epochs": epochs, "tile": TILE,
              "sparsity": SPARSITY, "accuracy": acc, "chip": chip,
              "digital": rows[0]["digital"], "seconds": time.time() - t0, "rows": rows}
    (out / "chip_rollup.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("accuracy", "chip", "digital", "seconds")},
                     indent=2))


if __name__ == "__main__":
    main()
