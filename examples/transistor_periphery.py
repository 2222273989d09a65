"""Transistor-level read-out: an 8x8 FeFET array read by CMOS integrators, against the
behavioural model with the op-amp's measured figures, and where they differ.

    python examples/transistor_periphery.py
"""

import dataclasses
import sys

from cosim.engines import get_engine
from cosim.studies.compare import CompareSpec, build_case, run_compare, with_sensing

ok, why = get_engine("spice").available()
if not ok:  # a clear line, not a traceback
    print(f"this example runs ngspice, which is not usable here: {why}", file=sys.stderr)
    sys.exit(3)  # as the CLI: an engine that cannot run here

spec = CompareSpec(rows=8, cols=8, vectors=8, cell="fefet", dac_bits=6,
                   engines=("behavioral", "spice"))
metrics, behavioral, spice = run_compare(spec, sense="integrator", level="transistor")

print(f"CMOS op-amp: gain {metrics['opamp_dc_gain']:.0f}, GBW "
      f"{metrics['opamp_gbw_hz'] / 1e6:.0f} MHz, phase margin "
      f"{metrics['opamp_phase_margin_deg']:.0f} deg")
print(f"behavioral vs spice (transistor level): {metrics['max_err_lsb']:.3f} LSB at 8 bits")
print(f"codes from the SAR ADC circuits in the deck ({metrics['adc_level']}): "
      f"{metrics['adc_code_mismatch_frac']:.0%} differ from the behavioural codes, "
      f"by at most {metrics['max_code_diff']}")
for key, value in metrics.items():
    if key.startswith("effect_"):
        print(f"  {key[7:-4]:>20}: {value:.3f} LSB")
per_mac = spice.energy_per_mac_j(8 * 8)
print("energy per MAC:", {k: f"{v * 1e15:.1f} fJ" for k, v in per_mac.items()})

# Bit-serial inputs through the same read-out: rows at 0 or v_fs only.
state, config, x = build_case(spec)
config, _ = with_sensing(config, "integrator", "transistor", adc_level="behavioral")
serial = dataclasses.replace(config, dac=dataclasses.replace(config.dac, bit_serial=True))
res = get_engine("spice").run(state, x, serial)
beh = get_engine("behavioral", noise=False).run(state, x, serial)
err = abs(res.i_out_a - beh.i_out_a).max() / config.adc.lsb_a
print(f"bit-serial: {config.dac.bits} planes, settling {res.settling_s.max() * 1e9:.1f} ns "
      f"summed over the planes; spice vs behavioral {err:.3f} LSB")
