"""``cosim energy``: energy per MAC by block from a periphery transient in ngspice,
beside the per-vector analytic and the NeuroSim-style average-case estimates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from cosim.array.energy import adc_time_s, neurosim_estimate
from cosim.engines import get_engine, without_features
from cosim.runs.files import new_run_dir, write_atomic, write_figure, write_json
from cosim.runs.manifest import now_utc, write_manifest
from cosim.studies.compare import CompareSpec, build_case, with_sensing
from periphery.process import GENERIC, Process

BLOCKS = ("array", "sensing", "dac", "adc")


@dataclasses.dataclass(frozen=True)
class AdcChoice:
    arch: str = "flash"
    """flash | sar."""
    cols_per_adc: int = 1
    """Columns multiplexed onto one converter."""
    energy_model: str = "walden"
    """walden | comparator (decisions x the transistor-level comparator's energy,
    measured in ngspice for this run)."""


def energy_command(spec: CompareSpec, sense_kind: str, results: Path,
                   level: str = "behavioral", adc: AdcChoice | None = None,
                   timeout_s: float | None = None, process: Process = GENERIC,
                   output: str = "class_a", adc_level: str = "auto") -> tuple[Path, dict]:
    """``timeout_s`` limits each ngspice deck (None: the engine's default). At
    transistor level the op-amps (and with ``adc.energy_model`` comparator, the
    comparator) are drawn on ``process`` with the ``output`` stage; ``adc_level``
    transistor (auto: the same as ``level``) simulates SAR ADC circuits in the deck,
    so the converters' energy is simulated too."""
    started = now_utc()
    adc = adc or AdcChoice()
    state, config, x = build_case(spec)
    config = dataclasses.replace(config, adc=dataclasses.replace(
        config.adc, arch=adc.arch, cols_per_adc=adc.cols_per_adc))
    config, opamp = with_sensing(config, sense_kind, level, process, output, adc_level)
    comparator: dict = {}
    energy = dataclasses.replace(config.energy, adc_model=adc.energy_model)
    if adc.energy_model == "comparator":
        from cosim.benches.comparator import characterize
        from periphery.comparator_cmos import designed_for

        fig = characterize(designed_for(process))
        comparator = dataclasses.asdict(fig)
        energy = dataclasses.replace(energy, comparator_energy_j=fig.energy_per_decision_j)
    config = dataclasses.replace(config, energy=energy)
    spice = get_engine("spice", **({} if timeout_s is None else {"timeout_s": timeout_s})
                       ).run(state, x, config)
    # the behavioural engine prices the converters with the ADC model instead
    analytic = get_engine("behavioral", noise=False).run(
        state, x, without_features(config, ["adc_circuit"]))
    neuro = neurosim_estimate(state, spice.v_row_v, config)
    macs = state.rows * state.phys_cols
    rows = []
    for b in BLOCKS:
        rows.append({"block": b, "basis": spice.energy_basis[b],
                     "simulated_J_per_vector": float(spice.energy_j[b].mean()),
                     "simulated_J_per_MAC": float(spice.energy_j[b].mean()) / macs,
                     "analytic_J_per_MAC": float(analytic.energy_j[b].mean()) / macs,
                     "neurosim_J_per_MAC": float(neuro[b].mean()) / macs})
    total = {k: sum(r[k] for r in rows) for k in ("simulated_J_per_vector",
                                                  "simulated_J_per_MAC", "analytic_J_per_MAC",
                                                  "neurosim_J_per_MAC")}
    err_lsb = float(np.abs(spice.i_out_a - analytic.i_out_a).max() / config.adc.lsb_a)
    kept = (float(np.mean(state.fields["mask_pol"] > 0)) if "mask_pol" in state.fields
            else 1.0)
    total["simulated_J_per_kept_MAC"] = total["simulated_J_per_MAC"] / kept
    summary = {"rows": state.rows, "cols": state.phys_cols, "vectors": len(x),
               "cell": spec.cell, "dac_bits": spec.dac_bits, "adc_bits": spec.adc_bits,
               "sense": dataclasses.asdict(config.sense), "level": level, "opamp": opamp,
               "adc_level": config.adc_level,
               "adc": dataclasses.asdict(adc), "comparator": comparator,
               "converters": config.adc.converters(state.cols),
               "adc_time_per_vector_s": adc_time_s(state.cols, config.adc, config.energy),
               "sense_period_s": config.sense.period_s,
               "blocks": rows, "total": total, "sparsity": spec.sparsity,
               "kept_fraction": kept,
               "settling_s_max": float(spice.settling_s.max()),
               "settling_s_mean": float(spice.settling_s.mean()),
               "behavioral_vs_spice_max_err_lsb": err_lsb, "seconds_spice": spice.seconds}
    run_dir = new_run_dir(results, "energy")
    import pandas as pd

    write_atomic(run_dir / "energy.csv", pd.DataFrame(rows).to_csv(index=False))
    write_json(run_dir / "energy.json", summary)
    _bar_chart(run_dir, rows)
    write_manifest(run_dir, "energy", {"spec": dataclasses.asdict(spec), "sense": sense_kind,
                                       "level": level, "adc_level": adc_level,
                                       "adc": dataclasses.asdict(adc)},
                   spec.seed, started)
    return run_dir, summary


def _bar_chart(run_dir: Path, rows: list[dict]) -> None:
    from cosim.runs.files import figures

    plt = figures()

    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    x = np.arange(len(rows))
    for off, key, label in ((-0.27, "simulated_J_per_MAC", "simulated (ngspice + models)"),
                            (0.0, "analytic_J_per_MAC", "analytic per vector"),
                            (0.27, "neurosim_J_per_MAC", "NeuroSim-style average")):
        ax.bar(x + off, [r[key] * 1e15 for r in rows], width=0.27, label=label)
    ax.set_xticks(x, [r["block"] for r in rows])
    ax.set_yscale("log")
    ax.set(ylabel="energy per MAC (fJ)", title="Energy per MAC by block")
    ax.legend(fontsize=8)
    write_figure(fig, run_dir / "energy.png")
    plt.close(fig)
