"""Characterize the transistor-level op-amp in ngspice, so the behavioural sensing
model can stand in for it with measured numbers (DC gain, gain-bandwidth, phase
margin, output resistance, systematic offset, quiescent current).

Three decks, the first two with the op-amp alone:
- AC, open loop at signal frequencies: the inverting input is tied to the output
  through 1 GH (closes the loop at DC, so the bias point is the follower's) and
  driven through 1 F from the AC source: V(out) / V(ac) = -A(f).
- Load, unity-gain follower with its output sinking a current I_o ramped from 0 in
  ``LOAD_RAMP_S`` (slow against the op-amp, fast against a class-AB stage's
  quasi-floating gate, whose bias holds for R C = 40 us as it does in a read):
  V(out) = (A V_os + I_o R_out) / (1 + A), read as offset and R_out / (1 + A).
- TIA read (the TIA's macro model only): the op-amp in its own feedback (R_f), its
  column driven by a current stepping through ``READ_LEVELS`` levels up to full
  scale, one per read period, through a source resistance R_f (an array column's
  cells are of that order; an ideal current source, feedback factor 1, made the
  sky130 class-A TIA of an 8x8 array oscillate above 0.8 of full scale), read
  where the array's read is (each period's end):
  V(col) (1 + A) = A V_os + (R_f + R_out) I, read as an effective R_out. A class-AB
  stage's transconductance grows with the current it sinks and its output sits at
  -I R_f rather than 0 V, so the follower's straight line over twice full scale
  does not give the R_out the read sees (98 vs 125 kOhm on the sky130 32x32 TIA).
The decks carry the op-amp's process (the generic card, or sky130 at a corner).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import shutil

import numpy as np

from cosim.simulators import ngspice
from device_models.spice_text import fmt
from netlists.crossbar import reset_edge_s
from periphery import opamp_cmos, sensing
from periphery.opamp_cmos import CmosOpamp
from periphery.sensing import SenseParams


def _rails(p: CmosOpamp) -> str:
    h = fmt(p.vdd_v / 2)
    return f"Vsp vdd 0 {h}\nVsn vss 0 -{h}\n"


@dataclasses.dataclass(frozen=True)
class OpampFigures:
    dc_gain: float
    """Open-loop DC gain A0 (V/V)."""
    gbw_hz: float
    """Gain-bandwidth product of the single-pole region, |A(f)| f (Hz)."""
    unity_gain_hz: float
    """Where |A(f)| = 1 (Hz); below gbw_hz by the second pole."""
    phase_margin_deg: float
    """180 degrees minus the open-loop phase lag at the unity-gain frequency."""
    r_out_ohm: float
    """Open-loop output resistance while sinking current (ohm)."""
    offset_sys_v: float
    """Systematic input offset (V): the follower's output at zero load."""
    quiescent_a: float
    """Supply current at rest (A)."""
    i_sink_max_a: float
    """Largest load current of the DC sweep (A)."""
    r_out_read_ohm: float | None = None
    """Output resistance fitted in the TIA's own feedback at the read's timing (ohm);
    None: not measured (the integrator's macro model uses ``r_out_ohm``)."""


def _ac_deck(p: CmosOpamp) -> str:
    return (f"* op-amp open-loop AC\n{opamp_cmos.spice_subckt(p)}{_rails(p)}"
            f"X1 0 inn out vdd vss {opamp_cmos.subckt_name(p)}\n"
            "Lfb out inn 1e9\nCin inn src 1\nVac src 0 DC 0 AC 1\n"
            ".options noacct klu\n.save v(out)\n.ac dec 40 10 10e9\n")


LOAD_RAMP_S = 1e-6
LOAD_POINTS = 41


def _load_deck(p: CmosOpamp, i_max_a: float) -> str:
    step = LOAD_RAMP_S / (LOAD_POINTS - 1)
    return (f"* op-amp follower sinking current\n{opamp_cmos.spice_subckt(p)}{_rails(p)}"
            f"X1 0 out out vdd vss {opamp_cmos.subckt_name(p)}\n"
            f"Iload 0 out PWL(0 0 {fmt(LOAD_RAMP_S)} {fmt(i_max_a)})\n"
            ".options noacct klu reltol=1e-7 abstol=1e-15 vntol=1e-9\n"
            f".save v(out) i(vsp)\n.tran {fmt(step / 10)} {fmt(LOAD_RAMP_S)} 0 "
            f"{fmt(step / 10)}\n")


