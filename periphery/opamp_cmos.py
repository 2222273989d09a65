"""Transistor-level op-amp for the column sensing: a two-stage Miller-compensated
CMOS op-amp on the project's generic MOSFET card (device_models/mosfet.py).

    vdd ──┬──────────┬────────────┬──────────
         M8 (diode) M5 (tail)    M7 (output source)           PMOS, gates on pb
          │pb        │tail        │
        Iref     M1 ─┴─ M2        out ── Rz ── Cc ── d2       M1: in-, M2: in+ (PMOS)
          │       │d1    │d2      │
    vss ──┴─────  M3 ─── M4      M6 (gate d2)                  NMOS mirror, NMOS output
                  (diode)

PMOS inputs let the common mode sit at 0 V between rails at +-vdd/2; the NMOS
output device sinks the column current (an array's columns push current into
the read-out), so its quiescent ``i_out_a`` can be below the full scale.
Systematic offset is nulled by sizing: (W/L)6 / (W/L)4 = I6 / (I_tail / 2).
Compensation: Cc = gm1 / (2 pi gbw), nulling resistor Rz = 1 / gm6.

Rails are ``vdd``/``vss`` pins, so the read-out's supply current (its energy) is
what the deck's supply sources deliver.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from device_models import mosfet
from device_models.mosfet import NMOS_GENERIC, PMOS_GENERIC
from device_models.spice_text import fmt
from device_models.validation import check_range


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

    def __post_init__(self) -> None:
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
    def cc_f(self) -> float:
        return self.gm1_s / (2 * math.pi * self.gbw_hz)

    @property
    def quiescent_a(self) -> float:
        """Supply current at rest (A): reference + tail + output branch."""
        return self.i_ref_a + self.i_tail_a + self.i_out_a

    def widths_m(self) -> dict[str, float]:
        n, p, lm = NMOS_GENERIC, PMOS_GENERIC, self.l_m
        half = self.i_tail_a / 2
        w8 = mosfet.width_for(p, self.i_ref_a, self.vov_v, lm)
        w3 = mosfet.width_for(n, half, self.vov_v, lm)
        return {"1": mosfet.width_for(p, half, self.vov_in_v, lm),
                "2": mosfet.width_for(p, half, self.vov_in_v, lm),
                "3": w3, "4": w3, "5": w8 * self.i_tail_a / self.i_ref_a,
                "6": w3 * self.i_out_a / half, "7": w8 * self.i_out_a / self.i_ref_a, "8": w8}


def subckt_name(p: CmosOpamp) -> str:
    return f"opamp_cmos_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def spice_subckt(p: CmosOpamp) -> str:
    """``<name> inp inn out vdd vss``: V(out) rises with V(inp) - V(inn)."""
    w = p.widths_m()
    n, pm, lm = NMOS_GENERIC, PMOS_GENERIC, p.l_m

    def m(k: str, d: str, g: str, s: str, b: str, dev) -> str:
        return mosfet.spice_instance(k, d, g, s, b, dev, w[k], lm)

    return "".join([
        f".subckt {subckt_name(p)} inp inn out vdd vss\n",
        mosfet.spice_model(n), mosfet.spice_model(pm),
        m("8", "pb", "pb", "vdd", "vdd", pm),
        f"Iref pb vss {fmt(p.i_ref_a)}\n",
        m("5", "tail", "pb", "vdd", "vdd", pm),
        m("1", "d1", "inn", "tail", "tail", pm),
        m("2", "d2", "inp", "tail", "tail", pm),
        m("3", "d1", "d1", "vss", "vss", n),
        m("4", "d2", "d1", "vss", "vss", n),
        m("6", "out", "d2", "vss", "vss", n),
        m("7", "out", "pb", "vdd", "vdd", pm),
        f"Rz d2 cz {fmt(1.0 / p.gm6_s)}\nCc cz out {fmt(p.cc_f)}\n",
        ".ends\n"])
