"""``cosim codesign SPEC.toml``: the semi-decoupled search, its exhaustive baseline,
and the tests of its premise on analog arrays.

Run directory::

    spec.toml, spec.json     the spec as given and as resolved
    train/points/            one record + weights per (architecture, seed)
    deploy/points/           one record per (architecture, design, seed) deployed
    architectures.parquet    float accuracy (validation / test, mean +- std over seeds)
                             and the proxy design's cost per architecture
    designs.parquet          the hardware designs
    costs.npz                energy, latency, area of every (architecture, design)
    searches.parquet         every search (exhaustive, semi-decoupled, with hardware
                             accuracy), its choice, evaluations, regret
    sensitivity.parquet      regret vs K for each proxy
    rank_agreement.parquet   Spearman / Kendall of architecture rankings between designs
    hardware_accuracy.parquet accuracy on hardware of every (architecture, design) deployed
    spot_check.parquet       closed-form vs behavioral vs spice energy by block
    summary.json, manifest.json
    report.html              written by the CLI (``cosim.reports.codesign``)

Training and deployment points run on the sweep machinery (Dask workers, one
stoppable child each, records written as they finish); ``--resume`` with the same
run directory re-runs only the points without a record.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from cosim.codesign import search
from cosim.codesign.cost import BLOCKS, design_arrays, network_cost
from cosim.codesign.points import deploy_architecture, train_architecture
from cosim.codesign.spec import ACCURACY_KEYS, CodesignSpec, load_spec
from cosim.runs.files import new_run_dir, write_atomic, write_json, write_npz, write_parquet
from cosim.runs.manifest import now_utc, write_manifest
from cosim.runs.progress import report
from cosim.sweeps.runner import (
    check_resumable,
    dask_client,
    finished_ids,
    point_path,
    run_points,
)
from cosim.sweeps.spec import point_id
from device_models.validation import ParamError

TRAIN_KIND, DEPLOY_KIND = "codesign-train", "codesign-deploy"
"""Point kinds: part of every point id (so of what resume and --reuse-training find)."""
RANK_PAIRS = 2000
"""Design pairs sampled for the latency / energy rank agreement."""


@dataclasses.dataclass
class Stage:
    """One kind of point in its own folder of the run directory."""

    run_dir: Path
    client: Any
    spec: CodesignSpec
    task: Any
    kind: str
    batch: int | None = None
    """Points per Dask task (None: the runner's default; 1 for points of seconds, so one
    slow task does not hold a batch while the other workers idle)."""
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    """Point id -> first line of its error, for every point that did not finish."""

    def run(self, params: list[dict], label: str) -> list[dict]:
        """The record of each of ``params``, in order (each run unless it has an ok
        record)."""
        points = [{"id": point_id(self.kind, p), "params": p} for p in params]
        done = finished_ids(self.run_dir)
        pending = [p for p in points if p["id"] not in done]
        if pending:
            run_points(self.client, self.task, pending, self.run_dir,
                       timeout_s=self.spec.timeout_s, label=label,
                       n_done=len(points) - len(pending), n_total=len(points),
                       batch=self.batch)
        records = [json.loads(point_path(self.run_dir, p["id"]).read_text()) for p in points]
        for rec in records:
            if rec["status"] != "ok":
                self.failed[rec["id"]] = (f"{rec['status']}: "
                                          f"{str(rec.get('error')).splitlines()[0]}")
        return records


def seed_summary(records: list[dict]) -> dict[str, Any]:
    """Validation and test accuracy over the seeds whose point finished: count, mean, std
    (NaN when none did)."""
    ok = [r["metrics"] for r in records if r["status"] == "ok"]
    out: dict[str, Any] = {"seeds_ok": len(ok)}
    for split in ("val", "test"):
        acc = [m[f"{split}_accuracy"] for m in ok]
        out[f"{split}_mean"] = float(np.mean(acc)) if acc else np.nan
        out[f"{split}_std"] = float(np.std(acc)) if acc else np.nan
    return out


def _prepare(run_dir: Path, spec: CodesignSpec, text: str, resume: bool) -> None:
    resolved = {"spec": spec.raw, "architectures": len(spec.architectures),
                "designs": len(spec.designs()), "proxy": spec.proxy, "seeds": list(spec.seeds)}
    if resume:
        check_resumable(run_dir, spec.name, resolved)
    elif (run_dir / "train").exists():
        raise ParamError("run_dir", str(run_dir), "already holds a search; pass --resume")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "spec.toml", text)
    write_json(run_dir / "spec.json", resolved)


def reuse_training(source: Path, train_dir: Path, spec: CodesignSpec) -> int:
    """Copy the finished training records (and weights) of another codesign run whose
    training parameters match this spec's (same point id); return how many. The
    float accuracy of an architecture is computed once, whatever hardware is searched."""
    import shutil

    src = Path(source) / "train" / "points"
    if not src.is_dir():
        raise ParamError("reuse_training", str(source), "is not a codesign run directory "
                         "(no train/points)")
    done = finished_ids(src.parent)
    (train_dir / "points").mkdir(parents=True, exist_ok=True)
    copied = 0
    for a in spec.architectures:
        for s in spec.seeds:
            pid = point_id(TRAIN_KIND, _train_params(spec, a, s))
            if pid in done and not point_path(train_dir, pid).exists():
                shutil.copy2(src / f"{pid}.npz", train_dir / "points" / f"{pid}.npz")
                shutil.copy2(src / f"{pid}.json", point_path(train_dir, pid))
                copied += 1
    return copied


def _train_params(spec: CodesignSpec, arch, seed: int) -> dict[str, Any]:
    return {**arch.params(), **dataclasses.asdict(spec.training), "seed": seed}


def float_stage(stage: Stage, spec: CodesignSpec):
    """Train every architecture with every seed; per architecture: validation and test
    accuracy (mean, std over the seeds that finished), the per-layer statistics (mean
    over seeds) and the weights' files."""
    import pandas as pd

    params = [_train_params(spec, a, s) for a in spec.architectures for s in spec.seeds]
    records = stage.run(params, "codesign: train architectures")
    n = len(spec.seeds)
    rows, stats, weights = [], [], []
    for i, a in enumerate(spec.architectures):
        recs = records[i * n:(i + 1) * n]
        files = {r["params"]["seed"]: stage.run_dir / "points" / r["artifacts"]
                 for r in recs if r["status"] == "ok"}
        layer = [np.load(f)["stats"] for f in files.values()]
        stats.append(np.mean(layer, axis=0) if layer else None)
        weights.append(files)
        rows.append({"architecture": a.label, "hidden": "-".join(map(str, a.hidden)),
                     "depth": len(a.hidden), "sparsity": a.sparsity, "act_bits": a.act_bits,
                     **seed_summary(recs)})
    return pd.DataFrame(rows), stats, weights


