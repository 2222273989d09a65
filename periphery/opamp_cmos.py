"""Transistor-level op-amp for the column sensing: a two-stage Miller-compensated
CMOS op-amp, drawn with a ``Process`` (the generic level-1 card, or sky130 at a
corner).

    rail_q ─┬──────────┬────────────┬──────────
           M8 (diode) M5 (tail)    M7 (output current source / sink)
            │pb        │tail        │gate pb (class A) or g7 (class AB)
          Iref     M1 ─┴─ M2        out ── Rz ── Cc ── d2       M1: in-, M2: in+
            │       │d1    │d2      │
    rail_q̄ ─┴─────  M3 ─── M4      M6 (gate d2)               mirror load, output driver

``input_pair`` q = "p" (the generic default: PMOS inputs, rail_q = vdd, the NMOS M6
sinks) or "n" (sky130: its pfet_01v8 needs |V_GS| ~ 1.1 V, so a PMOS pair cannot sit
at a 0 V common mode between +-0.9 V rails; the PMOS M6 drives and M7 sinks).

Output stage:
- ``class_a``: M7 is a constant current source mirrored from the bias;
- ``class_ab``: M7's gate is quasi-floating: held at the bias through ``r_qfg_ohm``
  (a pseudo-resistor in silicon) and coupled to M6's gate d2 through ``c_qfg_f``,
  so within a read window both output devices move with the signal (push-pull),
  the stage idles at a small ``i_out_a``, and the transconductance doubles.

Systematic offset is nulled by sizing: (W/L)6 / (W/L)4 = I6 / (I_tail / 2).
Compensation: Cc = gm1 / (2 pi gbw), nulling resistor Rz = 1 / gm_out (gm6, or
gm6 + gm7 in class AB).
Widths come from ``Process.width_for`` (square law, or sky130's measured current
density at gm/Id = 2 / vov).

Rails are ``vdd``/``vss`` pins, so the read-out's supply current (its energy) is
what the deck's supply sources deliver.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from device_models.spice_text import fmt
from device_models.validation import check_choice, check_range
from periphery.process import GENERIC, Process

OUTPUT_STAGES = ("class_a", "class_ab")


@dataclass(frozen=True)
class CmosOpamp:
    i_tail_a: float = 40e-6
    """Input-pair tail current (A); with vov_in it sets gm1 and so the GBW per Cc."""
    i_out_a: float = 100e-6
    """Output stage quiescent current (A); the NMOS sinks up to several times this."""
    i_ref_a: float = 10e-6
    """Bias reference current (A), mirrored to the tail and the output source."""
    vov_in_v: float = 0.10
    """Input-pair overdrive (V)."""
    vov_v: float = 0.15
    """Overdrive of the mirrors, current sources and output device (V)."""
    l_m: float = 1e-6
    """Channel length of every device (m)."""
    gbw_hz: float = 200e6
    """Target gain-bandwidth product (Hz); sets Cc."""
    vdd_v: float = 1.8
    """Supply span (V): rails at +vdd/2 and -vdd/2."""
    process: Process = GENERIC
    """Transistors: generic card or sky130 at a corner."""
    input_pair: str = "p"
    """p | n: polarity of the input pair (sky130 needs n at a 0 V common mode)."""
    output: str = "class_a"
    """class_a | class_ab (quasi-floating-gate push-pull)."""
    r_qfg_ohm: float = 20e6
    """class_ab: resistance holding M7's gate at the bias (ohm)."""
    c_qfg_f: float = 2e-12
    """class_ab: capacitor coupling M6's gate to M7's (F); R C = 40 us outlasts
    hundreds of read windows."""

    def __post_init__(self) -> None:
        check_choice("opamp.input_pair", self.input_pair, ("p", "n"))
        check_choice("opamp.output", self.output, OUTPUT_STAGES)
        check_range("opamp.r_qfg_ohm", self.r_qfg_ohm, 1e3, 1e12)
        check_range("opamp.c_qfg_f", self.c_qfg_f, 1e-15, 1e-9)
        if not isinstance(self.process, Process):
            raise ValueError("opamp.process must be a Process")
        check_range("opamp.i_tail_a", self.i_tail_a, 1e-9, 1e-2)
        check_range("opamp.i_out_a", self.i_out_a, 1e-9, 1e-1)
        check_range("opamp.i_ref_a", self.i_ref_a, 1e-9, 1e-2)
        check_range("opamp.vov_in_v", self.vov_in_v, 0.02, 0.5)
        check_range("opamp.vov_v", self.vov_v, 0.05, 0.5)
        check_range("opamp.l_m", self.l_m, 0.18e-6, 20e-6)
        check_range("opamp.gbw_hz", self.gbw_hz, 1e3, 5e9)
        check_range("opamp.vdd_v", self.vdd_v, 1.2, 5.0)

    @property
    def gm1_s(self) -> float:
        return self.i_tail_a / self.vov_in_v

    @property
    def gm6_s(self) -> float:
        return 2 * self.i_out_a / self.vov_v

    @property
    def gm_out_s(self) -> float:
        """Output stage transconductance: M6, plus M7 through the quasi-floating gate."""
        return self.gm6_s * (1 if self.output == "class_a" else 2)

    @property
    def cc_f(self) -> float:
        return self.gm1_s / (2 * math.pi * self.gbw_hz)

    @property
    def i_sink_max_a(self) -> float:
        """Largest current the output sinks within a read (A): unbounded (inf) where
        the driver M6 sinks (PMOS inputs) or both devices push-pull (class AB); the
        current sink M7's bias for an NMOS-input class-A stage."""
        if self.input_pair == "n" and self.output == "class_a":
            return self.i_out_a
        return math.inf

    @property
    def quiescent_a(self) -> float:
        """Supply current at rest (A): reference + tail + output branch."""
        return self.i_ref_a + self.i_tail_a + self.i_out_a

    @property
    def polarities(self) -> tuple[str, str]:
        """(input-pair / tail / bias polarity q, load / driver polarity q̄)."""
        return (self.input_pair, "n" if self.input_pair == "p" else "p")

    def widths_m(self) -> dict[str, float]:
        q, qb = self.polarities
        width, lm, half = self.process.width_for, self.l_m, self.i_tail_a / 2
        w8 = width(q, self.i_ref_a, self.vov_v, lm)
        w3 = width(qb, half, self.vov_v, lm)
        w1 = width(q, half, self.vov_in_v, lm)
        return {"1": w1, "2": w1, "3": w3, "4": w3, "5": w8 * self.i_tail_a / self.i_ref_a,
                "6": w3 * self.i_out_a / half, "7": w8 * self.i_out_a / self.i_ref_a, "8": w8}


