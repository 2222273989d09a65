"""MNIST-5k in-array fine-tuning of the MLP and the LeNet through the PyTorch interface:
the float network of ``mnist5k.py`` (same seeds, same training), deployed on
128 x 128 FeFET arrays with its states as ferroelectric domains, then fine-tuned on
the arrays: forward reads of the arrays, updates written as gate pulses per cell
(``set_mode(model, "in_array")``), the epoch (<= 2, 0 = the deployment) chosen on
the validation split read through the arrays.

    .venv/bin/python examples/networks/mnist5k_in_array.py [OUT_DIR] [--seeds 5]

Writes mnist5k_in_array.json to OUT_DIR (default runs/mnist5k_in_array).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SIZE, BITS = 128, 8


def job(net: str, seed: int, epochs: int, array_epochs: int, lr: float) -> dict:
    import copy

    import torch
    from mnist5k import accuracy, split, trained
    from torch import nn

    from cosim.nn.analog_torch import convert_to_analog, set_mode
    from cosim.nn.layers import HardwareConfig

    t0 = time.time()
    data = split(seed)
    x, y, xv, yv, xt, yt = data.x, data.y, data.xv, data.yv, data.xt, data.yt
    model, _, _ = trained(net, seed, epochs, data)
    hw = HardwareConfig(tile_rows=SIZE, tile_cols=SIZE // 2, adc_bits=BITS)
    analog = convert_to_analog(model, hw, calibration=x[:256], seed=seed, in_array=True)
    row = {"net": net, "seed": seed, "float_test_acc": accuracy(model, xt, yt),
           "deployed_test_acc": accuracy(analog, xt, yt)}
    best = (accuracy(analog, xv, yv), 0, copy.deepcopy(analog))
    set_mode(analog, "in_array", array_lr=lr)
    biases = [p for n, p in analog.named_parameters() if n.endswith("bias")]
    opt = torch.optim.SGD(biases, lr=lr)
    gen = torch.Generator().manual_seed(seed)
    seconds = []
    for ep in range(1, array_epochs + 1):
        t1 = time.time()
        analog.train()
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(analog(x[idx]), y[idx]).backward()
            opt.step()
        seconds.append(time.time() - t1)
        val = accuracy(analog, xv, yv)
        if val > best[0]:
            best = (val, ep, copy.deepcopy(analog))
    row.update(in_array_test_acc=accuracy(best[2], xt, yt), in_array_epoch=best[1],
               seconds_per_array_epoch=sum(seconds) / len(seconds), seconds=time.time() - t0)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/mnist5k_in_array")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--array-epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner, mean_std

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(net, s, args.epochs, args.array_epochs, args.lr) for net in ("mlp", "lenet")
            for s in range(args.seeds)]
    t0 = time.time()
    with JobRunner(args.workers, len(jobs), "in-array") as runner:
        rows = runner.run(job, jobs, lambda r: (
            f"{r['net']} seed {r['seed']}: float {r['float_test_acc']:.3f}, deployed "
            f"{r['deployed_test_acc']:.3f}, in-array {r['in_array_test_acc']:.3f} "
            f"(epoch {r['in_array_epoch']}, {r['seconds']:.0f} s)"))
    summary = {net: {k: mean_std([r[k] for r in rows if r["net"] == net])
                     for k in ("float_test_acc", "deployed_test_acc", "in_array_test_acc",
                               "seconds_per_array_epoch")}
               for net in ("mlp", "lenet")}
    result = {"study": "mnist5k_in_array", "array": f"{SIZE}x{SIZE}", "adc_bits": BITS,
              "seeds": args.seeds, "lr": args.lr, "seconds": time.time() - t0,
              "summary": summary, "rows": rows}
    (out / "mnist5k_in_array.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
