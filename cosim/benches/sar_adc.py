"""Characterize the SAR ADC circuit (``periphery/sar_adc.py``) in ngspice: codes from
a ramp, transitions, INL/DNL, effective bits, offset, gain, energy per conversion,
and a Monte Carlo of the MSB carry's DNL over instances with their own capacitor and
transistor mismatch.

The input is a differential voltage V_x = V(inn) - V(inp) (signed converters, around
a 0 V common mode) or -V(inp) (unsigned), one level per conversion period, so
code = round(V_x / LSB) for an ideal converter. A ramp with ``steps_per_lsb`` levels
per LSB locates each transition to 1 / (2 steps_per_lsb) LSB: halfway between the
last level below and the first at or above it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from dataclasses import dataclass

import numpy as np

from cosim.simulators import ngspice
from device_models.spice_text import fmt
from periphery import sar_adc
from periphery.sar_adc import SarAdcCircuit

TRIM_LEVELS = 25
"""Levels of the gain calibration, spread over +-90 % of the full scale."""


def period_s(p: SarAdcCircuit) -> float:
    """The shortest conversion period holding a whole number of bits."""
    return math.ceil(p.conversion_s() / p.t_bit_s) * p.t_bit_s


def _deck(p: SarAdcCircuit, vx: np.ndarray, period: float, caps: list[np.ndarray],
          seed: int | None) -> str:
    """``len(caps)`` converters; ``vx`` (levels, converters): converter i sees column
    i's levels, one per period."""
    k = vx.shape[0]
    out = [f"* SAR ADC bench: {len(caps)} converter(s), {k} conversions\n",
           sar_adc.spice_subckt(p), sar_adc.spice_clocks(p, period)]
    for i, c in enumerate(caps):
        pts = ["0 0"]
        for n, v in enumerate(vx[:, i]):
            pts.append(f"{fmt(n * period + 1e-10)} {fmt(v)} {fmt((n + 1) * period)} {fmt(v)}")
        out.append(f"Vx{i} x{i} 0 PWL({' '.join(pts)})\n")
        if p.signed:
            out.append(f"Ep{i} p{i} 0 x{i} 0 -0.5\nEn{i} n{i} 0 x{i} 0 0.5\n")
            inn = f"n{i}"
        else:
            out.append(f"Ep{i} p{i} 0 x{i} 0 -1\n")
            inn = sar_adc.UNSIGNED_REF
        out.append(sar_adc.instance(f"a{i}", p, f"p{i}", inn, f"code{i}", c))
    t_stop = (k + 1) * period - sar_adc.T_GUARD_S
    out.append(("" if seed is None else ngspice.seed_option(seed))
               + ".options noacct klu\n.save "
               + " ".join(f"v(code{i})" for i in range(len(caps)))
               + " " + " ".join(sar_adc.ADC_RAILS) + "\n"
               + f".tran {fmt(period / 200)} {fmt(t_stop)} 0 {fmt(p.t_bit_s / 4)}\n")
    return "".join(out)


def convert(p: SarAdcCircuit, vx: np.ndarray, caps: list[np.ndarray] | None = None,
            seed: int | None = None, timeout_s: float | None = 1800.0
            ) -> tuple[np.ndarray, float]:
    """(codes (levels, converters), energy per conversion per converter (J)) of the
    converters with capacitors ``caps`` (default: one, ``capacitors(p)``) fed the levels
    ``vx`` (V; shape (levels,) for all, or (levels, converters))."""
    caps = caps if caps is not None else [sar_adc.capacitors(p)]
    vx = np.asarray(vx, dtype=float)
    vx = np.repeat(vx[:, None], len(caps), axis=1) if vx.ndim == 1 else vx
    period = period_s(p)
    k = vx.shape[0]
    plot = ngspice.run_deck(_deck(p, vx, period, caps, seed), name="sar-adc",
                            timeout_s=timeout_s).plot
    codes = np.stack([sar_adc.codes_from(plot, f"v(code{i})", p, period, k)
                      for i in range(len(caps))], axis=1)
    t = plot["time"]
    m = t >= period - sar_adc.T_GUARD_S  # after the first sample: k conversion cycles
    energy = float(np.trapezoid(sar_adc.power_w(p, plot)[m], t[m])) / (k * len(caps))
    return codes, energy


