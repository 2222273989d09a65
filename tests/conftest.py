"""Shared fixtures. Tests marked ``ngspice`` fail loudly (never skip) when ngspice is missing."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.simulators import ngspice


@pytest.fixture(autouse=True)
def _require_ngspice(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("ngspice") and ngspice.available() is None:
        pytest.fail(f"ngspice is required for this test; {ngspice.INSTALL_HINT}")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
