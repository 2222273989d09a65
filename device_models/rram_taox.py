"""Tantalum-oxide memristor (RRAM) compact model: numpy, SPICE and Verilog-A faces.

State. One conductance per device, ``g`` in [g_min, g_max] (the conductance at
small bias).

Read. The filament's I-V is odd and superlinear:

    I = g * V0 * sinh(V / V0)

so at |V| << V0 the device is a resistor of conductance g, and at the 0.2 V DAC
full scale (V0 = 0.5 V) it passes 2.7 % more current. Symmetric: the
transposed read (current the other way) sees the same device.

Pulses (set = potentiation, V > 0; reset = depression, V < 0). The conductance
follows the nonlinear pulse-response curves of the NeuroSim device model (Chen
et al., IEEE TCAD 37, 3067, 2018):

    set:   g(p) = g_min + B_s (1 - exp(-p / A_s)),  B_s = (g_max - g_min) / (1 - exp(-P / A_s))
    reset: g(p) = g_max - B_r (1 - exp(-p / A_r)),  likewise

with P = ``pulses_full`` pulses across the range and A = P / nl: a pulse moves
the device along its curve from wherever it is (steps shrink as it
saturates; ``nl_set`` != ``nl_reset`` makes the two directions asymmetric). A
pulse below its threshold voltage does nothing (so a V/2 half-selected cell is
not disturbed); above it, it counts as (|V| - V_th) / (V_nominal - V_th) of a
nominal pulse. Cycle-to-cycle variation: each pulse's step carries Gaussian
noise of sigma ``c2c_frac`` x (g_max - g_min) (NeuroSim's convention).
Device-to-device variation: each device's step size differs by a factor drawn
once, N(1, ``d2d_frac``) (the field ``d2d``). Read noise: relative Gaussian per
read.

Cited defaults (each marked):
- g 1-100 uS: TaOx/HfOx analog crossbars program in the 1-100s of uS (Li et al.,
  Nat. Electron. 1, 52, 2018; Yao et al., Nature 577, 641, 2020).
- 64 pulses full range, nl 1 (set) / 2 (reset), C2C 1 %, D2D 5 %, read noise
  1 %: inside the ranges of NeuroSim's device table for oxide RRAM (nl 0-6, C2C
  0.5-5 %); this project's choice, not a measurement of one device.
- +1.0 / -1.2 V, 50 ns pulses, thresholds 0.6 / -0.7 V; V0 = 0.5 V: typical of
  TaOx analog switching; this project's assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_int, check_range


@dataclass(frozen=True)
class RramParams:
    g_min_s: float = 1e-6
    """Lowest conductance (S), the high-resistance state."""
    g_max_s: float = 1e-4
    """Highest conductance (S), the low-resistance state."""
    v0_v: float = 0.5
    """Read nonlinearity: I = g V0 sinh(V / V0) (V)."""
    pulses_full: int = 64
    """Nominal pulses from one end of the range to the other."""
    nl_set: float = 1.0
    """Nonlinearity of the set (potentiation) curve: A = pulses_full / nl (0 = linear)."""
    nl_reset: float = 2.0
    """Nonlinearity of the reset (depression) curve."""
    v_set_v: float = 1.0
    """Nominal set pulse amplitude (V)."""
    v_reset_v: float = -1.2
    """Nominal reset pulse amplitude (V)."""
    v_th_set_v: float = 0.6
    """Set threshold: smaller positive pulses do nothing (V)."""
    v_th_reset_v: float = -0.7
    """Reset threshold: smaller negative pulses do nothing (V)."""
    width_s: float = 50e-9
    """Nominal pulse width (s): the curves above are in pulses of this width."""
    c2c_frac: float = 0.01
    """Cycle-to-cycle: sigma of each pulse's step as a fraction of g_max - g_min."""
    d2d_frac: float = 0.05
    """Device-to-device: sigma of each device's step-size factor."""
    read_noise_frac: float = 0.01
    """Relative read noise per read (1 sigma)."""

    def __post_init__(self) -> None:
        check_range("g_min_s", self.g_min_s, 0.0, 1.0, lo_open=True)
        check_range("g_max_s", self.g_max_s, 0.0, 1.0, lo_open=True)
        if self.g_max_s <= self.g_min_s:
            raise ParamError("g_max_s", self.g_max_s, f"must exceed g_min_s={self.g_min_s!r}")
        check_range("v0_v", self.v0_v, 0.01, 10.0)
        check_int("pulses_full", self.pulses_full, 1, 100_000)
        check_range("nl_set", self.nl_set, 0.0, 20.0)
        check_range("nl_reset", self.nl_reset, 0.0, 20.0)
        check_range("v_set_v", self.v_set_v, 0.0, 10.0, lo_open=True)
        check_range("v_reset_v", self.v_reset_v, -10.0, 0.0, hi_open=True)
        check_range("v_th_set_v", self.v_th_set_v, 0.0, self.v_set_v, hi_open=True)
        check_range("v_th_reset_v", self.v_th_reset_v, self.v_reset_v, 0.0, lo_open=True)
        check_range("width_s", self.width_s, 1e-12, 1.0)
        check_range("c2c_frac", self.c2c_frac, 0.0, 0.5)
        check_range("d2d_frac", self.d2d_frac, 0.0, 0.5)
        check_range("read_noise_frac", self.read_noise_frac, 0.0, 0.5)


TAOX_DEFAULT = RramParams()


# ---------------------------------------------------------------- read (numpy face)

def current(v_v: np.ndarray, g_s: np.ndarray, p: RramParams) -> np.ndarray:
    """Current (A) through devices of small-bias conductance g_s at voltage v_v."""
    return np.asarray(g_s) * p.v0_v * np.sinh(np.asarray(v_v, dtype=float) / p.v0_v)


