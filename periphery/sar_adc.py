"""Charge-redistribution SAR ADC as a circuit: a differential capacitive DAC of unit
capacitors (with mismatch), the StrongARM comparator, transistor sample and
bottom-plate switches, and the successive-approximation register as XSPICE digital
gates and flip-flops.

Conversion (top-plate sampling, differential, ``bits`` = N):

    sample : the transmission gates connect tp to inp and tn to inn; the register is
             held at D = 100..0 (the MSB on trial), so bottom plate k of the p side
             sits at vrp if D_k else vrn (the n side at the complement); the dummy
             unit capacitors' bottoms at 0 V.
    hold   : the gates open (charge injection and clock feed-through land on tp, tn);
             the dummies' bottoms step to vrn (p) and vrp (n), moving tp - tn down
             by half an LSB, so the codes round instead of truncating.
    bit k  : the comparator (inp = tn, inn = tp) decides tn > tp, i.e. the input is
             above the trial level: keep D_k; on the register clock D_k takes the
             decision and the next bit goes on trial. Kickback of the latch lands on
             the floating top plates.

With C_k = 2^k C_u and the total 2^N C_u per side (the dummy included), the top
plates move by 2 V_r 2^k / 2^N each when bit k flips, so the differential LSB is
4 V_r / 2^N. Signed conversion (``signed``): code = D - 2^(N-1) = round((V(inn) -
V(inp)) / LSB), the sensing's inverting output read the right way round. Unsigned:
the n side samples a reference at -2^(N-1) LSB instead of a second column, so
code = D = round(-V(inp) / LSB).

The register (one-hot token T, D_k <- T_k ? keep : (T_k+1 | D_k)) is event-driven
XSPICE; its outputs cross into the analog circuit through bridges and drive each
bit's switches through two transistor inverters on the rails, so the energy per
conversion is what the rails (comparator, drivers) and the references (the DAC's
switching) deliver. The logic's own energy is not simulated (XSPICE gates carry
none), nor the clocks' (ideal sources).

The comparator clock is gated: it runs only while a bit is on trial and the input is
not being sampled, so a conversion costs N decisions.

Common-mode lift: the top plates hold the inputs' common mode, which the array's
sensing outputs put anywhere in [-swing, 0]. The NMOS-input StrongARM on sky130
stops deciding below about -0.3 V (measured: wrong codes at -0.45 V). A lift
capacitor per side, its bottom driven from the lower to the upper rail shortly
after the hold, moves both top plates up by ``lift_v`` (a common-mode step; its
mismatch between the sides is a small differential offset). It attenuates the DAC's
steps, which the reference trim takes up, and costs C_lift V_dd^2 per conversion.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np

from device_models import sky130
from device_models.spice_text import fmt
from device_models.validation import ParamError, check_int, check_range
from periphery import comparator_cmos
from periphery.comparator_cmos import StrongArmParams
from periphery.converters import AdcCodeRange
from periphery.process import GENERIC, Process

DIGITAL_DELAY_S = 10e-12
"""Propagation delay of every XSPICE gate, flip-flop and bridge: small against a bit
period, so the register's timing is the clocks'."""
BRIDGE_EDGE_S = 200e-12
"""Rise and fall time of the digital-to-analog bridges that drive the switch drivers
and the comparator clock. At 50 ps ngspice's time step collapsed where the sky130
StrongARM resets on a falling clock in an 8x8 array's deck; 200 ps is still short
against the 5 ns bit."""
CLOCK_EDGE_S = 100e-12
"""Edges of the sample and bit clocks."""
DEFAULT_CM_LIFT_V = {"sky130": 0.45}
"""The common-mode lift per process where ``cm_lift_v`` is None (others: none)."""
SAMPLE_TAUS = 20
"""Tracking time over the sample switches' time constant (nominal corner): 20 leaves
e^-10 of a step at the slow corner, where the switches are about twice as slow. With
2 um switches on sky130 the first conversion at ss kept 30 mV (8 LSB) of the bottom
plates' kick into the sampling state."""
CM_LIFT_DELAY_S = 0.3e-9
"""The lift's bottom plates rise this long after the sample switches open, so the
lift does not reach the sensing outputs."""
T_GUARD_S = 0.5e-9
"""The sample switch opens this long before the sensing window ends (before the
integrator's reset starts)."""


