"""Activity-difference training: every activity from the arrays, updates from the
difference of the phases."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.nn import activity as act
from cosim.nn import writes
from cosim.nn.config import config_from_dict
from cosim.nn.layers import AnalogLayer, HardwareConfig
from cosim.nn.training import run_training
from device_models.validation import ParamError


def _net(seed: int = 0):
    rng = np.random.default_rng(seed)
    hw = HardwareConfig(cell="rram", read_noise=False, write_variation=False,
                        pair_mapping="balanced", write_polarities="both")
    ws = [rng.normal(0, 0.2, (6, 5)), rng.normal(0, 0.2, (5, 3))]
    layers = [AnalogLayer(w, hw, rng, domains=True, w_max=1.0) for w in ws]
    for layer in layers:
        layer.calibrate(rng.uniform(size=(16, layer.mask.shape[0])))
    return act.Network(layers, [np.full(5, 0.05), np.zeros(3)]), rng


class Spy:
    """Stands in for an array: records what it is asked and answers with fixed data."""

    def __init__(self, layer, out_f, out_b):
        self.layer, self.out_f, self.out_b, self.calls = layer, out_f, out_b, []

    def forward(self, x, rng=None):
        self.calls.append(("f", x.copy()))
        return self.out_f[:len(x)]

    def backward(self, d, rng=None):
        self.calls.append(("b", d.copy()))
        return self.out_b[:len(d)]

    def __getattr__(self, name):
        return getattr(self.layer, name)


def test_every_activity_is_what_the_arrays_return():
    """With the arrays replaced by spies, one pass sets each state to the damped clip of
    the spies' answers plus the bias, and nothing else: no weight is read directly."""
    net, rng = _net()
    f0, b1 = np.full((4, 5), 0.3), np.full((4, 5), 0.2)
    f1 = np.full((4, 3), 0.7)
    net.layers = [Spy(net.layers[0], f0, None), Spy(net.layers[1], f1, b1)]
    st = act.ActivitySettings(damping=1.0)
    x = rng.uniform(size=(4, 6))
    s, passes = act.relax(net, x, None, 1, st, rng)
    np.testing.assert_allclose(s[1], np.clip(0.3 + 0.2 + 0.05, 0, 1))
    np.testing.assert_allclose(s[2], 0.7)
    assert [c[0] for c in net.layers[0].calls] == ["f"] and passes == 1
    assert [c[0] for c in net.layers[1].calls] == ["b", "f"]  # down to s_1, up to s_2
    np.testing.assert_array_equal(net.layers[1].calls[0][1], np.zeros((4, 3)))  # s_2 before
    assert net.reads == 3 * 4  # (2 L - 1) reads per vector and pass


def test_the_update_is_the_difference_of_the_phases():
    rng = np.random.default_rng(1)
    free = [rng.uniform(size=(8, n)) for n in (6, 5, 3)]
    forced = [free[0]] + [a + rng.normal(0, 0.1, a.shape) for a in free[1:]]
    dws, dbs = act.weight_updates(free, forced, 2.0)
    np.testing.assert_allclose(dws[1], 2.0 * (forced[1].T @ forced[2] - free[1].T @ free[2]) / 8)
    np.testing.assert_allclose(dbs[0], 2.0 * (forced[1] - free[1]).mean(axis=0))
    zero_w, zero_b = act.weight_updates(free, free, 2.0)  # no forced phase: no update
    assert all(np.all(d == 0) for d in zero_w + zero_b)


def test_forced_phases_follow_the_target():
    """The nudge moves the outputs toward the target: other targets, other updates."""
    net, rng = _net(2)
    x = rng.uniform(size=(4, 6))
    st = act.ActivitySettings()
    ups = []
    for cls in (0, 2):
        target = np.eye(3)[[cls] * 4]
        neg, pos, scale = act.phases(net, x, target, st, np.random.default_rng(0))
        assert np.all(pos[-1][:, cls] > neg[-1][:, cls])  # +beta pulls the target up
        ups.append(act.weight_updates(neg, pos, scale)[0][1])
    assert not np.allclose(ups[0], ups[1])


