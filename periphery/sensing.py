"""Column sensing: charge integrator or transimpedance amplifier around an op-amp,
at one of two levels:

- behavioural (``cmos`` None): finite DC gain, one pole set by the gain-bandwidth
  product, output resistance, input offset, as controlled sources;
- transistor level (``cmos`` set): the two-stage CMOS op-amp of
  ``netlists/opamp_cmos.py`` on the generic MOSFET card, between supply rails.

Behavioural SPICE face (one instance per column, ``<name> col out rst``):

    G1  0 p  (V(col) - offset           gm = A / r1, one pole at GBW / A; offset is
              + R_out I(Vo) / A) * gm   offset_v + offset_sys_v; I(Vo) the current
    R1  p 0  r1 ;  C1 p 0 c1            the output delivers (R_out enters as the input
    Eo  oi 0 p 0 -1 ; Vo oi out 0       error it costs, so the loop settles at its speed)
                                        V(out) = -A (V(col) - offset) - R_out I(Vo) at DC
    Cf / Rf  out col                    integrator capacitor or TIA resistor
    S1  out col rst 0 (integrator)      discharges Cf (tau = t_reset / 10) while V(rst) > 0.5,
                                        the op-amp in unity-gain feedback

The op-amp's supply current is modelled class A: VDD * (I_bias + |I_out|),
with I_out the current its output drives into the feedback element; this is
how the sensing block's energy is computed (a documented figure, not a
transistor-level simulation).

Transistor-level SPICE face (``<name> col out rst vdd vss``): the CMOS op-amp with
its non-inverting input at ``offset_v`` and the same feedback element and reset
switch; its energy is what the rails deliver, simulated.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_choice, check_range
from periphery import opamp_cmos
from periphery.opamp_cmos import CmosOpamp
from periphery.process import GENERIC, Process

R1_OHM = 1e6
RZ_EDGE_S = 1e-10
"""Edge of the return-to-zero row pulses that define an integrator's window."""


class Integrator:
    """Charge integrator: the rows are driven by return-to-zero pulses inside the
    window, a switch resets the capacitor before it, the output is sampled after the
    settling phase; V_out = -Q / C."""

    name = "integrator"
    integrating = True
    """Rows pulse inside the window and a reset phase clears the capacitor."""

    def t_rows_s(self, p: SenseParams) -> float:
        return p.t_on_s

    def transimpedance_ohm(self, p: SenseParams) -> float:
        return p.t_int_s / p.c_int_f

    def virtual_ground_v(self, p: SenseParams, i_col_a):
        """Offset, plus the error a single-pole op-amp needs to slew its output at I / C,
        I / (C 2 pi GBW), plus the mean finite-gain error I t / (C A) over the window,
        plus I R_out / A."""
        a = p.opamp_gain
        per_amp = (1.0 / (p.c_int_f * 2 * math.pi * p.gbw_hz)
                   + p.t_int_s / (2 * p.c_int_f * a) + p.r_out_ohm / a)
        return p.total_offset_v + per_amp * i_col_a

    def readout_a(self, p: SenseParams, i_col_a):
        """(I - V_os / Z) A / (1 + A), Z = t_on / C (sampled after the current stopped,
        so the output resistance does not shift it)."""
        a = p.opamp_gain
        return (i_col_a - p.total_offset_v * p.c_int_f / p.t_on_s) * a / (1 + a)

    def sized(self, base: SenseParams, i_fs_a: float, swing_v: float) -> SenseParams:
        return dataclasses.replace(base, c_int_f=i_fs_a * base.t_int_s / swing_v)

    def current_from_output(self, p: SenseParams, v_out):
        """The column current a sampled output stands for: the charge of a row pulse of
        area V t_on."""
        return -v_out * p.c_int_f / p.t_on_s

    def feedback_spice(self, p: SenseParams) -> str:
        # Reset in unity-gain feedback through a switch. Cf discharges with tau = t_reset
        # / 10: slow enough that the op-amp holds the virtual ground (error ~ (V/tau) /
        # 2 pi GBW), fast enough to finish well inside the reset phase. Behavioural: an
        # ideal switch closed while V(rst) > 0.5. Transistor level: a transmission gate
        # on the op-amp's process, rst swinging between the rails (its charge injection
        # and clock feed-through land on the column and Cf when it opens).
        r_dump = p.t_reset_s / (10 * p.c_int_f)
        if p.transistor_reset:
            pr = p.cmos.process
            return (f"Cf out col {fmt(p.c_int_f)}\nErstb rstb 0 rst 0 -1\n"
                    + pr.transmission_gate("rs", "out", "col", "rst", "rstb",
                                           pr.tg_width_for(r_dump)))
        return (f"Cf out col {fmt(p.c_int_f)}\nS1 out col rst 0 sdump\n"
                f".model sdump sw(vt=0.5 vh=0.1 ron={fmt(r_dump)} roff=1e13)\n")

    def row_edge_s(self, p: SenseParams) -> float:
        return RZ_EDGE_S

    def settling_phases(self, p: SenseParams, k: int, t_sample):
        """(begin, end) arrays per phase: the row pulse, then (with a settling phase)
        from its end to the sampling instant, the op-amp recovering the error it held."""
        n = np.arange(k)
        pulse_end = (n + 1) * p.period_s - 2 * RZ_EDGE_S - p.t_settle_s
        phases = [(n * p.period_s + p.t_reset_s, pulse_end)]
        if p.t_settle_s > 0:
            phases.append((pulse_end + RZ_EDGE_S, t_sample))
        return phases