def convert_parallel(p: SarAdcCircuit, vx: np.ndarray, jobs: int | None = None
                     ) -> tuple[np.ndarray, float]:
    """One converter's codes of a long level list, split over ``jobs`` ngspice
    processes (each deck starts from rest, so the split costs one period each)."""
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    parts = np.array_split(np.asarray(vx, dtype=float), jobs)
    out = ngspice.map_decks(lambda v: convert(p, v), parts, jobs)
    codes = np.concatenate([c[:, 0] for c, _ in out])
    energy = float(np.average([e for _, e in out], weights=[len(v) for v in parts]))
    return codes, energy


def _transition(levels: np.ndarray, codes: np.ndarray, c: int) -> float:
    """Where a ramp's code first reaches c: halfway between its last level below and
    its first level at or above (NaN where it never does, or does from the start)."""
    hit = np.nonzero(codes >= c)[0]
    return 0.5 * (levels[hit[0] - 1] + levels[hit[0]]) if len(hit) and hit[0] > 0 else np.nan


def transitions(levels_lsb: np.ndarray, codes: np.ndarray, p: SarAdcCircuit) -> np.ndarray:
    """Input (LSB) where the code first reaches c, for c = min_code+1..max_code."""
    return np.array([_transition(levels_lsb, codes, c)
                     for c in range(p.min_code + 1, p.max_code + 1)])


@dataclass(frozen=True)
class SarFigures:
    bits: int
    offset_lsb: float
    """Input offset of the best-fit line through the transitions (LSB; positive: the
    transitions sit above their ideal places)."""
    gain_error: float
    """Slope of that line minus one."""
    dnl_lsb: np.ndarray
    """Per inner code: its width over the mean width, minus one."""
    inl_lsb: np.ndarray
    """Per transition: distance from the best-fit line (LSB)."""
    enob: float
    """Effective bits from the ramp: N - log2(rms error / rms error of an ideal
    quantizer on the same levels), the best-fit line's offset and gain removed."""
    energy_per_conversion_j: float
    missing_codes: int
    resolution_lsb: float
    """Half the ramp step: how well each transition is located (LSB)."""

    @property
    def dnl_max_lsb(self) -> float:
        return float(np.nanmax(np.abs(self.dnl_lsb)))

    @property
    def inl_max_lsb(self) -> float:
        return float(np.nanmax(np.abs(self.inl_lsb)))


def figures(levels_lsb: np.ndarray, codes: np.ndarray, p: SarAdcCircuit,
            energy_j: float) -> SarFigures:
    t = transitions(levels_lsb, codes, p)
    ideal = np.arange(p.min_code + 1, p.max_code + 1) - 0.5
    ok = np.isfinite(t)
    gain, offset = np.polyfit(ideal[ok], t[ok], 1)
    widths = np.diff(t)
    dnl = widths / np.nanmean(widths) - 1.0
    inl = t - (gain * ideal + offset)
    inside = (levels_lsb > p.min_code + 0.5) & (levels_lsb < p.max_code - 0.5)
    x = levels_lsb[inside]
    # the line maps an input x to where the ideal converter would see it
    err = codes[inside] - (x - offset) / gain
    ref = np.rint(x) - x
    enob = p.bits - math.log2(float(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(ref**2))))
    step = float(np.median(np.diff(levels_lsb)))
    return SarFigures(bits=p.bits, offset_lsb=float(offset), gain_error=float(gain - 1),
                      dnl_lsb=dnl, inl_lsb=inl, enob=enob, energy_per_conversion_j=energy_j,
                      missing_codes=int(np.sum(~ok)), resolution_lsb=step / 2)


def ramp_levels_lsb(p: SarAdcCircuit, steps_per_lsb: int) -> np.ndarray:
    """From one LSB below the lowest code to one above the highest, ``steps_per_lsb``
    levels per LSB."""
    n = (p.max_code - p.min_code + 2) * steps_per_lsb + 1
    return np.linspace(p.min_code - 1, p.max_code + 1, n)


def ramp(p: SarAdcCircuit, steps_per_lsb: int = 4, jobs: int | None = None) -> SarFigures:
    """The converter's static figures from a full-range ramp."""
    levels = ramp_levels_lsb(p, steps_per_lsb)
    codes, energy = convert_parallel(p, levels * p.lsb_v, jobs)
    return figures(levels, codes, p, energy)


