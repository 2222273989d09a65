"""Network accuracy and energy per MAC at the sky130 corners (tt, ff, ss, sf, fs).

    .venv/bin/python examples/networks/periphery_corners.py [OUT_DIR] [--seeds 5]
        [--chips 3] [--mc 50] [--quick]

1. The circuit, per corner (``cosim corners``): an 8x4 differential FeFET array (8x8
   cells) read by class-AB integrators and SAR ADC circuits in one ngspice deck,
   against the ideal read: the read chain's gain error, offset and residual (LSB),
   and the energy per MAC by block.
2. The mismatch, per corner (``cosim bench --corners all --mc N``): the
   per-converter offset sigma (comparator and op-amp, LSB).
3. The network: the LeNet on MNIST-5k deployed onto 128x128 FeFET tiles with 8-bit
   ADCs whose read chain carries one corner's transfer and offset sigma
   (``HardwareConfig.adc_gain_error / adc_offset_lsb / adc_noise_lsb /
   adc_offset_sigma_lsb``), against an ideal read chain. Per seed (split,
   initialisation, device draws) one float network (epoch chosen on validation),
   ``chips`` deployments per corner (each its own device and offset draws).

Steps 1 and 2 are kept in OUT_DIR (corners.json, bench.json) and reused on a rerun
(copy a ``cosim corners`` run's corners.json there to reuse it).
Writes periphery_corners.json to OUT_DIR (default runs/periphery_corners).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

IDEAL = "ideal read chain"


def job(seed: int, epochs: int, chips: int, chains: dict[str, dict],
        test_limit: int | None) -> dict:
    from mnist5k import deployed_chips

    return deployed_chips(seed, epochs, chips, chains, test_limit)


def circuit_figures(out: Path, mc: int, quick: bool) -> tuple[dict, dict]:
    """Steps 1 and 2 (kept in OUT_DIR: a rerun reuses them)."""
    from cosim.cli.live import live_progress
    from cosim.studies.corners import CornerSpec, corners_command
    from cosim.studies.periphery import BenchSpec, bench_command
    from device_models import sky130

    corners_file, bench_file = out / "corners.json", out / "bench.json"
    with live_progress():
        if not corners_file.exists():
            spec = CornerSpec(vectors=4, rows=4, cols=2) if quick else CornerSpec()
            _, summary = corners_command(spec, out / "runs")
            corners_file.write_text(json.dumps(summary, indent=1))
        if not bench_file.exists():
            _, summary = bench_command(BenchSpec(corners=sky130.CORNERS, mc=mc), out / "runs")
            bench_file.write_text(json.dumps(summary, indent=1))
    return json.loads(corners_file.read_text()), json.loads(bench_file.read_text())


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/periphery_corners")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--chips", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--mc", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner, mean_std

    seeds, epochs, chips, limit, mc = args.seeds, args.epochs, args.chips, None, args.mc
    if args.quick:
        seeds, epochs, chips, limit, mc = 2, 1, 1, 200, 8
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    corners, bench = circuit_figures(out, mc, args.quick)
    chains = {IDEAL: {}}
    for r in corners["corners"]:
        sigma = bench["monte_carlo"][r["corner"]]["adc_offset_sigma_lsb_integrator"]
        chains[r["corner"]] = {"adc_gain_error": r["gain_error"], "adc_offset_lsb": r["offset_lsb"],
                               "adc_noise_lsb": r["noise_lsb"], "adc_offset_sigma_lsb": sigma}
    jobs = [(seed, epochs, chips, chains, limit) for seed in range(seeds)]
    with JobRunner(args.workers, len(jobs), "periphery corners") as runner:
        rows = runner.run(job, jobs, lambda r: (
            f"seed {r['seed']}: float {r['float_test_acc']:.3f}, "
            + ", ".join(f"{k}: {np.mean(v):.3f}" for k, v in r["chips"].items())
            + f" ({r['seconds']:.0f} s)"))
    summary = {"float": mean_std([r["float_test_acc"] for r in rows])}
    energy = {r["corner"]: r["energy_J_per_MAC"] for r in corners["corners"]}
    for name, chain in chains.items():
        per_seed = [np.mean(r["chips"][name]) for r in rows]
        summary[name] = {"chain": chain, "mean_over_seeds": mean_std(per_seed),
                         "chip_to_chip_std_mean": float(np.mean(
                             [np.std(r["chips"][name]) for r in rows])),
                         "worst_chip_mean": float(np.mean([np.min(r["chips"][name])
                                                           for r in rows])),
                         "energy_J_per_MAC": energy.get(name)}
    result = {"study": "periphery_corners", "seeds": seeds, "chips": chips, "epochs": epochs,
              "mc": mc, "test_limit": limit, "seconds": time.time() - t0, "summary": summary,
              "corners": corners["corners"], "rows": rows}
    (out / "periphery_corners.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
