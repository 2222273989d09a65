"""Network accuracy spread caused by the periphery's mismatch: the LeNet on MNIST-5k
deployed onto 128x128 FeFET arrays with 8-bit ADCs, every column converter with its
own input offset drawn from the sigma the sky130 Monte Carlo measured (``cosim
bench --mc 50``: comparator and op-amp offsets, in LSB), against none.

    .venv/bin/python examples/networks/periphery_offsets.py [OUT_DIR] [--sigma-lsb 3.19]
        [--seeds 5] [--chips 10] [--quick]

Per seed (split, initialisation, device draws): the float LeNet (epoch chosen on
validation), then ``chips`` deployments with offsets (each its own offset draws and
device draws) and the same number without. Writes periphery_offsets.json to OUT_DIR
(default runs/periphery_offsets).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def job(seed: int, epochs: int, chips: int, sigmas: tuple[float, ...],
        test_limit: int | None) -> dict:
    from mnist5k import deployed_chips

    return deployed_chips(seed, epochs, chips,
                          {str(s): {"adc_offset_sigma_lsb": s} for s in sigmas}, test_limit)


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/periphery_offsets")
    ap.add_argument("--sigma-lsb", type=float, default=3.19)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--chips", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner, mean_std

    seeds, epochs, chips, limit = args.seeds, args.epochs, args.chips, None
    if args.quick:
        seeds, epochs, chips, limit = 2, 1, 2, 200
    sigmas = (0.0, args.sigma_lsb, 2 * args.sigma_lsb)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, epochs, chips, sigmas, limit) for seed in range(seeds)]
    t0 = time.time()
    with JobRunner(args.workers, len(jobs), "periphery offsets") as runner:
        rows = runner.run(job, jobs, lambda r: (
            f"seed {r['seed']}: float {r['float_test_acc']:.3f}, "
            + ", ".join(f"sigma {k}: {np.mean(v):.3f}" for k, v in r["chips"].items())
            + f" ({r['seconds']:.0f} s)"))
    summary = {"float": mean_std([r["float_test_acc"] for r in rows])}
    for sigma in sigmas:
        per_seed = [np.mean(r["chips"][str(sigma)]) for r in rows]
        spread = [np.std(r["chips"][str(sigma)]) for r in rows]
        worst = [np.min(r["chips"][str(sigma)]) for r in rows]
        summary[f"sigma_{sigma}_lsb"] = {"mean_over_seeds": mean_std(per_seed),
                                         "chip_to_chip_std_mean": float(np.mean(spread)),
                                         "worst_chip_mean": float(np.mean(worst))}
    result = {"study": "periphery_offsets", "seeds": seeds, "chips": chips, "epochs": epochs,
              "sigmas_lsb": sigmas, "test_limit": limit, "seconds": time.time() - t0,
              "summary": summary, "rows": rows}
    (out / "periphery_offsets.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