@functools.lru_cache(maxsize=32)
def open_loop(p: CmosOpamp) -> tuple[float, float, float, float]:
    """(DC gain, GBW, unity-gain frequency, phase margin) from the AC deck (cached per
    design: the load ramp and the Monte Carlo reuse it)."""
    ac = ngspice.run_deck(_ac_deck(p), name="opamp-ac").plot
    f = np.real(ac["frequency"])
    h = -ac["v(out)"]
    mag = np.abs(h)
    above = np.nonzero(mag >= 1.0)[0]
    if len(above) == 0 or above[-1] + 1 >= len(f):
        raise ngspice.SimulationError("op-amp AC sweep never crosses unity gain")
    k = above[-1]
    # log-log interpolation of the crossing
    x = (math.log(mag[k]) - 0.0) / (math.log(mag[k]) - math.log(mag[k + 1]))
    f_u = math.exp(math.log(f[k]) + x * (math.log(f[k + 1]) - math.log(f[k])))
    phase = np.unwrap(np.angle(h))
    ph_u = float(np.interp(math.log(f_u), np.log(f), phase))
    # Gain-bandwidth of the single-pole region (|A| f where the phase is nearest -90
    # degrees, a decade or more below f_u): what sets a ramping integrator's input error.
    band = f < f_u / 10
    gbw = float((mag * f)[band][np.argmin(np.abs(phase[band] + math.pi / 2))])
    return float(mag[0]), gbw, f_u, 180.0 + math.degrees(ph_u)


@functools.lru_cache(maxsize=32)
def characterize(p: CmosOpamp, i_max_a: float) -> OpampFigures:
    """Measure the op-amp (cached per design and load range)."""
    a0, gbw, f_u, pm = open_loop(p)
    load = ngspice.run_deck(_load_deck(p, i_max_a), name="opamp-load").plot
    t = np.real(load["time"])
    t_pts = np.linspace(0.0, LOAD_RAMP_S, LOAD_POINTS)
    i_o = t_pts / LOAD_RAMP_S * i_max_a
    v = np.interp(t_pts, t, np.real(load["v(out)"]))
    i_sp = np.interp(t_pts, t, np.real(load["i(vsp)"]))
    slope = float(np.polyfit(i_o, v, 1)[0])
    return OpampFigures(dc_gain=a0, gbw_hz=gbw, unity_gain_hz=f_u,
                        phase_margin_deg=pm,
                        r_out_ohm=slope * (1 + a0), offset_sys_v=float(v[0]) * (1 + a0) / a0,
                        quiescent_a=float(-i_sp[0]), i_sink_max_a=i_max_a)


READ_LEVELS = 11
READ_VG_LIMIT_V = 0.05
"""The read bench's column stays within this of ground (measured: 1 mV at full
scale); beyond it the op-amp is not holding the virtual ground."""


def _tia_read_deck(sense: SenseParams, i_fs_a: float) -> str:
    period, edge = sense.period_s, sense.sensor.row_edge_s(sense)
    pts = " ".join(f"{fmt(k * period + edge)} {fmt(i)} {fmt((k + 1) * period)} {fmt(i)}"
                   for k, i in enumerate(np.linspace(0.0, i_fs_a, READ_LEVELS)))
    step = period / 500
    return (f"* TIA read, stepped column current\n{sensing.spice_subckt(sense)}"
            f"{_rails(sense.cmos)}Xs col out 0 vdd vss {sensing.subckt_name(sense)}\n"
            f"Iin 0 col PWL(0 0 {pts})\nRsrc col 0 {fmt(sense.r_f_ohm)}\n"
            ".options noacct klu reltol=1e-6 abstol=1e-14 vntol=1e-8\n"
            f".save v(col) v(out)\n.tran {fmt(step)} {fmt(READ_LEVELS * period)} 0 "
            f"{fmt(step)}\n")