@dataclass(frozen=True)
class SarAdcCircuit(AdcCodeRange):
    bits: int = 8
    """Resolution N."""
    signed: bool = True
    """Bipolar (differential columns) or unipolar input range."""
    lsb_v: float = 0.5 / 127
    """Differential input LSB (V): the sensing's swing over the largest code."""
    cu_f: float = 2e-15
    """Unit capacitor (F): 2^N of them per side."""
    sigma_cu: float = 0.01
    """Relative mismatch of one unit capacitor (1 sigma): a ~2 fF metal-insulator-metal
    unit matches to about 1 % (the DNL's source; an assumption, set it from the
    foundry's matching data)."""
    v_ref_scale: float = 1.0
    """Reference trim: V_r is scaled by this factor. The top plates' parasitic
    capacitance (comparator gates, switch junctions) attenuates the DAC's steps; a
    one-time gain calibration (``cosim.benches.sar_adc.trimmed``) scales the
    reference to match, as a converter's trim does."""
    cap_seed: int = 0
    """Seed of the unit capacitors' draw (a converter's fixed mismatch)."""
    t_bit_s: float = 5e-9
    """Bit period (s): comparator clock high for half of it, register clock at 30 %."""
    t_track_s: float = 20e-9
    """Sampling (tracking) time before the hold instant (s)."""
    w_sample_m: float | None = None
    """Sample-switch NMOS width (m; the PMOS twice as wide). None: sized for a
    tracking time constant of ``t_track_s`` / ``SAMPLE_TAUS`` through the side's whole
    capacitance at the process's nominal on-resistance (``sample_width_m``); at
    sky130 ss the switch is twice as slow and still settles."""
    w_switch_unit_m: float = 0.05e-6
    """Bottom-plate NMOS switch width per unit capacitor (m), at least the process
    minimum; PMOS twice as wide, drivers half the switch."""
    vdd_v: float = 1.8
    """Rails at +-vdd / 2 for the switches, drivers and comparator."""
    cm_lift_v: float | None = None
    """Common-mode lift of the top plates at the hold (V; 0: none): keeps the
    comparator's inputs in its range for sensing outputs down to -0.5 V. None: 0.45 V
    on sky130, none on the generic card (its StrongARM decides at the array's common
    mode, and with the lift its ramp's DNL went from 1.5 to 3.3 LSB)."""
    process: Process = GENERIC
    """Transistors: generic card or sky130 at a corner (with mismatch for Monte Carlo)."""
    comparator: StrongArmParams | None = field(default=None)
    """The comparator; None: ``comparator_cmos.designed_for(process)``."""

    def __post_init__(self) -> None:
        check_int("sar.bits", self.bits, 2, 12)
        check_range("sar.lsb_v", self.lsb_v, 1e-6, 0.5)
        check_range("sar.cu_f", self.cu_f, 1e-17, 1e-12)
        check_range("sar.sigma_cu", self.sigma_cu, 0.0, 0.2)
        check_int("sar.cap_seed", self.cap_seed, 0)
        check_range("sar.v_ref_scale", self.v_ref_scale, 0.5, 2.0)
        check_range("sar.t_bit_s", self.t_bit_s, 0.1e-9, 1e-6)
        check_range("sar.t_track_s", self.t_track_s, 0.1e-9, 1e-5)
        if self.w_sample_m is not None:
            check_range("sar.w_sample_m", self.w_sample_m, 0.42e-6, 1e-3)
        check_range("sar.w_switch_unit_m", self.w_switch_unit_m, 1e-9, 1e-4)
        check_range("sar.vdd_v", self.vdd_v, 1.2, 5.0)
        if self.cm_lift_v is not None:
            check_range("sar.cm_lift_v", self.cm_lift_v, 0.0, self.vdd_v / 2)
        cp = self.comparator.process if self.comparator is not None else self.process
        if (cp.pdk == self.process.pdk == "sky130"
                and (cp.corner, cp.mismatch) != (self.process.corner, self.process.mismatch)):
            raise ParamError("sar.comparator.process", f"{cp.corner}, mismatch {cp.mismatch}",
                             f"the converter's own ({self.process.corner}, mismatch "
                             f"{self.process.mismatch}): one deck reads one sky130 section")
        if self.v_ref_v > self.vdd_v / 2:
            raise ParamError("sar.lsb_v", self.lsb_v, f"needs a reference 2^N LSB / 4 = "
                             f"{self.v_ref_v:.3g} V within the rails (+-{self.vdd_v / 2} V)")

    @property
    def v_ref_v(self) -> float:
        """Reference V_r: the DAC's differential LSB is 4 V_r / 2^N (times the trim)."""
        return self.lsb_v * 2**self.bits / 4 * self.v_ref_scale

    @property
    def sample_width_m(self) -> float:
        """The sample switches' NMOS width (m): ``w_sample_m`` or the sized one."""
        if self.w_sample_m is not None:
            return self.w_sample_m
        c_side = (2**self.bits + 1 + self.cm_units) * self.cu_f
        return self.process.tg_width_for(self.t_track_s / SAMPLE_TAUS / c_side)

    @property
    def cm_units(self) -> int:
        """Unit capacitors of the lift, per side: C_lift / (2^N C_u + C_lift) V_dd is
        the lift (the parasitics make it a little less)."""
        return round(2**self.bits * self.lift_v / (self.vdd_v - self.lift_v))

    @property
    def lift_v(self) -> float:
        """The common-mode lift (V): ``cm_lift_v`` or the process's default."""
        if self.cm_lift_v is not None:
            return self.cm_lift_v
        return DEFAULT_CM_LIFT_V.get(self.process.pdk, 0.0)

    @property
    def strongarm(self) -> StrongArmParams:
        c = self.comparator or comparator_cmos.designed_for(self.process)
        return dataclasses.replace(c, vdd_v=self.vdd_v)

    def conversion_s(self) -> float:
        """Tracking plus N decisions plus half a bit of top-plate settling and a bit of
        margin for the last register update (s): the shortest period it fits."""
        return self.t_track_s + T_GUARD_S + (self.bits + 1.5) * self.t_bit_s

    def check_period(self, period_s: float) -> None:
        if self.conversion_s() > period_s:
            raise ParamError("sar.t_bit_s", self.t_bit_s, f"tracking {self.t_track_s:.3g} s "
                             f"plus {self.bits} bits do not fit the {period_s:.3g} s period "
                             f"(needs {self.conversion_s():.3g} s)")


