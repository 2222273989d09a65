"""Same array, same inputs, two engines: how far apart are they?"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cosim.array.mapping import fit_mapping, interleave, weights_to_pairs
from cosim.array.memory import batch_bytes, check_memory
from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState, full_scale_current
from cosim.engines import (
    ENGINES,
    engine_class,
    get_engine,
    required_features,
    supports,
    without_features,
)
from device_models.cells import Cell
from device_models.registry import CellOptions, check_cell_kind
from device_models.registry import make_cell as registry_cell
from device_models.resistor import ResistorParams
from device_models.validation import ParamError, check_choice, check_int, check_range
from periphery.converters import AdcParams, DacParams


@dataclass(frozen=True)
class CompareSpec:
    rows: int = 32
    """Array rows (inputs)."""
    cols: int = 32
    """Logical columns (outputs)."""
    vectors: int = 200
    """Random input vectors K."""
    seed: int = 0
    """Seed of the numpy Generator that draws weights and inputs."""
    differential: bool = False
    """Signed weights on (G+, G-) column pairs."""
    r_wire_ohm: float = 0.0
    """Row and column wire resistance per cell pitch (ohm)."""
    dac_bits: int = 8
    """Row DAC resolution."""
    dac_v_fs_v: float = 0.2
    """Row DAC full-scale voltage (V)."""
    adc_bits: int = 8
    """Column ADC resolution (range: the array's largest possible current)."""
    g_min_s: float = 1e-6
    """Lowest cell conductance (S)."""
    g_max_s: float = 1e-4
    """Highest cell conductance (S)."""
    engines: tuple[str, str] = ("ideal", "spice")
    """(reference, candidate) engine names."""
    cell: str = "resistor"
    """Cell type: resistor | fefet | sparse_fefet."""
    sparsity: float = 0.0
    """Fraction of weights pruned (sparse_fefet cells only)."""
    noise: bool = False
    """Read noise in the behavioral engine (off: compare the models, not a noise draw)."""
    adc_percentile: float = 100.0
    """ADC range: 100 = the largest current the array can produce (max); below 100 =
    that percentile of |output| over a calibration draw of inputs (clips the tail)."""

    def __post_init__(self) -> None:
        check_int("rows", self.rows, 1, 4096)
        check_int("cols", self.cols, 1, 4096)
        check_int("vectors", self.vectors, 1, 1_000_000)
        check_int("seed", self.seed, 0)
        check_range("r_wire_ohm", self.r_wire_ohm, 0.0, 1e6)
        if len(self.engines) != 2 or self.engines[0] == self.engines[1]:
            raise ParamError("engines", ",".join(self.engines), "must name two different engines")
        for e in self.engines:
            if e not in ENGINES:
                raise ParamError("engines", e, f"each must be one of {', '.join(ENGINES)}")
        check_cell_kind("cell", self.cell)
        check_range("sparsity", self.sparsity, 0.0, 1.0, hi_open=True)
        if self.sparsity > 0 and not make_cell(self).prunable:
            raise ParamError("sparsity", self.sparsity, "needs a prunable cell such as "
                             "sparse_fefet (0 otherwise)")
        check_range("adc_percentile", self.adc_percentile, 50.0, 100.0)
        ResistorParams(self.g_min_s, self.g_max_s)  # validates the range
        DacParams(self.dac_bits, self.dac_v_fs_v)
        AdcParams(self.adc_bits)


def make_cell(spec: CompareSpec) -> Cell:
    """The spec's cell from the registry; nonlinear cells define their conductance at
    the DAC full scale."""
    return registry_cell(spec.cell, CellOptions(v_read_v=spec.dac_v_fs_v, g_min_s=spec.g_min_s,
                                                g_max_s=spec.g_max_s))


def spanning_inputs(rng: np.random.Generator, vectors: int, rows: int) -> np.ndarray:
    """Inputs whose sums cover the whole output range: vector k is active on a
    random fraction k/(K-1) of the rows, each active input uniform in [0.5, 1]."""
    density = np.linspace(0.0, 1.0, vectors) if vectors > 1 else np.ones(1)
    active = rng.uniform(size=(vectors, rows)) < density[:, None]
    return active * rng.uniform(0.5, 1.0, (vectors, rows))


def build_case(spec: CompareSpec) -> tuple[ArrayState, ArrayConfig, np.ndarray]:
    """Random array and inputs drawn from ``numpy.random.default_rng(spec.seed)``."""
    phys = 2 * spec.cols if spec.differential else spec.cols
    check_memory("vectors", spec.vectors, 8.0 * spec.rows * phys
                 + batch_bytes(spec.rows, phys, spec.cols, spec.vectors),
                 f"comparing {spec.vectors} vectors on a {spec.rows}x{phys} array")
    rng = np.random.default_rng(spec.seed)
    cell = make_cell(spec)
    g_min, g_max = cell.g_range()
    if spec.differential:
        w = rng.uniform(-1.0, 1.0, (spec.rows, spec.cols))
        g = interleave(*weights_to_pairs(w, fit_mapping(w, g_min, g_max)))
    else:
        g = rng.uniform(g_min, g_max, (spec.rows, spec.cols))
    fields = cell.program(g)
    if spec.sparsity > 0:
        keep = rng.uniform(size=g.shape) >= spec.sparsity
        fields = cell.prune(fields, keep)
    state = ArrayState(fields, cell, spec.differential)
    dac = DacParams(spec.dac_bits, spec.dac_v_fs_v)
    x = spanning_inputs(rng, spec.vectors, spec.rows)
    i_fs = full_scale_current(state, dac)
    if spec.adc_percentile < 100:  # calibrated on a separate draw, never the test inputs
        calib = spanning_inputs(rng, max(spec.vectors, 200), spec.rows)
        probe = ArrayConfig(dac, AdcParams(spec.adc_bits, i_fs, signed=spec.differential))
        out = get_engine("ideal").run(state, calib, probe).i_out_a
        i_fs = float(np.percentile(np.abs(out), spec.adc_percentile)) or i_fs
    adc = AdcParams(spec.adc_bits, i_fs, signed=spec.differential)
    config = ArrayConfig(dac, adc, spec.r_wire_ohm, spec.r_wire_ohm)
    return state, config, x


def compare_results(ref: MVMResult, cand: MVMResult, config: ArrayConfig) -> dict[str, float]:
    err = np.abs(cand.i_out_a - ref.i_out_a)
    scale = float(np.max(np.abs(ref.i_out_a))) or 1.0
    return {
        "max_abs_err_A": float(err.max()),
        "max_rel_err": float(err.max()) / scale,
        "max_err_lsb": float(err.max()) / config.adc.lsb_a,
        "adc_code_mismatch_frac": float(np.mean(cand.adc_code != ref.adc_code)),
        "max_code_diff": int(np.max(np.abs(cand.adc_code - ref.adc_code))),
        "adc_lsb_A": config.adc.lsb_a,
    }


ADC_LEVELS = ("auto", "behavioral", "transistor")


def with_sensing(config: ArrayConfig, kind: str, level: str = "behavioral",
                 process=None, output: str = "class_a", adc_level: str = "auto"
                 ) -> tuple[ArrayConfig, dict]:
    """Column sensing sized for the ADC's full scale. At transistor level the CMOS
    op-amp is characterized in ngspice and its measured figures become the
    behavioural stand-in's (returned as the second item; empty otherwise).

    ``adc_level`` transistor (``auto``: the sensing's level) puts a SAR ADC circuit
    behind each output column, its reference trimmed for unity gain on the bench
    (the trim is returned as ``adc_v_ref_scale``)."""
    from periphery.sensing import sized_for

    check_choice("adc_level", adc_level, ADC_LEVELS)
    adc_level = level if adc_level == "auto" else adc_level
    if adc_level == "transistor" and level != "transistor":
        raise ParamError("adc_level", adc_level, "the SAR ADC circuit needs the "
                         "transistor-level sensing (periphery_level transistor)")
    i_load = 0.0
    if adc_level == "transistor":
        from periphery.sar_adc import sampling_current_a
        from periphery.sensing import CMOS_SWING_V

        i_load = sampling_current_a(config.adc.bits, CMOS_SWING_V)
    sense = sized_for(config.adc.i_fs_a, kind, level=level, process=process, output=output,
                      i_load_a=i_load)
    figures: dict = {}
    if level == "transistor":
        from cosim.benches.opamp import macro_model

        sense, fig = macro_model(sense, config.adc.i_fs_a)
        figures = dataclasses.asdict(fig)
    config = dataclasses.replace(config, sense=sense)
    if adc_level == "transistor":
        from cosim.benches.sar_adc import trimmed
        from periphery.sar_adc import for_sensing

        # validated (the configuration refuses what the circuit cannot do) before the trim
        config = dataclasses.replace(
            config, sense=dataclasses.replace(sense, tg_reset=True),
            adc_circuit=for_sensing(config.adc.bits, config.adc.signed, config.adc.lsb_a,
                                    sense, config.adc.dnl_seed))
        config = dataclasses.replace(config, adc_circuit=trimmed(config.adc_circuit))
        figures["adc_v_ref_scale"] = config.adc_circuit.v_ref_scale
    return config, figures


def periphery_breakdown(state: ArrayState, x: np.ndarray, config: ArrayConfig,
                        transistor: MVMResult) -> dict[str, float]:
    """Where a transistor-level read-out differs from a near-ideal behavioural one,
    and why: the behavioral engine with the nominal op-amp (gain 1e5, 5 GHz, no
    offset or output resistance), then with one measured figure at a time, each
    as max |change| in LSB; and the nominal and full stand-ins against the circuit."""
    config = dataclasses.replace(config, adc_circuit=None)  # the sensing alone
    sense = config.sense
    nominal = dataclasses.replace(sense, cmos=None, opamp_gain=1e5, gbw_hz=5e9,
                                  r_out_ohm=0.0, offset_sys_v=0.0)
    engine = get_engine("behavioral", noise=False)

    def run(s) -> np.ndarray:
        return engine.run(state, x, dataclasses.replace(config, sense=s)).i_out_a

    base = run(nominal)
    lsb = config.adc.lsb_a
    one_at_a_time = {
        "finite_gain": {"opamp_gain": sense.opamp_gain},
        "offset": {"offset_sys_v": sense.offset_sys_v},
        "bandwidth_settling": {"gbw_hz": sense.gbw_hz},
        "output_resistance": {"r_out_ohm": sense.r_out_ohm},
    }
    out = {f"effect_{k}_lsb": float(np.abs(run(dataclasses.replace(nominal, **kw)) - base).max()
                                     / lsb) for k, kw in one_at_a_time.items()}
    out["nominal_behavioral_vs_transistor_max_err_lsb"] = float(
        np.abs(transistor.i_out_a - base).max() / lsb)
    return out


def run_compare(spec: CompareSpec, timeout_s: float | None = None,
                sense: str | None = None, level: str = "behavioral", process=None,
                output: str = "class_a", adc_level: str = "auto"
                ) -> tuple[dict, MVMResult, MVMResult]:
    """Run both engines on the spec's case; return (metrics, reference, candidate).
    ``sense`` (integrator | tia) adds column sensing sized for the ADC's full scale,
    at ``level`` behavioral or transistor (the spice engine then simulates the CMOS
    op-amps, on ``process`` (a ``periphery.process.Process``: generic card or sky130
    at a corner) with a ``class_a`` or ``class_ab`` output stage; the behavioral
    engine uses their measured figures); ``adc_level`` (auto: the same as ``level``)
    transistor converts in the deck with SAR ADC circuits.

    The candidate must model every feature of the case. The reference may idealise
    the ones it does not model (e.g. the ideal engine without the wires: the error is
    then the IR drop); they are listed in ``reference_idealises``. Read noise
    (``spec.noise``) is drawn by the engines that model it, listed in ``noise_in``.
    ``timeout_s`` limits each engine's run (None: the engines' defaults)."""
    check_choice("periphery_level", level, ("behavioral", "transistor"))
    if level == "transistor" and sense is None:
        raise ParamError("periphery_level", level, "needs a sensing circuit (integrator | tia)")
    state, config, x = build_case(spec)
    figures: dict = {}
    if sense is not None:
        config, figures = with_sensing(config, sense, level, process, output, adc_level)
    a, b = spec.engines

    noisy = [n for n in (a, b) if spec.noise and supports(n, "read_noise")]

    def engine(name: str):
        opts: dict = {"noise": name in noisy, "seed": spec.seed}
        if timeout_s is not None:
            opts["timeout_s"] = timeout_s
        return get_engine(name, **opts)

    idealised = [f for f in required_features(config) if not supports(a, f)]
    ref = engine(a).run(state, x, without_features(config, idealised))
    cand = engine(b).run(state, x, config)
    metrics = {"rows": spec.rows, "cols": spec.cols, "vectors": spec.vectors,
               "engines": f"{a},{b}", "seed": spec.seed, "differential": spec.differential,
               "r_wire_ohm": spec.r_wire_ohm, "cell": spec.cell, "sparsity": spec.sparsity,
               "periphery": sense or "none", "periphery_level": level if sense else "none",
               "adc_level": config.adc_level,
               **({"pdk": config.sense.cmos.process.label,
                   "output_stage": config.sense.cmos.output}
                  if sense and config.sense.cmos is not None else {}),
               **compare_results(ref, cand, config),
               f"seconds_{a}": ref.seconds, f"seconds_{b}": cand.seconds,
               "reference_idealises": ",".join(idealised) or "none",
               "noise_in": ",".join(noisy) or "none"}
    if figures:
        metrics.update({f"opamp_{k}": v for k, v in figures.items()})
        circuit = [r for n, r in ((b, cand), (a, ref)) if engine_class(n).solves_circuit]
        if circuit:
            metrics.update(periphery_breakdown(state, x, config, circuit[0]))
    return metrics, ref, cand

