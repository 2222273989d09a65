"""Your own trained ``torch.nn`` model on simulated FeFET arrays, in three lines.

    .venv/bin/python examples/torch/convert.py

Trains a small CNN on sklearn's 8x8 digits in plain PyTorch (a few seconds), then
converts it: every Conv2d and Linear is tiled onto 64 x 32 FeFET arrays (behavioral
engine, device variation, read noise, 8-bit DAC and per-tile 8-bit ADC) and the test
set is evaluated through them. Prints one JSON line with both accuracies and the
tiles each layer uses. About 10 s on 2 cores.
"""

import json

import numpy as np
import torch
from torch import nn

from cosim.nn.analog_torch import convert_to_analog, tile_report
from cosim.nn.datasets import load_digits_dataset
from cosim.nn.layers import HardwareConfig


def trained_model(x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def main() -> None:
    ds = load_digits_dataset(seed=0)
    x = torch.tensor(ds.x_train, dtype=torch.float32).reshape(-1, 1, 8, 8)
    xt = torch.tensor(ds.x_test, dtype=torch.float32).reshape(-1, 1, 8, 8)
    yt = np.asarray(ds.y_test)
    model = trained_model(x, torch.tensor(ds.y_train))

    # the three lines: convert (program + range the ADCs on 256 images), evaluate
    analog = convert_to_analog(model, HardwareConfig(), calibration=x[:256], seed=0)
    with torch.no_grad():
        hardware_acc = float((analog(xt).argmax(1).numpy() == yt).mean())

    with torch.no_grad():
        float_acc = float((model(xt).argmax(1).numpy() == yt).mean())
    print(json.dumps({"float_test_acc": float_acc, "hardware_test_acc": hardware_acc,
                      "layers": tile_report(analog)}))


if __name__ == "__main__":
    main()