class Tia:
    """Transimpedance amplifier: the rows are held for the whole window and the output
    is sampled at its end; V_out = -I R_f."""

    name = "tia"
    integrating = False

    def t_rows_s(self, p: SenseParams) -> float:
        return p.period_s

    def transimpedance_ohm(self, p: SenseParams) -> float:
        return p.r_f_ohm

    def virtual_ground_v(self, p: SenseParams, i_col_a):
        """Offset through the loop plus the finite-gain error I (R_f + R_out) / (1 + A)."""
        a = p.opamp_gain
        return (a * p.total_offset_v + (p.r_f_ohm + p.r_out_ohm) * i_col_a) / (1 + a)

    def readout_a(self, p: SenseParams, i_col_a):
        """(I (A - R_out / R_f) - A V_os / R_f) / (1 + A): the output resistance shifts
        the output by I R_out / (1 + A)."""
        a, z = p.opamp_gain, p.r_f_ohm
        return (i_col_a * (a - p.r_out_ohm / z) - a * p.total_offset_v / z) / (1 + a)

    def sized(self, base: SenseParams, i_fs_a: float, swing_v: float) -> SenseParams:
        return dataclasses.replace(base, r_f_ohm=swing_v / i_fs_a)

    def current_from_output(self, p: SenseParams, v_out):
        return -v_out / p.r_f_ohm

    def feedback_spice(self, p: SenseParams) -> str:
        return f"Rf out col {fmt(p.r_f_ohm)}\n"

    def row_edge_s(self, p: SenseParams) -> float:
        return min(1e-9, p.t_reset_s / 4)

    def settling_phases(self, p: SenseParams, k: int, t_sample):
        """From the window's start to the sampling instant."""
        return [(np.arange(k) * p.period_s, t_sample)]


SENSE_KINDS: dict[str, Integrator | Tia] = {"integrator": Integrator(), "tia": Tia()}
"""Sensing kinds by name; a new kind is one class with these methods plus one entry."""


