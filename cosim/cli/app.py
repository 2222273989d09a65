"""``cosim`` command line. User mistakes exit 2 with a message naming the field;
simulator failures exit 1 and name the kept rundir, netlist and log tail; a sweep
with some failed points exits 4; Ctrl-C exits 130 and SIGTERM 143, after
stopping every simulator and worker this process started.

Long commands run their work in a stoppable child process (``--timeout``) and
show a live progress bar with the time left on stderr."""

from __future__ import annotations

import functools
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from cosim.cli.live import live_progress
from cosim.errors import CosimError, EngineUnavailable, ParamError, SimulationError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="SPICE-backed co-simulator for analog MAC crossbar arrays.")


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


EXIT_SOME_FAILED = 4
"""Exit code of a sweep (or demo) that finished with some points failed."""


def _interrupted(exc: BaseException) -> None:
    """Ctrl-C / SIGTERM: stop every process started from here, drop empty run
    folders, exit 130 (SIGINT) or 143 (SIGTERM)."""
    import os
    import sys

    from cosim.runs.files import discard_empty_run_dirs
    from cosim.simulators.processes import stop_descendants

    code = getattr(exc, "exit_code", 130)
    stop_descendants()
    discard_empty_run_dirs()
    typer.echo("terminated" if code == 143 else "interrupted", err=True)
    # Leave now: the interpreter's exit handlers would close a Dask cluster whose
    # workers are already stopped, gracefully, for seconds. Everything this process
    # wrote is complete (atomic writes); only the streams need flushing.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def handle_errors(fn):
    """Turn the project's exceptions into clean messages and exit codes."""
    import asyncio
    import concurrent.futures

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cosim.runs.files import discard_empty_run_dirs

        try:
            return fn(*args, **kwargs)
        except (KeyboardInterrupt, asyncio.CancelledError,
                concurrent.futures.CancelledError) as exc:
            # Ctrl-C reaches a Dask sweep as cancelled futures
            _interrupted(exc)
        except typer.Exit:
            raise
        except BaseException:
            discard_empty_run_dirs()
            raise
        return None

    return _report_errors(wrapper)


def _report_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ParamError as exc:
            _fail(str(exc), 2)
        except EngineUnavailable as exc:
            _fail(str(exc), 3)
        except SimulationError as exc:
            _fail(str(exc), 1)
        except CosimError as exc:
            _fail(str(exc), 1)
        except OSError as exc:  # a path the user named: read-only, a file not a folder...
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}", 1)

    return wrapper


def parse_engines(text: str) -> tuple[str, str]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if len(parts) != 2:
        raise ParamError("engines", text, "must be two engine names separated by a comma, "
                         "e.g. ideal,spice")
    return parts  # type: ignore[return-value]


Rows = Annotated[int, typer.Option(help="Array rows (inputs).")]
Cols = Annotated[int, typer.Option(help="Logical columns (outputs).")]
Vectors = Annotated[int, typer.Option(help="Number of random input vectors K.")]
Seed = Annotated[int, typer.Option(help="Seed of the numpy Generator.")]
RWire = Annotated[float, typer.Option("--r-wire", help="Wire resistance per cell pitch (ohm).")]
Diff = Annotated[bool, typer.Option(help="Signed weights on (G+, G-) column pairs.")]
AdcPercentile = Annotated[float, typer.Option(
    help="ADC range: 100 = max possible current; below = that percentile of |output| on "
         "calibration inputs.")]
Timeout = Annotated[float, typer.Option(
    "--timeout", help="Wall-clock limit of the whole command (s); the work is stopped "
    "past it and its simulator files are kept and named.")]

Results = Annotated[Path, typer.Option(help="Where run directories are created.")]
RunDir = Annotated[Path | None, typer.Option(help="Run directory (default: new).")]
Resume = Annotated[bool, typer.Option(help="Skip the points already finished.")]
Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler, tcp://host:port.")]
Workers = Annotated[int, typer.Option(help="LocalCluster worker processes.")]
Pdk = Annotated[str, typer.Option(
    help="generic (level-1 card, fast) | sky130 (SkyWater 130 nm models): the transistors "
         "of the transistor-level periphery.")]
