"""A CNN epoch on 2 cores: LeNet on MNIST-5k (3200 training images, batch 64), one
epoch in plain PyTorch float vs one hardware-aware epoch whose every forward runs
on freshly programmed FeFET arrays (behavioral engine, 128 x 128 arrays, 8-bit DAC,
4-bit ADCs), in one run.

    .venv/bin/python benchmarks/cnn_epoch.py [--images 3200]

Prints one JSON object: seconds per epoch of each and their ratio, and the array
reads (input vectors) per image of each layer. About 2 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent.parent / "examples" / "networks"))
from mnist5k import make_net

from cosim.nn.analog_torch import convert_to_analog, set_mode, tile_report
from cosim.nn.datasets import load_mnist5k_dataset
from cosim.nn.layers import HardwareConfig


def epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    model.train()
    t0 = time.perf_counter()
    for idx in torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).split(64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3200)
    args = ap.parse_args()
    ds = load_mnist5k_dataset(seed=0)
    x = torch.tensor(ds.x_train[:args.images], dtype=torch.float32).reshape(-1, 1, 28, 28)
    y = torch.tensor(ds.y_train[:args.images])
    torch.manual_seed(0)
    model = make_net("lenet")
    t_float = epoch(model, x, y)
    hw = HardwareConfig(tile_rows=128, tile_cols=64, adc_bits=4)
    analog = convert_to_analog(model, hw, calibration=x[:256], seed=0)
    set_mode(analog, "hwa")
    t_hwa = epoch(analog, x, y)
    print(json.dumps({
        "benchmark": "cnn_epoch", "host": platform.node(), "threads": torch.get_num_threads(),
        "network": "LeNet (6 and 16 5x5 kernels, 120-84-10)", "images": len(x), "batch": 64,
        "seconds_float_epoch": t_float, "seconds_hwa_epoch": t_hwa,
        "ratio_hwa_vs_float": t_hwa / t_float, "layers": tile_report(analog)}, indent=2))


if __name__ == "__main__":
    main()
