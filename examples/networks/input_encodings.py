"""Input encodings on the MNIST-5k LeNet: amplitude, pulse-width and bit-serial row
drive, each for the whole network, their accuracy on FeFET arrays and their chip
cost per inference.

    .venv/bin/python examples/networks/input_encodings.py [OUT_DIR] [--seeds 5]

Per seed the float LeNet of ``mnist5k.py`` (same seeds and training) deployed on
128 x 128 arrays (behavioral engine, variation and read noise, 8-bit DAC codes,
8-bit ADCs): amplitude (the code sets the row voltage, so low-conductance cells see
the FeFET's curvature), pulse-width (full-scale pulses, width = code) and bit-serial
(one bit-plane per window at full scale, an ADC conversion per plane, digital
shift-add). The chip roll-up (``cosim.codesign.chip``) prices each. Writes
encodings.json to OUT_DIR (default runs/encodings).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ENCODINGS = ("amplitude", "pwm", "bit_serial")
TILE = 128


def job(seed: int, epochs: int) -> dict:
    from mnist5k import accuracy, split, trained

    from cosim.codesign.chip import ChipDesign, chip_loads, rollup
    from cosim.nn.analog_torch import convert_to_analog
    from cosim.nn.layers import HardwareConfig

    t0 = time.time()
    data = split(seed)
    x, xt, yt = data.x, data.xt, data.yt
    model, _, _ = trained("lenet", seed, epochs, data)
    row = {"seed": seed, "float_test_acc": accuracy(model, xt, yt)}
    for enc in ENCODINGS:
        hw = HardwareConfig(tile_rows=TILE, tile_cols=TILE // 2, dac_encoding=enc)
        analog = convert_to_analog(model, hw, calibration=x[:256], seed=seed)
        r = rollup(chip_loads(analog, x[:200]), ChipDesign(tile=TILE, encoding=enc))
        row[enc] = {"test_acc": accuracy(analog, xt, yt), "energy_j": r["energy_j"],
                    "latency_s": r["latency_s"], "tops_per_w": r["tops_per_w"],
                    "energy_by_block_j": r["energy_by_block_j"]}
    row["seconds"] = time.time() - t0
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/encodings")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from cosim.studies.jobs import JobRunner, mean_std

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with JobRunner(args.workers, args.seeds, "encodings") as runner:
        rows = runner.run(job, [(s, args.epochs) for s in range(args.seeds)], lambda r: (
            f"seed {r['seed']}: float {r['float_test_acc']:.3f}, " + ", ".join(
                f"{e} {r[e]['test_acc']:.3f}" for e in ENCODINGS)))
    summary = {"float_test_acc": mean_std([r["float_test_acc"] for r in rows])}
    for enc in ENCODINGS:
        summary[enc] = {k: mean_std([r[enc][k] for r in rows])
                        for k in ("test_acc", "energy_j", "latency_s", "tops_per_w")}
    result = {"study": "encodings", "tile": TILE, "seeds": args.seeds,
              "seconds": time.time() - t0, "summary": summary, "rows": rows}
    (out / "encodings.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({"summary": summary, "seconds": result["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
