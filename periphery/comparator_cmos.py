"""Transistor-level clocked comparator (StrongARM latch), drawn with a ``Process``
(the generic MOSFET card, or sky130 at a corner).

    clk low : PMOS switches M7-M10 precharge outp, outn, p, q to vdd; tail off.
    clk high: tail M0 on; the input pair M1 (inp) / M2 (inn) discharges p / q at
              rates set by the inputs; the cross-coupled inverters M3-M6 regenerate.
              V(inp) > V(inn) discharges p, then outn, first: the decision is
              V(outp) > V(outn) <=> V(inp) > V(inn).

Rails ``vdd``/``vss`` are pins so the energy per decision is what they deliver.
``offset_v`` is an input-referred offset (e.g. from a Pelgrom draw), applied as a
threshold shift of M1 on the generic card and as a source in series with M1's gate
on sky130 (whose own mismatch comes from its ``_mm`` library section instead).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from device_models import mosfet
from device_models.mosfet import NMOS_GENERIC
from device_models.spice_text import fmt
from device_models.validation import check_range
from periphery.process import GENERIC, Process


@dataclass(frozen=True)
class StrongArmParams:
    w_in_m: float = 4e-6
    """Input pair width (m)."""
    w_tail_m: float = 4e-6
    """Clocked tail width (m)."""
    w_latch_n_m: float = 2e-6
    """Cross-coupled NMOS width (m)."""
    w_latch_p_m: float = 4e-6
    """Cross-coupled and reset PMOS width (m)."""
    l_m: float = 0.18e-6
    """Channel length (m): minimum, for speed."""
    offset_v: float = 0.0
    """Input-referred offset (V), as a threshold shift of the inp device."""
    vdd_v: float = 1.8
    """Supply span (V): rails at +-vdd/2."""
    process: Process = GENERIC
    """Transistors: generic card or sky130 at a corner."""

    def __post_init__(self) -> None:
        for name in ("w_in_m", "w_tail_m", "w_latch_n_m", "w_latch_p_m"):
            check_range(f"comparator.{name}", getattr(self, name), 0.18e-6, 1e-3)
        check_range("comparator.l_m", self.l_m, self.process.l_min_m, 10e-6)
        check_range("comparator.offset_v", self.offset_v, -0.2, 0.2)
        check_range("comparator.vdd_v", self.vdd_v, 1.2, 5.0)


def designed_for(process: Process = GENERIC) -> StrongArmParams:
    """The comparator on ``process``: the default sizes at minimum length (0.18 um on
    the generic card, 0.15 um on sky130)."""
    return StrongArmParams(process=process, l_m=process.l_min_m)


def subckt_name(p: StrongArmParams) -> str:
    return f"cmp_sa_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def spice_subckt(p: StrongArmParams) -> str:
    """``<name> inp inn clk outp outn vdd vss`` (preceded by the process's library
    line where it has one)."""
    pr, lm = p.process, p.l_m

    def m(k, d, g, s, b, pol, w):
        return pr.mos(k, d, g, s, b, pol, w, lm)

    if pr.pdk == "generic":
        # A model of its own for M1 carries the offset as a threshold shift.
        n = NMOS_GENERIC
        offset = mosfet.spice_model(replace(n, vto_v=n.vto_v + p.offset_v)).replace(
            n.model_name, "cosim_nmos_os")
        m1 = m("1", "p", "inp", "tail", "vss", "n", p.w_in_m).replace(n.model_name,
                                                                      "cosim_nmos_os")
    else:  # in series with M1's gate; the models' own mismatch is their _mm section
        offset = f"Vos inp inpx {fmt(p.offset_v)}\n"
        m1 = m("1", "p", "inpx", "tail", "vss", "n", p.w_in_m)
    return "".join([
        pr.deck_models(),
        f".subckt {subckt_name(p)} inp inn clk outp outn vdd vss\n",
        pr.subckt_models(), offset,
        m("0", "tail", "clk", "vss", "vss", "n", p.w_tail_m),
        m1,
        m("2", "q", "inn", "tail", "vss", "n", p.w_in_m),
        m("3", "outn", "outp", "p", "vss", "n", p.w_latch_n_m),
        m("4", "outp", "outn", "q", "vss", "n", p.w_latch_n_m),
        m("5", "outn", "outp", "vdd", "vdd", "p", p.w_latch_p_m),
        m("6", "outp", "outn", "vdd", "vdd", "p", p.w_latch_p_m),
        m("7", "outn", "clk", "vdd", "vdd", "p", p.w_latch_p_m),
        m("8", "outp", "clk", "vdd", "vdd", "p", p.w_latch_p_m),
        m("9", "p", "clk", "vdd", "vdd", "p", p.w_latch_p_m),
        m("10", "q", "clk", "vdd", "vdd", "p", p.w_latch_p_m),
        ".ends\n"])
