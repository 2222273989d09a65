"""Training and inference with the simulated arrays in the loop.

Modes (``train.mode``):
- ``deploy``: train in floating point, program the devices (with write
  variation), evaluate through the configured engine.
- ``hwa``: hardware-aware training: DAC/ADC quantization and weight noise in the
  forward pass (straight-through backward), then deploy.
- ``in_array``: float pre-training, then ``array_epochs`` where every forward
  pass runs on the arrays (any engine; ``spice`` = chip-in-the-loop), the
  backward pass uses the weights read back from the devices, and updates are
  written as gate pulses through the FeFET switching model.
- ``vau``: pre-train, prune to ``sparsity`` (2-FeFET sparse cells), then
  in-array fine-tuning twice from the same start: exact per-cell updates and
  the vectorial approximate update (one value per row + one per column).
- ``prune``: train -> one-shot magnitude prune -> fine-tune, for each point of
  ``sparsities`` (the sparsity-vs-accuracy curve); deployed on sparse cells;
  the ``sparsity`` point is exported (device states, a netlist, manifest).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from cosim.nn.config import RunConfig
from cosim.nn.datasets import (
    Dataset,
    kfold,
    load_braille_dataset,
    load_digits_dataset,
    load_idx_dataset,
    load_mnist5k_dataset,
)
from cosim.nn.layers import AnalogLayer, HardwareConfig, programmed_layer
from cosim.nn.mlp import MLP, SGD, MatMul, accuracy, train_float
from cosim.nn.weights import load_weights
from cosim.nn.writes import WriteLedger, vau_vectors
from device_models import fefet_mos2 as fe
from device_models.validation import ParamError

Progress = Callable[[str, dict], None]
CALIBRATION_SAMPLES = 512


def load_dataset(cfg: RunConfig, fold: int | None = None) -> Dataset:
    """The configured dataset; with ``fold``, that fold of a ``train.folds``-fold split
    of all its images (the fold tests, the rest trains)."""
    d = cfg.data
    if d.dataset == "digits":
        ds = load_digits_dataset(d.seed)
    elif d.dataset == "braille":
        ds = load_braille_dataset(d.seed)
    elif d.dataset == "mnist5k":
        ds = load_mnist5k_dataset(d.seed)
    else:
        ds = load_idx_dataset(d.dataset, d.train_images, d.train_labels, d.test_images,
                              d.test_labels)
    if fold is not None:
        ds = kfold(ds, fold, cfg.train.folds, d.seed)
    if ds.features != cfg.model.sizes[0]:
        raise ParamError("model.sizes[0]", cfg.model.sizes[0],
                         f"must equal the dataset's {ds.features} input features")
    if ds.classes > cfg.model.sizes[-1]:
        raise ParamError("model.sizes[-1]", cfg.model.sizes[-1],
                         f"must be at least the dataset's {ds.classes} classes")
    n_tr = d.limit_train or len(ds.y_train)
    n_te = d.limit_test or len(ds.y_test)
    return Dataset(ds.x_train[:n_tr], ds.y_train[:n_tr], ds.x_test[:n_te], ds.y_test[:n_te],
                   ds.classes, ds.name)


# ---------------------------------------------------------------- deployment

def deploy(model: MLP, hw: HardwareConfig, ds: Dataset, rng: np.random.Generator,
           domains: bool = False) -> list[AnalogLayer]:
    """Program every layer onto arrays and calibrate input scales and ADC ranges."""
    acts = model.forward(ds.x_train[:CALIBRATION_SAMPLES])
    layers = []
    for k, w in enumerate(model.weights):
        scale = float(max(acts[k].max(), 1e-12))
        mask = model.masks[k] if model.masks else None
        layer = AnalogLayer(w, hw, rng, mask=mask, input_scale=scale, domains=domains)
        layer.calibrate(acts[k])
        layers.append(layer)
    return layers


def array_matmul(layers: list[AnalogLayer], rng: np.random.Generator | None,
                 age_s: float | None = None, compensate: bool = False) -> MatMul:
    return lambda k, x: layers[k].forward(x, rng, age_s, compensate)


def hwa_matmul(model: MLP, hw: HardwareConfig, noise: float, rng: np.random.Generator,
               input_scales: list[float]) -> MatMul:
    """Hardware-aware forward: the current weights programmed onto freshly drawn arrays
    (device variation drawn anew each batch) and read through the configured engine,
    so the loss sees the cell's I-V curvature, variation and read noise, the DAC and
    every tile's ADC (ranged on the batch); ``noise`` adds weight noise (sigma
    relative to max |w|) on top. Gradients pass straight through (``MLP.gradients``
    uses the float weights). The same forward as the PyTorch interface's hwa mode
    (``programmed_layer``)."""

    def mm(k: int, x: np.ndarray) -> np.ndarray:
        w = model.effective(k)
        if noise > 0:
            w = w + rng.normal(0.0, noise * np.abs(w).max(), w.shape)
        mask = model.masks[k] if model.masks else None
        layer = programmed_layer(w, hw, rng, x, input_scales[k], mask)
        return layer.forward(x, rng)

    return mm


def prune(model: MLP, sparsity: float) -> MLP:
    """One-shot magnitude pruning, per layer, to the target sparsity."""
    out = copy.deepcopy(model)
    out.masks = []
    for w in out.weights:
        k = round(sparsity * w.size)
        keep = np.ones(w.shape, dtype=bool)
        if k:
            keep.ravel()[np.argsort(np.abs(w), axis=None)[:k]] = False
        out.masks.append(keep)
    return out


# ---------------------------------------------------------------- in-array training

def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a.ravel(), b.ravel()) / (na * nb)) if na > 0 and nb > 0 else 0.0


def vau_fidelity(x: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> float:
    """Cosine, on the kept cells, between VAU's additive update u_i + v_j (computed
    without the mask) and the exact update x^T delta."""
    u, v = vau_vectors(x, delta, 1.0)
    return cosine(((u[:, None] + v[None, :]) * mask)[mask], (-(x.T @ delta))[mask])


def split_validation(ds: Dataset, fraction: float, rng: np.random.Generator
                     ) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """(training set without the validation images, validation x, validation y)."""
    order = rng.permutation(len(ds.y_train))
    n_val = round(fraction * len(order))
    va, tr = order[:n_val], order[n_val:]
    return (Dataset(ds.x_train[tr], ds.y_train[tr], ds.x_test, ds.y_test, ds.classes, ds.name),
            ds.x_train[va], ds.y_train[va])


def train_in_array(model: MLP, layers: list[AnalogLayer], ds: Dataset, epochs: int, lr: float,
                   batch: int, rng: np.random.Generator, write_mode: str = "exact",
                   backward: str = "array", progress: Progress | None = None,
                   phase: str | None = None, val: tuple[np.ndarray, np.ndarray] | None = None,
                   before_epoch: Callable[[MLP], None] | None = None
                   ) -> tuple[list[dict], WriteLedger]:
    """Forward on the arrays; errors carried back by transposed reads of the arrays
    (``backward = "array"``) or by the exactly read-back weights (``"exact"``);
    updates written as pulses, per cell or by index-free line writes (``write_mode``).
    Every 8th batch the applied update (weights read back before and after) is
    compared with the exact one on the kept cells (cosine). ``before_epoch`` sees
    the network (weights read back, biases as trained) before each epoch, e.g. to
    re-set the ADC ranges."""
    model = copy.deepcopy(model)
    bias_opt = SGD(lr=lr, momentum=0.0)
    rows = []
    mm = array_matmul(layers, rng)
    total = WriteLedger()

    def transpose(k: int, delta: np.ndarray) -> np.ndarray:
        return layers[k].backward(delta, rng)

    for ep in range(epochs):
        if before_epoch is not None:
            model.weights = [layer.read_weights() for layer in layers]
            before_epoch(model)
        t0 = time.perf_counter()
        order = rng.permutation(len(ds.y_train))
        losses, cosines = [], []
        ledger = WriteLedger()
        for b, s in enumerate(range(0, len(order), batch)):
            idx = order[s:s + batch]
            if backward == "exact":
                model.weights = [layer.read_weights() for layer in layers]
            acts = model.forward(ds.x_train[idx], mm)
            gw, gb, loss = model.gradients(acts, ds.y_train[idx],
                                           transpose if backward == "array" else None)
            check = b % 8 == 0
            before = [layer.read_weights() for layer in layers] if check else None
            for k, layer in enumerate(layers):
                ledger.add(layer.apply_update(acts[k], model.last_deltas[k], lr, rng,
                                              write_mode))
            if check:
                applied = [layer.read_weights() - w0 for layer, w0 in zip(layers, before,
                                                                           strict=True)]
                cosines.append(np.mean([cosine(a[layer.mask], -lr * g[layer.mask]) for a, g,
                                        layer in zip(applied, gw, layers, strict=True)]))
            bias_opt.step(model.biases, gb)
            losses.append(loss)
        model.weights = [layer.read_weights() for layer in layers]
        total.add(ledger)
        row = {"phase": phase or write_mode, "epoch": ep + 1, "loss": float(np.mean(losses)),
               "test_acc": accuracy(model, ds.x_test, ds.y_test, mm),
               "applied_cosine": float(np.mean(cosines)),
               **ledger.as_dict("write_"), "seconds": time.perf_counter() - t0}
        if val is not None and len(val[1]):
            row["val_acc"] = accuracy(model, val[0], val[1], mm)
        rows.append(row)
        if progress:
            progress("epoch", row)
    return rows, total


def regrow(model: MLP, layers: list[AnalogLayer], ds: Dataset, fraction: float,
           batch: int, mm: MatMul) -> int:
    """Re-enable ``fraction`` of each layer's pruned weights, those with the largest
    |gradient| over the training set (the one step besides pruning that uses the
    index): their digital FeFETs are written on; the weights start from zero."""
    grads = [np.zeros(w.shape) for w in model.weights]
    for s in range(0, len(ds.y_train), 512):
        acts = model.forward(ds.x_train[s:s + 512], mm)
        gw, _, _ = model.gradients(acts, ds.y_train[s:s + 512])
        for g, gk in zip(grads, gw, strict=True):
            g += np.abs(gk)
    changed = 0
    for k, layer in enumerate(layers):
        pruned = ~layer.mask
        n = round(fraction * int(pruned.sum()))
        if n == 0:
            continue
        score = np.where(pruned, grads[k], -np.inf)
        grow = np.zeros(layer.mask.shape, dtype=bool)
        grow.ravel()[np.argsort(score, axis=None)[::-1][:n]] = True
        layer.set_mask(layer.mask | grow)
        model.masks[k] = layer.mask.copy()
        changed += n
    return changed


# ---------------------------------------------------------------- the modes

def progress_steps(cfg: RunConfig) -> int:
    """How many times ``run_training`` calls its progress callback (epochs and curve
    points), so that a display can show the fraction done and an estimate."""
    tc = cfg.train
    if tc.mode == "hwa":
        return max(1, tc.epochs // 3) + tc.epochs
    if tc.mode == "in_array":
        return tc.epochs + tc.array_epochs
    if tc.mode == "vau":
        regrow = tc.regrow_epochs if tc.regrow > 0 else 0
        return tc.epochs + 2 * (tc.array_epochs + regrow)
    if tc.mode == "prune":
        return tc.epochs + len(set(tc.sparsities) | {tc.sparsity}) * (tc.finetune_epochs + 1)
    if tc.mode == "activity":
        return tc.array_epochs
    return tc.epochs


def run_training(cfg: RunConfig, progress: Progress | None = None,
                 fold: int | None = None) -> dict:
    """Run ``cfg.train.mode`` (on fold ``fold`` of a k-fold split when given); returns
    {"epochs": rows, "summary": {...}, "model": MLP, "layers": [...]}."""
    tc, hw = cfg.train, cfg.hardware
    ds = load_dataset(cfg, fold)
    rng = np.random.default_rng(tc.seed)
    rows: list[dict] = []
    val = None
    if tc.mode in ("in_array", "vau", "activity") and tc.val_fraction > 0:
        ds, *val = split_validation(ds, tc.val_fraction, rng)

    def on_epoch(phase: str) -> Callable[[int, float], None]:
        def cb(ep: int, loss: float) -> None:
            row = {"phase": phase, "epoch": ep + 1, "loss": loss}
            rows.append(row)
            if progress:
                progress("epoch", row)
        return cb

    if tc.mode == "activity":
        return _activity(cfg, ds, val, rng, rows, progress)
    imported = bool(cfg.model.weights)  # trained elsewhere: no float training here
    model = (load_weights(cfg.model.weights, cfg.model.sizes) if imported
             else MLP.init(cfg.model.sizes, rng))
    if tc.mode == "hwa":
        if not imported:
            train_float(model, ds.x_train, ds.y_train, max(1, tc.epochs // 3), rng, tc.lr,
                        tc.batch, on_epoch=on_epoch("float"))
        acts = model.forward(ds.x_train[:CALIBRATION_SAMPLES])
        scales = [float(max(a.max(), 1e-12)) for a in acts[:-1]]
        train_float(model, ds.x_train, ds.y_train, tc.epochs, rng, tc.lr, tc.batch,
                    matmul=hwa_matmul(model, hw, tc.hwa_noise, rng, scales),
                    on_epoch=on_epoch("hwa"))
    elif not imported:
        train_float(model, ds.x_train, ds.y_train, tc.epochs, rng, tc.lr, tc.batch,
                    on_epoch=on_epoch("float"))
    summary: dict = {"mode": tc.mode, "float_test_acc": accuracy(model, ds.x_test, ds.y_test)}
    if imported:
        summary["weights"] = cfg.model.weights

    if tc.mode in ("deploy", "hwa"):
        layers = deploy(model, hw, ds, rng)
        summary["hardware_test_acc"] = accuracy(model, ds.x_test, ds.y_test,
                                                array_matmul(layers, rng))
        summary.update(_program_summary(layers))
        return {"epochs": rows, "summary": summary, "model": model, "layers": layers}

    if tc.mode == "in_array":
        layers = deploy(model, hw, ds, rng, domains=True)
        summary["hardware_test_acc_before"] = accuracy(model, ds.x_test, ds.y_test,
                                                       array_matmul(layers, rng))
        summary.update(_program_summary(layers))
        epochs, ledger = train_in_array(model, layers, ds, tc.array_epochs, tc.array_lr,
                                        tc.batch, rng, tc.write_mode, tc.backward, progress,
                                        "in_array", val)
        rows += epochs
        summary["hardware_test_acc"] = rows[-1]["test_acc"] if tc.array_epochs else (
            summary["hardware_test_acc_before"])
        summary["seconds_per_array_epoch"] = float(np.mean(
            [r["seconds"] for r in rows if r["phase"] == "in_array"] or [0.0]))
        summary.update(ledger.as_dict("write_"))
        return {"epochs": rows, "summary": summary, "model": model, "layers": layers}

    if tc.mode == "vau":
        if not hw.make_cell().prunable:
            raise ParamError("hardware.cell", hw.cell, "vau mode needs a prunable cell "
                             "(sparse_fefet or sparse_fefet_pair)")
        return _on_chip_schedule(cfg, model, ds, val, rng, rows, summary, progress)

    # prune: the sparsity-vs-accuracy curve
    curve = []
    exported = None
    for sp in sorted(set(tc.sparsities) | {tc.sparsity}):
        pruned = prune(model, sp)
        train_float(pruned, ds.x_train, ds.y_train, tc.finetune_epochs, rng, tc.lr, tc.batch,
                    on_epoch=on_epoch(f"finetune@{sp:g}"))
        hw_sp = hw if sp == 0 or hw.make_cell().prunable else replace(hw, cell="sparse_fefet")
        layers = deploy(pruned, hw_sp, ds, rng)
        point = {"sparsity": sp, "float_test_acc": accuracy(pruned, ds.x_test, ds.y_test),
                 "hardware_test_acc": accuracy(pruned, ds.x_test, ds.y_test,
                                               array_matmul(layers, rng)),
                 "weights_kept": int(sum(m.sum() for m in pruned.masks))}
        curve.append(point)
        if progress:
            progress("point", point)
        if sp == tc.sparsity:
            exported = (pruned, layers)
    summary["curve"] = curve
    summary["dense_float_test_acc"] = next(p["float_test_acc"] for p in curve
                                           if p["sparsity"] == min(q["sparsity"] for q in curve))
    return {"epochs": rows, "summary": summary, "model": exported[0], "layers": exported[1]}


def _program_summary(layers: list[AnalogLayer]) -> dict:
    """Arrays (tiles) used, FeFETs per signed weight and pulse-programming figures,
    averaged over layers (no programming figures for ideal programming)."""
    out = {"tiles": sum(len(layer.fields) for layer in layers),
           "fefets_per_weight": 2.0 * layers[0].cell.fefets_per_cell}
    stats = [layer.program_stats for layer in layers if layer.program_stats]
    if stats:
        out.update({f"program_{k}": float(np.mean([st[k] for st in stats])) for k in stats[0]})
    return out


FIDELITY_SPARSITIES = (0.0, 0.5, 0.75, 0.9)


def _fidelity_curve(model: MLP, ds: Dataset, batch: int, rng: np.random.Generator
                    ) -> list[dict]:
    """VAU's ideal fidelity (cosine with the exact update on kept cells) vs sparsity, on
    the float network's own gradients (first layer, 16 batches)."""
    out = []
    for sp in FIDELITY_SPARSITIES:
        pruned = prune(model, sp)
        cos = []
        for _ in range(16):
            idx = rng.integers(0, len(ds.y_train), batch)
            acts = pruned.forward(ds.x_train[idx])
            pruned.gradients(acts, ds.y_train[idx])
            cos.append(vau_fidelity(acts[0], pruned.last_deltas[0], pruned.masks[0]))
        out.append({"sparsity": sp, "vau_cosine": float(np.mean(cos))})
    return out