Corner = Annotated[str, typer.Option(help="sky130 corner: tt | ff | ss | sf | fs.")]
OutputStage = Annotated[str, typer.Option(
    help="class_a | class_ab: the transistor-level op-amp's output stage.")]
AdcLevel = Annotated[str, typer.Option(
    help="auto (the periphery's level) | behavioral (numpy converts the sensed currents) "
         "| transistor (SAR ADC circuits convert in the deck: needs the transistor-level "
         "periphery).")]


def parse_corners(text: str) -> tuple[str, ...]:
    """``--corners``: a comma-separated list, or ``all`` (sky130's five); the specs
    check the names."""
    from device_models import sky130

    if text.strip() == "all":
        return sky130.CORNERS
    return tuple(c.strip() for c in text.split(",") if c.strip())


def periphery_process(pdk: str, corner: str, output_stage: str, level: str):
    """The transistor-level periphery's process; refused (exit 2) where the level is
    behavioural and a process or output stage was asked for."""
    from device_models.validation import ParamError, check_choice
    from periphery.opamp_cmos import OUTPUT_STAGES
    from periphery.process import Process

    process = Process(pdk, corner)
    check_choice("output_stage", output_stage, OUTPUT_STAGES)
    if level != "transistor":
        for name, value, default in (("pdk", pdk, "generic"), ("corner", corner, "tt"),
                                     ("output_stage", output_stage, "class_a")):
            if value != default:
                raise ParamError(name, value, "applies to the transistor-level periphery "
                                 "only (add --periphery-level transistor / --level transistor)")
    return process


def check_run_options(run_dir: Path | None, resume: bool, scheduler: str | None,
                      workers: int) -> None:
    """The options of a command that runs points on Dask into a run directory."""
    from cosim.sweeps.runner import check_scheduler
    from device_models.validation import check_int

    check_int("workers", workers, 1, 256)
    if resume and run_dir is None:
        raise ParamError("run_dir", None, "is required with --resume")
    check_scheduler(scheduler)
    if run_dir is not None and run_dir.exists() and not run_dir.is_dir():
        raise ParamError("run_dir", str(run_dir), "is a file; name a directory")


TIMEOUT_S = {"compare": 3600.0, "energy": 3600.0, "irdrop": 3600.0, "train": 21600.0,
             "evaluate": 21600.0, "bench": 3600.0, "corners": 3600.0}
"""Default --timeout of each long command: above what its README examples need
(the longest, the transistor-level TIA compare, ~15 min on 2 busy cores)."""


def stoppable(what: str, timeout_s: float, fn, *args: Any) -> Any:
    """``fn(*args)`` in a child process stopped after ``timeout_s``, its progress
    reports shown live."""
    from cosim.runs.isolated import run_isolated
    from device_models.validation import check_range

    check_range("timeout", timeout_s, 0.0, 30 * 86400.0, lo_open=True)

    def work():
        with live_progress():
            return fn(*args)

    return run_isolated(work, timeout_s=timeout_s, what=f"cosim {what}")


@app.command()
@handle_errors
def doctor() -> None:
    """Report every ngspice found (version, KLU, OSDI), the one used, the Verilog-A
    compiler, PySpice, and which engines are usable here."""
    from cosim.engines import ENGINES, get_engine
    from cosim.simulators import finder, osdi
    from cosim.simulators import pyspice_shared as pyspice_backend

    for path, found, why in finder.probe_all():
        typer.echo(f"found       : {found.describe() if found else path + ': ' + why}")
    info, why = finder.best()
    typer.echo(f"ngspice     : {'uses ' + info.describe() if info else 'MISSING: ' + why}")
    compiler, why = osdi.compiler()
    typer.echo(f"Verilog-A   : {compiler.describe() if compiler else 'no compiler: ' + why}")
    shared = pyspice_backend.version()
    typer.echo(f"PySpice     : {shared or 'shared library NOT loadable'}")
    from device_models import sky130

    typer.echo(f"PDK         : generic level-1 card; {sky130.available()[1]}")
    ok_all = True
    for name in ENGINES:
        ok, why = get_engine(name).available()
        ok_all &= ok
        typer.echo(f"engine {name:<8}: {'ok' if ok else 'UNUSABLE'} ({why})")
    if not ok_all:
        raise typer.Exit(1)