def d_current_d_v(v_v: np.ndarray, g_s: np.ndarray, p: RramParams) -> np.ndarray:
    return np.asarray(g_s) * np.cosh(np.asarray(v_v, dtype=float) / p.v0_v)


# ---------------------------------------------------------------- pulses (numpy face)

def _curve(nl: float, p: RramParams) -> tuple[float, float]:
    """(A, B) of one pulse-response curve; A = inf for a linear one."""
    span = p.g_max_s - p.g_min_s
    if nl == 0:
        return math.inf, span
    a = p.pulses_full / nl
    return a, span / (1.0 - math.exp(-p.pulses_full / a))


def pulse_strength(v_v: np.ndarray, p: RramParams) -> np.ndarray:
    """Signed nominal pulses one pulse at v_v counts as (0 below threshold)."""
    v = np.asarray(v_v, dtype=float)
    up = np.clip((v - p.v_th_set_v) / (p.v_set_v - p.v_th_set_v), 0.0, None)
    down = np.clip((v - p.v_th_reset_v) / (p.v_reset_v - p.v_th_reset_v), 0.0, None)
    return np.where(v > 0, up, -down)


def apply_pulses(g_s: np.ndarray, v_v: np.ndarray | float, n: np.ndarray | int,
                 p: RramParams, d2d: np.ndarray | float = 1.0,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Conductance after n pulses of amplitude v_v (per device or scalar; sign = set
    or reset), each moving the device along its curve; with ``rng``, C2C noise."""
    g = np.asarray(g_s, dtype=float)
    counts = np.broadcast_to(np.asarray(n), g.shape)
    if counts.size and (not np.issubdtype(counts.dtype, np.integer) or counts.min() < 0):
        raise ParamError("n", n, "pulse counts must be non-negative integers")
    k = pulse_strength(np.broadcast_to(v_v, g.shape), p) * counts * np.asarray(d2d)
    out = g.copy()
    for sign, nl in ((1.0, p.nl_set), (-1.0, p.nl_reset)):
        sel = np.sign(k) == sign
        if not sel.any():
            continue
        a, b = _curve(nl, p)
        steps = np.abs(k[sel])
        if sign > 0:  # position on the set curve, then forward by the pulses
            x = np.clip((g[sel] - p.g_min_s) / b, 0.0, 1.0 - 1e-15)
            pos = -a * np.log1p(-x) if math.isfinite(a) else (g[sel] - p.g_min_s) / b * (
                p.pulses_full)
            new = pos + steps
            out[sel] = p.g_min_s + (b * (1 - np.exp(-new / a)) if math.isfinite(a)
                                    else b * new / p.pulses_full)
        else:
            x = np.clip((p.g_max_s - g[sel]) / b, 0.0, 1.0 - 1e-15)
            pos = -a * np.log1p(-x) if math.isfinite(a) else (p.g_max_s - g[sel]) / b * (
                p.pulses_full)
            new = pos + steps
            out[sel] = p.g_max_s - (b * (1 - np.exp(-new / a)) if math.isfinite(a)
                                    else b * new / p.pulses_full)
    if rng is not None and p.c2c_frac > 0:
        moved = k != 0
        sigma = p.c2c_frac * (p.g_max_s - p.g_min_s) * np.sqrt(np.abs(counts))
        out = np.where(moved, out + rng.normal(0.0, 1.0, g.shape) * sigma, out)
    return np.clip(out, p.g_min_s, p.g_max_s)


def write_energy_j(g_s: np.ndarray, v_v: np.ndarray, n: np.ndarray, p: RramParams) -> float:
    """Energy the devices absorb during n pulses of v_v (the current each passes at the
    pulse voltage, from its conductance before the pulses: an estimate)."""
    v = np.asarray(v_v, dtype=float)
    return float(np.sum(np.abs(current(v, g_s, p) * v) * p.width_s * np.abs(n)))


def draw_d2d(shape: tuple[int, ...], p: RramParams, rng: np.random.Generator) -> np.ndarray:
    """Per-device step-size factors, N(1, d2d_frac), kept positive."""
    return np.maximum(rng.normal(1.0, p.d2d_frac, shape), 0.05)


def read_noise(i_a: np.ndarray, p: RramParams, rng: np.random.Generator) -> np.ndarray:
    i_a = np.asarray(i_a)
    return i_a * (1.0 + rng.normal(0.0, p.read_noise_frac, i_a.shape))


# ---------------------------------------------------------------- SPICE and Verilog-A faces

def subckt_name(p: RramParams, kind: str) -> str:
    import hashlib

    return f"rram_{kind}_{hashlib.sha1(repr(p).encode()).hexdigest()[:8]}"


def spice_subckt(p: RramParams) -> str:
    """Read subcircuit ``<name> a b params: g``: the sinh I-V as a B-source."""
    v0 = fmt(p.v0_v)
    return (f".subckt {subckt_name(p, 'read')} a b params: g=1e-6\n"
            f"B1 a b I={{g}}*{v0}*sinh(V(a,b)/{v0})\n"
            ".ends\n")


def verilog_a(p: RramParams) -> tuple[str, str]:
    """(module name, source) of the same read device for OSDI, instance parameter g."""
    name = subckt_name(p, "va")
    src = f"""`include "disciplines.vams"
// Generated from RramParams ({name}); edit the parameter object, not this file.
module {name}(a, b);
  inout a, b;
  electrical a, b;
  (* type="instance" *) parameter real g = 1e-6;
  analog begin
    I(a, b) <+ g * {fmt(p.v0_v)} * sinh(V(a, b) / {fmt(p.v0_v)});
  end
endmodule
"""
    return name, src