def cost_table(spec: CodesignSpec, stats: list, h: dict[str, np.ndarray]
               ) -> tuple[dict[str, np.ndarray], float]:
    """Every (architecture, design) cost; also seconds per evaluation."""
    n_a, n_h = len(spec.architectures), len(h["tile"])
    keys = ("energy_j", "latency_s", "area_m2", "tiles", "utilisation", *BLOCKS)
    out = {k: np.full((n_a, n_h), np.inf) for k in keys}
    t0 = time.perf_counter()
    for i, (a, st) in enumerate(zip(spec.architectures, stats, strict=True)):
        if st is None:
            continue
        c = network_cost(st, a.act_bits, h)
        for k in keys:
            out[k][i] = c[k]
    return out, (time.perf_counter() - t0) / (n_a * n_h)


def _choice_row(name: str, c: search.Choice | None, spec: CodesignSpec, designs: list[dict],
                cost: dict, archs, extra: dict | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"search": name, **(extra or {})}
    if c is None:
        return {**row, "found": False}
    a = spec.architectures[c.arch]
    row.update(found=True, architecture=a.label, objective=c.value, evaluations=c.evaluations,
               energy_j=float(cost["energy_j"][c.arch, c.design]),
               latency_s=float(cost["latency_s"][c.arch, c.design]),
               area_mm2=float(cost["area_m2"][c.arch, c.design]) * 1e6,
               float_val=float(archs.val_mean[c.arch]), float_test=float(archs.test_mean[c.arch]),
               float_test_std=float(archs.test_std[c.arch]),
               **{f"hw_{k}": v for k, v in designs[c.design].items()})
    return row


