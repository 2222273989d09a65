"""What the co-design search's points run (on the sweep machinery's workers):

- ``train_architecture``: one architecture, one seed: split (the seed draws the
  train/test split and, inside train, the validation split), initialise, train in
  floating point, prune and fine-tune to the architecture's sparsity; accuracy with
  activations quantized to ``act_bits`` (the row DAC); the weights and the
  per-layer statistics the cost model needs are saved as the point's artifacts.
- ``deploy_architecture``: the same seed's trained weights programmed onto one
  hardware design's arrays (behavioral engine, device variation and read noise
  drawn from the seed) and evaluated on the validation and test splits.

Selection reads validation accuracy only; test accuracy is reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cosim.nn.datasets import Dataset, load_digits_dataset
from cosim.nn.mlp import MLP, accuracy, train_float
from cosim.nn.training import CALIBRATION_SAMPLES, array_matmul, deploy, prune

INPUTS, CLASSES = 64, 10
STATS = ("n_in", "n_out", "kept", "r_w", "x_mean", "x_sq", "x_step", "ones", "p_on")
"""Per-layer statistics (rows of the ``stats`` artifact): weight matrix shape, kept
fraction, mean |kept w| / max |w|, and of the layer's DAC-quantized normalised inputs
x in [0, 1]: E[x], E[x^2], E[x |x - x_prev|] over consecutive samples, mean number
of 1 bits per code, P(x > 0)."""


def split(seed: int, val_fraction: float) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """(dataset split by ``seed``, train indices, validation indices)."""
    ds = load_digits_dataset(seed)
    order = np.random.default_rng([seed, 1]).permutation(len(ds.y_train))
    n_val = round(val_fraction * len(order))
    return ds, order[n_val:], order[:n_val]


def quantize(x: np.ndarray, scale: float, bits: int) -> np.ndarray:
    """Inputs as the row DAC applies them: clipped to [0, scale], ``bits`` levels."""
    top = 2**bits - 1
    return np.rint(np.clip(x / scale, 0.0, 1.0) * top) / top * scale


def input_scales(model: MLP, x_cal: np.ndarray) -> list[float]:
    acts = model.forward(x_cal)
    return [float(max(a.max(), 1e-12)) for a in acts[:-1]]


def stats_row(w: np.ndarray, keep: np.ndarray, codes: np.ndarray, bits: int) -> np.ndarray:
    """One row of ``STATS``: a weight matrix with its keep mask, and the DAC codes
    (vectors x rows, ``bits`` bits) its inputs take."""
    top = 2**bits - 1
    wk = np.abs(w[keep])
    r_w = float(wk.mean() / wk.max()) if wk.size and wk.max() > 0 else 0.0
    xn = codes / top
    ones = sum((codes >> b) & 1 for b in range(bits))
    step = np.abs(np.diff(xn, axis=0, prepend=0.0))
    return np.array([w.shape[0], w.shape[1], keep.mean(), r_w, xn.mean(), (xn**2).mean(),
                     (xn * step).mean(), np.mean(ones), (codes > 0).mean()], dtype=float)


def layer_stats(model: MLP, x_cal: np.ndarray, scales: list[float], bits: int) -> np.ndarray:
    acts = model.forward(x_cal, _quantized(model, scales, bits))
    top = 2**bits - 1
    rows = []
    for k, w in enumerate(model.weights):
        keep = model.masks[k] if model.masks else np.ones(w.shape, dtype=bool)
        codes = np.rint(np.clip(acts[k] / scales[k], 0.0, 1.0) * top).astype(np.int64)
        rows.append(stats_row(w, keep, codes, bits))
    return np.array(rows)


def _quantized(model: MLP, scales: list[float], bits: int):
    return lambda k, x: quantize(x, scales[k], bits) @ model.effective(k)


def train_architecture(params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    seed = params["seed"]
    ds, tr, va = split(seed, params["val_fraction"])
    rng = np.random.default_rng([seed, 2])
    hidden = tuple(int(w) for w in params["hidden"].split("-"))
    model = MLP.init((INPUTS, *hidden, CLASSES), rng)
    x_tr, y_tr = ds.x_train[tr], ds.y_train[tr]
    train_float(model, x_tr, y_tr, params["epochs"], rng, params["lr"])
    if params["sparsity"] > 0:
        model = prune(model, params["sparsity"])
        train_float(model, x_tr, y_tr, params["finetune_epochs"], rng, params["lr"])
    x_cal = x_tr[:CALIBRATION_SAMPLES]
    scales = input_scales(model, x_cal)
    mm = _quantized(model, scales, params["act_bits"])
    metrics = {"val_accuracy": accuracy(model, ds.x_train[va], ds.y_train[va], mm),
               "test_accuracy": accuracy(model, ds.x_test, ds.y_test, mm),
               "val_accuracy_unquantized": accuracy(model, ds.x_train[va], ds.y_train[va])}
    arts: dict[str, np.ndarray] = {"stats": layer_stats(model, x_cal, scales,
                                                        params["act_bits"])}
    for k, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        arts[f"w{k}"], arts[f"b{k}"] = w, b
        if model.masks:
            arts[f"m{k}"] = model.masks[k]
    return {"metrics": metrics, "artifacts": arts}


def load_model(path: str | Path) -> MLP:
    with np.load(path) as z:
        n = sum(1 for key in z.files if key.startswith("w"))
        model = MLP([z[f"w{k}"] for k in range(n)], [z[f"b{k}"] for k in range(n)])
        if "m0" in z.files:
            model.masks = [z[f"m{k}"].astype(bool) for k in range(n)]
    return model


def deploy_architecture(params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    from cosim.nn.layers import HardwareConfig

    seed = params["seed"]
    ds, tr, va = split(seed, params["val_fraction"])
    model = load_model(params["weights"])
    hw = HardwareConfig(cell=params["cell"], engine="behavioral", tile_rows=params["tile"],
                        tile_cols=params["tile"] // 2, dac_bits=params["act_bits"],
                        dac_v_fs_v=params["v_read_v"], adc_bits=params["adc_bits"],
                        dac_encoding=params["encoding"])
    if model.masks and not hw.make_cell().prunable:
        # a dense cell holds a pruned weight as an equal pair (weight 0)
        model = MLP([model.effective(k) for k in range(len(model.weights))], model.biases)
    train = Dataset(ds.x_train[tr], ds.y_train[tr], ds.x_test, ds.y_test, CLASSES, ds.name)
    rng = np.random.default_rng([seed, 3])
    layers = deploy(model, hw, train, rng)
    mm = array_matmul(layers, rng)
    return {"metrics": {"val_accuracy": accuracy(model, ds.x_train[va], ds.y_train[va], mm),
                        "test_accuracy": accuracy(model, ds.x_test, ds.y_test, mm)},
            "artifacts": {}}