def _on_chip_schedule(cfg: RunConfig, model: MLP, ds: Dataset, val, rng: np.random.Generator,
                      rows: list[dict], summary: dict, progress: Progress | None) -> dict:
    """The published on-chip schedule, twice from one start (exact per-cell writes, the
    reference, and index-free VAU): prune (index used) -> deploy -> in-array fine-tune
    -> regrow (index used) -> in-array fine-tune; accuracy and writes per stage."""
    tc, hw = cfg.train, cfg.hardware
    pruned = prune(model, tc.sparsity)
    summary["pruned_float_test_acc"] = accuracy(pruned, ds.x_test, ds.y_test)
    summary["sparsity"] = tc.sparsity
    summary["fidelity"] = _fidelity_curve(model, ds, tc.batch, rng)
    start_seed = int(rng.integers(2**31))
    layers: list[AnalogLayer] = []
    for mode in ("exact", "vau"):
        r2 = np.random.default_rng(start_seed)  # both variants from the same start
        net = copy.deepcopy(pruned)
        layers = deploy(net, hw, ds, r2, domains=True)
        mm = array_matmul(layers, r2)
        summary[f"{mode}_test_acc_before"] = accuracy(net, ds.x_test, ds.y_test, mm)
        summary.update({f"{mode}_{k}": v for k, v in _program_summary(layers).items()})
        epochs, ledger = train_in_array(net, layers, ds, tc.array_epochs, tc.array_lr,
                                        tc.batch, r2, mode, tc.backward, progress,
                                        f"{mode}:finetune", val)
        rows += epochs
        summary[f"{mode}_test_acc"] = epochs[-1]["test_acc"] if epochs else (
            summary[f"{mode}_test_acc_before"])
        summary[f"{mode}_applied_cosine"] = float(np.mean([e["applied_cosine"]
                                                           for e in epochs] or [0.0]))
        summary.update(ledger.as_dict(f"{mode}_finetune_write_"))
        epoch_updates = max(1, tc.array_epochs)
        summary[f"{mode}_write_ops_per_epoch"] = ledger.line_pulses / epoch_updates
        summary[f"{mode}_write_energy_per_epoch_j"] = ledger.as_dict()["energy_j"] / epoch_updates
        if tc.regrow > 0 and tc.regrow_epochs > 0:
            net.weights = [layer.read_weights() for layer in layers]
            summary[f"{mode}_regrown"] = regrow(net, layers, ds, tc.regrow, tc.batch, mm)
            epochs, ledger = train_in_array(net, layers, ds, tc.regrow_epochs, tc.array_lr,
                                            tc.batch, r2, mode, tc.backward, progress,
                                            f"{mode}:regrow", val)
            rows += epochs
            summary[f"{mode}_regrow_test_acc"] = epochs[-1]["test_acc"]
            summary.update(ledger.as_dict(f"{mode}_regrow_write_"))
        summary[f"{mode}_kept_fraction"] = float(np.mean(np.concatenate(
            [layer.mask.ravel() for layer in layers])))
        cycles = max(float(d.cycles().max()) for layer in layers for d in layer.domains.values())
        summary[f"{mode}_max_cycles"] = cycles  # endurance: the most-cycled device
        summary[f"{mode}_window_left"] = float(fe.window_factor(cycles, hw.make_cell()
                                                                .switching_params))
    summary["write_ops_ratio_exact_over_vau"] = (summary["exact_write_ops_per_epoch"]
                                                 / max(summary["vau_write_ops_per_epoch"], 1.0))
    return {"epochs": rows, "summary": summary, "model": pruned, "layers": layers}