@app.command()
@handle_errors
def netlist(
    out: Annotated[Path, typer.Option(help="Deck file to write.")] = Path("crossbar.cir"),
    rows: Rows = 8,
    cols: Cols = 8,
    vectors: Vectors = 4,
    seed: Seed = 0,
    r_wire: RWire = 0.0,
    differential: Diff = False,
    analysis: Annotated[str, typer.Option(help="dc (batched sweep) | tran | op")] = "dc",
    dac_bits: Annotated[int, typer.Option(help="Row DAC bits.")] = 8,
) -> None:
    """Write a standalone crossbar deck: `ngspice -b DECK` prints the column currents."""
    from cosim.engines.spice import SpiceEngine
    from cosim.runs.files import write_atomic
    from cosim.studies.compare import CompareSpec, build_case
    from device_models.validation import check_choice
    from netlists.crossbar import ANALYSES, crossbar
    from periphery.converters import dac_codes

    check_choice("analysis", analysis, ANALYSES)
    if analysis == "op" and vectors != 1:
        raise ParamError("vectors", vectors, "must be 1 with --analysis op")
    spec = CompareSpec(rows=rows, cols=cols, vectors=vectors, seed=seed, r_wire_ohm=r_wire,
                       differential=differential, dac_bits=dac_bits)
    state, config, x = build_case(spec)
    eng = SpiceEngine(batch=analysis, models="bsource")  # standalone: no .spiceinit
    p = eng.params(state, dac_codes(x, config.dac), config)
    write_atomic(out, crossbar(p).render())
    typer.echo(f"wrote {out} ({state.rows}x{state.phys_cols} cells, K={vectors}, {p.analysis})")


@app.command()
@handle_errors
def compare(
    rows: Rows = 32,
    cols: Cols = 32,
    vectors: Vectors = 200,
    seed: Seed = 0,
    r_wire: RWire = 0.0,
    differential: Diff = False,
    engines: Annotated[str, typer.Option(help="reference,candidate engine names.")] = "ideal,spice",
    dac_bits: Annotated[int, typer.Option(help="Row DAC bits.")] = 8,
    adc_bits: Annotated[int, typer.Option(help="Column ADC bits.")] = 8,
    cell: Annotated[str, typer.Option(help="resistor | fefet | sparse_fefet")] = "resistor",
    sparsity: Annotated[float, typer.Option(help="Pruned fraction (sparse_fefet).")] = 0.0,
    noise: Annotated[bool, typer.Option(help="Read noise in the behavioral engine.")] = False,
    periphery: Annotated[str, typer.Option(help="none | integrator | tia (sensing circuit)")] = (
        "none"),
    periphery_level: Annotated[str, typer.Option(
        help="behavioral | transistor (CMOS op-amps in the spice deck)")] = "behavioral",
    pdk: Pdk = "generic",
    corner: Corner = "tt",
    output_stage: OutputStage = "class_a",
    adc_level: AdcLevel = "auto",
    adc_percentile: AdcPercentile = 100.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    timeout: Timeout = TIMEOUT_S["compare"],
) -> None:
    """Run the same random array and inputs through two engines and report the gap."""
    from cosim.studies.compare import CompareSpec, run_compare
    from device_models.validation import check_choice

    check_choice("periphery", periphery, ("none", "integrator", "tia"))
    spec = CompareSpec(rows=rows, cols=cols, vectors=vectors, seed=seed, r_wire_ohm=r_wire,
                       differential=differential, engines=parse_engines(engines),
                       dac_bits=dac_bits, adc_bits=adc_bits, cell=cell, sparsity=sparsity,
                       noise=noise, adc_percentile=adc_percentile)
    sense = None if periphery == "none" else periphery
    process = periphery_process(pdk, corner, output_stage, periphery_level)
    metrics = stoppable("compare", timeout,
                        lambda: run_compare(spec, timeout, sense, periphery_level, process,
                                            output_stage, adc_level)[0])
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{spec.engines[1]} vs {spec.engines[0]}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    Console().print(table)


