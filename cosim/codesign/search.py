"""The searches over an (architectures x designs) objective table, and the statistics
that test the semi-decoupled premise. Pure numpy/scipy on tables the command built.

- exhaustive: the best feasible (a, h) over all of A x H (|A||H| evaluations);
- semi-decoupled: rank the feasible architectures on the proxy design h0, keep the
  best K (by the objective, or the proxy's energy-latency-accuracy Pareto front
  capped at K), then search all of H with those only (|A| + K|H| evaluations);
- regret: objective(semi-decoupled optimum) / objective(exhaustive optimum) - 1;
- rank agreement: Spearman rho and Kendall tau of the architectures' order under
  two designs, over sampled pairs of designs;
- lazy constrained search: when feasibility needs an expensive evaluation (accuracy
  on hardware), walk the candidates in objective order and evaluate only until the
  first feasible one: the optimum is exact, its cost is the candidates walked.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Choice:
    arch: int
    design: int
    value: float
    evaluations: int


def objective(cost: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name == "edp":
        return cost["energy_j"] * cost["latency_s"]
    return cost["energy_j"] if name == "energy" else cost["latency_s"]


def exhaustive(obj: np.ndarray, feasible: np.ndarray) -> Choice | None:
    """obj: (A, H); feasible: (A,) bool."""
    if not feasible.any():
        return None
    masked = np.where(feasible[:, None], obj, np.inf)
    a, h = np.unravel_index(np.argmin(masked), masked.shape)
    return Choice(int(a), int(h), float(obj[a, h]), obj.size)


def top_k(obj: np.ndarray, feasible: np.ndarray, proxy: int, k: int) -> np.ndarray:
    """The K feasible architectures with the best objective on the proxy design."""
    idx = np.flatnonzero(feasible)
    return idx[np.argsort(obj[idx, proxy], kind="stable")[:k]]


def pareto_set(points: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``points`` (n, m) that no other row dominates (every
    column no worse and one better; all columns minimised)."""
    keep = []
    for i, p in enumerate(points):
        dominated = np.all(points <= p, axis=1) & np.any(points < p, axis=1)
        if not dominated.any():
            keep.append(i)
    return np.array(keep, dtype=int)


def pareto_k(obj: np.ndarray, feasible: np.ndarray, proxy: int, k: int,
             energy: np.ndarray, latency: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """The feasible architectures on the proxy's (energy, latency, -accuracy) Pareto
    front; when the front holds more than K, its K best by the objective."""
    idx = np.flatnonzero(feasible)
    if not len(idx):
        return idx
    front = idx[pareto_set(np.stack([energy[idx, proxy], latency[idx, proxy],
                                     -accuracy[idx]], axis=1))]
    return front[np.argsort(obj[front, proxy], kind="stable")[:k]]


def search_kept(obj: np.ndarray, kept: np.ndarray) -> Choice | None:
    """Best (a, h) with a in ``kept``, over every design; evaluations |A| + |kept||H|."""
    if not len(kept):
        return None
    sub = obj[kept]
    a, h = np.unravel_index(np.argmin(sub), sub.shape)
    return Choice(int(kept[a]), int(h), float(sub[a, h]), obj.shape[0] + len(kept) * obj.shape[1])


def semi_decoupled(obj: np.ndarray, feasible: np.ndarray, proxy: int, k: int) -> Choice | None:
    return search_kept(obj, top_k(obj, feasible, proxy, k))


def regret(semi: Choice | None, best: Choice | None) -> float:
    if semi is None or best is None:
        return float("nan")
    return semi.value / best.value - 1.0


def rank_agreement(metric: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman rho and Kendall tau between columns i and j of ``metric`` (items x
    designs) for each pair (i, j); NaN where a column is constant."""
    from scipy.stats import kendalltau, spearmanr

    rho, tau = np.empty(len(pairs)), np.empty(len(pairs))
    for n, (i, j) in enumerate(pairs):
        a, b = metric[:, i], metric[:, j]
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            rho[n] = tau[n] = np.nan
            continue
        rho[n] = spearmanr(a, b).statistic
        tau[n] = kendalltau(a, b).statistic
    return rho, tau


def design_pairs(n_designs: int, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct unordered pairs of designs: all of them when few, else a sample."""
    total = n_designs * (n_designs - 1) // 2
    if total <= n_pairs:
        i, j = np.triu_indices(n_designs, 1)
        return np.stack([i, j], axis=1)
    i = rng.integers(0, n_designs, 2 * n_pairs)
    j = rng.integers(0, n_designs, 2 * n_pairs)
    ok = i != j
    return np.stack([i[ok], j[ok]], axis=1)[:n_pairs]


@dataclass(frozen=True)
class LazyResult:
    choice: Choice | None
    """The optimum (None: none feasible within the budget)."""
    walked: int
    """Candidates looked at in objective order."""
    evaluated: int
    """Distinct accuracy keys evaluated for this search (cache hits not counted)."""
    exhausted: bool
    """The budget ran out before a feasible candidate was found."""


def lazy_optimum(obj: np.ndarray, archs: np.ndarray, key: Callable[[int, int], Hashable],
                 evaluate: Callable[[list[Hashable]], dict[Hashable, float]],
                 cache: dict[Hashable, float], target: float, budget: int,
                 batch: int = 8) -> LazyResult:
    """Best (a, h) with a in ``archs`` whose evaluated accuracy (``evaluate`` maps keys
    to accuracy; ``key(a, h)`` names what it depends on) reaches ``target``. Walks
    candidates in objective order, evaluating up to ``batch`` new keys at a time (in
    parallel), never more than ``budget`` new keys."""
    sub = obj[archs]
    order = np.argsort(sub, axis=None, kind="stable")
    new = 0
    pos = 0
    while pos < len(order):
        # the next candidates whose keys are unknown, in order
        want: list[Hashable] = []
        scan = pos
        while scan < len(order) and len(want) < batch:
            a, h = np.unravel_index(order[scan], sub.shape)
            k = key(int(archs[a]), int(h))
            if k not in cache and k not in want:
                want.append(k)
            scan += 1
        if want:
            if new + len(want) > budget:
                want = want[:max(0, budget - new)]
            if not want:
                return LazyResult(None, pos, new, True)
            cache.update(evaluate(want))
            new += len(want)
        # walk forward while the keys are known
        while pos < len(order):
            a, h = np.unravel_index(order[pos], sub.shape)
            k = key(int(archs[a]), int(h))
            if k not in cache:
                break
            pos += 1
            if cache[k] >= target:
                return LazyResult(Choice(int(archs[a]), int(h), float(sub[a, h]), pos), pos,
                                  new, False)
    return LazyResult(None, pos, new, False)
