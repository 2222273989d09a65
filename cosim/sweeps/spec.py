"""Sweep specs (TOML): a base point, axes, Monte Carlo seeds, what each point runs,
and the metrics to collect. Validated on load: every unknown key, wrong type or
out-of-range value is a ParamError naming its place in the file.

    name = "wires"
    kind = "compare"                 # compare | variation | accuracy
    seeds = 2                        # or a list [0, 7]
    combine = "grid"                 # grid (product) | zip
    metrics = ["max_rel_err", "max_err_lsb"]
    timeout_s = 600                  # per point

    [base]                           # fields of the point kind
    rows = 16
    engines = ["ideal", "spice"]

    [axes.rows]
    values = [8, 16, 32]
    [axes.r_wire_ohm]
    linspace = [0.0, 2.0, 3]         # start, stop, count   (logspace: exponents, count)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.nn.config import DataConfig, TrainConfig
from cosim.nn.layers import HardwareConfig
from cosim.runs.files import read_toml
from cosim.studies.compare import CompareSpec
from cosim.sweeps.points import VARIATION_DEFAULTS
from device_models.validation import (
    ParamError,
    check_choice,
    check_int,
    check_kind,
    check_range,
)

TOP_KEYS = ("name", "kind", "seeds", "combine", "metrics", "timeout_s", "base", "axes")
AXIS_KINDS = ("values", "linspace", "logspace")


@dataclass(frozen=True)
class PointKind:
    fields: dict[str, type | tuple[type, ...]]
    """Allowed base/axis keys and their types."""
    metrics: tuple[str, ...]
    """Metrics a point of this kind reports."""


def sweepable(cls: type, prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, type]:
    """The scalar fields of a params dataclass and their TOML types, derived from its
    annotations (so a new field is sweepable without listing it here); tuples are
    TOML lists, ``X | None`` is X."""
    import types
    import typing

    out: dict[str, type] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if name in skip or name.startswith("_"):
            continue
        if isinstance(hint, types.UnionType):
            args = [a for a in hint.__args__ if a is not type(None)]
            hint = args[0] if len(args) == 1 else None
        origin = typing.get_origin(hint)
        if origin is tuple:
            out[prefix + name] = list
        elif hint in (bool, int, float, str):
            out[prefix + name] = hint
    return out


COMPARE = PointKind(
    fields=sweepable(CompareSpec, skip=("seed",)),
    metrics=("max_abs_err_A", "max_rel_err", "max_err_lsb", "adc_code_mismatch_frac",
             "max_code_diff", "seconds_reference", "seconds_candidate"))
VARIATION = PointKind(
    fields={k: type(v) for k, v in VARIATION_DEFAULTS.items()},
    metrics=("cell_err_mean", "cell_err_std", "cell_err_p99", "code_err_mean_abs",
             "code_err_rms", "code_err_max", "accuracy"))
ACCURACY = PointKind(
    fields={**sweepable(HardwareConfig, "hardware."),
            **sweepable(TrainConfig, "train.", skip=("seed",)),
            **sweepable(DataConfig, "data.", skip=("train_images", "train_labels",
                                                   "test_images", "test_labels"))},
    metrics=("accuracy", "float_accuracy"))
KINDS = {"compare": COMPARE, "variation": VARIATION, "accuracy": ACCURACY}


@dataclass(frozen=True)
class SweepSpec:
    name: str
    kind: str
    seeds: tuple[int, ...]
    combine: str
    metrics: tuple[str, ...]
    timeout_s: float
    base: dict[str, Any]
    axes: dict[str, tuple[Any, ...]]

    def points(self) -> list[dict[str, Any]]:
        """Every point: {"id": ..., "params": {...base, ...axis values, "seed": s}}."""
        names = list(self.axes)
        values = [self.axes[n] for n in names]
        combos = (itertools.product(*values) if self.combine == "grid" else zip(*values,
                                                                                  strict=True))
        out = []
        for combo in combos:
            for seed in self.seeds:
                params = {**self.base, **dict(zip(names, combo, strict=True)), "seed": seed}
                out.append({"id": point_id(self.kind, params), "params": params})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "seeds": list(self.seeds),
                "combine": self.combine, "metrics": list(self.metrics),
                "timeout_s": self.timeout_s, "base": self.base,
                "axes": {k: {"values": list(v)} for k, v in self.axes.items()}}


def point_id(kind: str, params: dict[str, Any]) -> str:
    blob = json.dumps({"kind": kind, "params": params}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _typed(place: str, value: Any, kind: type) -> Any:
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ParamError(place, value, "must be a list of strings")
        return list(value)
    return check_kind(place, value, kind)


def _axis(place: str, table: Any, kind: type | tuple[type, ...]) -> tuple[Any, ...]:
    if not isinstance(table, dict):
        raise ParamError(place, table, f"must be a table with one of {', '.join(AXIS_KINDS)}")
    given = [k for k in table if k in AXIS_KINDS]
    unknown = [k for k in table if k not in AXIS_KINDS]
    if unknown:
        raise ParamError(f"{place}.{unknown[0]}", table[unknown[0]],
                         f"unknown key; allowed: {', '.join(AXIS_KINDS)}")
    if len(given) != 1:
        raise ParamError(place, sorted(table), f"needs exactly one of {', '.join(AXIS_KINDS)}")
    how = given[0]
    raw = table[how]
    if how == "values":
        if not isinstance(raw, list) or not raw:
            raise ParamError(f"{place}.values", raw, "must be a non-empty list")
        return tuple(_typed(f"{place}.values[{i}]", v, kind) for i, v in enumerate(raw))
    if (not isinstance(raw, list) or len(raw) != 3
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in raw)):
        raise ParamError(f"{place}.{how}", raw, "must be [start, stop, count]")
    start, stop, count = raw
    if isinstance(count, float) and not count.is_integer():
        raise ParamError(f"{place}.{how}", raw, "count must be an integer")
    check_int(f"{place}.{how}[2]", int(count), 1, 10_000)
    for v in (start, stop):
        if not math.isfinite(v):
            raise ParamError(f"{place}.{how}", raw, "start and stop must be finite")
    if how == "logspace" and max(abs(start), abs(stop)) > 300:
        raise ParamError(f"{place}.{how}", raw, "exponents must lie within +-300")
    import numpy as np

    pts = (np.linspace(start, stop, int(count)) if how == "linspace"
           else np.logspace(start, stop, int(count)))
    if kind is int:
        if not np.allclose(pts, np.rint(pts)):
            raise ParamError(f"{place}.{how}", raw, "must produce integers for an integer field")
        return tuple(round(float(v)) for v in pts)
    if kind is not float:
        raise ParamError(f"{place}.{how}", raw, "numeric spacing needs a numeric field")
    return tuple(float(v) for v in pts)


def spec_name(raw: Any, top_keys: tuple[str, ...], default_name: str) -> str:
    """Check a spec's top level (a table, only ``top_keys``) and return its name."""
    if not isinstance(raw, dict):
        raise ParamError("spec", type(raw).__name__, "must be a TOML table")
    for key in raw:
        if key not in top_keys:
            raise ParamError(key, raw[key], f"unknown key; allowed: {', '.join(top_keys)}")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ParamError("name", name, "must be a non-empty string of letters, digits, - and _")
    return name