class HardwareAccuracy:
    """Accuracy on hardware (mean validation accuracy over the seeds) of
    (architecture, design) pairs, deployed on the workers and cached by what the
    deploy depends on (``ACCURACY_KEYS``)."""

    def __init__(self, stage: Stage, spec: CodesignSpec, designs: list[dict], weights) -> None:
        self.stage, self.spec, self.designs, self.weights = stage, spec, designs, weights
        self.cache: dict[tuple, float] = {}
        self.rows: dict[tuple, dict] = {}

    def key(self, a: int, h: int) -> tuple:
        return (a, *(self.designs[h][k] for k in ACCURACY_KEYS))

    def _params(self, key: tuple, seed: int) -> dict[str, Any]:
        a = self.spec.architectures[key[0]]
        return {**a.params(), **dict(zip(ACCURACY_KEYS, key[1:], strict=True)), "seed": seed,
                "val_fraction": self.spec.training.val_fraction,
                "weights": str(self.weights[key[0]][seed])}

    def evaluate(self, keys: list[tuple]) -> dict[tuple, float]:
        params = [self._params(k, s) for k in keys for s in self.weights[k[0]]]
        records = iter(self.stage.run(params, f"codesign: deploy {len(keys)} pairs"))
        out = {}
        for k in keys:
            summary = seed_summary([next(records) for _ in self.weights[k[0]]])
            # a pair whose deploys all failed counts as not reaching the target
            out[k] = summary["val_mean"] if summary["seeds_ok"] else float("-inf")
            self.rows[k] = {"architecture": self.spec.architectures[k[0]].label,
                            **dict(zip(ACCURACY_KEYS, k[1:], strict=True)), **summary}
        self.cache.update(out)
        return out


def _accuracy_designs(spec: CodesignSpec, designs: list[dict], proxy: int,
                      rng: np.random.Generator) -> list[int]:
    """The proxy and designs that differ in what a deploy sees (one per accuracy key)."""
    by_key: dict[tuple, int] = {}
    for h, d in enumerate(designs):
        by_key.setdefault(tuple(d[k] for k in ACCURACY_KEYS), h)
    others = [h for h in by_key.values() if h != proxy]
    n = min(spec.accuracy_designs - 1, len(others))
    return [proxy, *rng.choice(others, n, replace=False).tolist()] if n > 0 else [proxy]


