"""Closed-form chip cost vs the engines' energy, per (tile, design) evaluation.

    .venv/bin/python benchmarks/codesign_cost.py [--vectors 16]

Prints one JSON object: the co-design cost model's time per (architecture, design)
evaluation over the default space (204 architectures with synthetic layer
statistics x 2400 designs, vectorised over designs), and the time the behavioral
and spice engines take to give the energy of one 32x32 FeFET tile (amplitude
inputs, integrator, SAR ADC) for ``--vectors`` vectors, with the closed form's
disagreement; ratios engine / closed form per evaluation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time

import numpy as np

from cosim.codesign.cost import design_arrays, network_cost
from cosim.codesign.points import STATS
from cosim.codesign.spec import spec_from_dict
from cosim.codesign.spot_check import SPOT_VECTORS, check_one
from cosim.engines import clear_caches


def synthetic_stats(arch, rng: np.random.Generator) -> np.ndarray:
    sizes = (64, *arch.hidden, 10)
    rows = []
    for n_in, n_out in itertools.pairwise(sizes):
        x = rng.uniform(0.1, 0.5)
        row = {"n_in": n_in, "n_out": n_out, "kept": 1 - arch.sparsity, "r_w": 0.3,
               "x_mean": x, "x_sq": x * x * 1.3, "x_step": x * 0.4, "ones": arch.act_bits * x,
               "p_on": 0.8}
        rows.append([row[k] for k in STATS])
    return np.array(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=SPOT_VECTORS)
    args = ap.parse_args()
    import cosim.codesign.spot_check as sc

    sc.SPOT_VECTORS = args.vectors
    spec = spec_from_dict({})
    designs = spec.designs()
    h = design_arrays(designs)
    rng = np.random.default_rng(0)
    stats = [synthetic_stats(a, rng) for a in spec.architectures]
    t0 = time.perf_counter()
    for a, st in zip(spec.architectures, stats, strict=True):
        network_cost(st, a.act_bits, h)
    closed = (time.perf_counter() - t0) / (len(stats) * len(designs))
    design = {"tile": 32, "adc_bits": 6, "adc_arch": "sar", "cols_per_adc": 4,
              "encoding": "amplitude", "cell": "fefet", "v_read_v": 0.2}
    clear_caches()  # each engine timing is a whole solve, no expansion kept from before
    t0 = time.perf_counter()
    rows = check_one(design, spice=True)
    both = time.perf_counter() - t0
    clear_caches()
    t0 = time.perf_counter()
    check_one(design, spice=False)
    behavioral = time.perf_counter() - t0
    spice = both - behavioral
    out = {"benchmark": "codesign_cost", "host": platform.node(), "cpus": 2,
           "evaluations": len(stats) * len(designs),
           "closed_form_us_per_evaluation": closed * 1e6,
           "behavioral_s_per_tile": behavioral, "spice_s_per_tile": spice,
           "ratio_behavioral_over_closed_form": behavioral / closed,
           "ratio_spice_over_closed_form": spice / closed,
           "closed_vs_spice": {r["block"]: r["closed_vs_spice"] for r in rows},
           "closed_vs_behavioral": {r["block"]: r["closed_vs_behavioral"] for r in rows}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
