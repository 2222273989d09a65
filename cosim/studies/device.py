"""Device characterization from the numpy face: Id-Vg families, hysteresis loop,
potentiation/depression, retention drift. Each returns a tidy table; ``write_device_report``
saves the tables (CSV) and their plots (PNG) under a run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device_models import fefet_mos2 as fe
from device_models.cells import FefetCell
from device_models.validation import check_int, check_range

DRIFT_TIMES_S = {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 3.15576e7}


preset = fe.preset


@dataclass(frozen=True)
class PulseScheme:
    v_pulse_v: float = 1.5
    """Gate pulse amplitude (V); +V potentiates, -V depresses."""
    width_s: float = 100e-9
    """Pulse width (s)."""
    pulses: int = 64
    """Pulses in each direction."""

    def __post_init__(self) -> None:
        check_range("v_pulse_v", self.v_pulse_v, 0.0, 10.0, lo_open=True)
        check_range("width_s", self.width_s, 1e-12, 1.0)
        check_int("pulses", self.pulses, 1, 10_000)


def idvg_family(p: fe.FefetParams, vds_v: tuple[float, ...] = (0.05, 0.2),
                pols: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)):
    import pandas as pd

    vg = np.linspace(-2.0, 2.5, 181)
    rows = [{"vg_v": g, "vds_v": d, "pol": q, "id_a": i}
            for d in vds_v for q in pols
            for g, i in zip(vg, fe.drain_current(vg, d, q, p), strict=True)]
    return pd.DataFrame(rows)


def hysteresis(p: fe.FefetParams, rng: np.random.Generator, v_max_v: float = 4.0,
               t_dwell_s: float = 1e-6, vds_v: float = 0.1, points: int = 161):
    """Quasi-static double sweep (Preisach): 0 -> -Vmax (reset) -> +Vmax -> -Vmax.

    Returns the loop table and the memory window extracted at constant current
    (the current where Vg = Vth), forward (up) branch minus reverse branch.
    """
    import pandas as pd

    d = fe.new_domains((1,), p, rng, pol=-1.0)
    up = np.linspace(-v_max_v, v_max_v, points)
    down = up[::-1]
    pol_up, d = fe.preisach_sweep(d, up, p, t_dwell_s)
    pol_dn, _ = fe.preisach_sweep(d, down, p, t_dwell_s)
    i_up = fe.drain_current(up, vds_v, pol_up[:, 0], p)
    i_dn = fe.drain_current(down, vds_v, pol_dn[:, 0], p)
    i_c = float(fe.drain_current(p.vth_mid_v, vds_v, 0.0, p))  # current at Vg = Vth
    vth_fwd = _crossing(up, i_up, i_c)
    vth_rev = _crossing(down, i_dn, i_c)
    table = pd.DataFrame({
        "branch": ["forward"] * points + ["reverse"] * points,
        "vg_v": np.concatenate([up, down]), "pol": np.concatenate([pol_up[:, 0], pol_dn[:, 0]]),
        "id_a": np.concatenate([i_up, i_dn])})
    return table, {"vth_forward_v": vth_fwd, "vth_reverse_v": vth_rev,
                   "memory_window_v": vth_fwd - vth_rev, "i_crit_a": i_c}


def _crossing(vg: np.ndarray, i: np.ndarray, i_c: float) -> float:
    """First Vg where log current crosses log i_c, linearly interpolated."""
    y = np.log(np.maximum(np.abs(i), 1e-30)) - np.log(i_c)
    idx = np.nonzero(np.sign(y[:-1]) != np.sign(y[1:]))[0]
    if idx.size == 0:
        return float("nan")
    k = idx[0]
    return float(vg[k] - y[k] * (vg[k + 1] - vg[k]) / (y[k + 1] - y[k]))


def pulse_train(cell: FefetCell, rng: np.random.Generator, scheme: PulseScheme):
    """Potentiation then depression of one fresh device; conductance after each pulse."""
    import pandas as pd

    p = cell.params
    d = fe.new_domains((1,), p, rng, pol=-1.0)
    rows = []
    for phase, sign in (("potentiation", 1.0), ("depression", -1.0)):
        for k in range(1, scheme.pulses + 1):
            d = fe.apply_pulses(d, sign * scheme.v_pulse_v, scheme.width_s, 1, p)
            pol = float(d.polarization[0])
            g = float(cell.conductance({"pol": np.array(pol), "dvth_v": np.array(0.0)}))
            rows.append({"phase": phase, "pulse": k, "pol": pol, "g_s": g})
    return pd.DataFrame(rows)


def distinguishable_levels(g_s: np.ndarray, rel_noise: float, k_sigma: float = 3.0) -> int:
    """Distinct conductance levels, each more than k_sigma read-noise sigmas above the last."""
    levels = 0
    last = -np.inf
    for g in np.sort(np.asarray(g_s)):
        if g - last > k_sigma * rel_noise * max(g, last if np.isfinite(last) else g):
            levels += 1
            last = g
    return levels


def drift_table(cell: FefetCell, levels: int = 16,
                times_s: dict[str, float] | None = None):
    """Conductance error after retention time for levels spread uniformly in G.

    ``err_of_range`` = |G(t) - G(0)| / (g_max - g_min): the error a weight sees.
    """
    import pandas as pd

    times_s = times_s or DRIFT_TIMES_S
    g_lo, g_hi = cell.g_range()
    g0 = np.linspace(g_lo, g_hi, levels)
    fields = cell.program(g0)
    rows = []
    for label, t in times_s.items():
        g_t = cell.conductance(cell.at_age(fields, t))
        err = np.abs(g_t - g0)
        rows.append({"time": label, "t_s": t,
                     "mean_err_of_range": float(err.mean() / (g_hi - g_lo)),
                     "max_err_of_range": float(err.max() / (g_hi - g_lo)),
                     "mean_rel_err": float(np.mean(err[1:] / g0[1:]))})
    return pd.DataFrame(rows)


def write_device_report(run_dir: Path, p: fe.FefetParams, seed: int,
                        scheme: PulseScheme) -> dict:
    from cosim.runs.files import figures

    plt = figures()

    from cosim.runs.files import write_atomic, write_figure, write_json

    rng = np.random.default_rng(seed)
    cell = FefetCell(params=p)
    summary: dict = {}

    fam = idvg_family(p)
    write_atomic(run_dir / "idvg.csv", fam.to_csv(index=False))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (vds, sub) in zip(axes, fam.groupby("vds_v"), strict=True):
        for pol, s in sub.groupby("pol"):
            ax.semilogy(s.vg_v, np.abs(s.id_a), label=f"P = {pol:+.1f}")
        ax.set(xlabel="Vg (V)", ylabel="|Id| (A)", title=f"Id-Vg, Vds = {vds:g} V")
        ax.axvline(cell.vg_read_v, color="k", ls=":", lw=0.8)
        ax.legend(fontsize=8)
    write_figure(fig, run_dir / "idvg.png")
    plt.close(fig)

    loop, mw = hysteresis(p, rng)
    write_atomic(run_dir / "hysteresis.csv", loop.to_csv(index=False))
    summary["hysteresis"] = {**mw, "memory_window_param_v": p.memory_window_v}
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4))
    for br, s in loop.groupby("branch"):
        a0.semilogy(s.vg_v, np.abs(s.id_a), label=br)
        a1.plot(s.vg_v, s.pol, label=br)
    a0.axhline(mw["i_crit_a"], color="k", ls=":", lw=0.8)
    a0.set(xlabel="Vg (V)", ylabel="|Id| (A)",
           title=f"Id-Vg loop: MW = {mw['memory_window_v']:.3f} V "
                 f"(param {p.memory_window_v:g} V)")
    a1.set(xlabel="Vg (V)", ylabel="P (normalised)", title="Preisach P-V loop")
    a0.legend()
    a1.legend()
    write_figure(fig, run_dir / "hysteresis.png")
    plt.close(fig)

    train = pulse_train(cell, rng, scheme)
    write_atomic(run_dir / "pulses.csv", train.to_csv(index=False))
    pot = train[train.phase == "potentiation"].g_s.to_numpy()
    n_levels = distinguishable_levels(pot, p.read_noise_frac)
    summary["pulses"] = {"scheme": vars(scheme), "distinguishable_levels": n_levels,
                         "monotonic_potentiation": bool(np.all(np.diff(pot) >= 0))}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = np.arange(1, len(train) + 1)
    ax.plot(x, train.g_s * 1e6, ".-", ms=3)
    ax.axvline(scheme.pulses + 0.5, color="k", ls=":", lw=0.8)
    ax.set(xlabel="pulse number", ylabel="G at read bias (uS)",
           title=f"±{scheme.v_pulse_v:g} V, {scheme.width_s * 1e9:g} ns pulses: "
                 f"{n_levels} distinguishable levels")
    write_figure(fig, run_dir / "pulses.png")
    plt.close(fig)

    drift = drift_table(cell)
    write_atomic(run_dir / "drift.csv", drift.to_csv(index=False))
    summary["drift"] = drift.to_dict(orient="records")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    t = np.logspace(0, 9, 60)
    g_lo, g_hi = cell.g_range()
    fields = cell.program(np.linspace(g_lo, g_hi, 8))
    for k in range(8):
        g_t = [float(cell.conductance(cell.at_age(fields, ti))[k]) for ti in t]
        ax.semilogx(t, np.array(g_t) * 1e6)
    for label, ts in DRIFT_TIMES_S.items():
        ax.axvline(ts, color="k", ls=":", lw=0.6)
        ax.text(ts, g_hi * 1e6, label, fontsize=7, rotation=90, va="top")
    ax.set(xlabel="time after programming (s)", ylabel="G (uS)", title="Retention drift")
    write_figure(fig, run_dir / "drift.png")
    plt.close(fig)

    write_json(run_dir / "device_summary.json", summary)
    return summary