def codesign_command(spec_path: Path, results: Path, run_dir: Path | None = None,
                     resume: bool = False, scheduler: str | None = None, workers: int = 2,
                     spot_check_spice: bool = True, reuse_from: Path | None = None
                     ) -> tuple[Path, dict[str, Any]]:
    import pandas as pd

    from cosim.codesign.spot_check import spot_check

    started, t_start = now_utc(), time.perf_counter()
    spec, text = load_spec(spec_path)
    run_dir = run_dir or new_run_dir(results, f"codesign-{spec.name}")
    _prepare(run_dir, spec, text, resume)
    reused = reuse_training(reuse_from, run_dir / "train", spec) if reuse_from else 0
    designs = spec.designs()
    proxy = designs.index(spec.proxy)
    h = design_arrays(designs)
    rng = np.random.default_rng(0)
    with dask_client(scheduler, workers) as client:
        train = Stage(run_dir / "train", client, spec, train_architecture, TRAIN_KIND)
        archs, stats, weights = float_stage(train, spec)
        report("codesign: cost model", 0, 1)
        cost, s_per_eval = cost_table(spec, stats, h)
        obj = search.objective(cost, spec.objective)
        feasible = (archs.val_mean.to_numpy() >= spec.target_accuracy) & np.isfinite(obj[:, 0])
        val = archs.val_mean.to_numpy()

        def select(p: int, k: int) -> np.ndarray:
            if spec.selection == "pareto":
                return search.pareto_k(obj, feasible, p, k, cost["energy_j"],
                                       cost["latency_s"], val)
            return search.top_k(obj, feasible, p, k)

        best = search.exhaustive(obj, feasible)
        kept = select(proxy, spec.k)
        semi = search.search_kept(obj, kept)

        # sensitivity to K and to the proxy
        n_more = min(spec.sensitivity_proxies, len(designs) - 1)
        others = rng.choice([i for i in range(len(designs)) if i != proxy], n_more,
                            replace=False)
        sens = []
        for p_i, p in enumerate([proxy, *others.tolist()]):
            for k in spec.sensitivity_k:
                chosen = select(p, k)
                r = search.regret(search.search_kept(obj, chosen), best)
                sens.append({"proxy": "named" if p_i == 0 else f"random {p_i}", "k": k,
                             "kept": len(chosen), "regret": r,
                             "evaluations": len(obj) + len(chosen) * len(designs),
                             **{f"hw_{key}": v for key, v in designs[p].items()}})
        # architecture rankings between designs: latency and energy
        valid = np.isfinite(obj[:, 0])
        pairs = search.design_pairs(len(designs), RANK_PAIRS, rng)
        agree = []
        for metric in ("latency_s", "energy_j"):
            rho, tau = search.rank_agreement(cost[metric][valid], pairs)
            agree += [{"metric": metric, "design_a": int(i), "design_b": int(j), "spearman": r,
                       "kendall": t} for (i, j), r, t in zip(pairs, rho, tau, strict=True)]

        # accuracy on hardware, for the kept architectures only
        deploy = Stage(run_dir / "deploy", client, spec, deploy_architecture, DEPLOY_KIND,
                       batch=1)
        hwacc = HardwareAccuracy(deploy, spec, designs, weights)
        acc_designs = _accuracy_designs(spec, designs, proxy, rng)
        if len(kept):
            hwacc.evaluate(list(dict.fromkeys(hwacc.key(int(a), d)
                                              for a in kept for d in acc_designs)))
            acc = np.array([[hwacc.cache[hwacc.key(int(a), d)] for d in acc_designs]
                            for a in kept])
            acc_pairs = search.design_pairs(len(acc_designs), RANK_PAIRS, rng)
            rho, tau = search.rank_agreement(acc, acc_pairs)
            agree += [{"metric": "accuracy_on_hardware", "design_a": acc_designs[i],
                       "design_b": acc_designs[j], "spearman": r, "kendall": t}
                      for (i, j), r, t in zip(acc_pairs, rho, tau, strict=True)]
        lazy_semi = search.lazy_optimum(obj, kept, hwacc.key, hwacc.evaluate, hwacc.cache,
                                        spec.target_accuracy, spec.accuracy_budget)
        lazy_full = search.lazy_optimum(obj, np.flatnonzero(feasible), hwacc.key,
                                        hwacc.evaluate, hwacc.cache, spec.target_accuracy,
                                        spec.accuracy_budget)

    report("codesign: spot check", 0, 1)
    checks = spot_check(spec, designs, proxy, spice=spot_check_spice)
    searches = [
        _choice_row("exhaustive (float accuracy)", best, spec, designs, cost, archs),
        _choice_row("semi-decoupled (float accuracy)", semi, spec, designs, cost, archs,
                    {"regret": search.regret(semi, best)}),
        _choice_row("exhaustive (accuracy on hardware)", lazy_full.choice, spec, designs, cost,
                    archs, {"candidates_walked": lazy_full.walked,
                            "deploy_pairs": lazy_full.evaluated,
                            "budget_exhausted": lazy_full.exhausted}),
        _choice_row("semi-decoupled (accuracy on hardware)", lazy_semi.choice, spec, designs,
                    cost, archs, {"candidates_walked": lazy_semi.walked,
                                  "deploy_pairs": lazy_semi.evaluated,
                                  "budget_exhausted": lazy_semi.exhausted,
                                  "regret": search.regret(lazy_semi.choice, lazy_full.choice)}),
    ]
    for row, c in zip(searches[2:], (lazy_full.choice, lazy_semi.choice), strict=True):
        if c is not None:
            hw_row = hwacc.rows[hwacc.key(c.arch, c.design)]
            row.update(hw_val=hw_row["val_mean"], hw_test=hw_row["test_mean"],
                       hw_test_std=hw_row["test_std"])
    archs["feasible"] = feasible
    archs["kept"] = np.isin(np.arange(len(archs)), kept)
    for key in ("energy_j", "latency_s", "area_m2", "tiles", "utilisation"):
        archs[f"proxy_{key}"] = cost[key][:, proxy]
    agree_df = pd.DataFrame(agree)
    wall = time.perf_counter() - t_start
    summary = _summary(spec, designs, proxy, archs, searches, agree_df, s_per_eval, wall,
                       scheduler or f"LocalCluster({workers})")
    summary["training_reused"] = reused
    summary["failed_points"] = {"train": len(train.failed), "deploy": len(deploy.failed),
                                "first": list({**train.failed, **deploy.failed}.items())[:3]}
    tables = {"architectures": archs, "designs": pd.DataFrame(designs),
              "searches": pd.DataFrame(searches), "sensitivity": pd.DataFrame(sens),
              "rank_agreement": agree_df,
              "hardware_accuracy": pd.DataFrame(list(hwacc.rows.values())),
              "spot_check": pd.DataFrame(checks)}
    for name, df in tables.items():
        write_parquet(run_dir / f"{name}.parquet", df)
    write_npz(run_dir / "costs.npz", **{k: v.astype(np.float32) for k, v in cost.items()})
    write_json(run_dir / "summary.json", summary)
    write_manifest(run_dir, f"codesign {spec.name}", {"spec": spec.raw, "proxy": spec.proxy},
                   None, started)
    return run_dir, summary


