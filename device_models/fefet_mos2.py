"""MoS2-channel ferroelectric FET (HfZrO gate): compact model with a numpy and a SPICE face.

State. The gate stack holds N ferroelectric domains, each up (+1) or down
(-1); the normalised polarization P = mean(domains) in [-1, 1] shifts the
threshold voltage across the memory window MW:

    Vth(P) = vth_mid - (MW / 2) * P + dvth          (P = +1: low Vth, "on")

Switching (nucleation-limited, NLS). A domain switches once the time it has
spent under a gate voltage of the switching polarity reaches its Merz-law time
tau(V) = tau0 * exp((Ea / |V|)^alpha), Ea drawn per domain. Partial progress
accumulates over pulses (progress += width / tau(V)); a domain's progress
resets when it switches. Fixed-amplitude pulse trains therefore give analog,
monotonic, saturating levels; mixed amplitudes give minor loops.

Quasi-static hysteresis (Preisach). For a slow sweep that dwells t_dwell at
each voltage, each domain acts as a hysteron whose coercive gate voltage is
where tau(Vc) = t_dwell:  Vc = Ea / ln(t_dwell / tau0)^(1/alpha). This is the
quasi-static limit of the same NLS parameters, so sweeps and pulses agree.

Channel. EKV-style interpolation valid from subthreshold to strong inversion,
source/drain symmetric, with a leakage floor set by the on/off ratio:

    I = I_spec [F((Vg - Vth)/n - Vs) - F((Vg - Vth)/n - Vd)] + g_off (Vd - Vs)
    F(u) = ln(1 + exp(u / (2 phi_t)))^2,   I_spec = 2 n mu C (W/L) phi_t^2,
    n = SS / (ln(10) phi_t)

Stochastic switching. Nucleation is a Poisson process: a domain flips once its
accumulated progress (sum of dt / tau(V)) passes a threshold drawn from Exp(1)
when it last switched (1 for every domain with ``stochastic_switching`` off),
so the mean switching time is tau and a pulse train's outcome varies from
write to write. That spread *is* the cycle-to-cycle (C2C) variation of pulse
writes; it is measured (``cosim device``), not set.

Non-idealities, each drawn from a passed numpy Generator: device-to-device
Vth offsets; C2C of direct (not pulse-simulated) programming, ``c2c_frac``: the
sigma of the written Vth as a fraction of the memory window, its one meaning;
relative read noise per read; retention drift of P toward 0 linear in log
time; read disturb (the read gate bias is a small write pulse, ``apply_stress``);
and endurance: the window closes with polarization-reversal cycles.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_int, check_range

K_B = 1.380649e-23
Q_E = 1.602176634e-19


@dataclass(frozen=True)
class FefetParams:
    # Ferroelectric gate
    t_fe_m: float = 10e-9
    """Ferroelectric (HZO) thickness (m)."""
    ec_v_per_m: float = 1.0e8
    """Coercive field (V/m); 1 MV/cm. Bounds the memory window by 2 Ec t_fe."""
    memory_window_v: float = 1.6
    """Threshold shift between fully down and fully up polarization (V)."""
    vth_mid_v: float = 0.0
    """Threshold voltage at zero net polarization (V)."""
    n_domains: int = 64
    """Ferroelectric domains per device (analog resolution of the state)."""
    # Switching kinetics (NLS, Merz law)
    tau0_s: float = 20e-9
    """Merz-law attempt time (s)."""
    alpha: float = 3.0
    """Merz-law exponent."""
    ea_mean_v: float = 2.3
    """Mean activation voltage of the domains (V)."""
    ea_sigma_v: float = 0.4
    """Spread of the activation voltage across domains (V)."""
    # Channel (MoS2)
    mobility_m2_per_vs: float = 30e-4
    """Effective channel mobility (m^2/Vs); 30 cm^2/Vs."""
    c_gate_f_per_m2: float = 0.01
    """Effective gate capacitance per area (F/m^2); 1 uF/cm^2."""
    width_m: float = 1e-6
    """Channel width (m)."""
    length_m: float = 1e-6
    """Channel length (m)."""
    ss_v_per_dec: float = 0.080
    """Subthreshold swing (V/decade)."""
    on_off_ratio: float = 1e6
    """Current at 1 V gate overdrive (Vds = 0.1 V) over the leakage floor."""
    temperature_k: float = 300.0
    """Device temperature (K)."""
    # Non-idealities
    sigma_vth_d2d_v: float = 0.03
    """Device-to-device threshold-voltage spread (V)."""
    c2c_frac: float = 0.003
    """Cycle-to-cycle variation of a direct write: sigma of the written Vth as a fraction
    of the memory window. Pulse writes get theirs from stochastic switching instead."""
    stochastic_switching: bool = True
    """Domains nucleate at Exp(1)-distributed progress thresholds (Poisson nucleation);
    off: every domain flips exactly when its progress reaches 1."""
    read_noise_frac: float = 0.005
    """Relative read noise per read (1/f + thermal lumped), 1 sigma."""
    retention_loss_per_decade: float = 0.02
    """Fraction of the polarization lost per decade of time after retention_t0_s."""
    retention_t0_s: float = 1.0
    """Time after programming where retention loss starts to count (s)."""
    endurance_onset_cycles: float = 1e5
    """Polarization-reversal cycles after which the memory window starts to close."""
    window_loss_per_decade: float = 0.1
    """Fraction of the memory window lost per decade of cycles beyond the onset."""
    remanent_pol_c_per_m2: float = 0.2
    """Remanent polarization Pr (C/m^2; 20 uC/cm^2): switching charge of a write."""

    def __post_init__(self) -> None:
        check_range("t_fe_m", self.t_fe_m, 1e-9, 100e-9)
        check_range("ec_v_per_m", self.ec_v_per_m, 1e6, 1e10)
        bound = 2 * self.ec_v_per_m * self.t_fe_m
        check_range("memory_window_v", self.memory_window_v, 0.0, lo_open=True)
        if self.memory_window_v > bound * (1 + 1e-12):
            raise ParamError("memory_window_v", self.memory_window_v,
                             f"must not exceed 2 * ec_v_per_m * t_fe_m = {bound:g} V")
        check_range("vth_mid_v", self.vth_mid_v, -5.0, 5.0)
        check_int("n_domains", self.n_domains, 1, 10_000)
        check_range("tau0_s", self.tau0_s, 1e-15, 1.0)
        check_range("alpha", self.alpha, 0.5, 10.0)
        check_range("ea_mean_v", self.ea_mean_v, 0.0, 50.0, lo_open=True)
        check_range("ea_sigma_v", self.ea_sigma_v, 0.0, self.ea_mean_v / 2)
        check_range("mobility_m2_per_vs", self.mobility_m2_per_vs, 0.0, 1.0, lo_open=True)
        check_range("c_gate_f_per_m2", self.c_gate_f_per_m2, 0.0, 1.0, lo_open=True)
        check_range("width_m", self.width_m, 0.0, 1e-2, lo_open=True)
        check_range("length_m", self.length_m, 0.0, 1e-2, lo_open=True)
        check_range("temperature_k", self.temperature_k, 1.0, 600.0)
        ideal_ss = math.log(10) * self.phi_t_v
        check_range("ss_v_per_dec", self.ss_v_per_dec, ideal_ss, 1.0)
        check_range("on_off_ratio", self.on_off_ratio, 10.0, 1e15)
        check_range("sigma_vth_d2d_v", self.sigma_vth_d2d_v, 0.0, 1.0)
        check_range("c2c_frac", self.c2c_frac, 0.0, 0.5)
        check_range("read_noise_frac", self.read_noise_frac, 0.0, 0.5)
        check_range("retention_loss_per_decade", self.retention_loss_per_decade, 0.0, 1.0)
        check_range("retention_t0_s", self.retention_t0_s, 0.0, lo_open=True)
        check_range("endurance_onset_cycles", self.endurance_onset_cycles, 1.0, 1e15)
        check_range("window_loss_per_decade", self.window_loss_per_decade, 0.0, 1.0)
        check_range("remanent_pol_c_per_m2", self.remanent_pol_c_per_m2, 0.0, 1.0)

    @property
    def phi_t_v(self) -> float:
        """Thermal voltage kT/q (V)."""
        return K_B * self.temperature_k / Q_E

    @property
    def n_slope(self) -> float:
        """Subthreshold slope factor n = SS / (ln 10 phi_t)."""
        return self.ss_v_per_dec / (math.log(10) * self.phi_t_v)

    @property
    def i_spec_a(self) -> float:
        """EKV specific current 2 n mu C (W/L) phi_t^2 (A)."""
        return (2 * self.n_slope * self.mobility_m2_per_vs * self.c_gate_f_per_m2
                * self.width_m / self.length_m * self.phi_t_v**2)

    @property
    def gate_area_m2(self) -> float:
        return self.width_m * self.length_m

    @property
    def c_gate_f(self) -> float:
        """Gate capacitance of one device (F): what a write pulse charges."""
        return self.c_gate_f_per_m2 * self.gate_area_m2

    @cached_property
    def g_off_s(self) -> float:
        """Leakage conductance that sets the on/off ratio (S)."""
        vds, vth = 0.1, self.vth_mid_v
        i_on = _ekv(vth + 1.0, vds, 0.0, vth, self)
        return float(i_on / self.on_off_ratio / vds)


MOS2_HZO_DEFAULT = FefetParams()
"""Default MoS2-channel / 10 nm HZO FeFET. Sources of the numbers:

