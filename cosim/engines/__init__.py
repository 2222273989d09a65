"""Engines, fastest first. Every one returns an MVMResult for the same inputs, takes
the same common options (noise, seed, timeout_s) and refuses, by name, any
``ArrayConfig`` feature it does not model."""

from __future__ import annotations

from typing import Any

from cosim.engines.base import (
    ENGINE_CLASSES,
    FEATURES,
    Engine,
    EngineBase,
    required_features,
    without_features,
)
from cosim.engines.behavioral import EXPANSIONS, BehavioralEngine
from cosim.engines.ideal import IdealEngine
from cosim.engines.nodal import TRANSFER_MATRICES, NodalEngine
from cosim.engines.spice import SpiceEngine
from device_models.validation import ParamError

ENGINES: dict[str, type[EngineBase]] = {"ideal": IdealEngine, "behavioral": BehavioralEngine,
                                        "nodal": NodalEngine, "spice": SpiceEngine}
ENGINE_CLASSES.update(ENGINES)


def clear_caches() -> None:
    """Forget what the engines keep per programmed array (behavioral expansions, nodal
    transfer matrices): the next run on any array derives them again, as a timing of
    the whole solve needs."""
    EXPANSIONS.clear()
    TRANSFER_MATRICES.clear()


def engine_class(name: str) -> type[EngineBase]:
    try:
        return ENGINES[name]
    except KeyError:
        raise ParamError("engine", name, f"must be one of {', '.join(ENGINES)}") from None


def get_engine(name: str, **options: Any) -> Engine:
    """The named engine with its options (common: noise, seed, timeout_s)."""
    return engine_class(name)(**options)


def supports(name: str, feature: str) -> bool:
    return feature in engine_class(name).features


def feature_table() -> str:
    """Markdown engine x feature table, generated from the engines' declarations."""
    head = "| feature | " + " | ".join(f"`{n}`" for n in ENGINES) + " |"
    rule = "|---|" + "---|" * len(ENGINES)
    rows = []
    for feature, what in FEATURES.items():
        cells = []
        for cls in ENGINES.values():
            if feature not in cls.features:
                cells.append("refused")
            else:
                cells.append("yes" + (f" ({cls.features[feature]})" if cls.features[feature]
                                      else ""))
        rows.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows]) + "\n"


__all__ = ["ENGINES", "FEATURES", "BehavioralEngine", "Engine", "IdealEngine", "NodalEngine",
           "SpiceEngine", "clear_caches", "engine_class", "feature_table", "get_engine",
           "required_features", "supports", "without_features"]