def _summary(spec: CodesignSpec, designs, proxy, archs, searches, agree, s_per_eval, wall,
             scheduler) -> dict[str, Any]:
    n_a, n_h = len(spec.architectures), len(designs)
    frac = {}
    for metric, df in agree.groupby("metric"):
        rho = df.spearman.dropna()
        frac[metric] = {"pairs": len(df), "pairs_ranked": len(rho),
                        "spearman_median": float(rho.median()) if len(rho) else np.nan,
                        "fraction_spearman_ge_0.9": float((rho >= 0.9).mean()) if len(rho)
                        else np.nan,
                        "kendall_median": float(df.kendall.dropna().median())}
    return {"architectures": n_a, "designs": n_h, "seeds": len(spec.seeds), "k": spec.k,
            "feasible_architectures": int(archs.feasible.sum()),
            "target_accuracy": spec.target_accuracy, "objective": spec.objective,
            "selection": spec.selection, "kept": int(archs.kept.sum()),
            "proxy": designs[proxy],
            "search_cost": {"exhaustive": n_a * n_h,
                            "semi_decoupled": n_a + int(archs.kept.sum()) * n_h,
                            "ratio": n_a * n_h / (n_a + int(archs.kept.sum()) * n_h)},
            "searches": searches, "rank_agreement": frac,
            "cost_model_us_per_evaluation": s_per_eval * 1e6, "wall_s": wall,
            "scheduler": scheduler}
