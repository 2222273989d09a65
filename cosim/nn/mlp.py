"""A small numpy MLP: ReLU hidden layers, softmax output, cross-entropy, SGD with momentum.

The matrix products go through a pluggable ``matmul(layer_index, x) -> x @ W``
so the same network runs in floating point, with hardware-aware noise and
quantization, or on simulated arrays; the backward pass uses the activations
that forward actually produced (straight-through where quantization sits).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MatMul = Callable[[int, np.ndarray], np.ndarray]


@dataclass
class MLP:
    weights: list[np.ndarray]
    """(in, out) per layer."""
    biases: list[np.ndarray]
    masks: list[np.ndarray] = field(default_factory=list)
    """Per-layer keep masks (True = weight kept); empty = dense."""
    last_deltas: list[np.ndarray] = field(default_factory=list, repr=False)
    """Each layer's output error from the latest ``gradients`` call (for in-array writes)."""

    @classmethod
    def init(cls, sizes: tuple[int, ...], rng: np.random.Generator) -> MLP:
        ws = [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)) for a, b in itertools.pairwise(sizes)]
        return cls(ws, [np.zeros(b) for b in sizes[1:]])

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[0], *(w.shape[1] for w in self.weights))

    def effective(self, k: int) -> np.ndarray:
        return self.weights[k] * self.masks[k] if self.masks else self.weights[k]

    def float_matmul(self, k: int, x: np.ndarray) -> np.ndarray:
        return x @ self.effective(k)

    def forward(self, x: np.ndarray, matmul: MatMul | None = None) -> list[np.ndarray]:
        """Activations [x, h1, ..., logits]."""
        mm = matmul or self.float_matmul
        acts = [x]
        for k, b in enumerate(self.biases):
            z = mm(k, acts[-1]) + b
            acts.append(np.maximum(z, 0.0) if k < len(self.biases) - 1 else z)
        return acts

    def predict(self, x: np.ndarray, matmul: MatMul | None = None, batch: int = 512
                ) -> np.ndarray:
        return np.concatenate([self.forward(x[s:s + batch], matmul)[-1].argmax(axis=1)
                               for s in range(0, len(x), batch)])

    def gradients(self, acts: list[np.ndarray], y: np.ndarray,
                  transpose: MatMul | None = None
                  ) -> tuple[list[np.ndarray], list[np.ndarray], float]:
        """Cross-entropy gradients from the activations forward produced; ``transpose(k,
        delta) -> delta @ W_k^T`` carries errors back (default: the float weights)."""
        logits = acts[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-12)))
        delta = p
        delta[np.arange(n), y] -= 1.0
        delta /= n
        gw, gb = [], []
        self.last_deltas = []
        for k in range(len(self.weights) - 1, -1, -1):
            gw.append(acts[k].T @ delta)
            self.last_deltas.insert(0, delta)
            gb.append(delta.sum(axis=0))
            if k:
                back = (transpose(k, delta) if transpose is not None
                        else delta @ self.effective(k).T)
                delta = back * (acts[k] > 0)
        return gw[::-1], gb[::-1], loss


def accuracy(model: MLP, x: np.ndarray, y: np.ndarray, matmul: MatMul | None = None) -> float:
    return float(np.mean(model.predict(x, matmul) == y))


@dataclass
class SGD:
    lr: float = 0.05
    momentum: float = 0.9
    _vel: list[np.ndarray] = field(default_factory=list)

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> list[np.ndarray]:
        """Update in place; return the applied updates."""
        if not self._vel:
            self._vel = [np.zeros_like(p) for p in params]
        ups = []
        for p, g, v in zip(params, grads, self._vel, strict=True):
            v *= self.momentum
            v -= self.lr * g
            p += v
            ups.append(v.copy())
        return ups


def train_float(model: MLP, x: np.ndarray, y: np.ndarray, epochs: int, rng: np.random.Generator,
                lr: float = 0.05, batch: int = 32, matmul: MatMul | None = None,
                on_epoch: Callable[[int, float], None] | None = None) -> MLP:
    """Minibatch SGD; ``matmul`` lets the forward see noise and quantization (HWA)."""
    opt_w, opt_b = SGD(lr), SGD(lr)
    for ep in range(epochs):
        order = rng.permutation(len(y))
        losses = []
        for s in range(0, len(y), batch):
            idx = order[s:s + batch]
            acts = model.forward(x[idx], matmul)
            gw, gb, loss = model.gradients(acts, y[idx])
            if model.masks:
                gw = [g * m for g, m in zip(gw, model.masks, strict=True)]
            opt_w.step(model.weights, gw)
            opt_b.step(model.biases, gb)
            losses.append(loss)
        if on_epoch:
            on_epoch(ep, float(np.mean(losses)))
    return model