def spec_from_dict(raw: Any, default_name: str = "sweep") -> SweepSpec:
    name = spec_name(raw, TOP_KEYS, default_name)
    kind = raw.get("kind", "compare")
    check_choice("kind", kind, tuple(KINDS))
    pk = KINDS[kind]
    seeds_raw = raw.get("seeds", 1)
    if isinstance(seeds_raw, bool) or not isinstance(seeds_raw, (int, list)):
        raise ParamError("seeds", seeds_raw, "must be a count or a list of seeds")
    if isinstance(seeds_raw, int):
        check_int("seeds", seeds_raw, 1, 10_000)
        seeds = tuple(range(seeds_raw))
    else:
        if not seeds_raw:
            raise ParamError("seeds", seeds_raw, "must not be empty")
        seeds = tuple(_typed(f"seeds[{i}]", s, int) for i, s in enumerate(seeds_raw))
        for i, s in enumerate(seeds):
            check_int(f"seeds[{i}]", s, 0)
        if len(set(seeds)) != len(seeds):
            raise ParamError("seeds", list(seeds), "must not repeat")
    combine = raw.get("combine", "grid")
    check_choice("combine", combine, ("grid", "zip"))
    metrics_raw = raw.get("metrics", list(pk.metrics))
    if not isinstance(metrics_raw, list) or not metrics_raw:
        raise ParamError("metrics", metrics_raw, "must be a non-empty list")
    for i, m in enumerate(metrics_raw):
        if m not in pk.metrics:
            raise ParamError(f"metrics[{i}]", m, f"{kind} points report {', '.join(pk.metrics)}")
    timeout = raw.get("timeout_s", 600.0)
    timeout = _typed("timeout_s", timeout, float)
    check_range("timeout_s", timeout, 0.0, 86400.0, lo_open=True)

    base_raw = raw.get("base", {})
    if not isinstance(base_raw, dict):
        raise ParamError("base", base_raw, "must be a table ([base])")
    base = {}
    for key, value in base_raw.items():
        if key not in pk.fields:
            raise ParamError(f"base.{key}", value,
                             f"unknown key for {kind}; allowed: {', '.join(pk.fields)}")
        base[key] = _typed(f"base.{key}", value, pk.fields[key])
    axes_raw = raw.get("axes", {})
    if not isinstance(axes_raw, dict):
        raise ParamError("axes", axes_raw, "must be a table of axes ([axes.NAME])")
    axes = {}
    for key, table in axes_raw.items():
        if key not in pk.fields or key == "seed":
            raise ParamError(f"axes.{key}", table,
                             f"unknown key for {kind}; allowed: {', '.join(pk.fields)}")
        axes[key] = _axis(f"axes.{key}", table, pk.fields[key])
    if combine == "zip" and len({len(v) for v in axes.values()}) > 1:
        raise ParamError("combine", "zip", "needs axes of equal length: "
                         + ", ".join(f"{k}={len(v)}" for k, v in axes.items()))
    spec = SweepSpec(name, kind, seeds, combine, tuple(metrics_raw), timeout, base, axes)
    n = len(spec.points())
    if n > 100_000:
        raise ParamError("axes", n, "make at most 100000 points")
    # Validate every axis value (against the base and the other axes' first values)
    # before anything runs, so a bad value fails the load, not point 731.
    from cosim.sweeps.points import validate_point

    first = {k: v[0] for k, v in axes.items()}
    for key, vals in axes.items():
        for i, v in enumerate(vals):
            try:
                validate_point(kind, {**base, **first, key: v, "seed": seeds[0]})
            except ParamError as exc:
                raise ParamError(f"axes.{key}[{i}]", v, str(exc)) from None
    if not axes:
        validate_point(kind, {**base, "seed": seeds[0]})
    return spec


def load_spec(path: str | Path) -> tuple[SweepSpec, str]:
    raw, text = read_toml("spec", path)
    return spec_from_dict(raw, default_name=Path(path).stem), text
