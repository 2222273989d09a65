"""Which transistors the periphery circuits are drawn with: the project's generic
level-1 card (fast, no corners) or SkyWater 130 nm ``nfet_01v8`` / ``pfet_01v8`` at a
corner, with or without per-instance mismatch.

One object answers what the circuit generators need: the model text a deck carries
(``.model`` cards inside the subcircuit, or the library section before it), one transistor's
instance line (``mos``), and the width that carries a current at an overdrive
(``width_for``: square law for the generic card, the measured current density for
sky130).
"""

from __future__ import annotations

from dataclasses import dataclass

from device_models import mosfet, sky130
from device_models.mosfet import NMOS_GENERIC, PMOS_GENERIC
from device_models.validation import ParamError, check_choice

PDKS = ("generic", "sky130")
TG_RON_OHM_M = {"generic": 1503e-6, "sky130": 6578e-6}
"""On-resistance times NMOS width (ohm m) of a minimum-length transmission gate (PMOS
twice as wide) passing 0 V with its gates at +-0.9 V, tt: measured in ngspice
(``tests/test_sar_adc.py`` re-measures it)."""
W_SWITCH_MIN_M = {"generic": 0.36e-6, "sky130": 0.42e-6}


@dataclass(frozen=True)
class Process:
    pdk: str = "generic"
    """generic (level-1 card, ``device_models/mosfet.py``) | sky130."""
    corner: str = "tt"
    """sky130 corner: tt | ff | ss | sf | fs (the generic card has tt only)."""
    mismatch: bool = False
    """sky130: every instance draws its own mismatch (the library's ``_mm`` section);
    in one deck the draws follow ngspice's random seed."""

    def __post_init__(self) -> None:
        check_choice("pdk", self.pdk, PDKS)
        check_choice("corner", self.corner, sky130.CORNERS)
        if self.pdk == "generic" and self.corner != "tt":
            raise ParamError("corner", self.corner,
                             "the generic card has no corners (tt only); use pdk sky130")
        if self.pdk == "generic" and self.mismatch:
            raise ParamError("mismatch", True, "the generic card has no mismatch model; "
                             "use pdk sky130")

    @property
    def label(self) -> str:
        return self.pdk if self.pdk == "generic" else f"sky130 {self.corner}"

    @property
    def l_min_m(self) -> float:
        return sky130.L_MIN_M if self.pdk == "sky130" else 0.18e-6

    @property
    def w_min_m(self) -> float:
        """Smallest switch width (m)."""
        return W_SWITCH_MIN_M[self.pdk]

    def tg_width_for(self, r_on_ohm: float) -> float:
        """NMOS width of a transmission gate (PMOS twice as wide) with on-resistance
        ``r_on_ohm`` at 0 V (at least the smallest switch)."""
        return max(self.w_min_m, TG_RON_OHM_M[self.pdk] / r_on_ohm)

    def transmission_gate(self, name: str, a: str, b: str, g: str, gb: str, w_n_m: float
                          ) -> str:
        """A minimum-length transmission gate between ``a`` and ``b``: NMOS gated by
        ``g``, PMOS (twice as wide) by ``gb``, bodies on the ``vss``/``vdd`` rails."""
        return (self.mos(f"{name}n", a, g, b, "vss", "n", w_n_m, self.l_min_m)
                + self.mos(f"{name}p", a, gb, b, "vdd", "p", 2 * w_n_m, self.l_min_m))

    def deck_models(self) -> str:
        """Top-level text a deck needs before the subcircuit (the sky130 library
        section; nothing for the generic card, whose cards go inside)."""
        return "" if self.pdk == "generic" else sky130.library_lines(self.corner,
                                                                      self.mismatch)

    def subckt_models(self) -> str:
        """Text inside a subcircuit (the generic ``.model`` cards; nothing for sky130)."""
        if self.pdk == "generic":
            return mosfet.spice_model(NMOS_GENERIC) + mosfet.spice_model(PMOS_GENERIC)
        return ""

    def mos(self, name: str, d: str, g: str, s: str, b: str, polarity: str, w_m: float,
            l_m: float) -> str:
        """One transistor's instance line (``M`` for the card, ``X`` for sky130)."""
        if self.pdk == "generic":
            dev = NMOS_GENERIC if polarity == "n" else PMOS_GENERIC
            return mosfet.spice_instance(name, d, g, s, b, dev, w_m, l_m)
        return sky130.instance(name, d, g, s, b, polarity, w_m, l_m)

    def width_for(self, polarity: str, i_a: float, vov_v: float, l_m: float) -> float:
        """Width that carries ``i_a`` in saturation at overdrive ``vov_v`` (for sky130:
        at gm/Id = 2 / vov_v, the square law's transconductance efficiency)."""
        if self.pdk == "generic":
            dev = NMOS_GENERIC if polarity == "n" else PMOS_GENERIC
            return mosfet.width_for(dev, i_a, vov_v, l_m)
        return sky130.width_for(polarity, i_a, 2.0 / vov_v, l_m)


GENERIC = Process()