def _activity_energy(net, cal: np.ndarray, st, rng: np.random.Generator, summary: dict,
                     samples: int) -> dict:
    """Energy per training sample on the arrays (reads from the circuit model, writes
    from the device model) and on a GPU training the same network by backprop."""
    from cosim.nn.activity import (
        GPU_J_PER_FLOP,
        backprop_flops_per_sample,
        read_energy_per_pass,
        relax,
    )

    states, _ = relax(net, cal[:64], None, st.free_steps, st, rng)
    passes = summary["reads_per_sample"] / (2 * len(net.layers) - 1)
    read = passes * read_energy_per_pass(net, states)
    write = summary["write_energy_j"] / samples
    gpu = backprop_flops_per_sample(net.sizes) * GPU_J_PER_FLOP
    return {"energy_read_per_sample_j": read, "energy_write_per_sample_j": write,
            "energy_per_sample_j": read + write, "gpu_energy_per_sample_j": gpu,
            "gpu_over_arrays": gpu / (read + write)}


def _activity(cfg: RunConfig, ds: Dataset, val, rng: np.random.Generator, rows: list[dict],
              progress: Progress | None) -> dict:
    """Activity-difference training from a random start on the arrays: no float
    pre-training, no backpropagation; every activity is an engine output."""
    from cosim.nn.activity import Network, predict, relax, train_activity

    tc, hw = cfg.train, cfg.hardware
    st = tc.activity_settings()
    init = MLP.init(cfg.model.sizes, rng)
    for w in init.weights:  # sigma = init_scale / sqrt(fan-in) (MLP.init draws sqrt(2/fan-in))
        w *= tc.activity_init_scale / np.sqrt(2.0)
    for b in init.biases[:-1]:  # hidden neurons start above the clip's dead floor
        b += tc.activity_hidden_bias
    # room to grow: the arrays map 2x the initial largest |w| to g_max
    layers = [AnalogLayer(w, hw, rng, input_scale=1.0, domains=True,
                          w_max=2.0 * float(np.abs(w).max())) for w in init.weights]
    net = Network(layers, [b.copy() for b in init.biases])
    cal = ds.x_train[:256]

    def calibrate() -> None:
        """Set every forward ADC's range from the free-phase states of 256 images."""
        if not layers[0].adc:  # first time: the arrays' own reads need a range
            acts = init.forward(cal)
            for layer, a in zip(layers, acts[:-1], strict=True):
                layer.calibrate(np.clip(a, 0.0, 1.0))
        states, _ = relax(net, cal, None, st.free_steps, st, rng)
        for layer, a in zip(layers, states[:-1], strict=True):
            layer.calibrate(a)

    def evaluate(net: Network) -> dict:
        out = {"test_acc": float(np.mean(predict(net, ds.x_test, st, rng) == ds.y_test))}
        if val is not None and len(val[1]):
            out["val_acc"] = float(np.mean(predict(net, val[0], st, rng) == val[1]))
        calibrate()  # the periphery re-ranges its ADCs once per epoch
        return out

    calibrate()
    start = evaluate(net)
    rows += train_activity(net, ds.x_train, ds.y_train, ds.classes, tc.array_epochs,
                           tc.array_lr, tc.batch, st, rng, evaluate, progress)
    epochs = [r for r in rows if r["phase"] == "activity"]
    summary = {"mode": "activity", "activity_test_acc_before": start["test_acc"],
               "activity_test_acc": epochs[-1]["test_acc"] if epochs else start["test_acc"],
               "reads_per_sample": float(np.mean([r["reads_per_sample"] for r in epochs]))
               if epochs else 0.0,
               "seconds_per_epoch": float(np.mean([r["seconds"] for r in epochs]))
               if epochs else 0.0,
               "fefets_per_weight": 2.0 * layers[0].cell.fefets_per_cell}
    if epochs:
        summary.update({k: v for k, v in epochs[-1].items() if k.startswith("write_")})
        summary.update(_activity_energy(net, cal, st, rng, summary, len(ds.y_train)))
    model = MLP([layer.read_weights() for layer in layers], net.biases)
    return {"epochs": rows, "summary": summary, "model": model, "layers": layers}


