"""How far the co-design's closed-form energy is from the engines: one tile of a few
designs (the proxy's converter and cell, each input encoding, and the other cell),
random signed weights, inputs at the DAC's resolution; energy per vector by block
from the closed form (fed the tile's own statistics), the behavioral engine
(per-vector analytic, the FeFET's real I-V) and ngspice (simulated array and
sensing currents)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.codesign.cost import ChipParams, design_arrays, layer_cost
from cosim.codesign.points import stats_row
from cosim.codesign.spec import CodesignSpec

SPOT_ROWS = 32
SPOT_VECTORS = 12
SPOT_DAC_BITS = 8
COMPARED = ("array", "sensing", "dac", "adc")


def spot_designs(spec: CodesignSpec, designs: list[dict], proxy: int) -> list[dict]:
    base = {**designs[proxy], "tile": SPOT_ROWS}
    out = [{**base, "encoding": e} for e in spec.hardware["encoding"]]
    out += [{**base, "encoding": "amplitude", "cell": c} for c in spec.hardware["cell"]
            if c != base["cell"]]
    return out


def check_one(d: dict[str, Any], spice: bool, seed: int = 0) -> list[dict[str, Any]]:
    import dataclasses

    from cosim.array.energy import EnergyParams
    from cosim.array.mapping import fit_mapping, interleave, weights_to_pairs
    from cosim.array.state import ArrayConfig, ArrayState, full_scale_current
    from cosim.engines import get_engine
    from device_models.registry import CellOptions, make_cell
    from periphery.converters import AdcParams, DacParams
    from periphery.sensing import sized_for

    rng = np.random.default_rng(seed)
    rows, pairs = SPOT_ROWS, SPOT_ROWS // 2
    cell = make_cell(d["cell"], CellOptions(v_read_v=float(d["v_read_v"])))
    w = rng.uniform(-1.0, 1.0, (rows, pairs))
    g_min, g_max = cell.g_range()
    fields = cell.program(interleave(*weights_to_pairs(w, fit_mapping(w, g_min, g_max))))
    state = ArrayState(fields, cell, differential=True)
    dac = DacParams(SPOT_DAC_BITS, float(d["v_read_v"]),
                    encoding="pwm" if d["encoding"] == "pwm" else "amplitude",
                    bit_serial=d["encoding"] == "bit_serial")
    codes = rng.integers(0, dac.max_code + 1, (SPOT_VECTORS, rows))
    x = codes / dac.max_code
    i_fs = full_scale_current(state, dataclasses.replace(dac, encoding="amplitude",
                                                         bit_serial=False))
    adc = AdcParams(int(d["adc_bits"]), i_fs, signed=True, arch=str(d["adc_arch"]),
                    cols_per_adc=int(d["cols_per_adc"]))
    sense = sized_for(i_fs, "integrator")
    if d["encoding"] == "pwm":  # the window the closed form assumes: max_code shortest steps
        sense = sized_for(i_fs, "integrator", t_int_s=max(
            sense.t_int_s, dac.max_code * ChipParams().t_pwm_lsb_s))
    energy = EnergyParams(adc_model="comparator")
    config = ArrayConfig(dac, adc, sense=sense, energy=energy)
    closed = layer_cost(stats_row(w, np.ones(w.shape, dtype=bool), codes, SPOT_DAC_BITS),
                        SPOT_DAC_BITS,
                        design_arrays([d]), ChipParams(), energy, sense)
    engines = {"behavioral": get_engine("behavioral", noise=False).run(state, x, config)}
    if spice:
        engines["spice"] = get_engine("spice").run(state, x, config)
    label = f"{d['cell']} {d['encoding']} {d['adc_arch']}{d['adc_bits']} {d['v_read_v']} V"
    out = []
    for block in COMPARED:
        row = {"design": label, "block": block, "closed_form_J": float(closed[block][0])}
        for name, res in engines.items():
            e = float(np.mean(res.energy_j[block]))
            row[f"{name}_J"] = e
            row[f"closed_vs_{name}"] = row["closed_form_J"] / e - 1.0 if e else np.nan
        out.append(row)
    return out


def spot_check(spec: CodesignSpec, designs: list[dict], proxy: int, spice: bool = True
               ) -> list[dict[str, Any]]:
    from cosim.runs.progress import report

    todo = spot_designs(spec, designs, proxy)
    rows = []
    for i, d in enumerate(todo):
        report("codesign: spot check", i, len(todo), d["encoding"])
        rows += check_one(d, spice)
    report("codesign: spot check", len(todo), len(todo))
    return rows