def designed_for(i_fs_a: float, process: Process = GENERIC, output: str = "class_a",
                 i_load_a: float = 0.0) -> CmosOpamp:
    """The read-out op-amp for a full-scale column current ``i_fs_a`` that its output
    sinks (the array pushes current into the column).

    - generic: PMOS inputs, so the NMOS driver sinks the signal; class A biases the
      output at half the full scale (its phase margin), class AB at an eighth.
    - sky130: NMOS inputs, L = 0.5 um (L = 1 um left 27 degrees of phase margin:
      the PMOS mirror's pole); class A's NMOS current sink must carry the whole
      column current (1.25 x full scale), class AB idles at an eighth of it.

    ``i_load_a``: the peak current a sampling load (a SAR ADC's capacitive DAC)
    draws from the output; class A is biased for it, class AB (whose push-pull
    delivers peaks well above its idle current) at a quarter of it.
    """
    check_range("i_fs_a", i_fs_a, 0.0, 1.0, lo_open=True)
    check_range("i_load_a", i_load_a, 0.0, 1.0)
    check_choice("output", output, OUTPUT_STAGES)
    load = i_load_a if output == "class_a" else i_load_a / 4
    if process.pdk == "generic":
        i_out = i_fs_a / 2 if output == "class_a" else i_fs_a / 8
        return CmosOpamp(i_out_a=max(i_out, load, 10e-6), output=output)
    i_out = 1.25 * i_fs_a if output == "class_a" else i_fs_a / 8
    return CmosOpamp(process=process, input_pair="n", l_m=0.5e-6,
                     i_out_a=max(i_out, load, 10e-6), output=output)


def subckt_name(p: CmosOpamp) -> str:
    return f"opamp_cmos_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def spice_subckt(p: CmosOpamp) -> str:
    """``<name> inp inn out vdd vss``: V(out) rises with V(inp) - V(inn). Preceded by
    the process's library line where it has one (sky130)."""
    w = p.widths_m()
    q, qb = p.polarities
    rq, rqb = ("vdd", "vss") if q == "p" else ("vss", "vdd")

    def m(k: str, d: str, g: str, s: str, b: str, pol: str) -> str:
        return p.process.mos(k, d, g, s, b, pol, w[k], p.l_m)

    # Iref flows from the bias diode to the opposite rail: "Iref n+ n-" runs n+ -> n-.
    iref = (f"Iref pb {rqb} {fmt(p.i_ref_a)}\n" if q == "p"
            else f"Iref {rqb} pb {fmt(p.i_ref_a)}\n")
    g7 = "pb" if p.output == "class_a" else "g7"
    qfg = ("" if p.output == "class_a"
           else f"Rqfg pb g7 {fmt(p.r_qfg_ohm)}\nCqfg d2 g7 {fmt(p.c_qfg_f)}\n")
    return "".join([
        p.process.deck_models(),
        f".subckt {subckt_name(p)} inp inn out vdd vss\n",
        p.process.subckt_models(),
        m("8", "pb", "pb", rq, rq, q), iref,
        m("5", "tail", "pb", rq, rq, q),
        # generic: the PMOS pair's bulk at its source; sky130: at the rail (shared well)
        m("1", "d1", "inn", "tail", "tail" if p.process.pdk == "generic" else rq, q),
        m("2", "d2", "inp", "tail", "tail" if p.process.pdk == "generic" else rq, q),
        m("3", "d1", "d1", rqb, rqb, qb),
        m("4", "d2", "d1", rqb, rqb, qb),
        m("6", "out", "d2", rqb, rqb, qb),
        m("7", "out", g7, rq, rq, q), qfg,
        f"Rz d2 cz {fmt(1.0 / p.gm_out_s)}\nCc cz out {fmt(p.cc_f)}\n",
        ".ends\n"])
