"""Every cell's current as a short Chebyshev series in its row voltage, so an array's
column currents are a few matrix products instead of one device evaluation per
(vector, cell).

With the column at ground a cell sees only the DAC's row voltages, a set of at most
2^bits levels on [lo, hi]. Each cell's current is interpolated on that interval:

- at the levels themselves where there are at most ``N_NODES`` of them (bit-serial
  planes, DACs of <= 4 bits, pulse-width drive): the interpolant passes through
  every voltage an input can take, so it is exact up to round-off;
- otherwise at ``N_NODES`` Chebyshev points (a degree-16 interpolant of a smooth
  I-V curve; its own error estimated by its last two coefficients).

The series is then cut at the lowest degree d whose worst case over any input,
sum over the rows of sum_{p>d} |c_p| (|T_p| <= 1 on the interval) plus that
estimate, summed over a differential pair, stays within the tolerance (the engine
asks for a fraction of the ADC's LSB). The column currents are
sum_p T_p(s(V)) @ C_p: d matrix products, plus a constant per column.

Read noise that is relative and independent per cell (i (1 + N(0, sigma)))
sums to a Gaussian per column with variance sigma^2 sum_i I_ij(v_i)^2: the squared
currents get their own series (cut so the variance error stays below the square
of the tolerance, hence the noise's standard deviation within the tolerance), and
one normal draw per column replaces one per cell. Same distribution, other draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as cheb

N_NODES = 17
"""Interpolation points per cell (a degree-16 series before the cut)."""


@dataclass(frozen=True)
class CurrentExpansion:
    """One programmed array's cell currents as Chebyshev series on [lo, hi]."""

    lo: float
    hi: float
    degree: int
    """Terms T_1..T_degree kept (T_0 folds into ``const``)."""
    coef: np.ndarray
    """(degree * rows, phys) coefficients of T_1..T_degree, row blocks stacked."""
    const: np.ndarray
    """(rows, phys) coefficient of T_0 per cell."""
    var_degree: int
    var_coef: np.ndarray | None
    """(var_degree * rows, phys) series of sigma^2 I^2; None without read noise."""
    var_const: np.ndarray | None
    bound_a: float
    """Worst-case |error| of a logical output current over any input (A)."""
    var_bound_a2: float
    """Worst-case |error| of a logical output's noise variance (A^2)."""
    exact_levels: bool
    """Interpolated at every level the DAC can drive (no error before the cut)."""

    @property
    def nbytes(self) -> int:
        parts = [self.coef, self.const, self.var_coef, self.var_const]
        return int(sum(p.nbytes for p in parts if p is not None))

    def _features(self, drive: np.ndarray, weight: np.ndarray, degree: int) -> np.ndarray:
        """(K, degree * rows): T_1..T_degree of the scaled row voltages, times weight."""
        half = 0.5 * (self.hi - self.lo)
        s = (drive - 0.5 * (self.lo + self.hi)) / half if half > 0 else np.zeros_like(drive)
        k, rows = drive.shape
        out = np.empty((k, degree, rows))
        prev, cur = np.ones_like(s), s
        for p in range(degree):
            out[:, p] = cur * weight
            prev, cur = cur, 2.0 * s * cur - prev
        return out.reshape(k, degree * rows)

    def _series(self, drive: np.ndarray, weight: np.ndarray, degree: int, coef: np.ndarray,
                const: np.ndarray, uniform: bool) -> np.ndarray:
        total = weight[:, :1] * const.sum(axis=0) if uniform else weight @ const
        if degree:
            total = total + self._features(drive, weight, degree) @ coef
        return total

    def column_currents(self, drive: np.ndarray, duty: np.ndarray,
                        rng: np.random.Generator | None) -> np.ndarray:
        """(K, phys) column currents for row pulse voltages ``drive`` on for ``duty`` of
        the window; one noisy read when ``rng`` is given and the array has read noise."""
        uniform = bool(np.all(duty == duty[:, :1]))  # amplitude inputs: duty 1 everywhere
        i_col = self._series(drive, duty, self.degree, self.coef, self.const, uniform)
        if rng is not None and self.var_coef is not None:
            var = self._series(drive, duty * duty, self.var_degree, self.var_coef,
                               self.var_const, uniform)
            i_col = i_col + np.sqrt(np.maximum(var, 0.0)) * rng.standard_normal(i_col.shape)
        return i_col


def _coefficients(values: np.ndarray, s_nodes: np.ndarray) -> np.ndarray:
    """(n, rows, phys) Chebyshev coefficients of the interpolant through the values."""
    n = len(s_nodes)
    vander = cheb.chebvander(s_nodes, n - 1)
    return np.linalg.solve(vander, values.reshape(n, -1)).reshape(values.shape)


def _cut(coef: np.ndarray, alias: bool, differential: bool, tol: float
         ) -> tuple[int, float] | None:
    """Lowest degree whose worst-case logical-output error is within ``tol``, with that
    bound; None if even the full series is not."""
    mag = np.abs(coef).sum(axis=1)  # (n, phys): per column, sum over rows
    est = mag[-2:].sum(axis=0) if alias and len(mag) > 2 else np.zeros(mag.shape[1])
    tails = np.cumsum(mag[::-1], axis=0)[::-1]  # tails[p] = sum_{q >= p}
    for d in range(len(mag)):
        per_col = (tails[d + 1] if d + 1 < len(mag) else 0.0) + est
        if differential:
            per_col = per_col[0::2] + per_col[1::2]
        bound = float(np.max(per_col))
        if bound <= tol:
            return d, bound
    return None


def expand(current, fields: dict, levels: np.ndarray, noise_sigma: float,
           tol_a: float, differential: bool) -> CurrentExpansion | None:
    """The expansion of ``current(v (n, 1, 1), fields) -> (n, rows, phys)`` over the DAC
    ``levels`` (V) within ``tol_a`` per logical output, or None when 16 degrees do
    not reach it (the caller then evaluates every cell)."""
    levels = np.unique(np.asarray(levels, dtype=float))
    lo, hi = float(levels[0]), float(levels[-1])
    exact = len(levels) <= N_NODES
    half = 0.5 * (hi - lo)
    if exact:
        nodes = levels
    else:  # Chebyshev points of the first kind on [lo, hi]
        nodes = 0.5 * (lo + hi) + half * np.cos(np.pi * (np.arange(N_NODES) + 0.5) / N_NODES)
    s_nodes = (nodes - 0.5 * (lo + hi)) / half if half > 0 else np.zeros(1)
    values = np.asarray(current(nodes[:, None, None], fields), dtype=float)
    coef = _coefficients(values, s_nodes)
    cut = _cut(coef, not exact, differential, tol_a)
    if cut is None:
        return None
    degree, bound = cut
    phys = coef.shape[2]
    var_coef = var_const = None
    var_degree, var_bound = 0, 0.0
    if noise_sigma > 0:
        vcoef = _coefficients(noise_sigma**2 * values**2, s_nodes)
        vcut = _cut(vcoef, not exact, differential, tol_a**2)
        if vcut is None:
            return None
        var_degree, var_bound = vcut
        var_const = vcoef[0]
        var_coef = np.ascontiguousarray(vcoef[1:var_degree + 1].reshape(-1, phys))
    return CurrentExpansion(
        lo=lo, hi=hi, degree=degree,
        coef=np.ascontiguousarray(coef[1:degree + 1].reshape(-1, phys)), const=coef[0],
        var_degree=var_degree, var_coef=var_coef, var_const=var_const, bound_a=bound,
        var_bound_a2=var_bound, exact_levels=exact)
