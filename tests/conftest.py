"""Shared fixtures. Tests marked ``ngspice`` fail loudly (never skip) when ngspice is missing."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.simulators import ngspice


@pytest.fixture(autouse=True)
def _require_ngspice(request: pytest.FixtureRequest) -> None:
    marked = request.node.get_closest_marker
    if (marked("ngspice") or marked("osdi")) and ngspice.available() is None:
        pytest.fail(f"ngspice is required for this test; {ngspice.INSTALL_HINT}")
    if marked("osdi"):
        from cosim.simulators import osdi

        info = ngspice.available()
        if not (info.klu and info.osdi):
            pytest.fail(f"this test needs ngspice with KLU and OSDI; found {info.describe()}; "
                        "run `bash bootstrap.sh setup` to build ngspice 46")
        if osdi.compiler()[0] is None:
            pytest.fail(f"this test needs openvaf-r: {osdi.compiler()[1]}")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