def for_sensing(bits: int, signed: bool, lsb_a: float, sense, dnl_seed: int = 0
                ) -> SarAdcCircuit:
    """The converter behind a transistor-level read-out (``SenseParams`` with ``cmos``):
    its LSB is the output voltage of one current LSB (``lsb_a``), on the op-amp's
    process and rails, its capacitors drawn from ``dnl_seed``."""
    lsb_v = lsb_a / float(sense.sensor.current_from_output(sense, -1.0))
    return SarAdcCircuit(bits=bits, signed=signed, lsb_v=lsb_v, cap_seed=dnl_seed,
                         process=sense.cmos.process, vdd_v=sense.vdd_v)


def sampling_current_a(bits: int, swing_v: float, p: SarAdcCircuit | None = None) -> float:
    """Peak current a sensing output delivers into one side of the capacitive DAC:
    2^N C_u charged across twice the swing in a quarter of the tracking time (the
    top plate starts from the last residue, with the bottoms back at the sampling
    state)."""
    p = p or SarAdcCircuit()
    return (2**bits + p.cm_units) * p.cu_f * 2 * swing_v / (p.t_track_s / 4)


def capacitors(p: SarAdcCircuit, converter: int = 0) -> np.ndarray:
    """(2, N + 2) capacitances (F): per side (p, n), the dummy unit, bit 0..N-1, then
    the common-mode lift, each the sum of its units' draws (the converter's own
    stream from ``cap_seed``; the lift's are drawn last, so the others do not depend
    on it)."""
    rng = np.random.default_rng([p.cap_seed, converter])
    units = 2 ** np.arange(p.bits)
    out = np.empty((2, p.bits + 2))
    for side in range(2):
        out[side, 0] = p.cu_f * (1 + p.sigma_cu * rng.standard_normal())
        for k, n in enumerate(units):
            out[side, k + 1] = p.cu_f * (n + p.sigma_cu * np.sqrt(n) * rng.standard_normal())
    n_cm = p.cm_units
    out[:, -1] = p.cu_f * (n_cm + p.sigma_cu * np.sqrt(n_cm) * rng.standard_normal(2))
    return out