@app.command()
@handle_errors
def fit(
    device: Annotated[str, typer.Argument(help="Device model to fit: fefet.")],
    data: Annotated[Path, typer.Argument(help="Measurements CSV (columns: see README).")],
    preset: Annotated[str, typer.Option(help="Starting preset (name or .toml).")] = (
        "mos2_hzo"),
    results: Results = Path("results"),
) -> None:
    """Fit device parameters to measured Id-Vg loops, pulse trains and retention."""
    from cosim.studies.fit import fit_command

    run_dir, summary = fit_command(device, data, preset, results)
    typer.echo(f"{summary['points']} points, residual rms {summary['residual_rms']:.3g}"
               f"{'' if summary['success'] else ' (least squares did not report success)'}")
    for name, value in summary["fitted"].items():
        typer.echo(f"{name:>28}: {value:.5g} +- {summary['sigma'][name]:.2g}")
    typer.echo(f"preset: {run_dir / 'fitted.toml'} (use --preset, or [hardware] device =)")
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def device(
    preset: Annotated[str, typer.Option(
        help="Device preset: a name or a .toml file (cosim fit writes one).")] = "mos2_hzo",
    results: Results = Path("results"),
    seed: Seed = 0,
    v_pulse: Annotated[float, typer.Option(help="Program pulse amplitude (V).")] = 1.5,
    width: Annotated[float, typer.Option(help="Program pulse width (s).")] = 100e-9,
    pulses: Annotated[int, typer.Option(help="Pulses per direction.")] = 64,
    drift: Annotated[bool, typer.Option("--drift", help="Print the drift table.")] = False,
) -> None:
    """Characterize a FeFET preset: Id-Vg, hysteresis, pulses, drift (PNG + CSV)."""
    from cosim.runs.files import new_run_dir
    from cosim.runs.manifest import now_utc, write_manifest
    from cosim.studies import device as dr

    params = dr.preset(preset)
    scheme = dr.PulseScheme(v_pulse, width, pulses)
    started = now_utc()
    run_dir = new_run_dir(results, "device")
    summary = dr.write_device_report(run_dir, params, seed, scheme)
    write_manifest(run_dir, "device", {"preset": preset, "params": vars(params),
                                       "pulses": vars(scheme)}, seed, started)
    h = summary["hysteresis"]
    typer.echo(f"memory window: {h['memory_window_v']:.3f} V extracted "
               f"(parameter {h['memory_window_param_v']:g} V)")
    typer.echo(f"distinguishable levels (potentiation): "
               f"{summary['pulses']['distinguishable_levels']}")
    if drift:
        typer.echo("retention drift (levels uniform in G; error relative to the G range):")
        typer.echo(f"{'time':>8} {'mean err':>10} {'max err':>10} {'mean rel':>10}")
        for row in summary["drift"]:
            typer.echo(f"{row['time']:>8} {row['mean_err_of_range']:>10.4%} "
                       f"{row['max_err_of_range']:>10.4%} {row['mean_rel_err']:>10.4%}")
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def bench(
    pdk: Pdk = "sky130",
    corners: Annotated[str, typer.Option(
        help="Comma-separated corners (tt,ff,ss,sf,fs) or 'all'.")] = "tt",
    output_stage: OutputStage = "class_ab",
    i_fs_ua: Annotated[float, typer.Option(
        help="Full-scale column current the op-amp is designed for (uA).")] = 150.0,
    adc_bits: Annotated[int, typer.Option(help="Converter bits the offsets are given in.")] = 8,
    mc: Annotated[int, typer.Option(
        help="Monte Carlo instances per corner (0: nominal figures only; sky130).")] = 0,
    seed: Seed = 0,
    results: Results = Path("results"),
    timeout: Timeout = TIMEOUT_S["bench"],
) -> None:
    """Periphery benches on a process: op-amp (gain, GBW, phase margin, output resistance,
    offset, supply current) and StrongARM comparator (offset, decision time, energy) per
    corner; with --mc N their mismatch offsets over N instances and a periphery-variation
    report (HTML)."""
    from cosim.studies.periphery import BenchSpec, bench_command

    spec = BenchSpec(pdk=pdk, corners=parse_corners(corners), output=output_stage,
                     i_fs_a=i_fs_ua * 1e-6, adc_bits=adc_bits, mc=mc, seed=seed)
    run_dir, summary = stoppable("bench", timeout, bench_command, spec, results, timeout)
    for r in summary["figures"]:
        typer.echo(f"{pdk} {r['corner']}: op-amp ({output_stage}) gain {r['opamp_dc_gain']:.0f}, "
                   f"GBW {r['opamp_gbw_hz'] / 1e6:.0f} MHz, PM "
                   f"{r['opamp_phase_margin_deg']:.0f} deg, R_out "
                   f"{r['opamp_r_out_ohm'] / 1e3:.0f} kohm, offset "
                   f"{r['opamp_offset_sys_v'] * 1e6:.0f} uV, {r['opamp_quiescent_a'] * 1e6:.0f} uA"
                   f"; comparator offset {r['comparator_offset_v'] * 1e3:.1f} mV, decision "
                   f"{r['comparator_decision_time_s'] * 1e12:.0f} ps, "
                   f"{r['comparator_energy_per_decision_j'] * 1e15:.0f} fJ")
    for corner, s in summary["monte_carlo"].items():
        typer.echo(f"Monte Carlo {corner} ({mc} instances): op-amp offset sigma "
                   f"{s['opamp_offset_sigma_v'] * 1e3:.2f} mV, comparator offset sigma "
                   f"{s['comparator_offset_sigma_v'] * 1e3:.2f} mV "
                   f"({s['comparator_outside_span']} outside +-64 mV); per-converter offset "
                   f"sigma at {adc_bits} bits: {s['adc_offset_sigma_lsb_integrator']:.2f} LSB "
                   f"(integrator), {s['adc_offset_sigma_lsb_tia']:.2f} LSB (TIA)")
    if mc:
        from cosim.reports.periphery import periphery_report

        typer.echo(f"report: {periphery_report(run_dir)}")
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def energy(
    rows: Rows = 32,
    cols: Cols = 32,
    vectors: Vectors = 10,
    seed: Seed = 0,
    cell: Annotated[str, typer.Option(help="resistor | fefet | sparse_fefet")] = "fefet",
    dac_bits: Annotated[int, typer.Option(help="Row DAC bits.")] = 6,
    adc_bits: Annotated[int, typer.Option(help="Column ADC bits.")] = 8,
    sense: Annotated[str, typer.Option(help="integrator | tia")] = "integrator",
    level: Annotated[str, typer.Option(
        help="behavioral | transistor (CMOS op-amps, their rail currents simulated)")] = (
        "behavioral"),
    pdk: Pdk = "generic",
    corner: Corner = "tt",
    output_stage: OutputStage = "class_a",
    adc_level: AdcLevel = "auto",
    adc_arch: Annotated[str, typer.Option(help="flash | sar")] = "flash",
    adc_percentile: AdcPercentile = 100.0,
    cols_per_adc: Annotated[int, typer.Option(help="Columns sharing one ADC (mux).")] = 1,
    adc_energy: Annotated[str, typer.Option(
        help="walden (FoM x 2^bits) | comparator (decisions x simulated comparator)")] = (
        "walden"),
    sparsity: Annotated[float, typer.Option(
        help="Pruned fraction of the cells (sparse_fefet: digital FeFETs off).")] = 0.0,
    results: Results = Path("results"),
    timeout: Timeout = TIMEOUT_S["energy"],
) -> None:
    """Energy per MAC by block from a transient of the array with its periphery."""
    from cosim.studies.compare import CompareSpec
    from cosim.studies.energy import AdcChoice, energy_command
    from device_models.validation import check_choice

    check_choice("sense", sense, ("integrator", "tia"))
    check_choice("level", level, ("behavioral", "transistor"))
    spec = CompareSpec(rows=rows, cols=cols, vectors=vectors, seed=seed, cell=cell,
                       dac_bits=dac_bits, adc_bits=adc_bits, adc_percentile=adc_percentile,
                       sparsity=sparsity)
    from cosim.array.energy import ADC_MODELS
    from device_models.validation import check_int
    from periphery.converters import ADC_ARCHS

    check_choice("adc_arch", adc_arch, ADC_ARCHS)
    check_choice("adc_energy", adc_energy, ADC_MODELS)
    check_int("cols_per_adc", cols_per_adc, 1, 4096)
    process = periphery_process(pdk, corner, output_stage, level)
    run_dir, summary = stoppable("energy", timeout, energy_command, spec, sense, results, level,
                                 AdcChoice(adc_arch, cols_per_adc, adc_energy), timeout,
                                 process, output_stage, adc_level)
    where = f"{level}, {process.label}, {output_stage}" if level == "transistor" else level
    typer.echo(f"{summary['rows']}x{summary['cols']} {cell}, {dac_bits}-bit DAC, "
               f"{adc_bits}-bit ADC, {sense} ({where}), {summary['vectors']} vectors, "
               f"{summary['kept_fraction']:.0%} of the cells kept")
    typer.echo(f"{'block':>8} {'sim J/MAC':>11} {'analytic':>11} {'NeuroSim':>11}  basis")
    for r in summary["blocks"]:
        typer.echo(f"{r['block']:>8} {r['simulated_J_per_MAC']:>11.3e} "
                   f"{r['analytic_J_per_MAC']:>11.3e} {r['neurosim_J_per_MAC']:>11.3e}  "
                   f"{r['basis']}")
    t = summary["total"]
    typer.echo(f"{'total':>8} {t['simulated_J_per_MAC']:>11.3e} {t['analytic_J_per_MAC']:>11.3e}"
               f" {t['neurosim_J_per_MAC']:>11.3e}")
    if summary["kept_fraction"] < 1:
        typer.echo(f"{'per kept':>8} {t['simulated_J_per_kept_MAC']:>11.3e}  (pruned cells do "
                   "no useful MAC but still see the row drive)")
    typer.echo(f"settling (virtual ground within 0.1 mV): max {summary['settling_s_max']:.3e} s, "
               f"mean {summary['settling_s_mean']:.3e} s")
    typer.echo(f"behavioral vs spice with periphery: "
               f"{summary['behavioral_vs_spice_max_err_lsb']:.3g} LSB max")
    typer.echo(f"ADC: {summary['converters']} x {adc_bits}-bit {adc_arch}, {cols_per_adc} "
               f"column(s) each: {summary['adc_time_per_vector_s'] * 1e9:.3g} ns per vector "
               f"(sensing window {summary['sense_period_s'] * 1e9:.3g} ns)")
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def corners(
    corners: Annotated[str, typer.Option(
        help="Comma-separated sky130 corners (tt,ff,ss,sf,fs) or 'all'.")] = "all",
    rows: Rows = 8,
    cols: Cols = 4,
    vectors: Vectors = 8,
    seed: Seed = 0,
    sense: Annotated[str, typer.Option(help="integrator | tia")] = "integrator",
    output_stage: OutputStage = "class_ab",
    adc_level: Annotated[str, typer.Option(
        help="transistor (SAR ADC circuits in the deck) | behavioral.")] = "transistor",
    results: Results = Path("results"),
    timeout: Timeout = TIMEOUT_S["corners"],
) -> None:
    """The transistor-level read chain on sky130 at each corner (differential FeFET
    array, CMOS op-amps and SAR ADCs in one deck) against the ideal read: transfer
    (gain error, offset, residual in LSB) and energy per MAC by block."""
    from cosim.studies.corners import CornerSpec, corners_command

    spec = CornerSpec(corners=parse_corners(corners), rows=rows, cols=cols, vectors=vectors,
                      sense=sense, output=output_stage, adc_level=adc_level, seed=seed)
    run_dir, summary = stoppable("corners", timeout, corners_command, spec, results, timeout)
    typer.echo(f"sky130, {rows}x{cols} differential FeFET, {sense} ({output_stage}), ADC "
               f"{adc_level}, {vectors} vectors; per MAC: array / sensing / dac / adc = total")
    for r in summary["corners"]:
        e = [r[f"energy_{b}_J_per_MAC"] * 1e15 for b in ("array", "sensing", "dac", "adc")]
        typer.echo(f"{r['corner']}: gain {r['gain_error']:+.2%}, offset {r['offset_lsb']:+.2f} "
                   f"LSB, residual {r['residual_sigma_lsb']:.2f} LSB (max "
                   f"{r['max_err_lsb']:.0f}); {' / '.join(f'{v:.0f}' for v in e)} = "
                   f"{r['energy_J_per_MAC'] * 1e15:.0f} fJ")
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def irdrop(
    results: Results = Path("results"),
    sizes: Annotated[str, typer.Option(help="Comma-separated array sizes N.")] = "16,32,64,128,256",
    ratios: Annotated[str, typer.Option(help="Comma-separated r_wire / r_cell ratios.")] = (
        "1e-6,1e-5,1e-4,1e-3"),
    vectors: Vectors = 50,
    seed: Seed = 0,
    timeout: Timeout = TIMEOUT_S["irdrop"],
) -> None:
    """IR-drop error vs array size and wire/cell resistance ratio (figure + table)."""
    from cosim.studies.irdrop import run_irdrop

    run_dir = stoppable("irdrop", timeout, run_irdrop, results, parse_list("sizes", sizes, int),
                        parse_list("ratios", ratios, float), vectors, seed)
    typer.echo(f"results: {run_dir}")


