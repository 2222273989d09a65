"""SPICE-backed co-simulator for analog MAC crossbar arrays.

Light on purpose: importing ``cosim`` does not import matplotlib, dask or PySpice.
"""

from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import get_engine
from cosim.errors import CosimError, EngineUnavailable, ParamError, SimulationError

__version__ = "0.1.0"

__all__ = [
    "ArrayConfig",
    "ArrayState",
    "CosimError",
    "EngineUnavailable",
    "MVMResult",
    "ParamError",
    "SimulationError",
    "__version__",
    "get_engine",
]