def bit_capacitors(caps: np.ndarray) -> np.ndarray:
    """(2, N) the bit capacitors of ``capacitors``' output."""
    return caps[:, 1:-1]


def subckt_name(p: SarAdcCircuit) -> str:
    return f"sar_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def _cap_param(side: int, k: int | str | None) -> str:
    """Subcircuit parameter of one capacitor: side 0 p / 1 n, bit k, None (dummy) or
    "cm" (the common-mode lift)."""
    return ("cp" if side == 0 else "cn") + ("d" if k is None else str(k))


def _cap_keys(bits: int) -> list:
    """The capacitor parameters in ``capacitors``' column order."""
    return [None, *range(bits), "cm"]


def spice_subckt(p: SarAdcCircuit) -> str:
    """``<name> inp inn code samp sampb mclk rclk liftb vdd vss vrp vrn`` with capacitor
    parameters (``instance``); preceded by the comparator and the process's library.
    ``code`` is a probe: the register's code as a voltage (1 V per code)."""
    pr, n = p.process, p.bits
    lm = pr.l_min_m
    h = fmt(p.vdd_v / 2)
    cmp = p.strongarm

    def m(k, d, g, s, pol, w):
        return pr.mos(k, d, g, s, "vdd" if pol == "p" else "vss", pol, w, lm)

    d = fmt(DIGITAL_DELAY_S)
    # the lift's driver: both lift capacitors through about 300 ohm (tau well under
    # the half bit before the first decision)
    w_cm = pr.tg_width_for(300.0)
    # common-mode lift: bottoms at the upper rail from a delay after the hold until
    # the last decision is in (the lift clock liftb low), else at the lower one, so
    # the lift comes off while the top plates float, not into the sensing outputs
    # when the sample switches close; an inverter on the rails
    lift = ("" if p.cm_units == 0 else
            m("cmp", "bcm", "liftb", "vdd", "p", 2 * w_cm)
            + m("cmn", "bcm", "liftb", "vss", "n", w_cm)
            + "Cpcm tp bcm {cpcm}\nCncm tn bcm {cncm}\n")
    params = " ".join(f"{_cap_param(s, k)}=1f" for s in range(2) for k in _cap_keys(n))
    # the comparator's library line and the converter's, read once (the same
    # section twice fails in ngspice; two sections cannot share a deck)
    lines = [sky130.selected_once(comparator_cmos.spice_subckt(cmp) + pr.deck_models()),
             f".subckt {subckt_name(p)} inp inn code samp sampb mclk rclk liftb vdd vss vrp vrn "
             f"params: {params}\n", pr.subckt_models(),
             f".model sar_ab adc_bridge(in_low=-0.1 in_high=0.1 rise_delay={d} "
             f"fall_delay={d})\n",
             f".model sar_da dac_bridge(out_low=-{h} out_high={h} out_undef=0 "
             f"t_rise={fmt(BRIDGE_EDGE_S)} t_fall={fmt(BRIDGE_EDGE_S)})\n",
             f".model sar_ff d_dff(clk_delay={d} set_delay={d} reset_delay={d} "
             f"rise_delay={d} fall_delay={d})\n",
             f".model sar_and d_and(rise_delay={d} fall_delay={d})\n",
             f".model sar_or d_or(rise_delay={d} fall_delay={d})\n",
             ".model sar_zero d_pulldown\n",
             "Azero zero sar_zero\n",
             "Aclk [samp mclk rclk outp] [s_d m_d r_d keep] sar_ab\n",
             "Asn [sampb] [sn_d] sar_ab\n",
             # sample switches: transmission gates
             pr.transmission_gate("sp", "inp", "tp", "samp", "sampb", p.sample_width_m),
             pr.transmission_gate("sn", "inn", "tn", "samp", "sampb", p.sample_width_m),
             # dummies: bottoms at 0 V while sampling, then vrn (p) and vrp (n)
             "Cpd tp bpd {cpd}\nCnd tn bnd {cnd}\n",
             m("dp0", "bpd", "samp", "0", "n", pr.w_min_m),
             m("dp1", "bpd", "sampb", "vrn", "n", pr.w_min_m),
             m("dn0", "bnd", "samp", "0", "n", pr.w_min_m),
             m("dn1", "bnd", "samp", "vrp", "p", 2 * pr.w_min_m),
             lift,
             f"Xcmp tn tp cclk outp outn vdd vss {comparator_cmos.subckt_name(cmp)}\n",
             "Cop outp 0 2f\nCon outn 0 2f\n",
             # comparator clock: the bit clock while a bit is on trial, not sampling
             f"Abusy [{' '.join(f't{k}' for k in range(n))}] busy sar_or\n",
             "Acg [m_d busy sn_d] cclk_d sar_and\n",
             "Acclk [cclk_d] [cclk] sar_da\n"]
    for k in range(n):
        top = k == n - 1
        nxt = "zero" if top else f"t{k + 1}"
        setrst = "s_d NULL" if top else "NULL s_d"
        w = max(pr.w_min_m, p.w_switch_unit_m * 2**k)
        wd = max(pr.w_min_m, w / 2)
        lines += [
            f"At{k} {nxt} r_d {setrst} t{k} tb{k} sar_ff\n",
            f"Aa{k} [t{k} keep] a{k} sar_and\n",
            (f"Ao{k} [{nxt} d{k}] o{k} sar_or\n" if not top else ""),
            f"Ab{k} [tb{k} {'d' + str(k) if top else 'o' + str(k)}] b{k} sar_and\n",
            f"Ad{k} [a{k} b{k}] dn{k} sar_or\n",
            f"Ar{k} dn{k} r_d {setrst} d{k} NULL sar_ff\n",
            f"Ada{k} [d{k}] [da{k}] sar_da\n",
            # drivers: gp = not D (p-side gates), gn = D (n-side gates)
            m(f"ip{k}", f"gp{k}", f"da{k}", "vdd", "p", 2 * wd),
            m(f"in{k}", f"gp{k}", f"da{k}", "vss", "n", wd),
            m(f"jp{k}", f"gn{k}", f"gp{k}", "vdd", "p", 2 * wd),
            m(f"jn{k}", f"gn{k}", f"gp{k}", "vss", "n", wd),
            # bottom plates: p side at vrp when D_k, n side at vrn when D_k
            m(f"bpp{k}", f"bp{k}", f"gp{k}", "vrp", "p", 2 * w),
            m(f"bpn{k}", f"bp{k}", f"gp{k}", "vrn", "n", w),
            m(f"bnp{k}", f"bn{k}", f"gn{k}", "vrp", "p", 2 * w),
            m(f"bnn{k}", f"bn{k}", f"gn{k}", "vrn", "n", w),
            f"Cp{k} tp bp{k} {{cp{k}}}\nCn{k} tn bn{k} {{cn{k}}}\n"]
    offset = 2 ** (n - 1) if p.signed else 0
    bits = "+".join(f"{2**k}*u(v(gn{k}))" for k in range(n))
    lines += [f"Bcode code 0 V={bits}-{offset}\n", ".ends\n"]
    return "".join(lines)


