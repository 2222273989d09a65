"""Co-design search specs (TOML), validated on load: an unknown key, a wrong type
or an out-of-range value is a ParamError naming its place in the file (exit 2).

    name = "digits"
    seeds = 5                    # split + initialisation + device draws per architecture
    target_accuracy = 0.95       # validation accuracy a design must reach
    objective = "edp"            # edp (energy x latency) | energy | latency
    k = 10                       # architectures kept from the proxy
    selection = "objective"      # objective: the K best on the proxy | pareto: the
                                 # proxy's energy-latency-accuracy front (at most K)
    timeout_s = 600              # per training / deployment point

    [architectures]              # MLPs on the 8x8 digits: 64 -> hidden... -> 10
    depths = [1, 2, 3]           # hidden layers; widths non-increasing with depth
    widths = [16, 32, 64, 128]
    sparsity = [0.0, 0.5, 0.75]
    act_bits = [4, 8]            # activation (= row DAC) resolution
    epochs = 30
    finetune_epochs = 20
    lr = 0.05
    val_fraction = 0.2

    [hardware]                   # every combination is one design
    tile = [32, 64, 128, 256, 512]
    adc_bits = [4, 5, 6, 7, 8]
    adc_arch = ["flash", "sar"]
    cols_per_adc = [1, 2, 4, 8]
    encoding = ["amplitude", "bit_serial", "pwm"]
    cell = ["fefet", "sparse_fefet"]
    v_read_v = [0.1, 0.2]

    [proxy]                      # one value per hardware key (default: the middle one)
    tile = 128

    [accuracy]                   # accuracy on hardware (behavioral deploy), kept set only
    designs = 8                  # hardware designs sampled for the accuracy rankings
    budget = 60                  # most (architecture, design) pairs deployed per search

    [sensitivity]
    k = [1, 2, 5, 10, 20]
    proxies = 20                 # random proxies besides the named one
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.nn.layers import DAC_ENCODINGS
from cosim.runs.files import read_toml
from cosim.sweeps.spec import spec_name
from device_models.validation import (
    ParamError,
    check_choice,
    check_int,
    check_kind,
    check_range,
)
from periphery.converters import ADC_ARCHS

OBJECTIVES = ("edp", "energy", "latency")
SELECTIONS = ("objective", "pareto")
CELLS = ("fefet", "sparse_fefet")
HARDWARE_KEYS = ("tile", "adc_bits", "adc_arch", "cols_per_adc", "encoding", "cell",
                 "v_read_v")
ACCURACY_KEYS = ("tile", "adc_bits", "encoding", "cell", "v_read_v")
"""The hardware keys that change what a behavioral deploy computes (the converter's
architecture and column multiplexing change energy and time, not the codes)."""


@dataclass(frozen=True)
class Architecture:
    hidden: tuple[int, ...]
    sparsity: float
    act_bits: int

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.hidden))} s{self.sparsity:g} a{self.act_bits}"

    def params(self) -> dict[str, Any]:
        return {"hidden": "-".join(map(str, self.hidden)), "sparsity": self.sparsity,
                "act_bits": self.act_bits}


@dataclass(frozen=True)
class Training:
    epochs: int = 30
    finetune_epochs: int = 20
    lr: float = 0.05
    val_fraction: float = 0.2


@dataclass(frozen=True)
class CodesignSpec:
    name: str
    seeds: tuple[int, ...]
    target_accuracy: float
    objective: str
    k: int
    selection: str
    timeout_s: float
    architectures: tuple[Architecture, ...]
    training: Training
    hardware: dict[str, tuple[Any, ...]]
    proxy: dict[str, Any]
    accuracy_designs: int
    accuracy_budget: int
    sensitivity_k: tuple[int, ...]
    sensitivity_proxies: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def designs(self) -> list[dict[str, Any]]:
        """Every hardware design, in a fixed order."""
        keys = list(self.hardware)
        return [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(self.hardware[k] for k in keys))]


def _table(raw: dict, name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ParamError(name, table, f"must be a table ([{name}])")
    for key, value in table.items():
        if key not in allowed:
            raise ParamError(f"{name}.{key}", value, f"unknown key; allowed: {', '.join(allowed)}")
    return table


def _list(place: str, value: Any, kind: type, check) -> tuple[Any, ...]:
    if not isinstance(value, list) or not value:
        raise ParamError(place, value, "must be a non-empty list")
    out = []
    for i, v in enumerate(value):
        v = check_kind(f"{place}[{i}]", v, kind)
        check(f"{place}[{i}]", v)
        out.append(v)
    if len(set(out)) != len(out):
        raise ParamError(place, value, "must not repeat a value")
    return tuple(out)


def _scalar(place: str, table: dict, key: str, default: Any, kind: type, check) -> Any:
    v = check_kind(f"{place}.{key}" if place else key, table.get(key, default), kind)
    check(f"{place}.{key}" if place else key, v)
    return v


def _int_in(lo: int, hi: int):
    return lambda place, v: check_int(place, v, lo, hi)


def _real_in(lo: float, hi: float, hi_open: bool = False):
    return lambda place, v: check_range(place, v, lo, hi, hi_open=hi_open)


def _choice(choices: tuple[str, ...]):
    return lambda place, v: check_choice(place, v, choices)


HARDWARE_CHECKS: dict[str, tuple[type, Any]] = {
    "tile": (int, _int_in(8, 1024)),
    "adc_bits": (int, _int_in(2, 12)),
    "adc_arch": (str, _choice(ADC_ARCHS)),
    "cols_per_adc": (int, _int_in(1, 512)),
    "encoding": (str, _choice(DAC_ENCODINGS)),
    "cell": (str, _choice(CELLS)),
    "v_read_v": (float, _real_in(0.01, 1.0)),
}
HARDWARE_DEFAULTS: dict[str, list[Any]] = {
    "tile": [32, 64, 128, 256, 512], "adc_bits": [4, 5, 6, 7, 8], "adc_arch": ["flash", "sar"],
    "cols_per_adc": [1, 2, 4, 8], "encoding": list(DAC_ENCODINGS),
    "cell": list(CELLS), "v_read_v": [0.1, 0.2]}
TOP_KEYS = ("name", "seeds", "target_accuracy", "objective", "k", "selection", "timeout_s",
            "architectures",
            "hardware", "proxy", "accuracy", "sensitivity")


def architectures(depths: tuple[int, ...], widths: tuple[int, ...],
                  sparsity: tuple[float, ...], act_bits: tuple[int, ...]
                  ) -> tuple[Architecture, ...]:
    """Every MLP with 1..max depth hidden layers whose widths do not grow with depth."""
    shapes = []
    for d in depths:
        for combo in itertools.combinations_with_replacement(sorted(widths, reverse=True), d):
            shapes.append(tuple(combo))
    return tuple(Architecture(h, s, b) for h in shapes for s in sparsity for b in act_bits)


def spec_from_dict(raw: Any, default_name: str = "codesign") -> CodesignSpec:
    name = spec_name(raw, TOP_KEYS, default_name)
    n_seeds = _scalar("", raw, "seeds", 5, int, _int_in(1, 100))
    target = _scalar("", raw, "target_accuracy", 0.95, float, _real_in(0.0, 1.0))
    objective = _scalar("", raw, "objective", "edp", str, _choice(OBJECTIVES))
    k = _scalar("", raw, "k", 10, int, _int_in(1, 1000))
    selection = _scalar("", raw, "selection", "objective", str, _choice(SELECTIONS))
    timeout = _scalar("", raw, "timeout_s", 600.0, float, _real_in(1.0, 86400.0))

    arch = _table(raw, "architectures", ("depths", "widths", "sparsity", "act_bits", "epochs",
                                         "finetune_epochs", "lr", "val_fraction"))
    depths = _list("architectures.depths", arch.get("depths", [1, 2, 3]), int, _int_in(1, 6))
    widths = _list("architectures.widths", arch.get("widths", [16, 32, 64, 128]), int,
                   _int_in(1, 4096))
    sparsity = _list("architectures.sparsity", arch.get("sparsity", [0.0, 0.5, 0.75]), float,
                     _real_in(0.0, 1.0, hi_open=True))
    act_bits = _list("architectures.act_bits", arch.get("act_bits", [4, 8]), int,
                     _int_in(1, 10))
    training = Training(
        epochs=_scalar("architectures", arch, "epochs", 30, int, _int_in(1, 10_000)),
        finetune_epochs=_scalar("architectures", arch, "finetune_epochs", 20, int,
                                _int_in(0, 10_000)),
        lr=_scalar("architectures", arch, "lr", 0.05, float, _real_in(1e-6, 10.0)),
        val_fraction=_scalar("architectures", arch, "val_fraction", 0.2, float,
                             _real_in(0.05, 0.5)))
    archs = architectures(depths, widths, sparsity, act_bits)
    if len(archs) > 5000:
        raise ParamError("architectures", len(archs), "make at most 5000 architectures")

    hw_raw = _table(raw, "hardware", HARDWARE_KEYS)
    hardware = {key: _list(f"hardware.{key}", hw_raw.get(key, HARDWARE_DEFAULTS[key]),
                           *HARDWARE_CHECKS[key]) for key in HARDWARE_KEYS}
    for i, t in enumerate(hardware["tile"]):
        if t % 2:
            raise ParamError(f"hardware.tile[{i}]", t, "must be even (differential pairs)")
    n_designs = 1
    for values in hardware.values():
        n_designs *= len(values)
    if n_designs > 100_000:
        raise ParamError("hardware", n_designs, "make at most 100000 designs")
    if k > len(archs):
        raise ParamError("k", k, f"must be at most the {len(archs)} architectures")

    proxy_raw = _table(raw, "proxy", HARDWARE_KEYS)
    proxy = {}
    for key in HARDWARE_KEYS:
        values = hardware[key]
        if key in proxy_raw:
            v = check_kind(f"proxy.{key}", proxy_raw[key], HARDWARE_CHECKS[key][0])
            if v not in values:
                raise ParamError(f"proxy.{key}", v, f"must be one of hardware.{key} "
                                 f"{list(values)}")
            proxy[key] = v
        else:
            proxy[key] = values[len(values) // 2]

    acc = _table(raw, "accuracy", ("designs", "budget"))
    designs = _scalar("accuracy", acc, "designs", 8, int, _int_in(2, 1000))
    budget = _scalar("accuracy", acc, "budget", 60, int, _int_in(0, 100_000))
    sens = _table(raw, "sensitivity", ("k", "proxies"))
    sens_k = _list("sensitivity.k", sens.get("k", [1, 2, 5, 10, 20]), int, _int_in(1, 1000))
    proxies = _scalar("sensitivity", sens, "proxies", 20, int, _int_in(0, 10_000))
    return CodesignSpec(name, tuple(range(n_seeds)), target, objective, k, selection, timeout,
                        archs,
                        training, hardware, proxy, designs, budget,
                        tuple(sorted({min(x, len(archs)) for x in sens_k})), proxies, raw)


def load_spec(path: str | Path) -> tuple[CodesignSpec, str]:
    raw, text = read_toml("spec", path)
    return spec_from_dict(raw, default_name=Path(path).stem), text
