"""Network-scale engine speed: the behavioral FeFET engine (current expansion, kept per
programmed array) and the nodal engine (transfer matrix kept per programmed array)
against the ideal engine on the same shapes, in one run.

    .venv/bin/python benchmarks/fast_engines.py [--vectors 1000] [--size 256]

A size x size signed layer is a size x 2 size physical array (differential pairs).
FeFET case: 8-bit DAC (amplitude, and bit-serial), 8-bit ADC ranged on the batch,
device-to-device Vth variation and write error drawn once, one hour of retention
drift, read noise on. Prints one JSON object with, per case: seconds of the ideal
engine (best of 5), of the behavioral engine's first call (it builds the expansion)
and of its repeated calls (best of 5), the ratios to ideal, and the expansion's
error against every (vector, cell) evaluated by the device model (noise off, on the
first ``--reference-vectors`` inputs), in LSB, with the bound it guarantees. Nodal
case: resistor cells with 2 ohm wires, first call (builds the transfer matrix) and
repeated calls vs ideal. About 1 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import platform

import numpy as np
from _timing import best_of, timed

from cosim.array.state import ArrayConfig, ArrayState, full_scale_current
from cosim.engines import clear_caches, get_engine
from device_models.registry import CellOptions, make_cell
from periphery.converters import AdcParams, DacParams


def programmed(kind: str, size: int, rng: np.random.Generator, age_s: float) -> ArrayState:
    cell = make_cell(kind, CellOptions(v_read_v=0.2))
    g0, g1 = cell.g_range()
    fields = cell.program(rng.uniform(g0, g1, (size, 2 * size)))
    return ArrayState(cell.with_variation(fields, rng), cell, differential=True, age_s=age_s)


def ranged(state: ArrayState, dac: DacParams, x: np.ndarray, wires: float = 0.0
           ) -> ArrayConfig:
    """8-bit ADC ranged on the batch's largest ideal output."""
    wide = ArrayConfig(dac, AdcParams(24, full_scale_current(state, dac)))
    i_fs = float(np.abs(get_engine("ideal").run(state, x, wide).i_out_a).max())
    return ArrayConfig(dac, AdcParams(8, i_fs), wires, wires)


def behavioral_case(name: str, dac: DacParams, size: int, vectors: int, ref_vectors: int,
                    repeats: int) -> dict:
    rng = np.random.default_rng(0)
    state = programmed("fefet", size, rng, age_s=3600.0)
    x = rng.uniform(size=(vectors, size))
    config = ranged(state, dac, x)
    ideal = get_engine("ideal")
    t_ideal = best_of(lambda: ideal.run(state, x, config), repeats)
    clear_caches()
    fast = get_engine("behavioral", noise=True, seed=1)
    t_first, _ = timed(lambda: fast.run(state, x, config))
    t_fast = best_of(lambda: fast.run(state, x, config), repeats)
    ex = fast.last_expansion
    xr = x[:ref_vectors]
    exact = get_engine("behavioral", noise=False, expansion=False)
    t_cells, ref = timed(lambda: exact.run(state, xr, config))
    quiet = get_engine("behavioral", noise=False).run(state, xr, config)
    lsb = config.adc.lsb_a
    return {
        "case": name, "cell": "fefet", "layer": f"{size}x{size} signed",
        "physical": f"{size}x{2 * size}", "vectors": vectors,
        "seconds_ideal": t_ideal, "seconds_behavioral_first": t_first,
        "seconds_behavioral": t_fast, "ratio_behavioral_vs_ideal": t_fast / t_ideal,
        "ratio_first_vs_ideal": t_first / t_ideal,
        "expansion_degree": ex.degree, "variance_degree": ex.var_degree,
        "reference_vectors": len(xr),
        "seconds_every_cell_reference": t_cells,
        "every_cell_seconds_per_vector_over_fast": (t_cells / len(xr)) / (t_fast / vectors),
        "max_error_lsb": float(np.abs(quiet.i_out_a - ref.i_out_a).max() / lsb),
        "bound_lsb": ex.bound_a / lsb,
        "max_code_difference": int(np.abs(quiet.adc_code - ref.adc_code).max()),
    }


def nodal_case(size: int, vectors: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    state = programmed("resistor", size, rng, age_s=0.0)
    x = rng.uniform(size=(vectors, size))
    config = ranged(state, DacParams(v_fs_v=0.2, bits=8), x, wires=2.0)
    ideal = get_engine("ideal")
    flat = ArrayConfig(config.dac, config.adc)
    t_ideal = best_of(lambda: ideal.run(state, x, flat), repeats)
    clear_caches()
    nodal = get_engine("nodal")
    t_first, _ = timed(lambda: nodal.run(state, x, config))
    t_again = best_of(lambda: nodal.run(state, x, config), repeats)
    return {"case": "nodal_wires_2ohm", "cell": "resistor", "layer": f"{size}x{size} signed",
            "vectors": vectors, "seconds_ideal": t_ideal, "seconds_nodal_first": t_first,
            "seconds_nodal": t_again, "ratio_nodal_vs_ideal": t_again / t_ideal,
            "ratio_first_vs_ideal": t_first / t_ideal}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reference-vectors", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cases = {"amplitude_8bit": DacParams(v_fs_v=0.2, bits=8),
             "bit_serial_8bit": DacParams(v_fs_v=0.2, bits=8, bit_serial=True)}
    out = {"benchmark": "fast_engines", "host": platform.node(),
           "machine": platform.machine(), "cases": []}
    for name, dac in cases.items():
        out["cases"].append(behavioral_case(name, dac, args.size, args.vectors,
                                            args.reference_vectors, args.repeats))
    out["cases"].append(nodal_case(args.size, args.vectors, args.repeats))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
