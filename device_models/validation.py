"""Parameter validation shared by every params dataclass.

Errors name the field, the value and what is allowed, so the CLI can show them
to the user as they are (exit code 2) instead of a traceback.
"""

from __future__ import annotations

import math
from typing import Any


class ParamError(ValueError):
    """A user-supplied parameter is out of range or of the wrong kind."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={value!r} is not allowed: {allowed}")

    def __reduce__(self):  # subclasses too, when sent from a worker process
        return type(self), (self.field, self.value, self.allowed)


def check_finite(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(field, value, "must be a finite number")


def check_range(
    field: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise ParamError unless lo <= value <= hi (strict where *_open)."""
    check_finite(field, value)
    bad_lo = lo is not None and (value <= lo if lo_open else value < lo)
    bad_hi = hi is not None and (value >= hi if hi_open else value > hi)
    if bad_lo or bad_hi:
        left = "" if lo is None else f"{lo:g} {'<' if lo_open else '<='} "
        right = "" if hi is None else f" {'<' if hi_open else '<='} {hi:g}"
        raise ParamError(field, value, f"must satisfy {left}{field}{right}")


def check_int(field: str, value: int, lo: int | None = None, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(field, value, "must be an integer")
    check_range(field, value, lo, hi)


def check_choice(field: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise ParamError(field, value, f"must be one of {', '.join(map(str, choices))}")


def check_kind(field: str, value: Any, kind: type) -> Any:
    """A value read from a config file must be exactly of ``kind`` (bool, int, float,
    str): no silent casts, no bool-as-int, floats finite. Returns the value (ints
    accepted and returned as float for a float field)."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ParamError(field, value, "must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(field, value, "must be an integer")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(field, value, "must be a number")
        if not math.isfinite(value):
            raise ParamError(field, value, "must be finite")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ParamError(field, value, "must be a string")
        return value
    raise ParamError(field, value, f"has an unsupported type {kind!r}")
