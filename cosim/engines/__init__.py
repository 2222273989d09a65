"""Engines, fastest first. Every one returns an MVMResult for the same inputs."""

from __future__ import annotations

from typing import Any

from cosim.engines.base import Engine
from cosim.engines.behavioral import BehavioralEngine
from cosim.engines.ideal import IdealEngine
from cosim.engines.nodal import NodalEngine
from cosim.engines.spice import SpiceEngine
from device_models.validation import ParamError

ENGINES: dict[str, type] = {"ideal": IdealEngine, "behavioral": BehavioralEngine,
                            "nodal": NodalEngine, "spice": SpiceEngine}


def get_engine(name: str, **options: Any) -> Engine:
    try:
        cls = ENGINES[name]
    except KeyError:
        raise ParamError("engine", name, f"must be one of {', '.join(ENGINES)}") from None
    return cls(**options)


__all__ = ["ENGINES", "BehavioralEngine", "Engine", "IdealEngine", "NodalEngine", "SpiceEngine",
           "get_engine"]
