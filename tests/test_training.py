"""Networks on simulated arrays: mapping, tiling, modes, updates."""

import numpy as np
import pytest

from cosim.nn.config import config_from_dict
from cosim.nn.datasets import load_digits_dataset
from cosim.nn.layers import AnalogLayer, HardwareConfig, vau_vectors
from cosim.nn.mlp import MLP, accuracy, train_float
from cosim.nn.training import array_matmul, deploy, prune, run_training
from device_models.validation import ParamError


@pytest.fixture(scope="module")
def trained():
    ds = load_digits_dataset(0)
    rng = np.random.default_rng(0)
    model = MLP.init((64, 32, 10), rng)
    train_float(model, ds.x_train, ds.y_train, 30, rng)
    return ds, model


def test_ideal_8bit_within_one_point_of_float(trained):
    """The issue's must-show: ideal engine, 8-bit DAC/ADC, digits."""
    ds, model = trained
    hw = HardwareConfig(cell="resistor", engine="ideal", write_variation=False)
    layers = deploy(model, hw, ds, np.random.default_rng(1))
    float_acc = accuracy(model, ds.x_test, ds.y_test)
    hw_acc = accuracy(model, ds.x_test, ds.y_test, array_matmul(layers, None))
    assert abs(hw_acc - float_acc) <= 0.01


def test_tiling_matches_untiled_layer():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(70, 45))
    x = rng.uniform(0, 1, (20, 70))
    out = {}
    for rows, cols in ((128, 64), (16, 8)):
        hw = HardwareConfig(cell="resistor", engine="ideal", write_variation=False,
                            tile_rows=rows, tile_cols=cols, dac_bits=16, adc_bits=24)
        layer = AnalogLayer(w, hw, np.random.default_rng(0))
        layer.calibrate(x)
        out[rows] = layer.forward(x)
        assert len(layer.fields) == (1 if rows == 128 else 5 * 6)
    # 16-bit DAC, 24-bit ADC: quantization ~1e-5 of full scale per tile.
    scale = np.abs(x @ w).max()
    np.testing.assert_allclose(out[16], x @ w, atol=1e-3 * scale)
    np.testing.assert_allclose(out[128], x @ w, atol=1e-3 * scale)


def test_pruning_reaches_target_and_stays_pruned(trained):
    ds, model = trained
    pruned = prune(model, 0.75)
    for w, m in zip(pruned.weights, pruned.masks, strict=True):
        assert abs(1 - m.mean() - 0.75) < 1 / w.size + 1e-12
        kept = np.abs(w[m])
        assert kept.min() >= np.abs(w[~m]).max()  # magnitude pruning
    train_float(pruned, ds.x_train[:200], ds.y_train[:200], 2, np.random.default_rng(0))
    for k in range(len(pruned.weights)):
        assert np.all(pruned.effective(k)[~pruned.masks[k]] == 0)


def test_vau_vectors_recover_an_additive_update_from_its_factors():
    """An additive update u_i + v_j is the outer product of the factors x = [1; u] and
    delta = [v; 1]; VAU's values, from the factors' row and column sums alone (no
    mask), give it back to round-off."""
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=8), rng.normal(size=5)
    x = np.stack([np.ones(8), u])
    delta = np.stack([v, np.ones(5)])
    uu, vv = vau_vectors(x, delta, lr=-1.0)
    np.testing.assert_allclose(uu[:, None] + vv[None, :], u[:, None] + v[None, :], atol=1e-12)


def test_pulse_updates_move_weights_the_right_way_and_skip_pruned_cells():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(8, 6))
    mask = rng.uniform(size=w.shape) > 0.5
    hw = HardwareConfig(cell="sparse_fefet", engine="ideal", write_variation=False)
    layer = AnalogLayer(w * mask, hw, rng, mask=mask, domains=True)
    before = layer.read_weights()
    dw = np.where(rng.uniform(size=w.shape) > 0.5, 1.0, -1.0) * 0.3 * np.abs(w).max()
    layer.write_update(dw, rng)
    moved = layer.read_weights() - before
    assert np.all(moved[~mask] == 0)
    agree = np.sign(moved[mask & (moved != 0)]) == np.sign(dw[mask & (moved != 0)])
    assert agree.mean() > 0.9 and (moved[mask] != 0).mean() > 0.5


def test_in_array_needs_a_switching_model():
    with pytest.raises(ParamError, match="switching model"):
        AnalogLayer(np.ones((2, 2)), HardwareConfig(cell="resistor"), np.random.default_rng(0),
                    domains=True)
    with pytest.raises(ParamError, match="sparse_fefet"):
        AnalogLayer(np.ones((2, 2)), HardwareConfig(cell="fefet"), np.random.default_rng(0),
                    mask=np.array([[1, 0], [1, 1]]))


@pytest.mark.parametrize("mode", ["deploy", "hwa", "in_array", "vau", "prune"])
def test_every_mode_runs_small(mode):
    cell = "sparse_fefet" if mode == "vau" else "fefet"
    cfg = config_from_dict({
        "data": {"limit_train": 200, "limit_test": 100},
        "train": {"mode": mode, "epochs": 8, "array_epochs": 1, "finetune_epochs": 2,
                  "sparsities": [0.0, 0.5]},
        "hardware": {"cell": cell}})
    out = run_training(cfg)
    s = out["summary"]
    assert s["float_test_acc"] > 0.6
    key = {"vau": "vau_test_acc", "prune": "curve"}.get(mode, "hardware_test_acc")
    assert key in s
    if mode == "vau":
        assert "exact_test_acc" in s
    if mode == "prune":
        assert [p["sparsity"] for p in s["curve"]] == [0.0, 0.5, 0.75]


def test_drift_compensation_uses_the_calibration_reference():
    rng = np.random.default_rng(6)
    w = rng.normal(size=(12, 5))
    x_cal = rng.uniform(0, 1, (40, 12))
    hw = HardwareConfig(cell="fefet", engine="ideal", write_variation=False)
    layer = AnalogLayer(w, hw, np.random.default_rng(0))
    layer.calibrate(x_cal)
    assert layer._compensation(0, 0, 0.0) == 1.0  # no drift: nothing to restore
    year = layer._compensation(0, 0, 3.15576e7)
    assert year != 1.0
    x = rng.uniform(0, 1, (7, 12))  # factor from the calibration reads, not the batch
    assert layer._compensation(0, 0, 3.15576e7) == year
    np.testing.assert_array_equal(layer.forward(x, age_s=0.0, compensate=True),
                                  layer.forward(x, age_s=0.0))