@functools.lru_cache(maxsize=32)
def tia_read_r_out(sense: SenseParams, i_fs_a: float, dc_gain: float) -> float:
    """The output resistance a TIA's read sees (ohm): the slope of V(col) (1 + A)
    against the current through R_f, minus R_f, over the levels of the read deck,
    each read where the array's read is (``reset_edge_s`` before its period ends)."""
    out = ngspice.run_deck(_tia_read_deck(sense, i_fs_a), name="tia-read", keep="always")
    plot = out.plot
    t = np.real(plot["time"])
    t_read = (np.arange(READ_LEVELS) + 1) * sense.period_s - reset_edge_s(sense)
    v_col = np.interp(t_read, t, np.real(plot["v(col)"]))
    lost = float(np.abs(np.real(plot["v(col)"])).max())
    if lost > READ_VG_LIMIT_V:
        raise ngspice.SimulationError(
            f"TIA read bench: the column left its virtual ground by {lost * 1e3:.0f} mV "
            f"(limit {READ_VG_LIMIT_V * 1e3:.0f} mV): the op-amp oscillates or saturates "
            f"in its feedback (R_f {sense.r_f_ohm:.4g} ohm)", rundir=out.rundir,
            netlist=out.rundir / "tia-read.cir")
    shutil.rmtree(out.rundir, ignore_errors=True)
    i_f = (v_col - np.interp(t_read, t, np.real(plot["v(out)"]))) / sense.r_f_ohm
    return float(np.polyfit(i_f, v_col * (1 + dc_gain), 1)[0]) - sense.r_f_ohm


def load_range_a(p: CmosOpamp, i_fs_a: float) -> float:
    """The load ramp's top: twice the full scale, or 90 % of what the stage can sink."""
    return min(2.0 * i_fs_a, 0.9 * p.i_sink_max_a)


def macro_model(sense: SenseParams, i_fs_a: float) -> tuple[SenseParams, OpampFigures]:
    """The behavioural sensing model with the transistor-level op-amp's measured
    figures: what the behavioral engine uses to stand in for the circuit."""
    if sense.cmos is None:
        raise ValueError("macro_model needs sense.cmos (a transistor-level op-amp)")
    fig = characterize(sense.cmos, load_range_a(sense.cmos, i_fs_a))
    if sense.kind == "tia":
        fig = dataclasses.replace(fig, r_out_read_ohm=tia_read_r_out(sense, i_fs_a,
                                                                     fig.dc_gain))
    r_out = fig.r_out_ohm if fig.r_out_read_ohm is None else fig.r_out_read_ohm
    return dataclasses.replace(sense, opamp_gain=fig.dc_gain, gbw_hz=fig.gbw_hz,
                               r_out_ohm=max(r_out, 0.0),
                               offset_sys_v=fig.offset_sys_v,
                               i_bias_a=fig.quiescent_a), fig


def offsets(p: CmosOpamp, instances: int, seed: int, timeout_s: float | None = 600.0
            ) -> np.ndarray:
    """Input-referred offsets (V) of ``instances`` op-amps in one deck, each a unity-gain
    follower at zero load with its own mismatch draw (``p.process.mismatch``) from
    ngspice seed ``seed``: V(out) (1 + A) / A, read at the operating point."""
    name = opamp_cmos.subckt_name(p)
    deck = ("* op-amp offsets\n" + opamp_cmos.spice_subckt(p) + _rails(p)
            + "".join(f"X{k} 0 out{k} out{k} vdd vss {name}\n" for k in range(instances))
            + ngspice.seed_option(seed) + ".options noacct klu\n.op\n")
    plot = ngspice.run_deck(deck, name="opamp-mc", timeout_s=timeout_s).plot
    a0 = open_loop(dataclasses.replace(p, process=dataclasses.replace(p.process,
                                                                       mismatch=False)))[0]
    return np.array([float(np.real(plot[f"v(out{k})"])[0]) for k in range(instances)]
                    ) * (1 + a0) / a0