- t_fe 10 nm, Ec 1 MV/cm, window bound 2 Ec t_fe = 2 V, MW 1.6 V inside the
  1-2 V reported for 10 nm HZO FeFETs (Ning et al., Nat. Electron. 2025; HZO
  FeFET reviews).
- 64 domains, tau0 20 ns, alpha 3, Ea ~ N(2.3 V, 0.4 V): published NLS
  Verilog-A FeFET model defaults (20-64 domains); gives 16-32+ analog levels.
- SS 80 mV/dec, mobility 30 cm^2/Vs, on/off 1e6: MoS2 FET ranges (SS 70-90
  mV/dec, mu 10-100 cm^2/Vs, on/off 1e6-1e7).
- D2D Vth sigma 30 mV (tens of mV reported), C2C 0.3 % of the window, read
  noise 0.5 % (0.2-2.5 % reported), retention 2 %/decade (slow relaxation of P,
  linear in log time). The effective gate capacitance (1 uF/cm^2) is an
  assumption of this project, not a published figure.
- Endurance: HfO2 FeFET windows close after ~1e4-1e6 program/erase cycles
  (Mulaosmanovic et al., Nanotechnology 32, 502002, 2021, review); onset 1e5
  and 10 %/decade are this project's assumption inside that range, not a
  measurement of MoS2 devices.