def instance(name: str, p: SarAdcCircuit, inp: str, inn: str, code: str,
             caps: np.ndarray) -> str:
    """One converter (``caps`` from ``capacitors``) on the shared clocks, rails and
    references of ``spice_clocks``."""
    values = " ".join(f"{_cap_param(s, k)}={fmt(caps[s, j])}" for s in range(2)
                      for j, k in enumerate(_cap_keys(p.bits)))
    return (f"X{name} {inp} {inn} {code} samp sampb mclk rclk liftb avdd avss vrp vrn "
            f"{subckt_name(p)} {values}\n")


def hold_times_s(period_s: float, k: int) -> np.ndarray:
    """When each of ``k`` samples is held: just before each period ends."""
    return (np.arange(k) + 1) * period_s - T_GUARD_S


def read_times_s(p: SarAdcCircuit, period_s: float, k: int) -> np.ndarray:
    """When each conversion's code is final: one period after its hold, just before
    the next sample starts (so a deck of k samples runs k + 1 periods)."""
    return hold_times_s(period_s, k) + period_s - p.t_track_s - 2 * CLOCK_EDGE_S


def cycle_start_s(p: SarAdcCircuit, period_s: float) -> float:
    """Where a sample's cycle (its sampling, then the next period's conversion) starts,
    from its vector's window start; also how long a transient runs past its last
    window so the last cycle completes."""
    return period_s - T_GUARD_S - p.t_track_s