TRIM_STEPS = 3
TRIM_TOLERANCE = 0.01
"""A trim step that moves the gain by less than this stops the trim."""


@functools.lru_cache(maxsize=32)
def trimmed(p: SarAdcCircuit) -> SarAdcCircuit:
    """``p`` with its reference trimmed for unity gain: the codes of ``TRIM_LEVELS``
    levels over +-90 % of the full scale, fitted by a line, scale V_r by its slope,
    repeated until the slope is within ``TRIM_TOLERANCE`` of 1 (at most
    ``TRIM_STEPS`` times: the attenuation is nearly linear in V_r, so one or two)."""
    span = 0.9 * p.max_code
    lo = -span if p.signed else 0.1 * p.max_code
    levels = np.linspace(lo, span, TRIM_LEVELS) + 0.25  # off the transitions
    for _ in range(TRIM_STEPS):
        codes, _ = convert(p, levels * p.lsb_v)
        slope = float(np.polyfit(levels, codes[:, 0], 1)[0])
        p = dataclasses.replace(p, v_ref_scale=p.v_ref_scale * slope)
        if abs(slope - 1.0) < TRIM_TOLERANCE:
            break
    return p


CARRY_WINDOW_LSB = (-2.5, 1.5)
"""Monte Carlo window around each instance's own code-0 level: holds the transitions
into codes -1, 0 and 1 (the MSB carry between -1 and 0)."""


def _carry_group(q: SarAdcCircuit, index: np.ndarray, ng_seed: int, steps_per_lsb: int,
                 timeout_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    caps = [sar_adc.capacitors(q, int(i)) for i in index]
    first, _ = convert(q, np.zeros(2), caps, ng_seed, timeout_s)
    centre = -first[-1].astype(float)  # the code at 0 V is minus the offset
    rel = np.arange(CARRY_WINDOW_LSB[0], CARRY_WINDOW_LSB[1] + 1e-9, 1 / steps_per_lsb)
    levels = rel[:, None] + centre[None, :]
    codes, _ = convert(q, levels * q.lsb_v, caps, ng_seed, timeout_s)
    dnl = np.full((len(index), 2), np.nan)
    offset = np.full(len(index), np.nan)
    for i in range(len(index)):
        t = [_transition(levels[:, i], codes[:, i], c) for c in (-1, 0, 1)]
        dnl[i] = np.diff(t) - 1.0
        offset[i] = t[1] + 0.5
    return offset, dnl


def behavioral_dnl_sigma_lsb(msb_dnl_sigma_lsb: float, bits: int) -> float:
    """The behavioural SAR model's ``AdcParams.dnl_sigma_lsb`` (unit-capacitor sigma in
    LSB; bit k off by it times sqrt(2^k)) whose MSB carry spreads as measured: that
    carry's DNL is bit N-1 against bits 0..N-2, variance sigma^2 (2^N - 1)."""
    return float(msb_dnl_sigma_lsb / np.sqrt(2.0**bits - 1.0))


def msb_dnl(p: SarAdcCircuit, instances: int, seed: int, steps_per_lsb: int = 8,
            jobs: int | None = None, timeout_s: float | None = 3600.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """(offset (LSB), DNL of codes -1 and 0 (instances, 2)) of ``instances`` signed
    converters, each with its own capacitors (``cap_seed`` = seed, converter = index)
    and transistor mismatch (``p.process.mismatch``), in ``jobs`` groups run in
    parallel (group g draws from ngspice seed 1000 seed + g + 1; 0 would be the clock).

    Two decks per group, of the same converters (same draws): one conversion at V_x = 0
    finds each one's offset to half an LSB; then a ramp over ``CARRY_WINDOW_LSB``
    around it locates its transitions into codes -1, 0, 1. An instance whose carry
    falls outside the window reads NaN."""
    if not p.signed:
        raise ValueError("msb_dnl needs a signed converter")
    q = dataclasses.replace(p, cap_seed=seed)
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    groups = [g for g in np.array_split(np.arange(instances), jobs) if len(g)]
    out = ngspice.map_decks(lambda g: _carry_group(q, groups[g], 1000 * seed + g + 1,
                                                   steps_per_lsb, timeout_s),
                            range(len(groups)), len(groups))
    return (np.concatenate([o for o, _ in out]), np.concatenate([d for _, d in out]))