- Pr 20 uC/cm^2: HZO films report 10-30 uC/cm^2 (same review).
"""


PRESETS: dict[str, FefetParams] = {"mos2_hzo": MOS2_HZO_DEFAULT}


def preset(name: str) -> FefetParams:
    """A named preset, or the path of a TOML file whose ``[fefet]`` table sets any of
    the parameters (the rest keep the default): what ``cosim fit`` writes."""
    if not str(name).endswith(".toml"):
        try:
            return PRESETS[name]
        except KeyError:
            raise ParamError("preset", name, f"must be one of {', '.join(PRESETS)} or a "
                             ".toml file") from None
    import tomllib
    from pathlib import Path

    path = Path(name)
    if not path.is_file():
        raise ParamError("preset", name, "no such file")
    try:
        table = tomllib.loads(path.read_text()).get("fefet")
    except tomllib.TOMLDecodeError as e:
        raise ParamError("preset", name, f"is not valid TOML ({e})") from None
    if not isinstance(table, dict):
        raise ParamError("preset", name, "needs a [fefet] table")
    known = {f.name for f in dataclasses.fields(FefetParams)}
    for key, value in table.items():
        if key not in known:
            raise ParamError(f"{name}: fefet.{key}", value, f"must be one of {sorted(known)}")
    try:
        return dataclasses.replace(MOS2_HZO_DEFAULT, **table)
    except ParamError as e:
        raise ParamError(f"{name}: fefet.{e.field}", e.value, e.allowed) from None


def preset_toml(p: FefetParams, comment: str = "") -> str:
    """A ``[fefet]`` table of every parameter (readable by ``preset``)."""
    lines = [f"# {line}" for line in comment.splitlines()] + ["[fefet]"]
    for f in dataclasses.fields(p):
        v = getattr(p, f.name)
        v = v.item() if hasattr(v, "item") else v  # numpy scalars as plain numbers
        lines.append(f"{f.name} = {str(v).lower() if isinstance(v, bool) else repr(v)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- channel (numpy face)

def _softplus_sq(u: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, u) ** 2


def _ekv(vg: np.ndarray, vd: np.ndarray, vs: np.ndarray, vth: np.ndarray,
         p: FefetParams) -> np.ndarray:
    vp = (np.asarray(vg) - vth) / p.n_slope
    two_phi = 2 * p.phi_t_v
    return p.i_spec_a * (_softplus_sq((vp - vs) / two_phi) - _softplus_sq((vp - vd) / two_phi))


def vth_v(pol: np.ndarray, p: FefetParams, dvth_v: np.ndarray | float = 0.0) -> np.ndarray:
    """Threshold voltage (V) for polarization P in [-1, 1] and a D2D offset."""
    return p.vth_mid_v - 0.5 * p.memory_window_v * np.asarray(pol) + dvth_v


def drain_current(vgs_v: np.ndarray, vds_v: np.ndarray, pol: np.ndarray, p: FefetParams,
                  dvth_v: np.ndarray | float = 0.0, vs_v: np.ndarray | float = 0.0
                  ) -> np.ndarray:
    """Drain current (A), drain to source. Terminal voltages are referred to the
    body (ground); ``vgs_v`` and ``vds_v`` are relative to the source ``vs_v``."""
    vs = np.asarray(vs_v, dtype=float)
    vg = np.asarray(vgs_v, dtype=float) + vs
    vd = np.asarray(vds_v, dtype=float) + vs
    vth = vth_v(pol, p, dvth_v)
    return _ekv(vg, vd, vs, vth, p) + p.g_off_s * (vd - vs)


def d_current_d_vd(vg_v, vd_v, vs_v, pol, p: FefetParams, dvth_v=0.0) -> np.ndarray:
    """dI/dVd (S) at fixed gate and source (used by Newton solves)."""
    vp = (np.asarray(vg_v) - vth_v(pol, p, dvth_v)) / p.n_slope
    two_phi = 2 * p.phi_t_v
    u = (vp - vd_v) / two_phi
    # d/du softplus(u)^2 = 2 softplus(u) sigmoid(u); du/dVd = -1/(2 phi_t)
    return p.i_spec_a * 2 * np.logaddexp(0.0, u) * _sigmoid(u) / two_phi + p.g_off_s


def d_current_d_vs(vg_v, vd_v, vs_v, pol, p: FefetParams, dvth_v=0.0) -> np.ndarray:
    """dI/dVs (S) at fixed gate and drain."""
    vp = (np.asarray(vg_v) - vth_v(pol, p, dvth_v)) / p.n_slope
    two_phi = 2 * p.phi_t_v
    u = (vp - vs_v) / two_phi
    return -p.i_spec_a * 2 * np.logaddexp(0.0, u) * _sigmoid(u) / two_phi - p.g_off_s


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(u)))


# ---------------------------------------------------------------- switching (numpy face)

@dataclass(frozen=True, eq=False)
class Domains:
    """Ferroelectric domain state of an array of devices, shape (..., n_domains)."""

    up: np.ndarray
    """True where a domain points up (+1)."""
    progress: np.ndarray
    """Accumulated switching progress toward the opposite state (sum of dt / tau)."""
    ea_v: np.ndarray
    """Activation voltage of each domain (V)."""
    threshold: np.ndarray | None = None
    """Progress at which each domain flips (Exp(1) draws; None = 1 for all)."""
    flips: np.ndarray | None = None
    """Domain reversals per device so far, shape (...) (None = 0): endurance cycles."""

    @property
    def polarization(self) -> np.ndarray:
        """Normalised polarization P in [-1, 1], shape (...)."""
        return 2.0 * self.up.mean(axis=-1) - 1.0

    def cycles(self) -> np.ndarray:
        """Equivalent full program/erase cycles per device (two reversals of every
        domain make one)."""
        n = self.up.shape[-1]
        return (np.zeros(self.up.shape[:-1]) if self.flips is None
                else self.flips / (2.0 * n))


def _thresholds(shape: tuple[int, ...], p: FefetParams,
                rng: np.random.Generator | None) -> np.ndarray | None:
    if not p.stochastic_switching or rng is None:
        return None
    return rng.exponential(1.0, shape)


def new_domains(shape: tuple[int, ...], p: FefetParams, rng: np.random.Generator,
                pol: float = -1.0) -> Domains:
    """Fresh devices with domains drawn per device; all down (pol=-1) or all up (+1)."""
    if pol not in (-1.0, 1.0):
        raise ParamError("pol", pol, "fresh devices start fully down (-1) or fully up (+1)")
    full = (*shape, p.n_domains)
    ea = np.maximum(rng.normal(p.ea_mean_v, p.ea_sigma_v, full), 0.05 * p.ea_mean_v)
    return Domains(up=np.full(full, pol > 0), progress=np.zeros(full), ea_v=ea,
                   threshold=_thresholds(full, p, rng), flips=np.zeros(shape))


def merz_tau_s(v: np.ndarray, ea_v: np.ndarray, p: FefetParams) -> np.ndarray:
    """Merz-law switching time (s) of domains with activation ea_v at |V|."""
    v = np.maximum(np.abs(np.asarray(v, dtype=float)), 1e-6)
    return p.tau0_s * np.exp(np.minimum((ea_v / v) ** p.alpha, 700.0))


def apply_stress(d: Domains, v_v: np.ndarray | float, t_s: np.ndarray | float,
                 p: FefetParams, rng: np.random.Generator | None = None) -> Domains:
    """Hold each device at gate-to-channel voltage ``v_v`` (sign = direction) for a total
    time ``t_s`` (both per device or scalar): domains opposite to the field advance
    by t / tau(V) and flip where they pass their threshold. Closed form: a flipped
    domain is aligned with the field and moves no more, so any split of t into
    pulses of one polarity gives the same state. With ``rng`` (and stochastic
    switching) each flipped domain draws its next threshold."""
    shape = d.up.shape[:-1]
    v = np.broadcast_to(np.asarray(v_v, dtype=float), shape)[..., None]
    t = np.broadcast_to(np.asarray(t_s, dtype=float), shape)[..., None]
    if t.size and t.min() < 0:
        raise ParamError("t_s", float(t.min()), "stress times must be >= 0")
    moving = np.where(v > 0, ~d.up, d.up) & (v != 0) & (t > 0)
    if not moving.any():
        return d
    prog = np.where(moving, d.progress + t / merz_tau_s(v, d.ea_v, p), d.progress)
    thr = 1.0 if d.threshold is None else d.threshold
    flip = moving & (prog >= thr)
    up = np.where(flip, ~d.up, d.up)
    prog = np.where(flip, 0.0, prog)
    threshold = d.threshold
    if flip.any() and d.threshold is not None:
        fresh = _thresholds(d.up.shape, p, rng)
        threshold = np.where(flip, 1.0 if fresh is None else fresh, d.threshold)
    flips = (np.zeros(shape) if d.flips is None else d.flips) + flip.sum(axis=-1)
    return Domains(up=up, progress=prog, ea_v=d.ea_v, threshold=threshold, flips=flips)


def apply_pulses(d: Domains, v_pulse_v: np.ndarray | float, width_s: float,
                 n: int | np.ndarray, p: FefetParams,
                 rng: np.random.Generator | None = None) -> Domains:
    """Apply n identical gate pulses (amplitude may differ per device, sign = direction;
    n may be one count or one per device): ``apply_stress`` for n x width."""
    check_range("width_s", width_s, 0.0, lo_open=True)
    counts = np.broadcast_to(np.asarray(n), d.up.shape[:-1])
    if counts.size and (not np.issubdtype(counts.dtype, np.integer) or counts.min() < 0):
        raise ParamError("n", n, "pulse counts must be non-negative integers")
    return apply_stress(d, v_pulse_v, counts * width_s, p, rng)


def window_factor(cycles: np.ndarray | float, p: FefetParams) -> np.ndarray:
    """Memory window left after ``cycles`` program/erase cycles, as a fraction of the
    fresh window (endurance; 1 up to ``endurance_onset_cycles``)."""
    c = np.maximum(np.asarray(cycles, dtype=float), 1.0)
    decades = np.log10(np.maximum(c / p.endurance_onset_cycles, 1.0))
    return np.clip(1.0 - p.window_loss_per_decade * decades, 0.0, 1.0)


def effective_polarization(d: Domains, p: FefetParams) -> np.ndarray:
    """Polarization as the channel sees it: the domains' P scaled by the window the
    device has left after its cycles (endurance)."""
    return d.polarization * window_factor(d.cycles(), p)


def write_energy_j(p: FefetParams, v_v: np.ndarray | float, pulses: np.ndarray | float,
                   d_pol: np.ndarray | float) -> float:
    """Energy a write spends in the devices: the gate charged to |V| and back for each
    pulse (C_g V^2) plus the switching charge Pr * A * |dP| moved at |V|."""
    v = np.abs(np.asarray(v_v, dtype=float))
    gate = p.c_gate_f * v**2 * np.asarray(pulses, dtype=float)
    switching = p.remanent_pol_c_per_m2 * p.gate_area_m2 * np.abs(np.asarray(d_pol)) * v
    return float(np.sum(gate) + np.sum(switching))


def coercive_v(ea_v: np.ndarray, p: FefetParams, t_dwell_s: float) -> np.ndarray:
    """Quasi-static (Preisach) coercive gate voltage of each domain for a dwell time."""
    if t_dwell_s <= p.tau0_s:
        raise ParamError("t_dwell_s", t_dwell_s, f"must exceed tau0_s={p.tau0_s:g}")
    return np.asarray(ea_v) / math.log(t_dwell_s / p.tau0_s) ** (1.0 / p.alpha)


def preisach_sweep(d: Domains, vg_v: np.ndarray, p: FefetParams, t_dwell_s: float
                   ) -> tuple[np.ndarray, Domains]:
    """Quasi-static gate sweep; returns P after each point (len(vg_v), ...) and the end state."""
    vc = coercive_v(d.ea_v, p, t_dwell_s)
    up = d.up.copy()
    pols = []
    for v in np.asarray(vg_v, dtype=float):
        up = np.where(v >= vc, True, np.where(-v >= vc, False, up))
        pols.append(2.0 * up.mean(axis=-1) - 1.0)
    return np.array(pols), Domains(up=up, progress=np.zeros_like(d.progress), ea_v=d.ea_v,
                                   threshold=d.threshold, flips=d.flips)


# ---------------------------------------------------------------- non-idealities

def draw_vth_offsets(shape: tuple[int, ...], p: FefetParams, rng: np.random.Generator
                     ) -> np.ndarray:
    """Device-to-device threshold offsets (V)."""
    return rng.normal(0.0, p.sigma_vth_d2d_v, shape)


def write_error(pol: np.ndarray, p: FefetParams, rng: np.random.Generator) -> np.ndarray:
    """Polarization actually written when aiming at ``pol`` (C2C, Vth-referred sigma)."""
    sigma_pol = 2.0 * p.c2c_frac  # sigma_Vth = c2c * MW and dVth = MW/2 dP
    return np.clip(np.asarray(pol) + rng.normal(0.0, sigma_pol, np.shape(pol)), -1.0, 1.0)


def read_noise(i_a: np.ndarray, p: FefetParams, rng: np.random.Generator) -> np.ndarray:
    """One noisy read of currents i_a (relative Gaussian, per read)."""
    i_a = np.asarray(i_a)
    return i_a * (1.0 + rng.normal(0.0, p.read_noise_frac, i_a.shape))


def retention_kept(t_s: np.ndarray | float, p: FefetParams) -> np.ndarray:
    """Fraction of the polarization left after t_s (s) of retention, linear in log time."""
    return np.maximum(0.0, 1.0 - p.retention_loss_per_decade
                      * np.log10(1.0 + np.asarray(t_s, dtype=float) / p.retention_t0_s))


def drift(pol: np.ndarray, t_s: float, p: FefetParams) -> np.ndarray:
    """Polarization after t_s of retention: relaxes toward 0, linear in log time."""
    check_range("t_s", t_s, 0.0)
    return np.asarray(pol) * retention_kept(t_s, p)


# ---------------------------------------------------------------- SPICE face

def _ekv_expr(p: FefetParams, g: str, d: str, s: str, vth: str) -> str:
    two_phi = fmt(2 * p.phi_t_v)
    n = fmt(p.n_slope)

    def f(node: str) -> str:
        # softplus(u)^2 without the rounding of ln(1 + tiny) in deep subthreshold:
        # below u = -15, ln(1 + e^u) = e^u (1 - e^u / 2) to 3e-14 relative.
        u = f"((V({g})-({vth}))/{n}-V({node}))/{two_phi}"
        return f"pow(({u})<-15 ? exp({u})*(1-0.5*exp({u})) : ln(1+exp({u})),2)"

    return f"{fmt(p.i_spec_a)}*({f(s)}-{f(d)})+{fmt(p.g_off_s)}*V({d},{s})"


def subckt_name(p: FefetParams, kind: str) -> str:
    """Deterministic subcircuit name derived from the params."""
    import hashlib

    digest = hashlib.sha1(repr(p).encode()).hexdigest()[:8]
    return f"fefet_{kind}_{digest}"


def spice_subckt(p: FefetParams) -> str:
    """Read subcircuit ``<name> d g s params: pol dvth``: programmed state as parameters."""
    half = fmt(0.5 * p.memory_window_v)
    vth = f"{fmt(p.vth_mid_v)}-{half}*pol+dvth"
    return (f".subckt {subckt_name(p, 'read')} d g s params: pol=0 dvth=0\n"
            f"B1 d s I={_ekv_expr(p, 'g', 'd', 's', vth)}\n"
            ".ends\n")


def verilog_a(p: FefetParams) -> tuple[str, str]:
    """(module name, Verilog-A source) of the read cell ``<name>(d, g, s)`` with
    instance parameters ``pol`` and ``dvth``: the same EKV current as
    ``drain_current`` and ``spice_subckt`` (same deep-subthreshold series below
    u = -15), for OSDI: compiled with openvaf-r and loaded by ngspice >= 44, it costs
    about 2 us per cell and Newton step against ~55 us for the B-source."""
    name = subckt_name(p, "va")
    two_phi, n = fmt(2 * p.phi_t_v), fmt(p.n_slope)
    src = f"""`include "disciplines.vams"
// Generated from {type(p).__name__} ({name}); edit the parameter object, not this file.
module {name}(d, g, s);
  inout d, g, s;
  electrical d, g, s;
  (* type="instance" *) parameter real pol = 0.0;
  (* type="instance" *) parameter real dvth = 0.0;
  real vth, vp, us, ud, fs, fd;
  analog begin
    vth = {fmt(p.vth_mid_v)} - {fmt(0.5 * p.memory_window_v)} * pol + dvth;
    vp = (V(g) - vth) / {n};
    us = (vp - V(s)) / {two_phi};
    ud = (vp - V(d)) / {two_phi};
    if (us < -15) fs = exp(us) * (1 - 0.5 * exp(us));
    else fs = ln(1 + exp(us));
    if (ud < -15) fd = exp(ud) * (1 - 0.5 * exp(ud));
    else fd = ln(1 + exp(ud));
    I(d, s) <+ {fmt(p.i_spec_a)} * (fs * fs - fd * fd) + {fmt(p.g_off_s)} * V(d, s);
  end
endmodule
"""
    return name, src


def spice_group_ea(p: FefetParams, groups: int) -> np.ndarray:
    """Activation voltages of the domain groups in the SPICE write face (normal quantiles)."""
    from scipy.stats import norm

    q = (np.arange(groups) + 0.5) / groups
    return np.maximum(p.ea_mean_v + p.ea_sigma_v * norm.ppf(q), 0.05 * p.ea_mean_v)


def spice_subckt_write(p: FefetParams, groups: int = 8) -> str:
    """Write subcircuit ``<name> d g s params: pol0 dvth`` with state nodes.

    Each of ``groups`` domain groups (activation at normal quantiles) holds its
    polarization on a 1 F capacitor (node p<k>) and relaxes toward +-1 with its
    Merz time: dP_k/dt = (sign(Vgs) - P_k) / tau_k(|Vgs|). P is their mean. No DC
    path holds the state: run transients with ``uic``.
    """
    check_int("groups", groups, 1, 64)
    lines = [f".subckt {subckt_name(p, 'write')}_{groups} d g s params: pol0=-1 dvth=0\n"]
    alpha, tau0 = fmt(p.alpha), fmt(p.tau0_s)
    for k, ea in enumerate(spice_group_ea(p, groups)):
        tau = f"({tau0}*exp(min(pow({fmt(ea)}/max(abs(V(g,s)),1e-6),{alpha}),300)))"
        lines.append(f"Cp{k} p{k} 0 1 IC={{pol0}}\n")
        lines.append(f"Bp{k} 0 p{k} I=V(g,s)>0 ? (1-V(p{k}))/{tau} : -(1+V(p{k}))/{tau}\n")
    mean = "+".join(f"V(p{k})" for k in range(groups))
    lines.append(f"Bpol pol 0 V=({mean})/{groups}\n")
    half = fmt(0.5 * p.memory_window_v)
    vth = f"{fmt(p.vth_mid_v)}-{half}*V(pol)+dvth"
    lines.append(f"B1 d s I={_ekv_expr(p, 'g', 'd', 's', vth)}\n")
    lines.append(".ends\n")
    return "".join(lines)


def group_relaxation(pol0: float, v_pulse_v: float, width_s: float, p: FefetParams,
                     groups: int = 8) -> float:
    """Closed form of the SPICE write face for one rectangular pulse: mean over
    groups of sign(V) + (P0 - sign(V)) exp(-width / tau_k(V))."""
    target = 1.0 if v_pulse_v > 0 else -1.0
    tau = merz_tau_s(v_pulse_v, spice_group_ea(p, groups), p)
    return float(np.mean(target + (pol0 - target) * np.exp(-width_s / tau)))