# ---------------------------------------------------------------- evaluation sweeps

def run_evaluation(cfg: RunConfig, progress: Progress | None = None) -> list[dict]:
    """Accuracy vs ADC bits, vs drift time (with and without global drift
    compensation) and vs D2D sigma, each over ``evaluate.seeds`` programming draws."""
    ds = load_dataset(cfg)
    rng = np.random.default_rng(cfg.train.seed)
    if cfg.model.weights:  # trained elsewhere
        model = load_weights(cfg.model.weights, cfg.model.sizes)
    else:
        model = MLP.init(cfg.model.sizes, rng)
        train_float(model, ds.x_train, ds.y_train, cfg.train.epochs, rng, cfg.train.lr,
                    cfg.train.batch)
    ev, hw = cfg.evaluate, cfg.hardware
    rows = [{"sweep": "float", "value": 0.0, "seed": 0, "compensated": False,
             "accuracy": accuracy(model, ds.x_test, ds.y_test)}]
    jobs: list[tuple] = []
    for b in ev.adc_bits:
        jobs.append(("adc_bits", float(b), replace(hw, adc_bits=b), None, False))
    for t in ev.drift_times_s:
        for comp in (False, True):
            jobs.append(("drift_time_s", t, hw, t, comp))
    if hw.cell != "resistor":
        for s in ev.d2d_sigma_v:
            jobs.append(("d2d_sigma_v", s, replace(hw, d2d_sigma_v=s), None, False))
    for k, m in enumerate(ev.programming):  # value: index into evaluate.programming
        jobs.append(("programming", float(k), replace(hw, programming=m), None, False, 0, m))
    for n in ev.reads:
        jobs.append(("reads", float(n), replace(hw, programming="pulse"), None, False, n))
    for seed in range(ev.seeds):
        for sweep, value, hw_j, age, comp, *extra in jobs:
            r = np.random.default_rng([cfg.train.seed, seed])
            layers = deploy(model, hw_j, ds, r)
            for layer in layers:  # read disturb of n reads before the evaluation
                layer.after_reads(int(extra[0]) if extra else 0)
            acc = accuracy(model, ds.x_test, ds.y_test, array_matmul(layers, r, age, comp))
            row = {"sweep": sweep, "value": value, "seed": seed, "compensated": comp,
                   "accuracy": acc, "label": extra[1] if len(extra) > 1 else ""}
            row.update({f"program_{k}": v for k, v in _program_summary(layers).items()})
            rows.append(row)
            if progress:
                progress("eval", row)
    return rows