def test_manhattan_writes_one_sign_pulse_where_the_update_is_worth_half_a_pulse():
    net, rng = _net(3)
    layer = net.layers[1]
    ppw = layer.pulses_per_weight()
    dw = np.zeros((5, 3))
    dw[0, 0], dw[1, 1], dw[2, 2] = 3.0 / ppw, -0.7 / ppw, 0.2 / ppw
    ledger = act.write(layer, 1, [], [], dw, 1.0, act.ActivitySettings(write="manhattan"), rng)
    assert ledger.cell_pulses == 2 * 2  # two weights, both sides of each pair


def test_coincidence_streams_realise_the_outer_product():
    """Stochastic row and column streams: the coincidences R^T C average
    slots x mean_n a_n b_n^T (20000 slots: the relative standard error of an entry
    is below 2 %, bound 6 %)."""
    rng = np.random.default_rng(4)
    a, b = rng.uniform(size=(8, 6)), rng.uniform(size=(8, 5))
    rows, cols = writes.coincidence_streams(a, b, 20000, rng)
    hits = rows.T.astype(float) @ cols
    np.testing.assert_allclose(hits / 20000, a.T @ b / 8, rtol=0.06)
    with pytest.raises(ParamError, match="activity"):
        writes.coincidence_streams(a + 1.0, b, 4, rng)


@pytest.mark.parametrize("cell", ["rram", "fefet"])
def test_coincidence_write_moves_weights_along_the_phase_difference(cell):
    """Coincidence pulses of two phases' activities on real cells (potentiation only:
    the positive phase grows G+, the negative G-): one sample, post-synaptic
    activities b and 1 - b, 8 slots per term, 3 batches. The applied change follows
    the requested a (2b - 1)^T (cosine > 0.5; measured 0.91 / 0.93 rram, 0.74 / 0.68
    fefet, whose steps depend on the state and whose V/2 half-selects disturb), and
    with the phases swapped the change flips; only the FeFET tile counts
    half-selects (a memristor below threshold at V/2 does not move)."""
    hw = HardwareConfig(cell=cell, read_noise=False, write_variation=False,
                        pair_mapping="balanced", write_polarities="potentiate")
    rng = np.random.default_rng(5)
    w = rng.normal(0.0, 0.2, (12, 6))
    a, b = rng.uniform(size=(1, 12)), rng.uniform(size=(1, 6))
    half = 0.0
    for swap in (False, True):
        layer = AnalogLayer(w, hw, np.random.default_rng(6), domains=True, w_max=1.0)
        lr = 8.0 / layer.pulses_per_weight()  # 8 slots per term
        pos, neg = ((a, b), (a, 1 - b)) if not swap else ((a, 1 - b), (a, b))
        want = 3 * lr * (pos[0].T @ pos[1] - neg[0].T @ neg[1])
        before = layer.read_weights()
        for _ in range(3):
            half += layer.coincidence_update([(*pos, 1.0), (*neg, -1.0)], lr, rng).half_selected
        got = (layer.read_weights() - before).ravel()
        cos = got @ want.ravel() / np.linalg.norm(got) / np.linalg.norm(want)
        assert cos > 0.5
    assert (half > 0) == (cell == "fefet")


def test_activity_mode_learns_on_memristor_arrays():
    """From a random start, without backpropagation: 300 images, 2 epochs, RRAM arrays
    (behavioral engine, read noise and variation on), accuracy on 150 test images
    rises well above chance (measured 0.42 from 0.09, seed 0; bound 0.3)."""
    cfg = config_from_dict({
        "data": {"limit_train": 300, "limit_test": 150},
        "train": {"mode": "activity", "array_epochs": 2, "array_lr": 0.3, "batch": 16,
                  "val_fraction": 0.0},
        "hardware": {"cell": "rram", "pair_mapping": "balanced", "write_polarities": "both"}})
    s = run_training(cfg)["summary"]
    assert s["activity_test_acc"] > 0.3 > s["activity_test_acc_before"]
    assert s["reads_per_sample"] > 0 and s["write_cell_pulses"] > 0
    # energy per training sample: reads from the circuit model plus writes, vs a GPU
    assert s["energy_read_per_sample_j"] > 0 and s["energy_write_per_sample_j"] > 0
    assert s["energy_per_sample_j"] == pytest.approx(s["energy_read_per_sample_j"]
                                                     + s["energy_write_per_sample_j"])
    assert s["gpu_energy_per_sample_j"] == pytest.approx(6 * (64 * 32 + 32 * 10) * 20.5e-12)
    assert s["gpu_over_arrays"] == pytest.approx(s["gpu_energy_per_sample_j"]
                                                 / s["energy_per_sample_j"])


