"""Activity-difference training: no backpropagation, only array reads and writes.

A layered network with symmetric coupling: each weight matrix W_k sits in one
crossbar that is read both ways, forward (rows driven, ``layer.forward``) to
carry activity up and transposed (columns driven, ``layer.backward``) to carry it
down. A neuron is the ADC's output clipped to [0, 1] and held in a digital
register (discrete time):

    s_k <- (1 - gamma) s_k + gamma clip(F_{k-1}(s_{k-1}) + B_k(s_{k+1}) + b_k, 0, 1)

where F and B are what the arrays return (read noise, I-V curvature, ADC
codes, wire drop, whatever the engine models); no analytic derivative appears.

- free phase: the input clamped, the states relax from zero until the largest
  change is below ``tol`` or ``free_steps`` passes;
- forced phase: from the free fixed point the output is nudged by
  beta (target - s_L), a current injected on the output neurons (or clamped to
  the target), and the states relax ``forced_steps`` more passes; with
  ``symmetric`` two forced phases at +beta and -beta replace the free one in the
  update, which removes the O(beta) bias;
- update: dW_k = eta / beta (s_k^c (x) s_{k+1}^c - s_k^f (x) s_{k+1}^f), batch
  mean (eta / 2 beta with the +-beta pair), written as pulses per cell, as
  sign-only (Manhattan) pulses or as row x column coincidence pulses of the
  activities (``coincidence_terms``); biases are digital.

The neuron here is the discrete one (ADC clip and register); the continuous
one, an integrator with rails in an ngspice transient, is
``cosim.nn.activity_circuit``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cosim.nn.layers import AnalogLayer
from cosim.nn.writes import WriteLedger
from device_models.validation import ParamError, check_choice, check_int, check_range

ACTIVITY_WRITES = ("cell", "manhattan", "coincidence")


@dataclass(frozen=True)
class ActivitySettings:
    beta: float = 0.5
    """Nudge strength (forced phase)."""
    clamp: bool = False
    """Clamp the output to the target in the forced phase instead of nudging."""
    symmetric: bool = True
    """Two forced phases at +beta and -beta (unbiased) instead of free and +beta."""
    free_steps: int = 20
    """Most relaxation passes of the free phase (T_f)."""
    forced_steps: int = 8
    """Relaxation passes of each forced phase (T_c)."""
    tol: float = 1e-3
    """Free phase stops when no state moves more than this in a pass."""
    damping: float = 0.5
    """gamma: the share of the new value a state takes per pass."""
    write: str = "cell"
    """cell (a pulse count per cell) | manhattan (one pulse of the update's sign) |
    coincidence (row x column stochastic pulse streams: the outer products
    themselves, no per-cell count computed anywhere)."""

    def __post_init__(self) -> None:
        check_range("train.activity_beta", self.beta, 0.0, 10.0, lo_open=True)
        check_int("train.activity_free_steps", self.free_steps, 1, 10_000)
        check_int("train.activity_forced_steps", self.forced_steps, 1, 10_000)
        check_range("train.activity_tol", self.tol, 0.0, 1.0)
        check_range("train.activity_damping", self.damping, 0.0, 1.0, lo_open=True)
        check_choice("train.activity_write", self.write, ACTIVITY_WRITES)


@dataclass
class Network:
    """The arrays (one per weight matrix) and the digital biases."""

    layers: list[AnalogLayer]
    biases: list[np.ndarray]
    reads: int = 0
    """Matrix-vector reads done (forward and transposed), counted per input vector."""

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].mask.shape[0]] + [layer.mask.shape[1] for layer in self.layers]


def relax(net: Network, x: np.ndarray, states: list[np.ndarray] | None, steps: int,
          st: ActivitySettings, rng: np.random.Generator,
          target: np.ndarray | None = None, beta: float = 0.0,
          stop_early: bool = True) -> tuple[list[np.ndarray], int]:
    """Relax the states with the input clamped (and the output nudged toward
    ``target`` by ``beta``, or clamped to it). Returns ([x, s_1, ..., s_L], passes)."""
    n = len(x)
    s = ([x] + [np.zeros((n, w)) for w in net.sizes[1:]]) if states is None else (
        [x] + [a.copy() for a in states[1:]])
    last = len(net.layers)
    passes = 0
    for _ in range(steps):
        passes += 1
        new = []
        for k in range(1, last + 1):
            drive = net.layers[k - 1].forward(s[k - 1], rng) + net.biases[k - 1]
            if k < last:
                drive = drive + net.layers[k].backward(s[k + 1], rng)
            elif target is not None and beta != 0 and not st.clamp:
                drive = drive + beta * (target - s[k])  # current injected on the outputs
            new.append(np.clip(drive, 0.0, 1.0))
        net.reads += (2 * last - 1) * n
        moved = 0.0
        for k, v in enumerate(new, start=1):
            if k == last and target is not None and st.clamp:
                v = target
            upd = (1 - st.damping) * s[k] + st.damping * v
            moved = max(moved, float(np.abs(upd - s[k]).max()))
            s[k] = upd
        if stop_early and moved < st.tol:
            break
    return s, passes


def weight_updates(free: list[np.ndarray], forced: list[np.ndarray], scale: float
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """scale x (forced pre/post products - free pre/post products), batch means."""
    n = len(free[0])
    dws = [scale * (forced[k].T @ forced[k + 1] - free[k].T @ free[k + 1]) / n
           for k in range(len(free) - 1)]
    dbs = [scale * (forced[k + 1] - free[k + 1]).mean(axis=0) for k in range(len(free) - 1)]
    return dws, dbs


def phases(net: Network, x: np.ndarray, target: np.ndarray, st: ActivitySettings,
           rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """(negative-side states, positive-side states, update scale) of one batch: free
    and +beta, or -beta and +beta (symmetric); the scale is 1/beta or 1/(2 beta)."""
    free, _ = relax(net, x, None, st.free_steps, st, rng)
    plus, _ = relax(net, x, free, st.forced_steps, st, rng, target, st.beta, False)
    if not st.symmetric or st.clamp:
        return free, plus, 1.0 / st.beta
    minus, _ = relax(net, x, free, st.forced_steps, st, rng, target, -st.beta, False)
    return minus, plus, 1.0 / (2 * st.beta)


def coincidence_terms(neg_pre: np.ndarray, neg_post: np.ndarray, pos_pre: np.ndarray,
                      pos_post: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The phase difference as coincidence terms (row activity, column activity, sign),
    every activity in [0, 1]:

        a+ b+^T - a- b-^T = a+ (b+ - b-)^T + (a+ - a-) b-^T,

    each difference split into its positive and negative parts per sample. Writing
    the two phases' products as separate streams would leave their large common part
    to cancel between two random counts (the noise grows with the products, not
    with their difference); here the pulses scale with the difference. The
    differences are per-neuron subtractions of the state registers (O(N)); the
    outer products stay with the coincidences."""
    d_post = pos_post - neg_post
    d_pre = pos_pre - neg_pre
    return [(pos_pre, np.maximum(d_post, 0.0), 1.0), (pos_pre, np.maximum(-d_post, 0.0), -1.0),
            (np.maximum(d_pre, 0.0), neg_post, 1.0), (np.maximum(-d_pre, 0.0), neg_post, -1.0)]


def write(layer: AnalogLayer, k: int, neg: list[np.ndarray], pos: list[np.ndarray],
          dw: np.ndarray, lr: float, st: ActivitySettings, rng: np.random.Generator
          ) -> WriteLedger:
    """Write layer k's update ``dw`` (= lr x (pos products - neg products), batch mean):
    a pulse count per cell; one sign pulse where the update is worth at least half
    a nominal pulse (Manhattan); or coincidence streams of the phases' activities
    and activity differences on the lines (``coincidence_terms``)."""
    if st.write == "coincidence":
        return layer.coincidence_update(coincidence_terms(neg[k], neg[k + 1], pos[k],
                                                          pos[k + 1]), lr, rng)
    if st.write == "manhattan":
        ppw = layer.pulses_per_weight()
        dw = np.where(np.abs(dw) * ppw >= 0.5, np.sign(dw) / ppw, 0.0)
    return layer.write_update(dw, rng)


def predict(net: Network, x: np.ndarray, st: ActivitySettings, rng: np.random.Generator,
            batch: int = 512) -> np.ndarray:
    """Classes from the free phase's output states."""
    out = []
    for s in range(0, len(x), batch):
        states, _ = relax(net, x[s:s + batch], None, st.free_steps, st, rng)
        out.append(states[-1].argmax(axis=1))
    return np.concatenate(out)


def train_activity(net: Network, x: np.ndarray, y: np.ndarray, classes: int, epochs: int,
                   eta: float, batch: int, st: ActivitySettings, rng: np.random.Generator,
                   evaluate: Callable[[Network], dict] | None = None,
                   progress: Callable[[str, dict], None] | None = None) -> list[dict]:
    """Epochs of activity-difference training; one row per epoch (loss: the squared
    error of the negative phase's outputs against the targets)."""
    if any(not (layer.domains or layer.in_array) for layer in net.layers):
        raise ParamError("mode", "activity", "layers must be programmed for in-array writes")
    rows = []
    for ep in range(epochs):
        t0 = time.perf_counter()
        ledger = WriteLedger()
        reads0 = net.reads
        order = rng.permutation(len(y))
        losses = []
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            target = np.eye(classes, net.sizes[-1])[y[idx]]
            neg, pos, scale = phases(net, x[idx], target, st, rng)
            losses.append(float(((neg[-1] - target) ** 2).sum(axis=1).mean()))
            dws, dbs = weight_updates(neg, pos, eta * scale)
            for k, (layer, dw) in enumerate(zip(net.layers, dws, strict=True)):
                ledger.add(write(layer, k, neg, pos, dw, eta * scale, st, rng))
            for b, db in zip(net.biases, dbs, strict=True):
                b += db
        row = {"phase": "activity", "epoch": ep + 1, "loss": float(np.mean(losses)),
               "reads_per_sample": (net.reads - reads0) / len(y),
               **ledger.as_dict("write_"), "seconds": time.perf_counter() - t0}
        if evaluate is not None:
            row.update(evaluate(net))
        rows.append(row)
        if progress:
            progress("epoch", row)
    return rows


# ---------------------------------------------------------------- float reference

class FloatLayer:
    """A weight matrix read exactly (``x @ W`` and ``d @ W.T``): the float reference the
    arrays are compared with."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = np.asarray(w, dtype=float)
        self.mask = np.ones(self.w.shape, dtype=bool)

    def forward(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.asarray(x) @ self.w

    def backward(self, d: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.asarray(d) @ self.w.T


def fixed_point_gradient(ws: list[np.ndarray], states: list[np.ndarray],
                         target: np.ndarray) -> list[np.ndarray]:
    """Exact gradient of 1/2 ||s_L - target||^2 with respect to each W_k at the fixed
    point ``states`` of s_k = clip(s_{k-1} W_{k-1} + W_k s_{k+1} + b_k, 0, 1)
    (implicit differentiation; batch mean): what the activity difference estimates
    as beta -> 0 (recurrent backpropagation)."""
    sizes = [s.shape[1] for s in states[1:]]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    n_all = int(offs[-1])
    coupling = np.zeros((n_all, n_all))  # J: a_k depends on s_{k-1} and s_{k+1}
    for k in range(1, len(sizes)):  # W_k couples s_k (rows) and s_{k+1} (columns)
        a, b = slice(offs[k - 1], offs[k]), slice(offs[k], offs[k + 1])
        coupling[a, b] = ws[k]
        coupling[b, a] = ws[k].T
    grads = [np.zeros_like(w) for w in ws]
    batch = len(target)
    for n in range(batch):
        s = np.concatenate([st[n] for st in states[1:]])
        d = ((s > 0) & (s < 1)).astype(float)  # clip' inside the rails
        g = np.zeros(n_all)
        g[offs[-2]:] = states[-1][n] - target[n]
        lam = np.linalg.solve(np.eye(n_all) - coupling * d[None, :], g)  # (I - J D) lam = g
        mu = d * lam
        parts = [mu[offs[k]:offs[k + 1]] for k in range(len(sizes))]
        for k in range(len(ws)):
            pre = states[k][n]
            grads[k] += np.outer(pre, parts[k])  # W_k drives a_{k+1} from s_k
            if k >= 1:  # ... and a_k from s_{k+1}
                grads[k] += np.outer(parts[k - 1], states[k + 1][n])
    return [gk / batch for gk in grads]


# ---------------------------------------------------------------- energy per sample

GPU_J_PER_FLOP = 20.5e-12
"""NVIDIA A100 SXM: 400 W board power at its 19.5 TFLOP/s FP32 peak (datasheet), i.e.
the GPU at full throughput; real training runs below peak, which only raises the
GPU's J/FLOP, so this figure favours the GPU."""


def backprop_flops_per_sample(sizes: list[int]) -> int:
    """FLOPs to train an MLP on one sample by backpropagation: forward 2 n_in n_out per
    layer, backward (errors and weight gradients) 4 n_in n_out."""
    return 6 * sum(a * b for a, b in itertools.pairwise(sizes))


def read_energy_per_pass(net: Network, states: list[np.ndarray]) -> float:
    """Energy (J) of one relaxation pass for one sample: every forward read and every
    transposed read the pass does, each from the behavioral engine's circuit model
    (array, integrating sensing, DAC, ADC) at the given states (mean over them)."""
    from cosim.array.state import ArrayConfig
    from cosim.engines import get_engine
    from periphery.converters import AdcParams
    from periphery.sensing import SenseParams

    engine = get_engine("behavioral", noise=False)
    sense = SenseParams()
    total = 0.0
    for k, layer in enumerate(net.layers):
        for (ri, ci) in layer.fields:
            r, c = layer.row_tiles[ri], layer.col_tiles[ci]
            config = ArrayConfig(layer.dac, layer.adc[ri, ci], sense=sense)
            res = engine.run(layer.state(ri, ci), np.clip(states[k][:, r], 0, 1), config)
            total += sum(float(np.mean(v)) for v in res.energy_j.values())
            if k >= 1:  # the transposed read that carries s_{k+1} down to s_k: two
                # phases per vector (the second all zero for non-negative states, but
                # its sensing and conversions still cost)
                st = layer.transposed_state(ri, ci)
                d = np.clip(states[k + 1][:, c], 0, 1)
                drive = np.zeros((2 * len(d), st.rows))
                drive[:len(d), 0::2] = d
                adc = AdcParams(layer.hw.adc_bits, layer.adc[ri, ci].i_fs_a)
                res = engine.run(st, drive, ArrayConfig(layer.dac, adc, sense=sense))
                total += 2 * sum(float(np.mean(v)) for v in res.energy_j.values())
    return total
