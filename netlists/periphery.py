"""Ideal DAC (row drivers) and ADC (column read-out): params, numpy face, SPICE face.

Conventions (mid-tread, symmetric):
- DAC, unsigned: x in [0, 1] -> code in 0..2^b-1 -> V = code * v_fs/(2^b-1).
- DAC, signed:   x in [-1, 1] -> code in -(2^(b-1)-1)..2^(b-1)-1, same LSB rule.
- ADC, signed:   I -> code = clip(round(I/LSB), -2^(b-1), 2^(b-1)-1), LSB = i_fs/(2^(b-1)-1).
- ADC, unsigned: code = clip(round(I/LSB), 0, 2^b-1), LSB = i_fs/(2^b-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device_models.validation import check_int, check_range
from netlists.netlist import fmt


@dataclass(frozen=True)
class DacParams:
    bits: int = 8
    """Resolution of each row driver."""
    v_fs_v: float = 0.2
    """Full-scale output voltage (V); the largest code drives this voltage."""
    signed: bool = False
    """Bipolar inputs (-v_fs..v_fs) instead of unipolar (0..v_fs)."""

    def __post_init__(self) -> None:
        check_int("dac.bits", self.bits, 2 if self.signed else 1, 16)
        check_range("dac.v_fs_v", self.v_fs_v, 0.0, 10.0, lo_open=True)

    @property
    def max_code(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def min_code(self) -> int:
        return -self.max_code if self.signed else 0

    @property
    def lsb_v(self) -> float:
        return self.v_fs_v / self.max_code


@dataclass(frozen=True)
class AdcParams:
    bits: int = 8
    """Resolution of each column converter."""
    i_fs_a: float = 1e-4
    """Full-scale input current (A): the largest positive code's current."""
    signed: bool = True
    """Bipolar input range (differential columns) instead of 0..i_fs."""

    def __post_init__(self) -> None:
        check_int("adc.bits", self.bits, 2 if self.signed else 1, 24)
        check_range("adc.i_fs_a", self.i_fs_a, 0.0, 1.0, lo_open=True)

    @property
    def max_code(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def min_code(self) -> int:
        return -(self.max_code + 1) if self.signed else 0

    @property
    def lsb_a(self) -> float:
        return self.i_fs_a / self.max_code


def dac_codes(x: np.ndarray, p: DacParams) -> np.ndarray:
    """Normalised inputs (clipped to the DAC's range) -> integer codes."""
    lo = -1.0 if p.signed else 0.0
    return np.rint(np.clip(np.asarray(x, dtype=float), lo, 1.0) * p.max_code).astype(np.int64)


def dac_volts(codes: np.ndarray, p: DacParams) -> np.ndarray:
    """Integer codes -> row voltages (V)."""
    return np.asarray(codes, dtype=float) * p.lsb_v


def adc_codes(i_a: np.ndarray, p: AdcParams) -> np.ndarray:
    """Column currents (A) -> integer codes, rounded and clipped."""
    codes = np.rint(np.asarray(i_a, dtype=float) / p.lsb_a)
    return np.clip(codes, p.min_code, p.max_code).astype(np.int64)


def adc_current(codes: np.ndarray, p: AdcParams) -> np.ndarray:
    """Integer codes -> the current each code stands for (A)."""
    return np.asarray(codes, dtype=float) * p.lsb_a


def spice_dac_lookup(name: str, node: str, index_node: str, codes: np.ndarray, p: DacParams) -> str:
    """SPICE face: a driver whose code is looked up by the swept index voltage.

    ``V = lsb * pwl(v(index), 0, c0, 1, c1, ...)``: at integer index k the
    output is exactly ``c_k * lsb``, so one ``.dc`` sweep steps through K vectors.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 1:
        return f"V{name} {node} 0 DC {fmt(int(codes[0]) * p.lsb_v)}\n"
    table = ",".join(f"{k},{int(c)}" for k, c in enumerate(codes))
    return f"B{name} {node} 0 V={fmt(p.lsb_v)}*pwl(v({index_node}),{table})\n"


def spice_dac_pwl(name: str, node: str, codes: np.ndarray, p: DacParams,
                  t_step_s: float, t_edge_s: float) -> str:
    """SPICE face: a driver that steps through codes in time (one step per vector)."""
    pts = []
    for k, c in enumerate(np.asarray(codes, dtype=np.int64)):
        v = fmt(int(c) * p.lsb_v)
        t0 = k * t_step_s + (t_edge_s if k else 0.0)
        pts.append(f"{fmt(t0)} {v} {fmt((k + 1) * t_step_s)} {v}")
    return f"V{name} {node} 0 PWL({' '.join(pts)})\n"
