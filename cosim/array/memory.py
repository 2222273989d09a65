"""One memory budget for every engine and study: refuse up front, with the estimate,
instead of dying in a MemoryError half-way (or swapping the machine)."""

from __future__ import annotations

import os

from device_models.validation import ParamError

GIB = 2**30


def budget_bytes() -> int:
    """The budget: ``COSIM_MEMORY_GIB`` (default 8 GiB, a third of a 24 GiB machine)."""
    raw = os.environ.get("COSIM_MEMORY_GIB", "8")
    try:
        gib = float(raw)
    except ValueError:
        raise ParamError("COSIM_MEMORY_GIB", raw, "must be a number of GiB") from None
    if not gib > 0:
        raise ParamError("COSIM_MEMORY_GIB", raw, "must be positive")
    return int(gib * GIB)


class MemoryBudgetError(ParamError):
    """A planned run needs more memory than it may use (refused before allocating)."""


def check_memory(field: str, value: object, need_bytes: float, what: str,
                 limit_bytes: int | None = None, limit_name: str = "COSIM_MEMORY_GIB") -> None:
    """Raise MemoryBudgetError naming ``field`` when ``what`` needs more than the budget
    (``budget_bytes()``, or a caller's own ``limit_bytes`` called ``limit_name``)."""
    budget = budget_bytes() if limit_bytes is None else limit_bytes
    if need_bytes > budget:
        raise MemoryBudgetError(field, value, f"{what} needs ~{need_bytes / GIB:.1f} GiB, above "
                                f"the {budget / GIB:.3g} GiB budget ({limit_name}); make it "
                                "smaller")


def batch_bytes(rows: int, phys_cols: int, cols: int, vectors: int, results: int = 2) -> float:
    """Inputs plus ``results`` engine results (physical and logical currents, codes,
    outputs) held at once, float64: measured 82 MB peak for K=20000 on 64x64 through
    the ideal engine (one result); this gives 92 MB."""
    return 8.0 * vectors * (rows + results * (phys_cols + 3 * cols))
