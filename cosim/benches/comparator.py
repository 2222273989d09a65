"""Characterize the transistor-level comparator in ngspice: input-referred offset,
decision time and energy per decision, the figures the ADC model uses.

One transient: the clock runs ``cycles`` decisions while the differential input
steps through a ramp from -span to +span (one level per decision) around a 0 V
common mode. The offset is where the decisions flip; the decision time is from
the clock's mid-swing to |V(outp) - V(outn)| > vdd / 2 at the smallest input;
the energy is what the rails deliver per clock cycle, averaged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cosim.errors import SimulationError
from cosim.simulators import ngspice
from device_models.spice_text import fmt
from periphery import comparator_cmos
from periphery.comparator_cmos import StrongArmParams

T_CLK_S = 2e-9
EDGE_S = 20e-12


@dataclass(frozen=True)
class ComparatorFigures:
    offset_v: float
    """Input-referred offset: the differential input where decisions flip (V)."""
    resolution_v: float
    """Step of the input ramp: the offset's measurement resolution (V)."""
    decision_time_s: float
    """Clock edge to a half-supply output split, at the smallest input (s)."""
    energy_per_decision_j: float
    """Energy the rails deliver per clock cycle (J)."""


def _deck(p: StrongArmParams, levels: np.ndarray, instances: int = 1, seed: int | None = None,
          steps_per_clock: int = 400) -> str:
    """The ramp deck; ``instances`` comparators share the input and clock (each its
    own mismatch draw under a ``_mm`` process, drawn from ngspice's ``seed``)."""
    h = fmt(p.vdd_v / 2)
    pts = []
    for k, v in enumerate(levels):
        pts.append(f"{fmt(k * T_CLK_S + (EDGE_S if k else 0))} {fmt(v / 2)} "
                   f"{fmt((k + 1) * T_CLK_S)} {fmt(v / 2)}")
    ramp = " ".join(pts)
    return (f"* StrongARM comparator bench\n{comparator_cmos.spice_subckt(p)}"
            f"Vsp vdd 0 {h}\nVsn vss 0 -{h}\n"
            # clock low for the first half of each cycle (reset), high for the second
            f"Vclk clk 0 PULSE(-{h} {h} {fmt(T_CLK_S / 2)} {fmt(EDGE_S)} {fmt(EDGE_S)} "
            f"{fmt(T_CLK_S / 2 - EDGE_S)} {fmt(T_CLK_S)})\n"
            f"Vp inp 0 PWL({ramp})\nEn inn 0 inp 0 -1\n"
            + "".join(f"X{k} inp inn clk outp{sfx} outn{sfx} vdd vss "
                      f"{comparator_cmos.subckt_name(p)}\nCp{k} outp{sfx} 0 5f\n"
                      f"Cn{k} outn{sfx} 0 5f\n"
                      for k, sfx in enumerate(_suffixes(instances), start=1))
            + ("" if seed is None else ngspice.seed_option(seed))
            + ".options noacct klu\n.save "
            + " ".join(f"v(outp{sfx}) v(outn{sfx})" for sfx in _suffixes(instances))
            + " v(clk) i(vsp) i(vsn)\n"
            f".tran {fmt(T_CLK_S / steps_per_clock)} {fmt(len(levels) * T_CLK_S)} 0 "
            f"{fmt(T_CLK_S / steps_per_clock)}\n")


def _suffixes(instances: int) -> list[str]:
    """Output-node suffixes: none for a single comparator, 1..N for several."""
    return [""] if instances == 1 else [str(k) for k in range(1, instances + 1)]


def _decisions(plot, suffix: str, cycles: int) -> np.ndarray:
    diff = plot[f"v(outp{suffix})"] - plot[f"v(outn{suffix})"]
    t_dec = (np.arange(cycles) + 1) * T_CLK_S - EDGE_S
    return np.interp(t_dec, plot["time"], diff) > 0


def offsets(p: StrongArmParams, instances: int, seed: int, span_v: float = 0.032,
            step_v: float = 1e-3, timeout_s: float | None = 600.0) -> np.ndarray:
    """Input-referred offsets (V) of ``instances`` comparators in one deck, each its
    own mismatch draw (``p.process.mismatch``) from ngspice seed ``seed``: where each
    one's decisions flip on a +-span ramp (resolution ``step_v``). An instance whose
    decisions do not flip once inside the span reads NaN."""
    levels = np.arange(-span_v, span_v + step_v / 2, step_v)
    deck = _deck(p, levels, instances, seed, steps_per_clock=100)
    plot = ngspice.run_deck(deck, name="comparator-mc", timeout_s=timeout_s).plot
    out = np.full(instances, np.nan)
    for k, suffix in enumerate(_suffixes(instances)):
        d = _decisions(plot, suffix, len(levels))
        flips = np.nonzero(d[1:] != d[:-1])[0]
        if len(flips) == 1 and not d[0] and d[-1]:
            out[k] = 0.5 * (levels[flips[0]] + levels[flips[0] + 1])
    return out


@functools.lru_cache(maxsize=32)
def characterize(p: StrongArmParams, span_v: float = 4e-3, cycles: int = 41
                 ) -> ComparatorFigures:
    levels = np.linspace(-span_v, span_v, cycles) + 0.0
    plot = ngspice.run_deck(_deck(p, levels), name="comparator").plot
    t = plot["time"]
    diff = plot["v(outp)"] - plot["v(outn)"]
    decisions = _decisions(plot, "", cycles)
    flips = np.nonzero(decisions[1:] != decisions[:-1])[0]
    if len(flips) != 1 or decisions[0] or not decisions[-1]:
        raise SimulationError(f"comparator decisions do not flip once across +-{span_v} V "
                              f"(offset outside the ramp, or no regeneration): "
                              f"{decisions.astype(int).tolist()}")
    k = int(flips[0])
    offset = 0.5 * (levels[k] + levels[k + 1])
    # decision time at the input closest to the offset that still decided right
    n = k + 1
    start = n * T_CLK_S + T_CLK_S / 2 + EDGE_S / 2
    m = (t >= start) & (t <= (n + 1) * T_CLK_S)
    split = np.nonzero(np.abs(diff[m]) > p.vdd_v / 2)[0]
    if len(split) == 0:
        raise SimulationError("comparator never regenerated to half the supply")
    power = p.vdd_v / 2 * (plot["i(vsn)"] - plot["i(vsp)"])
    lo, hi = T_CLK_S, cycles * T_CLK_S  # skip the first cycle (start-up)
    mm = (t >= lo) & (t <= hi)
    energy = float(np.trapezoid(power[mm], t[mm])) / (cycles - 1)
    return ComparatorFigures(offset_v=float(offset), resolution_v=float(levels[1] - levels[0]),
                             decision_time_s=float(t[m][split[0]] - start),
                             energy_per_decision_j=energy)