def parse_list(field: str, text: str, kind: type) -> tuple:
    try:
        return tuple(kind(p) for p in text.split(",") if p.strip())
    except ValueError:
        msg = f"must be a comma-separated list of {kind.__name__} values"
        raise ParamError(field, text, msg) from None


@app.command()
@handle_errors
def train(
    config: Annotated[Path, typer.Argument(help="TOML config (see examples/).")],
    results: Results = Path("results"),
    timeout: Timeout = TIMEOUT_S["train"],
) -> None:
    """Train a network with the simulated arrays in the loop (mode from the config)."""
    from cosim.nn.commands import summary_lines, train_command
    from cosim.nn.config import load_config

    load_config(config)  # a bad config is refused here, before any work starts
    run_dir, summary = stoppable("train", timeout, train_command, config, results)
    for line in summary_lines(summary):
        typer.echo(line)
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def evaluate(
    config: Annotated[Path, typer.Argument(help="TOML config (see examples/).")],
    results: Results = Path("results"),
    timeout: Timeout = TIMEOUT_S["evaluate"],
) -> None:
    """Accuracy vs ADC bits, drift time and D2D variation over Monte Carlo seeds."""
    from cosim.nn.commands import evaluate_command
    from cosim.nn.config import load_config

    load_config(config)
    run_dir, summary = stoppable("evaluate", timeout, evaluate_command, config, results)
    typer.echo(f"floating point: {summary.float_acc.iloc[0]:.4f}")
    typer.echo(summary.drop(columns="float_acc").to_string(index=False,
                                                           float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"results: {run_dir}")


@app.command()
@handle_errors
def sweep(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML).")],
    results: Results = Path("results"),
    run_dir: RunDir = None,
    resume: Resume = False,
    scheduler: Scheduler = None,
    workers: Workers = 2,
    csv: Annotated[bool, typer.Option("--csv", help="Also write results.csv.")] = False,
) -> None:
    """Run a parameter sweep on Dask; results are written point by point."""
    from cosim.sweeps.command import sweep_command

    check_run_options(run_dir, resume, scheduler, workers)
    with live_progress():
        out, outcome = sweep_command(spec, results, run_dir, resume, scheduler, workers, csv)
    typer.echo(f"results: {out}")
    _exit_for(outcome, "sweep")


