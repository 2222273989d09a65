"""DAC (row drivers) and ADC (column read-out): params, numpy face, SPICE face.

Conventions (mid-tread, symmetric):
- DAC, unsigned: x in [0, 1] -> code in 0..2^b-1 -> V = code * v_fs/(2^b-1).
- DAC, signed:   x in [-1, 1] -> code in -(2^(b-1)-1)..2^(b-1)-1, same LSB rule.
- ADC, signed:   I -> code = clip(round(I/LSB), -2^(b-1), 2^(b-1)-1), LSB = i_fs/(2^(b-1)-1).
- ADC, unsigned: code = clip(round(I/LSB), 0, 2^b-1), LSB = i_fs/(2^b-1).

Non-idealities (all zero by default, which keeps the ideal path bit-exact):
- DAC: offset (V), gain error (fraction), INL as a bow of peak ``inl_lsb``
  (0 at both ends, 4 u (1 - u) across the codes).
- ADC: the code transitions move: offset (LSB), bow INL (peak LSB), DNL drawn
  once per converter from ``dnl_seed``, a per-converter offset (sigma LSB, same
  seed) and thermal noise added to each conversion's input (sigma LSB). The
  DNL's shape follows the architecture:
  flash: every transition has its own comparator, so code widths vary
  independently (sigma ``dnl_sigma_lsb``, renormalised so the span stays);
  SAR: transitions are sums of binary-weighted capacitors made of unit
  capacitors with mismatch ``dnl_sigma_lsb`` (LSB per unit), so the errors pile
  up at the major carries (the MSB transition's DNL has sigma ~ sqrt(2^bits)
  units).
- Column sharing: ``cols_per_adc`` columns share one converter through a mux;
  columns on the same converter share its DNL draw, and each converter runs
  ``cols_per_adc`` conversions per vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.spice_text import fmt
from device_models.validation import ParamError, check_choice, check_int, check_range


@dataclass(frozen=True)
class DacParams:
    bits: int = 8
    """Resolution of each row driver."""
    v_fs_v: float = 0.2
    """Full-scale output voltage (V); the largest code drives this voltage."""
    signed: bool = False
    """Bipolar inputs (-v_fs..v_fs) instead of unipolar (0..v_fs)."""
    offset_v: float = 0.0
    """Output offset (V)."""
    gain_error: float = 0.0
    """Relative gain error of the full scale (0.01 = +1 %)."""
    inl_lsb: float = 0.0
    """Peak of a bow-shaped integral non-linearity (LSB)."""
    r_out_ohm: float = 0.0
    """Output resistance of each row driver (ohm): the row sags by I_row R_out."""
    encoding: str = "amplitude"
    """amplitude: the code sets the row voltage; pwm: every active row is driven at
    the full-scale voltage (sign of the code) for |code| / max_code of the window,
    so an integrator collects the same charge through linear cells and the cells
    see only 0 or +-v_fs (needs an integrating read-out in the spice engine)."""
    bit_serial: bool = False
    """Apply the input one bit-plane per cycle (each row driver 0 or v_fs), convert
    every plane with the ADC, shift-add the codes digitally (unsigned inputs)."""

    def __post_init__(self) -> None:
        check_int("dac.bits", self.bits, 2 if self.signed else 1, 16)
        check_range("dac.r_out_ohm", self.r_out_ohm, 0.0, 1e6)
        check_choice("dac.encoding", self.encoding, ("amplitude", "pwm"))
        if self.encoding == "pwm" and self.bit_serial:
            raise ParamError("dac.encoding", "pwm", "cannot be combined with bit_serial")
        if self.bit_serial and self.signed:
            raise ParamError("dac.bit_serial", True, "needs unsigned inputs (signed=False)")
        check_range("dac.v_fs_v", self.v_fs_v, 0.0, 10.0, lo_open=True)
        check_range("dac.offset_v", self.offset_v, -1.0, 1.0)
        check_range("dac.gain_error", self.gain_error, -0.5, 0.5)
        check_range("dac.inl_lsb", self.inl_lsb, -100.0, 100.0)

    @property
    def ideal(self) -> bool:
        return self.offset_v == 0 and self.gain_error == 0 and self.inl_lsb == 0

    @property
    def max_code(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def min_code(self) -> int:
        return -self.max_code if self.signed else 0

    @property
    def lsb_v(self) -> float:
        return self.v_fs_v / self.max_code


class AdcCodeRange:
    """``min_code`` / ``max_code`` of a converter with ``bits`` and ``signed`` fields
    (two's complement when signed): the behavioural ADC and the SAR circuit share
    them."""

    @property
    def max_code(self) -> int:
        return adc_code_limits(self.bits, self.signed)[1]

    @property
    def min_code(self) -> int:
        return adc_code_limits(self.bits, self.signed)[0]


@dataclass(frozen=True)
class AdcParams(AdcCodeRange):
    bits: int = 8
    """Resolution of each column converter."""
    i_fs_a: float = 1e-4
    """Full-scale input current (A): the largest positive code's current."""
    signed: bool = True
    """Bipolar input range (differential columns) instead of 0..i_fs."""
    offset_lsb: float = 0.0
    """Input-referred offset (LSB): positive moves every transition down."""
    gain_error: float = 0.0
    """Relative gain error of the transfer (a reference or read-chain gain off by that
    fraction): codes come out (1 + gain_error) times the input, plus the offset."""
    inl_lsb: float = 0.0
    """Peak of a bow-shaped INL of the transitions (LSB)."""
    dnl_sigma_lsb: float = 0.0
    """Sigma of the random code-width error (LSB), drawn once from dnl_seed."""
    dnl_seed: int = 0
    """Seed of the DNL draw (a converter's fixed mismatch)."""
    noise_lsb: float = 0.0
    """Input-referred thermal noise per conversion (LSB, 1 sigma)."""
    offset_sigma_lsb: float = 0.0
    """Sigma of each converter's own input offset (LSB), drawn per converter from
    dnl_seed: the comparator's and the sensing op-amp's mismatch offsets (measured by
    the periphery Monte Carlo, ``cosim bench --mc``)."""
    arch: str = "flash"
    """flash | sar: the shape of the DNL, decisions and time per conversion."""
    cols_per_adc: int = 1
    """Columns multiplexed onto one converter."""

    def __post_init__(self) -> None:
        check_int("adc.bits", self.bits, 2 if self.signed else 1, 24)
        check_choice("adc.arch", self.arch, ADC_ARCHS)
        check_int("adc.cols_per_adc", self.cols_per_adc, 1, 4096)
        check_range("adc.i_fs_a", self.i_fs_a, 0.0, 1.0, lo_open=True)
        check_range("adc.offset_lsb", self.offset_lsb, -1e3, 1e3)
        check_range("adc.gain_error", self.gain_error, -0.5, 0.5)
        check_range("adc.inl_lsb", self.inl_lsb, -1e3, 1e3)
        check_range("adc.dnl_sigma_lsb", self.dnl_sigma_lsb, 0.0, 0.5)
        check_int("adc.dnl_seed", self.dnl_seed, 0)
        check_range("adc.noise_lsb", self.noise_lsb, 0.0, 1e3)
        check_range("adc.offset_sigma_lsb", self.offset_sigma_lsb, 0.0, 1e3)

    @property
    def static_ideal(self) -> bool:
        return (self.offset_lsb == 0 and self.inl_lsb == 0 and self.dnl_sigma_lsb == 0
                and self.offset_sigma_lsb == 0 and self.gain_error == 0)

    @property
    def lsb_a(self) -> float:
        return self.i_fs_a / self.max_code

    @property
    def decisions_per_conversion(self) -> int:
        """Comparator decisions per conversion: 2^b - 1 in parallel (flash), b in
        sequence (SAR)."""
        return 2**self.bits - 1 if self.arch == "flash" else self.bits

    @property
    def clocks_per_conversion(self) -> int:
        return 1 if self.arch == "flash" else self.bits

    def converters(self, cols: int) -> int:
        """Converters an array of ``cols`` output columns needs."""
        return -(-cols // self.cols_per_adc)


ADC_ARCHS = ("flash", "sar")


def adc_code_limits(bits: int, signed: bool) -> tuple[int, int]:
    """(lowest, highest) code of a converter: two's complement when signed."""
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return (-(hi + 1) if signed else 0), hi


def dac_codes(x: np.ndarray, p: DacParams) -> np.ndarray:
    """Normalised inputs (clipped to the DAC's range) -> integer codes."""
    lo = -1.0 if p.signed else 0.0
    return np.rint(np.clip(np.asarray(x, dtype=float), lo, 1.0) * p.max_code).astype(np.int64)


def _bow(codes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    u = (np.asarray(codes, dtype=float) - lo) / max(hi - lo, 1)
    return 4.0 * u * (1.0 - u)


def dac_volts(codes: np.ndarray, p: DacParams) -> np.ndarray:
    """Integer codes -> row voltages (V), with the DAC's static non-idealities."""
    v = np.asarray(codes, dtype=float) * p.lsb_v
    if p.ideal:
        return v
    return (p.offset_v + (1.0 + p.gain_error) * v
            + p.inl_lsb * p.lsb_v * _bow(codes, p.min_code, p.max_code))


def _mismatch_rng(p: AdcParams, converter: int) -> np.random.Generator:
    seed = p.dnl_seed if converter == 0 else np.random.SeedSequence([p.dnl_seed, converter])
    return np.random.default_rng(seed)


def adc_transitions(p: AdcParams, converter: int = 0) -> np.ndarray:
    """Input levels (in LSB) where code c-1 turns into c, for c = min_code+1..max_code,
    of converter number ``converter`` (each has its own mismatch draw)."""
    c = np.arange(p.min_code + 1, p.max_code + 1)
    ideal = c - 0.5
    if p.static_ideal:
        return ideal
    if p.dnl_sigma_lsb > 0 and p.arch == "sar":
        # capacitor k = 2^k units, each unit off by N(0, sigma): weights in LSB
        n_bits = p.bits
        err = _mismatch_rng(p, converter).normal(0.0, p.dnl_sigma_lsb * np.sqrt(2.0**np.arange(
            n_bits)))
        w = 2.0**np.arange(n_bits) + err
        w *= (2.0**n_bits - 1) / w.sum()  # the full span stays
        u = c - p.min_code  # unsigned code 1..2^b-1 of each transition
        level = ((u[:, None] >> np.arange(n_bits)) & 1) @ w
        t = ideal[0] + level - level[0]
    else:
        widths = np.ones(len(c) - 1)
        if p.dnl_sigma_lsb > 0:
            d = _mismatch_rng(p, converter).normal(0.0, p.dnl_sigma_lsb, len(widths))
            widths = widths + d - d.mean()  # the span between first and last transition stays
        t = ideal[0] + np.concatenate([[0.0], np.cumsum(widths)])
    if p.offset_sigma_lsb > 0:  # a stream of its own: the DNL draws stay as they were
        t = t - np.random.default_rng([p.dnl_seed, converter, 1]).normal(0.0, p.offset_sigma_lsb)
    # code = (1 + g) x + offset at the transitions: x = (t - offset) / (1 + g)
    return (t - p.offset_lsb + p.inl_lsb * _bow(c, p.min_code + 1, p.max_code)) / (
        1.0 + p.gain_error)


def adc_codes(i_a: np.ndarray, p: AdcParams, rng: np.random.Generator | None = None
              ) -> np.ndarray:
    """Column currents (A), shape (..., cols) -> integer codes (transitions of
    ``adc_transitions``, column j on converter j // cols_per_adc; thermal noise per
    conversion when ``rng`` is given and ``noise_lsb`` > 0)."""
    x = np.asarray(i_a, dtype=float) / p.lsb_a
    if rng is not None and p.noise_lsb > 0:
        x = x + rng.normal(0.0, p.noise_lsb, x.shape)
    if p.static_ideal:
        return np.clip(np.rint(x), p.min_code, p.max_code).astype(np.int64)
    if p.dnl_sigma_lsb == 0 or x.ndim == 0:
        return (p.min_code + np.searchsorted(adc_transitions(p), x, side="right")).astype(
            np.int64)
    out = np.empty(x.shape, dtype=np.int64)
    cols = x.shape[-1]
    for a in range(p.converters(cols)):
        sl = slice(a * p.cols_per_adc, min((a + 1) * p.cols_per_adc, cols))
        out[..., sl] = p.min_code + np.searchsorted(adc_transitions(p, a), x[..., sl],
                                                    side="right")
    return out


def adc_inl_dnl(transitions_lsb: np.ndarray, p: AdcParams) -> tuple[np.ndarray, np.ndarray]:
    """(INL per transition, DNL per inner code) in LSB from measured transitions."""
    t = np.asarray(transitions_lsb, dtype=float)
    ideal = np.arange(p.min_code + 1, p.max_code + 1) - 0.5
    return t - ideal, np.diff(t) - 1.0


def spice_adc_flash(name: str, p: AdcParams, lsb_in_v: float) -> str:
    """SPICE face: a behavioural flash converter ``<name> in out``: V(out) is the code,
    one unit step per transition of ``adc_transitions`` (input LSB ``lsb_in_v`` volts)."""
    steps = "+".join(f"u(V(in)-{fmt(t * lsb_in_v)})" for t in adc_transitions(p))
    return f".subckt {name} in out\nBcode out 0 V={p.min_code}+{steps}\n.ends\n"


def adc_current(codes: np.ndarray, p: AdcParams) -> np.ndarray:
    """Integer codes -> the current each code stands for (A)."""
    return np.asarray(codes, dtype=float) * p.lsb_a


def spice_dac_lookup(name: str, node: str, index_node: str, codes: np.ndarray, p: DacParams) -> str:
    """SPICE face: a driver whose code is looked up by the swept index voltage.

    ``V = pwl(v(index), 0, v0, 1, v1, ...)`` with v_k = dac_volts(c_k) written to
    17 digits: at integer index k the output is exactly v_k, so one ``.dc`` sweep
    steps through K vectors.
    """
    volts = dac_volts(np.asarray(codes, dtype=np.int64), p)
    if volts.size == 1:
        return f"V{name} {node} 0 DC {fmt(volts[0])}\n"
    table = ",".join(f"{k},{fmt(v)}" for k, v in enumerate(volts))
    return f"B{name} {node} 0 V=pwl(v({index_node}),{table})\n"


def spice_dac_pwl(name: str, node: str, codes: np.ndarray, p: DacParams,
                  t_step_s: float, t_edge_s: float) -> str:
    """SPICE face: a driver that steps through codes in time (one step per vector),
    from rest: 0 V at t = 0, the first code one edge later (a read sequence starts
    with no current, so the operating point is the periphery's idle one)."""
    pts = ["0 0"]
    for k, volt in enumerate(dac_volts(np.asarray(codes, dtype=np.int64), p)):
        v = fmt(volt)
        t0 = k * t_step_s + t_edge_s
        pts.append(f"{fmt(t0)} {v} {fmt((k + 1) * t_step_s)} {v}")
    return f"V{name} {node} 0 PWL({' '.join(pts)})\n"


def drive_levels(codes: np.ndarray, p: DacParams) -> tuple[np.ndarray, np.ndarray]:
    """(pulse voltage, duty in [0, 1]) per code. Amplitude encoding: the code's voltage,
    on for the whole window. Pulse-width encoding: the DAC's full-scale output with the
    code's sign, on for |code| / max_code of the window. Their product is the
    window-average row voltage."""
    c = np.asarray(codes, dtype=np.int64)
    if p.encoding != "pwm":
        return dac_volts(c, p), np.ones(c.shape)
    v_fs = dac_volts(np.where(c < 0, p.min_code, p.max_code), p)
    return v_fs, np.abs(c) / p.max_code


def spice_dac_rz(name: str, node: str, codes: np.ndarray, p: DacParams, period_s: float,
                 t_start_s: float, edge_s: float, t_tail_s: float = 0.0) -> str:
    """SPICE face, return-to-zero: each vector is a pulse inside its window,
    0 V until ``t_start_s``, up over ``edge_s``, held, down over ``edge_s``, ending
    ``edge_s + t_tail_s`` before the window closes. The pulse's area is
    v (period - t_start - 2 edge - t_tail)."""
    pts = ["0 0"]
    volts, duty = drive_levels(codes, p)
    on = period_s - t_start_s - 2 * edge_s - t_tail_s  # equivalent full-amplitude time
    for k, volt in enumerate(volts):
        if duty[k] == 0:
            continue
        t0 = k * period_s + t_start_s
        t1 = t0 + max(on * duty[k], edge_s)  # area v * on * duty (trapezoid)
        v = fmt(volt)
        pts.append(f"{fmt(t0)} 0 {fmt(t0 + edge_s)} {v} {fmt(t1)} {v} {fmt(t1 + edge_s)} 0")
    return f"V{name} {node} 0 PWL({' '.join(pts)})\n"