@dataclass(frozen=True)
class SenseParams:
    kind: str = "integrator"
    """integrator | tia."""
    opamp_gain: float = 1e5
    """Op-amp DC gain A."""
    gbw_hz: float = 5e9
    """Op-amp gain-bandwidth product (Hz)."""
    offset_v: float = 0.0
    """Op-amp input offset (V): the column sits at this voltage."""
    c_int_f: float = 1e-12
    """Integrator capacitor (F)."""
    r_f_ohm: float = 2e3
    """TIA feedback resistor (ohm)."""
    t_int_s: float = 50e-9
    """Integration (integrator) or settling (TIA) window per vector (s)."""
    t_reset_s: float = 10e-9
    """Reset phase before each window (s); the inputs step at its start."""
    t_settle_s: float = 0.0
    """Integrator: the row pulse ends this long before the window closes, so the
    op-amp settles (and the charge it held back arrives) before sampling (s)."""
    i_bias_a: float = 20e-6
    """Op-amp quiescent current (A), for the sensing block's energy."""
    vdd_v: float = 1.0
    """Op-amp supply (V), for the sensing block's energy."""
    r_out_ohm: float = 0.0
    """Op-amp open-loop output resistance (ohm): the input error grows by
    I_out R_out / A while the output sinks the column current."""
    offset_sys_v: float = 0.0
    """Systematic input offset of a transistor-level op-amp (V), as measured; the
    behavioural model adds it to ``offset_v`` (the transistor circuit has its own)."""
    tg_reset: bool = False
    """Transistor-level integrator: the reset switch is a transmission gate on the
    op-amp's process (its charge injection included) instead of an ideal switch; set
    where SAR ADC circuits share the deck (the ideal switch's hysteresis stalls
    ngspice's time step beside XSPICE devices)."""
    cmos: CmosOpamp | None = None
    """Transistor-level op-amp (SPICE face); None = the behavioural op-amp. With it,
    opamp_gain / gbw_hz / r_out_ohm / offset_sys_v / i_bias_a are the behavioural
    stand-in's figures (see cosim.benches.opamp.macro_model)."""

    @property
    def transistor_reset(self) -> bool:
        """The reset switch is a transmission gate (``tg_reset`` on a transistor-level
        op-amp); otherwise the ideal switch."""
        return self.cmos is not None and self.tg_reset

    def __post_init__(self) -> None:
        check_choice("sense.kind", self.kind, tuple(SENSE_KINDS))
        check_range("sense.opamp_gain", self.opamp_gain, 1.0, 1e9)
        check_range("sense.gbw_hz", self.gbw_hz, 1e3, 1e13)
        check_range("sense.offset_v", self.offset_v, -0.1, 0.1)
        check_range("sense.c_int_f", self.c_int_f, 1e-16, 1e-6)
        check_range("sense.r_f_ohm", self.r_f_ohm, 1.0, 1e9)
        check_range("sense.t_int_s", self.t_int_s, 1e-12, 1.0)
        check_range("sense.t_reset_s", self.t_reset_s, 1e-12, 1.0)
        check_range("sense.t_settle_s", self.t_settle_s, 0.0, self.t_int_s / 2)
        check_range("sense.i_bias_a", self.i_bias_a, 0.0, 1.0)
        check_range("sense.vdd_v", self.vdd_v, 0.0, 10.0)
        check_range("sense.r_out_ohm", self.r_out_ohm, 0.0, 1e9)
        check_range("sense.offset_sys_v", self.offset_sys_v, -0.1, 0.1)
        if self.cmos is not None and not isinstance(self.cmos, CmosOpamp):
            raise ParamError("sense.cmos", self.cmos, "must be a CmosOpamp or None")

    @property
    def level(self) -> str:
        return "behavioral" if self.cmos is None else "transistor"

    @property
    def signal_supply_v(self) -> float:
        """Supply the sunk signal current falls through: the whole supply for the
        behavioural class-A model, the lower rail (vdd / 2) for the split-rail CMOS one."""
        return self.vdd_v if self.cmos is None else self.vdd_v / 2

    @property
    def period_s(self) -> float:
        return self.t_reset_s + self.t_int_s

    @property
    def t_on_s(self) -> float:
        """Equivalent full-amplitude time of a return-to-zero row pulse in the window."""
        return self.t_int_s - 2 * RZ_EDGE_S - self.t_settle_s

    @property
    def sensor(self) -> Integrator | Tia:
        """The kind's behaviour (numpy and SPICE faces)."""
        return SENSE_KINDS[self.kind]

    @property
    def t_rows_s(self) -> float:
        """How long the rows are driven per vector: the pulse (integrator), the whole
        window (TIA)."""
        return self.sensor.t_rows_s(self)

    @property
    def transimpedance_ohm(self) -> float:
        """Output volts per input ampere at the sampling instant."""
        return self.sensor.transimpedance_ohm(self)

    def virtual_ground_v(self, i_col_a):
        """Column voltage while sensing a current I (see the kind's docstring)."""
        return self.sensor.virtual_ground_v(self, i_col_a)

    @property
    def total_offset_v(self) -> float:
        return self.offset_v + self.offset_sys_v

    def readout_a(self, i_col_a):
        """Current the sampled output stands for (see the kind's docstring)."""
        return self.sensor.readout_a(self, i_col_a)