def _exit_for(outcome, name: str) -> None:
    """Exit 1 when every point failed, EXIT_SOME_FAILED when some did (with the count
    and the first errors on stderr); return when all succeeded."""
    if outcome.failed:
        typer.echo(outcome.message(name), err=True)
        raise typer.Exit(1 if outcome.all_failed else EXIT_SOME_FAILED)


report_app = typer.Typer(help="Self-contained HTML reports from sweeps.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("variation")
@handle_errors
def report_variation(
    source: Annotated[Path, typer.Argument(help="Sweep run directory or spec (TOML).")],
    results: Annotated[Path, typer.Option(help="Where new runs are created.")] = Path("results"),
) -> None:
    """Device-variation report: error distributions, heatmaps, accuracy, worst cases."""
    from cosim.reports.html import report_command

    with live_progress():  # a spec is swept first
        page = report_command("variation", source, results)
    typer.echo(f"report: {page}")


@report_app.command("compare")
@handle_errors
def report_compare(
    source: Annotated[Path, typer.Argument(help="Sweep run directory or spec (TOML).")],
    results: Annotated[Path, typer.Option(help="Where new runs are created.")] = Path("results"),
) -> None:
    """Engine-comparison report: error vs size / wires / bits, scatter plots."""
    from cosim.reports.html import report_command

    with live_progress():  # a spec is swept first
        page = report_command("compare", source, results)
    typer.echo(f"report: {page}")


@app.command()
@handle_errors
def codesign(
    spec: Annotated[Path, typer.Argument(help="Co-design spec (TOML); see "
                                               "examples/codesign/digits.toml.")],
    results: Results = Path("results"),
    run_dir: RunDir = None,
    resume: Resume = False,
    scheduler: Scheduler = None,
    workers: Workers = 2,
    spice: Annotated[bool, typer.Option(help="Spot-check the closed-form energy against "
                                             "ngspice too (not only the behavioral engine).")
                     ] = True,
    reuse_training: Annotated[Path | None, typer.Option(
        help="A previous codesign run whose finished training points (same architectures, "
             "seeds and training settings) are copied instead of trained again.")] = None,
) -> None:
    """Semi-decoupled architecture-hardware search: architectures ranked on a proxy
    design, the best K searched over every design, against the exhaustive search."""
    from cosim.codesign.command import codesign_command

    check_run_options(run_dir, resume, scheduler, workers)
    with live_progress():
        out, summary = codesign_command(spec, results, run_dir, resume, scheduler, workers,
                                        spice, reuse_training)
        from cosim.reports.codesign import codesign_report

        codesign_report(out)
    for row in summary["searches"]:
        if row.get("found"):
            typer.echo(f"{row['search']:<40}: {row['architecture']} on tile {row['hw_tile']}, "
                       f"{row['hw_adc_arch']}{row['hw_adc_bits']}, {row['hw_encoding']}, "
                       f"{row['hw_cell']}: {row['energy_j'] * 1e12:.1f} pJ, "
                       f"{row['latency_s'] * 1e9:.0f} ns")
        else:
            typer.echo(f"{row['search']:<40}: nothing feasible")
    sc = summary["search_cost"]
    typer.echo(f"search cost: {sc['semi_decoupled']} vs {sc['exhaustive']} evaluations "
               f"({sc['ratio']:.1f}x)")
    typer.echo(f"report: {out / 'report.html'}")
    failed = summary["failed_points"]
    if failed["train"] or failed["deploy"]:
        typer.echo(f"codesign: {failed['train']} training and {failed['deploy']} deployment "
                   "points failed (their seeds are left out); first errors:\n  "
                   + "\n  ".join(f"{pid}: {err}" for pid, err in failed["first"]), err=True)
        raise typer.Exit(EXIT_SOME_FAILED)


@report_app.command("codesign")
@handle_errors
def report_codesign(
    run_dir: Annotated[Path, typer.Argument(help="A finished codesign run directory.")],
) -> None:
    """Co-design report (again) from a finished run: searches, Pareto fronts, rank
    agreement, sensitivity, accuracy on hardware, spot check."""
    from cosim.reports.codesign import codesign_report

    typer.echo(f"report: {codesign_report(run_dir)}")


@app.command()
@handle_errors
def demo(
    results: Results = Path("results"),
    seed: Seed = 0,
    workers: Workers = 2,
) -> None:
    """The main job on built-in defaults: compare sweep + variation sweep, two reports."""
    from cosim.cli.demo import run_demo
    from device_models.validation import check_int

    check_int("workers", workers, 1, 256)
    check_int("seed", seed, 0)
    with live_progress():
        _, variation, outcome = run_demo(results, seed, workers, echo=typer.echo)
    typer.echo(f"report: {variation}")
    _exit_for(outcome, "demo")


def main() -> None:
    from cosim.simulators.processes import handle_stop_signals, raise_terminated

    # SIGTERM unwinds like Ctrl-C, so that every cleanup path runs (exit 143)
    handle_stop_signals({signal.SIGTERM: raise_terminated,
                         signal.SIGINT: signal.default_int_handler})
    app()


if __name__ == "__main__":
    main()