def test_activity_mode_learns_with_coincidence_writes():
    """The same run with row x column coincidence writes (potentiation only): no
    per-cell pulse count is computed, and accuracy on 150 test images still rises
    above chance (measured 0.32 from 0.09, seed 0; bound 0.2)."""
    cfg = config_from_dict({
        "data": {"limit_train": 300, "limit_test": 150},
        "train": {"mode": "activity", "array_epochs": 2, "array_lr": 0.3, "batch": 16,
                  "val_fraction": 0.0, "activity_write": "coincidence"},
        "hardware": {"cell": "rram", "pair_mapping": "balanced",
                     "write_polarities": "potentiate"}})
    s = run_training(cfg)["summary"]
    assert s["activity_test_acc"] > 0.2 > s["activity_test_acc_before"]
    assert s["write_line_pulses"] > 0


def test_coincidence_terms_sum_to_the_phase_difference():
    rng = np.random.default_rng(7)
    na, nb, pa, pb = (rng.uniform(size=(5, n)) for n in (4, 3, 4, 3))
    total = sum(sign * a.T @ b for a, b, sign in act.coincidence_terms(na, nb, pa, pb))
    np.testing.assert_allclose(total, pa.T @ pb - na.T @ nb, atol=1e-12)
    assert all(0 <= a.min() and a.max() <= 1 and 0 <= b.min() and b.max() <= 1
               for a, b, _ in act.coincidence_terms(na, nb, pa, pb))


def test_bad_activity_settings_are_refused():
    with pytest.raises(ParamError, match="activity_write"):
        config_from_dict({"train": {"mode": "activity", "activity_write": "guess"}})
    with pytest.raises(ParamError, match="activity_beta"):
        config_from_dict({"train": {"activity_beta": 0.0}})


def _float_net(seed: int = 0, n: int = 16):
    from cosim.nn.datasets import load_digits_dataset

    ds = load_digits_dataset(0)
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in ((64, 32), (32, 10))]
    biases = [np.full(32, 0.05), np.zeros(10)]
    return ws, biases, ds.x_train[:n], np.eye(10)[ds.y_train[:n]], rng


def test_fixed_point_gradient_matches_finite_differences():
    """Implicit differentiation at the free fixed point against central differences of
    the converged loss (step 1e-5; they agree to 1e-8 relative where measured)."""
    ws, biases, x, t, rng = _float_net(n=8)
    st = act.ActivitySettings(tol=0.0)

    def fixed_point(weights):
        net = act.Network([act.FloatLayer(w) for w in weights], biases)
        return act.relax(net, x, None, 2000, st, rng, stop_early=False)[0]

    s = fixed_point(ws)
    g = act.fixed_point_gradient(ws, s, t)
    loss = lambda s: 0.5 * ((s[-1] - t) ** 2).sum(axis=1).mean()  # noqa: E731
    k, (i, j) = max(((k, np.unravel_index(np.abs(gk).argmax(), gk.shape))
                     for k, gk in enumerate(g)), key=lambda kij: abs(g[kij[0]][kij[1]]))
    e = 1e-5
    up, down = [w.copy() for w in ws], [w.copy() for w in ws]
    up[k][i, j] += e
    down[k][i, j] -= e
    fd = (loss(fixed_point(up)) - loss(fixed_point(down))) / (2 * e)
    assert fd == pytest.approx(g[k][i, j], rel=1e-5)


def test_activity_difference_follows_the_gradient_for_small_beta():
    """Exact float layers, converged phases, beta 0.2: the update's cosine with minus
    the fixed-point gradient is 0.96 / 0.99 per layer (64 images, seed 0); > 0.9
    required, as equilibrium propagation predicts for small beta."""
    ws, biases, x, t, rng = _float_net(n=64)
    net = act.Network([act.FloatLayer(w) for w in ws], biases)
    st = act.ActivitySettings(beta=0.2, free_steps=2000, forced_steps=2000, tol=0.0)
    free, _ = act.relax(net, x, None, 2000, st, rng)
    grads = act.fixed_point_gradient(ws, free, t)
    neg, pos, scale = act.phases(net, x, t, st, rng)
    ups, _ = act.weight_updates(neg, pos, scale)
    for u, g in zip(ups, grads, strict=True):
        assert (u * -g).sum() / np.linalg.norm(u) / np.linalg.norm(g) > 0.9