LEVELS = ("behavioral", "transistor")
CMOS_SWING_V = 0.5
"""Output swing of the transistor-level read-out at full scale: the NMOS output
stage stays in saturation down to -0.5 V on -0.9 V rails."""
CMOS_T_INT_S = 100e-9
"""Integration window of the transistor-level read-out: the virtual-ground lift
I / (C 2 pi GBW) halves against 50 ns at the op-amp's ~200 MHz GBW."""
CMOS_SETTLE_S = 20e-9
"""Settling phase of the transistor-level integrator: its step response (52 degrees
of phase margin) rings down to 0.1 mV in ~17 ns (measured)."""


def sized_for(i_fs_a: float, kind: str = "integrator", swing_v: float | None = None,
              level: str = "behavioral", process: Process | None = None,
              output: str = "class_a", i_load_a: float = 0.0, **kw) -> SenseParams:
    """Sensing sized so the full-scale current gives ``swing_v`` at the sampling instant
    (C_int = I_fs t_int / swing, or R_f = swing / I_fs), as a designer would.

    ``level="transistor"`` adds the CMOS op-amp (``opamp_cmos.designed_for`` the full
    scale on ``process``, generic card by default, with a ``class_a`` or ``class_ab``
    output stage, 1.8 V supply, also driving a sampling load's peak ``i_load_a``) and
    a 0.5 V swing; its behavioural figures stay the defaults until
    ``cosim.benches.opamp.macro_model`` measures them.
    """
    check_range("i_fs_a", i_fs_a, 0.0, 1.0, lo_open=True)
    check_choice("sense.level", level, LEVELS)
    if level == "behavioral":
        asked = ([("pdk", process.label)] if process not in (None, GENERIC) else []) + (
            [("output_stage", output)] if output != "class_a" else [])
        if asked:
            raise ParamError(*asked[0], "a process or output stage needs the "
                             "transistor-level periphery (periphery_level transistor)")
    if level == "transistor" and "cmos" not in kw:
        kw = {"cmos": opamp_cmos.designed_for(i_fs_a, process or GENERIC, output, i_load_a),
              "vdd_v": 1.8, "t_int_s": CMOS_T_INT_S, "t_settle_s": CMOS_SETTLE_S, **kw}
    if swing_v is None:
        swing_v = CMOS_SWING_V if level == "transistor" else 1.0
    check_range("swing_v", swing_v, 0.0, 10.0, lo_open=True)
    base = SenseParams(kind=kind, **kw)
    return base.sensor.sized(base, i_fs_a, swing_v)


def subckt_name(p: SenseParams) -> str:
    import hashlib

    return f"sense_{p.kind}_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def spice_subckt(p: SenseParams) -> str:
    if p.cmos is not None:
        lines = [opamp_cmos.spice_subckt(p.cmos),
                 f".subckt {subckt_name(p)} col out rst vdd vss\n",
                 p.cmos.process.subckt_models() if p.tg_reset else "",
                 f"Vos ref 0 {fmt(p.offset_v)}\n",
                 f"Xa ref col out vdd vss {opamp_cmos.subckt_name(p.cmos)}\n"]
    else:
        c1 = p.opamp_gain / (2 * math.pi * p.gbw_hz * R1_OHM)
        gm = p.opamp_gain / R1_OHM
        # The output resistance enters at the input, as the error R_out I_out / A the
        # loop must hold to deliver I_out (Vo meters it): the same DC output as a
        # resistor at the pin, but settling at the loop's speed. A resistor at the pin
        # starves a low-impedance column's loop (feedback factor ~ R_col / R_out):
        # 24 LSB of unsettled output on a 32x32 FeFET TIA with R_out = 98 kOhm.
        r_in = p.r_out_ohm / p.opamp_gain
        lines = [f".subckt {subckt_name(p)} col out rst\n",
                 f"G1 0 p value={{(V(col)-{fmt(p.total_offset_v)}"
                 + (f"+{fmt(r_in)}*I(Vo)" if r_in > 0 else "") + f")*{fmt(gm)}}}\n",
                 f"R1 p 0 {fmt(R1_OHM)}\nC1 p 0 {fmt(c1)}\n",
                 "Eo oi 0 p 0 -1\nVo oi out 0\n"]
    lines.append(p.sensor.feedback_spice(p))
    lines.append(".ends\n")
    return "".join(lines)
