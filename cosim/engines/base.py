"""The engine contract: ``run(state, x, config, rng=None) -> MVMResult``.

x holds K normalised input vectors (K, rows): in [0, 1] for unsigned DACs,
[-1, 1] for signed ones; values outside are clipped by the DAC.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import ClassVar, Protocol

import numpy as np

from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState, check_inputs
from cosim.errors import SimulationTimeout
from device_models.validation import ParamError, check_int, check_range
from periphery.converters import adc_codes, adc_current, dac_codes, dac_volts, drive_levels

FEATURES: dict[str, str] = {
    "wires": "row/column wire resistance (r_row_wire_ohm, r_col_wire_ohm > 0)",
    "sense": "column sensing circuit (sense = integrator or tia), with energy by block",
    "dac_r_out": "DAC output resistance (dac.r_out_ohm > 0)",
    "dac_pwm": "pulse-width encoded inputs (dac.encoding = pwm)",
    "dac_bit_serial": "bit-serial inputs (dac.bit_serial = true)",
    "read_noise": "cell read noise and ADC thermal noise (engine option noise = true)",
    "adc_circuit": "SAR ADC circuits converting in the transient (adc_level = transistor)",
}
"""What an ``ArrayConfig`` (or the noise option) can ask of an engine. An engine lists
the ones it models in ``features`` and refuses the others by name."""


def required_features(config: ArrayConfig, noise: bool = False) -> dict[str, tuple[str, object]]:
    """The features a run with ``config`` needs: {feature: (config field, value)}."""
    need: dict[str, tuple[str, object]] = {}
    if config.r_row_wire_ohm > 0 or config.r_col_wire_ohm > 0:
        need["wires"] = ("r_row_wire_ohm/r_col_wire_ohm",
                         (config.r_row_wire_ohm, config.r_col_wire_ohm))
    if config.sense is not None:
        need["sense"] = ("sense", config.sense.kind)
    if config.dac.r_out_ohm > 0:
        need["dac_r_out"] = ("dac.r_out_ohm", config.dac.r_out_ohm)
    if config.dac.encoding == "pwm":
        need["dac_pwm"] = ("dac.encoding", "pwm")
    if config.dac.bit_serial:
        need["dac_bit_serial"] = ("dac.bit_serial", True)
    if config.adc_circuit is not None:
        need["adc_circuit"] = ("adc_level", "transistor")
    if noise:
        need["read_noise"] = ("noise", True)
    return need


def without_features(config: ArrayConfig, features) -> ArrayConfig:
    """``config`` with the named features idealised away (a reference engine's view:
    zero wire and driver resistance, no sensing circuit, amplitude inputs)."""
    features = set(features)
    unknown = features - set(FEATURES)
    if unknown:
        raise ParamError("features", sorted(unknown), f"must be among {', '.join(FEATURES)}")
    kw: dict = {}
    dac: dict = {}
    if "wires" in features:
        kw.update(r_row_wire_ohm=0.0, r_col_wire_ohm=0.0)
    if "sense" in features or "adc_circuit" in features:  # the converters need the sensing
        kw["adc_circuit"] = None
    if "sense" in features:
        kw["sense"] = None
    if "dac_r_out" in features:
        dac["r_out_ohm"] = 0.0
    if "dac_pwm" in features:
        dac["encoding"] = "amplitude"
    if "dac_bit_serial" in features:
        dac["bit_serial"] = False
    if dac:
        kw["dac"] = dataclasses.replace(config.dac, **dac)
    return dataclasses.replace(config, **kw) if kw else config


class Engine(Protocol):
    name: str
    features: dict[str, str]
    """Features modelled: {feature: condition ("" = always)}; see ``FEATURES``."""

    def available(self) -> tuple[bool, str]:
        """(usable here?, a line saying why or why not)."""
        ...

    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
            rng: np.random.Generator | None = None) -> MVMResult:
        ...


class Deadline:
    """A wall-clock budget the numpy engines check between chunks and iterations."""

    def __init__(self, timeout_s: float | None, what: str) -> None:
        self.end = None if timeout_s is None else time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.what = what

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise SimulationTimeout(f"{self.what} ran past its timeout of {self.timeout_s:g} s "
                                    "(raise timeout_s, or shrink the array or the batch)")


class EngineBase:
    """Options every engine takes, so callers never branch on an engine's name:
    ``noise`` (draw read noise; default on where the engine models it), ``seed`` (of
    the engine's own Generator, which advances from run to run; a ``run(..., rng=)``
    overrides it), ``timeout_s`` (wall-clock limit of one ``run``; None = none)."""

    name = "base"
    features: ClassVar[dict[str, str]] = {}
    solves_circuit: ClassVar[bool] = False
    """Solves the generated SPICE circuit (transistor-level periphery included)."""

    def __init__(self, *, noise: bool | None = None, seed: int = 0,
                 timeout_s: float | None = None) -> None:
        check_int("seed", seed, 0)
        if timeout_s is not None:
            check_range("timeout_s", timeout_s, 0.0, lo_open=True)
        models_noise = "read_noise" in self.features
        if noise and not models_noise:
            raise ParamError("noise", noise, f"the {self.name} engine models no read noise; "
                             f"engines that do: {', '.join(engines_with('read_noise'))}")
        self.noise = models_noise if noise is None else bool(noise)
        self.seed = seed
        self.timeout_s = timeout_s
        self._rng = np.random.default_rng(seed)

    def available(self) -> tuple[bool, str]:
        return True, "numpy"

    def rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        return self._rng if rng is None else rng

    def deadline(self) -> Deadline:
        return Deadline(self.timeout_s, f"the {self.name} engine")


ENGINE_CLASSES: dict[str, type[EngineBase]] = {}
"""Filled by ``cosim.engines`` (name -> class), so messages can name alternatives."""


def engines_with(feature: str) -> list[str]:
    return [n for n, c in ENGINE_CLASSES.items() if feature in c.features]


def check_supported(engine: EngineBase, config: ArrayConfig) -> None:
    """Refuse, by name, every feature the config asks for that the engine does not model."""
    for feature, (field, value) in required_features(config, engine.noise).items():
        if feature not in engine.features:
            others = [n for n in engines_with(feature) if n != engine.name]
            raise ParamError(field, value, f"{FEATURES[feature]} is not modelled by the "
                             f"{engine.name} engine; use {' or '.join(others) or 'none'}")


def row_voltages(x: np.ndarray, state: ArrayState, config: ArrayConfig) -> np.ndarray:
    """Check the (K, rows) inputs and return what the DACs drive (V); for pulse-width
    encoding the window-average, full-scale voltage x duty."""
    pulse, duty = drive_levels(dac_codes(check_inputs(x, state), config.dac), config.dac)
    return pulse * duty


def rows_at_array(v_dac: np.ndarray, row_current, r_out_ohm: float,
                  tol_v: float = 1e-13, max_passes: int = 200) -> np.ndarray:
    """Row voltages at the array when each driver has output resistance R: the fixed
    point of v = v_dac - R I_row(v). It contracts by R dI_row/dv (R times a row's
    total conductance, far below 1 for sane drivers); stops at ``tol_v``."""
    if r_out_ohm == 0:
        return v_dac
    v = v_dac
    for _ in range(max_passes):
        nxt = v_dac - r_out_ohm * row_current(v)
        if np.max(np.abs(nxt - v)) < tol_v:
            return nxt
        v = nxt
    raise ParamError("dac.r_out_ohm", r_out_ohm, "too large: the row voltages do not settle "
                     "(R_out x row conductance must stay well below 1)")


def contract(run):
    """Engine ``run`` decorator: refuse unmodelled features by name, then with
    ``config.dac.bit_serial`` apply the input's bit-planes
    are applied one per cycle (rows at 0 or v_fs), each plane's outputs are converted
    by the ADC, and the codes are shift-added: y = sum_b 2^b y_b / (2^B - 1). Energy
    and settling add up over the planes."""

    @functools.wraps(run)
    def wrapper(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
                rng: np.random.Generator | None = None) -> MVMResult:
        check_supported(self, config)
        rng = self.rng(rng)
        if not config.dac.bit_serial:
            return run(self, state, x, config, rng)
        t0 = time.perf_counter()
        codes = dac_codes(check_inputs(x, state), config.dac)
        one_bit = dataclasses.replace(config, dac=dataclasses.replace(
            config.dac, bits=1, bit_serial=False, inl_lsb=0.0))
        planes = [run(self, state, ((codes >> b) & 1).astype(float), one_bit, rng)
                  for b in range(config.dac.bits)]
        weight = 2.0 ** np.arange(config.dac.bits) / config.dac.max_code

        def shift_add(name: str) -> np.ndarray:
            return sum(w * getattr(r, name) for w, r in zip(weight, planes, strict=True))

        code = sum((1 << b) * r.adc_code for b, r in enumerate(planes))
        energy = {k: sum(r.energy_j[k] for r in planes) for k in planes[0].energy_j}
        settling = (None if planes[0].settling_s is None
                    else np.sum([r.settling_s for r in planes], axis=0))
        return MVMResult(engine=planes[0].engine, i_col_a=shift_add("i_col_a"),
                         i_out_a=shift_add("i_out_a"), adc_code=code, y_a=shift_add("y_a"),
                         v_row_v=dac_volts(codes, config.dac),
                         seconds=time.perf_counter() - t0, energy_j=energy,
                         settling_s=settling, energy_basis=planes[0].energy_basis)

    return wrapper


def finish(name: str, state: ArrayState, config: ArrayConfig, i_col_a: np.ndarray,
           v_row_v: np.ndarray, t0: float, rng: np.random.Generator | None = None,
           adc_code: np.ndarray | None = None, **extra) -> MVMResult:
    """Shared tail of every engine: combine pairs, quantize with the ADC (its thermal
    noise drawn from ``rng`` when the engine models noise), unless the codes came from
    converter circuits (``adc_code``)."""
    i_out = state.combine(i_col_a)
    codes = adc_codes(i_out, config.adc, rng) if adc_code is None else adc_code
    return MVMResult(engine=name, i_col_a=np.asarray(i_col_a, dtype=float), i_out_a=i_out,
                     adc_code=codes, y_a=adc_current(codes, config.adc), v_row_v=v_row_v,
                     seconds=time.perf_counter() - t0, **extra)
