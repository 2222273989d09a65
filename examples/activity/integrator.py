"""The activity network's second neuron: leaky integrators with rails in one ngspice
transient (``cosim.nn.activity_circuit``), against the discrete neuron (ADC clip
and state register) on the same trained arrays.

Trains the digits network (64-32-10) on TaOx memristor arrays by activity
difference (2 epochs, behavioral engine), then for N test images relaxes the free
phase in ngspice and in the behavioral engine: class agreement, accuracy of both,
the largest state difference; and for 3 images the three-transient update
(free, -beta, +beta) against the engine's, as a cosine. Prints JSON. One
transient of this deck (14,000 memristor B-sources) takes ~20 s: about 8 min on
2 cores at N = 12.

    python examples/activity/integrator.py [N]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from cosim.nn import activity as act
from cosim.nn.activity_circuit import phases_transient, relax_transient
from cosim.nn.config import config_from_dict
from cosim.nn.training import load_dataset, run_training


def main(n: int = 12) -> dict:
    cfg = config_from_dict({
        "train": {"mode": "activity", "array_epochs": 2, "array_lr": 0.3, "batch": 16},
        "hardware": {"cell": "rram", "pair_mapping": "balanced", "write_polarities": "both"}})
    out = run_training(cfg)
    layers, model = out["layers"], out["model"]
    net = act.Network(layers, model.biases)
    st = cfg.train.activity_settings()
    ds = load_dataset(cfg)
    rng = np.random.default_rng(1)
    x, y = ds.x_test[:n], ds.y_test[:n]
    t0 = time.perf_counter()
    spice = np.concatenate([relax_transient(net, x[i:i + 1]).states[-1] for i in range(n)])
    t_spice = time.perf_counter() - t0
    engine, _ = act.relax(net, x, None, st.free_steps, st, rng)
    cosines = []
    for i in range(min(n, 3)):
        target = np.eye(10)[y[i:i + 1]]
        neg, pos, scale = phases_transient(net, x[i:i + 1], target, st.beta)
        dw_t, _ = act.weight_updates(neg, pos, scale)
        eneg, epos, escale = act.phases(net, x[i:i + 1], target, st, rng)
        dw_e, _ = act.weight_updates(eneg, epos, escale)
        a, b = np.concatenate([d.ravel() for d in dw_t]), np.concatenate([d.ravel()
                                                                           for d in dw_e])
        cosines.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30)))
    report = {
        "images": n, "register_test_acc": float(np.mean(engine[-1].argmax(1) == y)),
        "integrator_test_acc": float(np.mean(spice.argmax(1) == y)),
        "class_agreement": float(np.mean(spice.argmax(1) == engine[-1].argmax(1))),
        "max_output_state_diff": float(np.abs(spice - engine[-1]).max()),
        "update_cosine_transient_vs_engine": cosines,
        "seconds_per_transient": t_spice / n,
        "activity_test_acc_after_training": out["summary"]["activity_test_acc"]}
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