def bit_period_s(p: SarAdcCircuit, period_s: float) -> float:
    """The bit period the clocks run at: ``t_bit_s`` rounded so a whole number of bits
    fits the period (the bit clock keeps its phase to the sample clock)."""
    return period_s / max(1, round(period_s / p.t_bit_s))


def spice_clocks(p: SarAdcCircuit, period_s: float) -> str:
    """Top-level clocks, rails and references shared by every converter: sample
    (high for ``t_track_s`` up to each hold instant), the bit clock (rising half a bit
    after the hold), the register clock (30 % of a bit after it), the common-mode lift
    (low from ``CM_LIFT_DELAY_S`` after the hold until N + 1 bits after it)."""
    h = fmt(p.vdd_v / 2)
    e = CLOCK_EDGE_S
    tb = bit_period_s(p, period_s)
    t_start = period_s - T_GUARD_S - p.t_track_s
    m_rise = (period_s - T_GUARD_S + tb / 2) % tb
    half_scale = -(2 ** (p.bits - 1)) * p.lsb_v
    return (f"Vavdd avdd 0 {h}\nVavss avss 0 -{h}\n"
            f"Vrp vrp 0 {fmt(p.v_ref_v)}\nVrn vrn 0 {fmt(-p.v_ref_v)}\n"
            f"Vsamp samp 0 PULSE(-{h} {h} {fmt(t_start)} {fmt(e)} {fmt(e)} "
            f"{fmt(p.t_track_s - e)} {fmt(period_s)})\n"
            f"Vsampb sampb 0 PULSE({h} -{h} {fmt(t_start)} {fmt(e)} {fmt(e)} "
            f"{fmt(p.t_track_s - e)} {fmt(period_s)})\n"
            f"Vmclk mclk 0 PULSE(-{h} {h} {fmt(m_rise)} {fmt(e)} {fmt(e)} "
            f"{fmt(tb / 2 - e)} {fmt(tb)})\n"
            f"Vrclk rclk 0 PULSE(-{h} {h} {fmt(m_rise + 0.3 * tb)} {fmt(e)} {fmt(e)} "
            f"{fmt(tb / 2 - e)} {fmt(tb)})\n"
            f"Vliftb liftb 0 PULSE({h} -{h} {fmt(period_s - T_GUARD_S + CM_LIFT_DELAY_S)} "
            f"{fmt(e)} {fmt(e)} {fmt((p.bits + 1) * tb - CM_LIFT_DELAY_S)} {fmt(period_s)})\n"
            + ("" if p.signed else f"Vadcref {UNSIGNED_REF} 0 {fmt(half_scale)}\n"))


TRAN_OPTIONS = ("reltol=1e-4", "abstol=1e-10", "vntol=1e-6")
"""Transient tolerances of a deck with converters: at reltol 1e-5 ngspice's time step
collapses where the latch regenerates on an XSPICE-bridged clock edge; 1e-4 keeps an
integrator's charge error near 1e-4 of full scale (0.01 LSB at 8 bits). With the
array's abstol 1e-13 A and vntol 1e-8 V the sky130 StrongARM's reset edge collapsed
the step at the ff corner; 0.1 nA and 1 uV are 2e-4 and 3e-4 of an 8-bit LSB
(0.4 uA, 3.9 mV on an 8x8 array)."""
UNSIGNED_REF = "aref"
"""Node an unsigned converter's n side samples: -2^(N-1) LSB."""
ADC_RAILS = ("i(vavdd)", "i(vavss)", "i(vrp)", "i(vrn)")
"""Currents into the + terminals of the converters' rails and references."""


def power_w(p: SarAdcCircuit, plot) -> np.ndarray:
    """What the rails and references deliver to the converters (W), over time."""
    h = p.vdd_v / 2
    return (-h * plot["i(vavdd)"] + h * plot["i(vavss)"]
            - p.v_ref_v * plot["i(vrp)"] + p.v_ref_v * plot["i(vrn)"])


def codes_from(plot, probe: str, p: SarAdcCircuit, period_s: float, k: int) -> np.ndarray:
    """The codes of ``k`` conversions read from a ``code`` probe."""
    v = np.interp(read_times_s(p, period_s, k), plot["time"], plot[probe])
    return np.clip(np.rint(v), p.min_code, p.max_code).astype(np.int64)
