"""The SAR ADC circuit on sky130 tt (or the generic card): gain trim, a full-range
ramp (INL/DNL, effective bits, energy per conversion) and a Monte Carlo of the MSB
carry's DNL and the offset over N instances (capacitor and transistor mismatch).
Writes docs/figures/sar_adc_<pdk>_ramp.json and (with --mc N) ..._mc.json.

    python examples/converters/sar_ramp.py [--pdk sky130] [--no-ramp] [--mc 50] [--seed 0]

On 2 cores, sky130: the ramp about 10 min (1,032 conversions, about 0.6 s each), the
Monte Carlo of 50 instances about 10 min; the generic card is 8x faster.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from cosim.benches import sar_adc as bench
from cosim.engines import get_engine
from periphery.process import Process
from periphery.sar_adc import SarAdcCircuit

ok, why = get_engine("spice").available()
if not ok:
    print(f"this example runs ngspice, which is not usable here: {why}", file=sys.stderr)
    sys.exit(3)

ap = argparse.ArgumentParser()
ap.add_argument("--pdk", default="sky130")
ap.add_argument("--mc", type=int, default=50)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--steps-per-lsb", type=int, default=4)
ap.add_argument("--no-ramp", action="store_true")
ap.add_argument("--out", type=Path, default=Path("docs/figures"))
args = ap.parse_args()

p = SarAdcCircuit(process=Process(args.pdk))  # 8 bits, 0.5 V / 127 per LSB
pt = bench.trimmed(p)
args.out.mkdir(parents=True, exist_ok=True)


def write(name: str, data: dict) -> None:
    path = args.out / f"sar_adc_{args.pdk}_{name}.json"
    path.write_text(json.dumps(data, indent=1))
    print(f"wrote {path}")


if not args.no_ramp:
    t0 = time.perf_counter()
    f = bench.ramp(pt, args.steps_per_lsb)
    write(
        "ramp",
        {
            "pdk": args.pdk,
            "bits": p.bits,
            "lsb_v": p.lsb_v,
            "cu_f": p.cu_f,
            "sigma_cu": p.sigma_cu,
            "v_ref_scale": pt.v_ref_scale,
            "cm_lift_v": p.lift_v,
            "cm_units": p.cm_units,
            "offset_lsb": f.offset_lsb,
            "gain_error": f.gain_error,
            "dnl_max_lsb": f.dnl_max_lsb,
            "inl_max_lsb": f.inl_max_lsb,
            "enob": f.enob,
            "energy_per_conversion_j": f.energy_per_conversion_j,
            "missing_codes": f.missing_codes,
            "resolution_lsb": f.resolution_lsb,
            "dnl_lsb": f.dnl_lsb.tolist(),
            "inl_lsb": f.inl_lsb.tolist(),
            "ramp_seconds": time.perf_counter() - t0,
        },
    )
    print(
        f"{args.pdk}: trim {pt.v_ref_scale:.4f}, offset {f.offset_lsb:+.2f} LSB, gain "
        f"{f.gain_error:+.2%}, DNL max {f.dnl_max_lsb:.2f} LSB, INL max {f.inl_max_lsb:.2f} "
        f"LSB, ENOB {f.enob:.2f}, {f.energy_per_conversion_j * 1e12:.2f} pJ/conversion"
    )
if args.mc:
    t0 = time.perf_counter()
    mm = dataclasses.replace(pt, process=dataclasses.replace(pt.process, mismatch=True))
    offset, dnl = bench.msb_dnl(mm, args.mc, args.seed, steps_per_lsb=8)
    ok = np.isfinite(dnl).all(axis=1)
    mc = {
        "pdk": args.pdk,
        "v_ref_scale": pt.v_ref_scale,
        "instances": args.mc,
        "measured": int(ok.sum()),
        "seed": args.seed,
        "offset_sigma_lsb": float(np.nanstd(offset, ddof=1)),
        "msb_dnl_sigma_lsb": float(np.nanstd(dnl[:, 0], ddof=1)),
        "msb_dnl_max_lsb": float(np.nanmax(np.abs(dnl[:, 0]))),
        "next_dnl_sigma_lsb": float(np.nanstd(dnl[:, 1], ddof=1)),
        "msb_dnl_mean_lsb": float(np.nanmean(dnl[:, 0])),
        "offset_lsb": offset.tolist(),
        "msb_dnl_lsb": dnl[:, 0].tolist(),
        "seconds": time.perf_counter() - t0,
    }
    mc["behavioral_dnl_sigma_lsb"] = bench.behavioral_dnl_sigma_lsb(mc["msb_dnl_sigma_lsb"],
                                                                    p.bits)
    write("mc", mc)
    print(
        f"Monte Carlo ({mc['measured']}/{args.mc} measured): offset sigma "
        f"{mc['offset_sigma_lsb']:.2f} LSB, MSB-carry DNL sigma {mc['msb_dnl_sigma_lsb']:.3f} "
        f"LSB (max {mc['msb_dnl_max_lsb']:.2f}), next code {mc['next_dnl_sigma_lsb']:.3f} LSB; "
        f"behavioural AdcParams(arch='sar', dnl_sigma_lsb={mc['behavioral_dnl_sigma_lsb']:.4f})"
    )
