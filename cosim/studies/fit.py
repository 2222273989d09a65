"""``cosim fit fefet DATA.csv``: FeFET parameters from a user's measurements.

The CSV has one row per measured point and a ``kind`` column saying which
measurement it belongs to (other columns may stay empty):

==========  ==============================================  ==========================
kind        columns (units)                                 meaning
==========  ==============================================  ==========================
idvg        vg_v (V), vd_v (V), id_a (A), t_dwell_s (s),    quasi-static Id-Vg loop:
            branch (up | down)                              each branch swept from the
                                                            fully erased (up) or fully
                                                            programmed (down) state,
                                                            t_dwell_s per point (the
                                                            sweep rate is step/dwell)
pulse       pulse (count), v_pulse_v (V), width_s (s),      conductance after n
            g_s (S)                                         identical pulses: v > 0 from
                                                            the erased state, v < 0 from
                                                            the programmed state
retention   t_s (s), g_s (S)                                conductance vs time after
                                                            programming
==========  ==============================================  ==========================

Conductances are read as ``FefetCell`` defines them (gate 0.6 V, drain 0.2 V).

The model evaluated is the device model's own, in closed form for an infinite
number of domains with Ea ~ N(ea_mean, ea_sigma): a quasi-static branch is the
Preisach limit (a domain has switched once |Vg| passes its coercive voltage,
Ea / ln(t_dwell / tau0)^(1/alpha)); a pulse train switches each domain with
probability 1 - exp(-n width / tau(V, Ea)) (stochastic nucleation), averaged
over Ea by Gauss-Hermite quadrature; retention is the linear-in-log-time loss.
Each kind fits the parameters it constrains (idvg: vth_mid_v,
memory_window_v, ss_v_per_dec, mobility, ea_mean_v, ea_sigma_v and, with two
or more dwell times, tau0_s; pulse: ea_mean_v, ea_sigma_v, tau0_s,
memory_window_v; retention: retention_loss_per_decade) by scipy's
least_squares; 1-sigma uncertainties from the Jacobian at the optimum
(covariance = s^2 (J^T J)^-1, s^2 the residual variance).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtr

from device_models import fefet_mos2 as fe
from device_models.cells import FefetCell
from device_models.validation import ParamError

KINDS = {"idvg": ("vg_v", "vd_v", "id_a", "t_dwell_s", "branch"),
         "pulse": ("pulse", "v_pulse_v", "width_s", "g_s"),
         "retention": ("t_s", "g_s")}
# (parameter, transform): "log" fits log10 of the value
PARAMS = {"vth_mid_v": "lin", "memory_window_v": "lin", "ss_v_per_dec": "lin",
          "mobility_m2_per_vs": "log", "ea_mean_v": "lin", "ea_sigma_v": "lin",
          "tau0_s": "log", "retention_loss_per_decade": "lin"}
FITTED_BY = {"idvg": ("vth_mid_v", "memory_window_v", "ss_v_per_dec", "mobility_m2_per_vs",
                      "ea_mean_v", "ea_sigma_v"),
             "pulse": ("memory_window_v", "ea_mean_v", "ea_sigma_v", "tau0_s"),
             "retention": ("retention_loss_per_decade",)}
I_FLOOR_A = 1e-15
"""Currents below this are treated as the instrument floor in log residuals."""
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(48)
_GH_W = _GH_W / _GH_W.sum()


def read_measurements(path: Path):
    """The CSV as a DataFrame, checked: known kinds, their columns present and numeric."""
    import pandas as pd

    if not Path(path).is_file():
        raise ParamError("data", str(path), "no such file")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ParamError("data", str(path), f"is not a readable CSV ({e})") from None
    if "kind" not in df.columns:
        raise ParamError("data columns", list(df.columns), "need a 'kind' column")
    bad = sorted(set(df["kind"]) - set(KINDS))
    if bad:
        raise ParamError("data kind", bad[0], f"must be one of {', '.join(KINDS)}")
    for kind, cols in KINDS.items():
        sub = df[df["kind"] == kind]
        if sub.empty:
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ParamError(f"data columns for kind={kind}", missing, f"needs {list(cols)}")
        for c in cols:
            if c == "branch":
                wrong = sorted(set(sub[c]) - {"up", "down"})
                if wrong:
                    raise ParamError("data branch", wrong[0], "must be up or down")
                continue
            vals = pd.to_numeric(sub[c], errors="coerce")
            if vals.isna().any() or not np.all(np.isfinite(vals)):
                row = int(vals.index[vals.isna() | ~np.isfinite(vals.fillna(0))][0])
                raise ParamError(f"data row {row + 2} column {c}", sub[c].loc[row],
                                 "must be a finite number")
    return df


def _switched_quasistatic(v: np.ndarray, t_dwell: np.ndarray, p: fe.FefetParams) -> np.ndarray:
    """Fraction of domains whose coercive voltage is below |v| (Preisach limit)."""
    k = np.log(np.maximum(t_dwell / p.tau0_s, 1.0 + 1e-12)) ** (1.0 / p.alpha)
    return ndtr((np.abs(v) * k - p.ea_mean_v) / max(p.ea_sigma_v, 1e-6))


def _switched_pulses(v: np.ndarray, t: np.ndarray, p: fe.FefetParams) -> np.ndarray:
    """Expected fraction of domains switched by a total time t at |v| (Poisson)."""
    ea = np.maximum(p.ea_mean_v + p.ea_sigma_v * _GH_X, 0.05 * p.ea_mean_v)
    tau = fe.merz_tau_s(np.asarray(v)[:, None], ea[None, :], p)
    return (1.0 - np.exp(-np.asarray(t)[:, None] / tau)) @ _GH_W


def model(df, p: fe.FefetParams) -> np.ndarray:
    """Predicted value of every row: id_a (idvg) or g_s (pulse, retention)."""
    out = np.empty(len(df))
    cell = FefetCell(params=p)
    kind = df["kind"].to_numpy()
    m = kind == "idvg"
    if m.any():
        sub = df[m]
        vg = sub["vg_v"].to_numpy(float)
        frac = _switched_quasistatic(vg, sub["t_dwell_s"].to_numpy(float), p)
        up = sub["branch"].to_numpy() == "up"
        # up: from P = -1, domains with Vc below +Vg have flipped; down: from +1, below -Vg
        pol = np.where(up, np.where(vg > 0, -1 + 2 * frac, -1.0),
                       np.where(vg < 0, 1 - 2 * frac, 1.0))
        out[m] = fe.drain_current(vg, sub["vd_v"].to_numpy(float), pol, p)
    m = kind == "pulse"
    if m.any():
        sub = df[m]
        v = sub["v_pulse_v"].to_numpy(float)
        t = sub["pulse"].to_numpy(float) * sub["width_s"].to_numpy(float)
        frac = _switched_pulses(v, t, p)
        pol = np.where(v > 0, -1 + 2 * frac, 1 - 2 * frac)
        out[m] = cell.conductance({"pol": pol, "dvth_v": np.zeros_like(pol)})
    m = kind == "retention"
    if m.any():
        t = df.loc[m, "t_s"].to_numpy(float)
        g = df.loc[m, "g_s"].to_numpy(float)
        first = int(np.argmin(t))
        # the programmed state: inverted from the earliest point, undoing its own loss
        seen = cell.program(np.array([np.clip(g[first], *cell.g_range())]))["pol"][0]
        pol0 = np.clip(seen / max(fe.retention_kept(t[first], p), 1e-6), -1.0, 1.0)
        pol_t = pol0 * fe.retention_kept(t, p)
        out[m] = cell.conductance({"pol": pol_t, "dvth_v": np.zeros_like(pol_t)})
    return out


def residuals(df, predicted: np.ndarray) -> np.ndarray:
    """Dimensionless: log10 current error (idvg), error over the largest measured g
    (pulse, retention, per kind)."""
    kind = df["kind"].to_numpy()
    r = np.empty(len(df))
    m = kind == "idvg"
    if m.any():
        meas = np.abs(df.loc[m, "id_a"].to_numpy(float))
        r[m] = (np.log10(np.maximum(np.abs(predicted[m]), I_FLOOR_A))
                - np.log10(np.maximum(meas, I_FLOOR_A)))
    for k in ("pulse", "retention"):
        m = kind == k
        if m.any():
            meas = df.loc[m, "g_s"].to_numpy(float)
            r[m] = (predicted[m] - meas) / max(np.abs(meas).max(), 1e-30)
    return r


def fitted_names(df) -> list[str]:
    kinds = set(df["kind"])
    names = [n for n in PARAMS if any(n in FITTED_BY[k] for k in kinds)]
    if "idvg" in kinds and df.loc[df.kind == "idvg", "t_dwell_s"].nunique() > 1:
        names.append("tau0_s")
    return [n for n in PARAMS if n in names]


def _to_vector(p: fe.FefetParams, names: list[str]) -> np.ndarray:
    return np.array([math.log10(getattr(p, n)) if PARAMS[n] == "log" else getattr(p, n)
                     for n in names])


def _from_vector(base: fe.FefetParams, names: list[str], x: np.ndarray) -> fe.FefetParams:
    vals = {n: (10.0 ** v if PARAMS[n] == "log" else float(v)) for n, v in zip(names, x,
                                                                               strict=True)}
    # keep the window inside its physical bound by letting the coercive field follow
    bound = vals.get("memory_window_v", base.memory_window_v) / (2 * base.t_fe_m)
    return dataclasses.replace(base, **vals, ec_v_per_m=max(base.ec_v_per_m, bound))


def fit(df, start: fe.FefetParams) -> dict:
    """Least-squares fit; returns {"params", "table", "residual_rms", "names", ...}."""
    names = fitted_names(df)
    x0 = _to_vector(start, names)
    lo = np.array([{"vth_mid_v": -3, "memory_window_v": 0.05, "ss_v_per_dec": 0.061,
                    "mobility_m2_per_vs": -7, "ea_mean_v": 0.3, "ea_sigma_v": 0.01,
                    "tau0_s": -13, "retention_loss_per_decade": 0.0}[n] for n in names])
    hi = np.array([{"vth_mid_v": 3, "memory_window_v": 5.0, "ss_v_per_dec": 0.5,
                    "mobility_m2_per_vs": -1, "ea_mean_v": 10.0, "ea_sigma_v": 2.0,
                    "tau0_s": -3, "retention_loss_per_decade": 0.5}[n] for n in names])

    def fun(x: np.ndarray) -> np.ndarray:
        try:
            p = _from_vector(start, names, x)
        except ParamError:
            return np.full(len(df), 1e3)
        return residuals(df, model(df, p))

    sol = least_squares(fun, np.clip(x0, lo, hi), bounds=(lo, hi), x_scale="jac",
                        diff_step=1e-4)
    dof = max(1, len(df) - len(names))
    s2 = float(sol.fun @ sol.fun) / dof
    jtj = sol.jac.T @ sol.jac
    cov = s2 * np.linalg.pinv(jtj)
    sig_x = np.sqrt(np.maximum(np.diag(cov), 0.0))
    params = _from_vector(start, names, sol.x)
    table = []
    for n, sx in zip(names, sig_x, strict=True):
        value = getattr(params, n)
        sigma = value * math.log(10) * sx if PARAMS[n] == "log" else sx
        table.append({"parameter": n, "start": getattr(start, n), "fitted": value,
                      "sigma": sigma, "relative_sigma": sigma / abs(value) if value else np.inf})
    return {"params": params, "names": names, "table": table,
            "residual_rms": float(np.sqrt(np.mean(sol.fun**2))),
            "residuals": sol.fun, "predicted": model(df, params), "evaluations": sol.nfev,
            "success": bool(sol.success)}


def fit_command(device: str, data: Path, start_preset: str, results: Path
                ) -> tuple[Path, dict]:
    """Fit, then write fitted.toml (a preset), fit.csv, residuals.png and a manifest."""
    from cosim.runs.files import new_run_dir, write_atomic, write_json
    from cosim.runs.manifest import now_utc, write_manifest

    if device != "fefet":
        raise ParamError("device", device, "must be fefet (the model cosim fit knows)")
    started = now_utc()
    df = read_measurements(data)
    start = fe.preset(start_preset)
    out = fit(df, start)
    run_dir = new_run_dir(results, "fit")
    import pandas as pd

    write_atomic(run_dir / "fit.csv", pd.DataFrame(out["table"]).to_csv(index=False))
    write_atomic(run_dir / "fitted.toml", fe.preset_toml(
        out["params"], f"Fitted by cosim fit to {Path(data).name} from preset {start_preset}:\n"
        f"{', '.join(out['names'])} fitted; the rest kept from the preset.\n"
        f"residual rms {out['residual_rms']:.3g} (log10 A for Id-Vg, fraction of max g "
        "otherwise)"))
    summary = {"device": device, "data": str(data), "start": start_preset,
               "fitted": {r["parameter"]: r["fitted"] for r in out["table"]},
               "sigma": {r["parameter"]: r["sigma"] for r in out["table"]},
               "residual_rms": out["residual_rms"], "points": len(df),
               "evaluations": out["evaluations"], "success": out["success"]}
    write_json(run_dir / "fit.json", summary)
    _plot(run_dir, df, out)
    write_manifest(run_dir, "fit", {"device": device, "data": str(data),
                                    "start": start_preset}, 0, started)
    return run_dir, summary


def _plot(run_dir: Path, df, out: dict) -> None:
    from cosim.runs.files import figures, write_figure

    plt = figures()
    kinds = [k for k in KINDS if (df["kind"] == k).any()]
    fig, axes = plt.subplots(2, len(kinds), figsize=(4.8 * len(kinds), 6.5), squeeze=False)
    pred = out["predicted"]
    for col, k in enumerate(kinds):
        m = (df["kind"] == k).to_numpy()
        sub = df[m]
        ax, axr = axes[0, col], axes[1, col]
        if k == "idvg":
            for (dwell, br), g in sub.groupby(["t_dwell_s", "branch"]):
                idx = g.index.to_numpy()
                ax.semilogy(g.vg_v, np.abs(g.id_a), ".", ms=3, label=f"{br} {dwell:g} s")
                ax.semilogy(g.vg_v, np.abs(pred[idx]), "-", lw=1)
            ax.set(xlabel="Vg (V)", ylabel="|Id| (A)")
            x = sub.vg_v
        elif k == "pulse":
            ax.plot(sub.pulse * np.sign(sub.v_pulse_v), sub.g_s, ".", label="measured")
            ax.plot(sub.pulse * np.sign(sub.v_pulse_v), pred[m], "x", label="fit")
            ax.set(xlabel="pulses (negative: depression)", ylabel="G (S)")
            x = sub.pulse * np.sign(sub.v_pulse_v)
        else:
            ax.semilogx(sub.t_s, sub.g_s, ".", label="measured")
            ax.semilogx(sub.t_s, pred[m], "-", label="fit")
            ax.set(xlabel="time (s)", ylabel="G (S)")
            x = sub.t_s
            axr.set_xscale("log")
        ax.set_title(k)
        ax.legend(fontsize=6)
        axr.plot(x, out["residuals"][m], ".", ms=3)
        axr.axhline(0, color="k", lw=0.6)
        axr.set(ylabel="residual", xlabel=ax.get_xlabel())
    write_figure(fig, run_dir / "residuals.png")
    plt.close(fig)


def synthetic_measurements(p: fe.FefetParams, rng: np.random.Generator, noise: float = 0.02,
                           dwell_s: tuple[float, ...] = (1e-6, 1e-3)):
    """Measurements the model itself makes (many-domain devices, the simulator's own
    Preisach sweep and stochastic pulse trains), with relative Gaussian noise: the
    test data of ``cosim fit`` and an example of the CSV format."""
    import pandas as pd

    rows = []
    many = dataclasses.replace(p, n_domains=2000)
    vg = np.linspace(-4.0, 4.0, 81)
    for dwell in dwell_s:
        for branch, start, sweep in (("up", -1.0, vg), ("down", 1.0, vg[::-1])):
            d = fe.new_domains((1,), many, rng, pol=start)
            pols, _ = fe.preisach_sweep(d, sweep, many, dwell)
            i = fe.drain_current(sweep, 0.1, pols[:, 0], p)
            for v, cur in zip(sweep, i, strict=True):
                rows.append({"kind": "idvg", "vg_v": v, "vd_v": 0.1, "t_dwell_s": dwell,
                             "branch": branch,
                             "id_a": cur * (1 + noise * rng.standard_normal())})
    cell = FefetCell(params=p)
    for v, start in ((1.5, -1.0), (-1.5, 1.0)):
        d = fe.new_domains((400,), many, rng, pol=start)
        for n in range(1, 33):
            d = fe.apply_pulses(d, v, 100e-9, 1, many, rng)
            pol = float(d.polarization.mean())
            g = float(cell.conductance({"pol": np.array(pol), "dvth_v": np.array(0.0)}))
            rows.append({"kind": "pulse", "pulse": n, "v_pulse_v": v, "width_s": 100e-9,
                         "g_s": g * (1 + noise * rng.standard_normal())})
    for t in np.logspace(0, 7, 15):
        pol = float(fe.drift(np.array(0.8), t, p))
        g = float(cell.conductance({"pol": np.array(pol), "dvth_v": np.array(0.0)}))
        rows.append({"kind": "retention", "t_s": t,
                     "g_s": g * (1 + 0.2 * noise * rng.standard_normal())})
    return pd.DataFrame(rows)
