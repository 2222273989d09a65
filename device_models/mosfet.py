"""Generic MOSFET model card for the transistor-level periphery (op-amps, comparators).

No PDK can be downloaded, so the project carries its own card: a SPICE level-1
(Shichman-Hodges) model with values typical of a 180 nm-class CMOS process's
thick-oxide analog devices at L >= 0.5 um. It is *generic*: good enough to show
what finite gain, output resistance, offset, bandwidth and supply current do to
an array read-out; not a foundry model (no velocity saturation, no short-channel
or subthreshold effects, lambda does not scale with L).

| parameter | NMOS | PMOS | meaning |
|---|---|---|---|
| VTO | 0.45 V | -0.45 V | zero-bias threshold |
| KP | 280 uA/V^2 | 70 uA/V^2 | mu Cox (mobility ratio 4) |
| GAMMA | 0.40 V^0.5 | 0.40 V^0.5 | body effect |
| PHI | 0.80 V | 0.80 V | surface potential |
| LAMBDA | 0.05 1/V | 0.06 1/V | channel-length modulation at L = 1 um |
| TOX | 4 nm | 4 nm | oxide (Cox = 8.6 fF/um^2, Meyer gate charge) |
| CGSO, CGDO | 0.3 fF/um | 0.3 fF/um | overlap capacitance |
| CJ, CJSW | 1 fF/um^2, 0.2 fF/um | 1 fF/um^2, 0.2 fF/um | junctions (AD/AS from W x 0.5 um) |

One parameter object per polarity, with a SPICE face (``.model`` text, instance
line) and a numpy face (the same level-1 drain current), so sizing arithmetic and
ngspice agree by construction; a test checks them against each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_choice, check_range

DIFF_LENGTH_M = 0.5e-6
"""Drain/source diffusion length for junction areas and perimeters."""


@dataclass(frozen=True)
class MosfetParams:
    polarity: str = "n"
    """n | p."""
    vto_v: float = 0.45
    """Zero-bias threshold (V); negative for PMOS."""
    kp_a_per_v2: float = 280e-6
    """Transconductance parameter mu Cox (A/V^2)."""
    gamma: float = 0.40
    """Body-effect coefficient (V^0.5)."""
    phi_v: float = 0.80
    """Surface potential (V)."""
    lambda_per_v: float = 0.05
    """Channel-length modulation (1/V)."""
    tox_m: float = 4e-9
    """Gate oxide thickness (m)."""
    cgo_f_per_m: float = 0.3e-9
    """Gate-source and gate-drain overlap capacitance per width (F/m)."""
    cj_f_per_m2: float = 1e-3
    """Junction bottom capacitance (F/m^2)."""
    cjsw_f_per_m: float = 0.2e-9
    """Junction sidewall capacitance (F/m)."""

    def __post_init__(self) -> None:
        check_choice("mosfet.polarity", self.polarity, ("n", "p"))
        check_range("mosfet.vto_v", abs(self.vto_v), 0.0, 2.0)
        if (self.vto_v < 0) != (self.polarity == "p"):
            raise ParamError("mosfet.vto_v", self.vto_v,
                             f"sign must match polarity {self.polarity!r} (NMOS > 0, PMOS < 0)")
        check_range("mosfet.kp_a_per_v2", self.kp_a_per_v2, 0.0, 1e-2, lo_open=True)
        check_range("mosfet.gamma", self.gamma, 0.0, 3.0)
        check_range("mosfet.phi_v", self.phi_v, 0.1, 2.0)
        check_range("mosfet.lambda_per_v", self.lambda_per_v, 0.0, 1.0)
        check_range("mosfet.tox_m", self.tox_m, 1e-10, 1e-6)

    @property
    def model_name(self) -> str:
        return f"cosim_{self.polarity}mos"

    @property
    def sign(self) -> float:
        """+1 for NMOS, -1 for PMOS: PMOS equations are NMOS ones on negated voltages."""
        return 1.0 if self.polarity == "n" else -1.0


NMOS_GENERIC = MosfetParams()
PMOS_GENERIC = MosfetParams(polarity="p", vto_v=-0.45, kp_a_per_v2=70e-6, lambda_per_v=0.06)


def spice_model(p: MosfetParams) -> str:
    """SPICE face: the ``.model`` card."""
    kind = "nmos" if p.polarity == "n" else "pmos"
    return (f".model {p.model_name} {kind} (level=1 vto={fmt(p.vto_v)} kp={fmt(p.kp_a_per_v2)} "
            f"gamma={fmt(p.gamma)} phi={fmt(p.phi_v)} lambda={fmt(p.lambda_per_v)} "
            f"tox={fmt(p.tox_m)} cgso={fmt(p.cgo_f_per_m)} cgdo={fmt(p.cgo_f_per_m)} "
            f"cj={fmt(p.cj_f_per_m2)} cjsw={fmt(p.cjsw_f_per_m)} mj=0.5 mjsw=0.33 pb=0.8)\n")


def spice_instance(name: str, d: str, g: str, s: str, b: str, p: MosfetParams,
                   w_m: float, l_m: float) -> str:
    """SPICE face: one transistor, junction areas from W x DIFF_LENGTH_M."""
    area, perim = w_m * DIFF_LENGTH_M, 2 * (w_m + DIFF_LENGTH_M)
    return (f"M{name} {d} {g} {s} {b} {p.model_name} w={fmt(w_m)} l={fmt(l_m)} "
            f"ad={fmt(area)} as={fmt(area)} pd={fmt(perim)} ps={fmt(perim)}\n")


def threshold_v(p: MosfetParams, vsb_v: np.ndarray | float = 0.0) -> np.ndarray:
    """|V_T| with body effect for a source-bulk reverse bias |V_SB| (V)."""
    vsb = np.maximum(p.sign * np.asarray(vsb_v, dtype=float), -p.phi_v / 2)
    return abs(p.vto_v) + p.gamma * (np.sqrt(p.phi_v + vsb) - np.sqrt(p.phi_v))


def drain_current(p: MosfetParams, vgs_v, vds_v, vsb_v=0.0, *, w_m: float, l_m: float
                  ) -> np.ndarray:
    """Numpy face: level-1 drain current (A, into the drain for NMOS, out of it for
    PMOS; i.e. the current for the voltages as signed by the polarity)."""
    vgs = p.sign * np.asarray(vgs_v, dtype=float)
    vds = p.sign * np.asarray(vds_v, dtype=float)
    if np.any(vds < 0):
        raise ValueError("drain_current: give V_DS with drain above source (NMOS) or "
                         "below it (PMOS)")
    vov = vgs - threshold_v(p, vsb_v)
    beta = p.kp_a_per_v2 * w_m / l_m
    sat = 0.5 * beta * vov**2 * (1 + p.lambda_per_v * vds)
    tri = beta * (vov * vds - 0.5 * vds**2) * (1 + p.lambda_per_v * vds)
    i = np.where(vov <= 0, 0.0, np.where(vds >= vov, sat, tri))
    return p.sign * i


def width_for(p: MosfetParams, i_a: float, vov_v: float, l_m: float) -> float:
    """Width that carries ``i_a`` in saturation at overdrive ``vov_v`` (lambda ignored)."""
    check_range("i_a", i_a, 0.0, lo_open=True)
    check_range("vov_v", vov_v, 0.0, lo_open=True)
    return 2.0 * i_a * l_m / (p.kp_a_per_v2 * vov_v**2)
