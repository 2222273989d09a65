"""The README's main job: a small default sweep + compare + variation report.

Runs two sweeps on a 2-worker Dask LocalCluster (about a minute on 2 cores):
- compare: nodal vs spice over array size x wire resistance (2 seeds), and its
  compare report;
- variation: MoS2 FeFET arrays over D2D sigma x drift time (3 seeds): cell and
  ADC code errors, per-cell maps, network accuracy on digits; its report.
Ends with the path of the variation report.
"""

from __future__ import annotations

import json
from pathlib import Path

from cosim.reports.html import compare_report, variation_report
from cosim.runs.files import new_run_dir
from cosim.sweeps.command import Outcome
from cosim.sweeps.runner import run_sweep
from cosim.sweeps.spec import spec_from_dict

COMPARE_SPEC = {
    "name": "demo_compare", "kind": "compare", "seeds": 2,
    "base": {"vectors": 50, "differential": True, "engines": ["nodal", "spice"]},
    "axes": {"rows": {"values": [8, 16, 32]}, "r_wire_ohm": {"values": [0.0, 1.0, 5.0]}},
}
VARIATION_SPEC = {
    "name": "demo_variation", "kind": "variation", "seeds": 3,
    "base": {"rows": 32, "cols": 16, "vectors": 100, "engine": "behavioral"},
    "axes": {"d2d_sigma_v": {"values": [0.0, 0.03, 0.06]},
             "age_s": {"values": [1.0, 86400.0, 3.15576e7]}},
}


def run_demo(results_root: Path, seed: int = 0, workers: int = 2,
             echo=print) -> tuple[Path, Path, Outcome]:
    """Returns (compare report, variation report, how the points of both ended).
    Progress goes to the progress reports (the CLI shows them)."""
    run_dir = new_run_dir(results_root, "demo")
    reports = []
    outcomes = []
    for raw, make in ((COMPARE_SPEC, compare_report), (VARIATION_SPEC, variation_report)):
        raw = {**raw, "seeds": [seed + k for k in range(raw["seeds"])]}
        spec = spec_from_dict(raw)
        sub = run_dir / spec.name
        table = run_sweep(spec, json.dumps(raw, indent=2), sub, workers=workers, csv=True)
        outcomes.append(Outcome.of(table))
        reports.append(make(sub))
        echo(f"{spec.name}: {reports[-1]}")
    both = Outcome(sum(o.total for o in outcomes), sum(o.failed for o in outcomes),
                   outcomes[0].first_errors + outcomes[1].first_errors)
    return reports[0], reports[1], both
