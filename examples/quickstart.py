"""Quick start: map signed weights onto a differential array and run it on two engines.

    python examples/quickstart.py
"""

import sys

import numpy as np

from cosim import ArrayConfig, ArrayState, get_engine
from cosim.array.mapping import fit_mapping, interleave, outputs_to_mac, weights_to_pairs
from cosim.array.state import full_scale_current
from cosim.engines import without_features
from device_models.cells import ResistorCell
from periphery.converters import AdcParams, DacParams

ok, why = get_engine("spice").available()
if not ok:  # a clear line, not a traceback
    print(f"this example runs ngspice, which is not usable here: {why}", file=sys.stderr)
    sys.exit(3)  # as the CLI: an engine that cannot run here

rng = np.random.default_rng(0)
w = rng.normal(size=(16, 4))                      # a 16-input, 4-output layer
x = rng.uniform(0, 1, size=(50, 16))              # 50 input vectors in [0, 1]

mapping = fit_mapping(w, g_min_s=1e-6, g_max_s=1e-4)
cell = ResistorCell()
state = ArrayState(cell.program(interleave(*weights_to_pairs(w, mapping))), cell,
                   differential=True)
dac = DacParams(bits=8, v_fs_v=0.2)
config = ArrayConfig(dac, AdcParams(bits=8, i_fs_a=full_scale_current(state, dac)),
                     r_row_wire_ohm=1.0, r_col_wire_ohm=1.0)

# The ideal engine models no wires and says so; ask it for the wire-free answer.
for name, cfg in (("ideal", without_features(config, ["wires"])), ("spice", config)):
    res = get_engine(name).run(state, x, cfg)
    y = outputs_to_mac(res.y_a, mapping, dac.v_fs_v)
    err = np.abs(y - x @ w).max() / np.abs(x @ w).max()
    print(f"{name:>6}: max error vs float x @ w = {err:.3%}  ({res.seconds * 1e3:.1f} ms)")
