"""Gradient fidelity of activity-difference training: cosine between the update the
phases give and the exact fixed-point gradient (recurrent backpropagation), for
the digits network at its random start (64 images, layer by layer), vs beta and
free-phase passes T_f with exact float layers, and vs read noise on memristor
arrays. Prints JSON. About 1 min on 2 cores.

    python examples/activity/fidelity.py
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from cosim.nn import activity as act
from cosim.nn.datasets import load_digits_dataset
from cosim.nn.layers import AnalogLayer, HardwareConfig
from device_models import rram_taox as rr
from device_models.cells import RramCell


def cosines(net: act.Network, ws: list[np.ndarray], x: np.ndarray, t: np.ndarray,
            st: act.ActivitySettings, rng: np.random.Generator) -> list[float]:
    """Per layer: cosine(update from the phases, -gradient at the float fixed point)."""
    ref = act.Network([act.FloatLayer(w) for w in ws], net.biases)
    exact = act.ActivitySettings(free_steps=2000, tol=0.0, damping=st.damping)
    free, _ = act.relax(ref, x, None, 2000, exact, rng)
    grads = act.fixed_point_gradient(ws, free, t)
    neg, pos, scale = act.phases(net, x, t, st, rng)
    ups, _ = act.weight_updates(neg, pos, scale)
    return [round(float((u * -g).sum() / np.linalg.norm(u) / np.linalg.norm(g)), 4)
            for u, g in zip(ups, grads, strict=True)]


def main() -> dict:
    ds = load_digits_dataset(0)
    rng = np.random.default_rng(0)
    sizes = [64, 32, 10]
    ws = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in itertools.pairwise(sizes)]
    biases = [np.full(32, 0.05), np.zeros(10)]
    x, t = ds.x_train[:64], np.eye(10)[ds.y_train[:64]]
    floats = act.Network([act.FloatLayer(w) for w in ws], biases)
    out: dict = {"beta": {}, "free_steps": {}, "read_noise": {}}
    for beta in (0.01, 0.05, 0.2, 0.5, 1.0):  # converged phases
        st = act.ActivitySettings(beta=beta, free_steps=2000, forced_steps=2000, tol=0.0)
        out["beta"][beta] = cosines(floats, ws, x, t, st, rng)
    for steps in (5, 10, 20, 40):  # the default forced_steps (8), beta 0.2
        st = act.ActivitySettings(beta=0.2, free_steps=steps, tol=0.0)
        out["free_steps"][steps] = cosines(floats, ws, x, t, st, rng)
    for noise in (0.0, 0.005, 0.02, 0.05):  # memristor arrays, behavioral engine
        hw = HardwareConfig(cell="rram", write_variation=False, read_noise=noise > 0,
                            pair_mapping="balanced")
        layers = [AnalogLayer(w, hw, np.random.default_rng(1), domains=True,
                              w_max=2 * float(np.abs(w).max())) for w in ws]
        for layer in layers:  # the device's read noise set to the value studied
            layer.cell = RramCell(params=rr.RramParams(read_noise_frac=noise))
        acts = [x, np.clip(x @ ws[0] + biases[0], 0, 1)]
        for layer, a in zip(layers, acts, strict=True):
            layer.calibrate(a)
        arrays = act.Network(layers, biases)
        st = act.ActivitySettings(beta=0.2, free_steps=40, forced_steps=20, tol=0.0)
        out["read_noise"][noise] = cosines(arrays, ws, x, t, st, rng)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
