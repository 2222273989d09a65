"""Tests that fail when a feature above the engines becomes a no-op, flips sign or
changes scale. Each was checked by breaking the code once (see the closing notes
of the layout/contract change): in-array writes dropped, pulse step x4, HWA
forward made plain float, drift compensation ignored, DAC energy x10, the
NeuroSim-style estimate x10, the ADC/DAC offset sign flipped, the breakdown
labels swapped.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cosim import ArrayConfig, ArrayState
from cosim.array.energy import EnergyParams, dac_energy, neurosim_estimate
from cosim.engines import get_engine
from cosim.nn.layers import AnalogLayer, HardwareConfig
from cosim.nn.mlp import MLP
from cosim.nn.training import hwa_matmul
from cosim.studies.compare import periphery_breakdown
from device_models.cells import ResistorCell
from periphery.converters import AdcParams, DacParams, adc_codes, dac_volts
from periphery.sensing import sized_for

HW = HardwareConfig(cell="fefet", engine="ideal", write_variation=False, read_noise=False)


def _layer(domains: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.5, (16, 8))
    return w, AnalogLayer(w, HW, rng, domains=domains), rng


def test_in_array_update_writes_about_the_requested_change():
    """Pulse writes through the switching model: the applied change projected on the
    request is 0.78 of it (seed 0, potentiation-only writes, stochastic switching;
    the device's step differs from the nominal g-range/32 the pulse count assumes),
    cosine 0.70 (stochastic rounding, domain granularity). Bound 0.45-1.3: no write
    gives 0, a 4x pulse step 0.2 or ~3, a flipped sign < 0."""
    w, layer, rng = _layer(domains=True)
    before = layer.read_weights()
    dw = rng.normal(0.0, 1.0, w.shape) * np.abs(w).max() * 0.05
    layer.write_update(dw, rng)
    applied = layer.read_weights() - before
    ratio = float((applied * dw).sum() / (dw * dw).sum())
    cosine = float((applied * dw).sum() / np.linalg.norm(applied) / np.linalg.norm(dw))
    assert 0.45 < ratio < 1.3, ratio
    assert cosine > 0.4, cosine


def test_in_array_training_changes_the_arrays():
    from cosim.nn.datasets import load_digits_dataset
    from cosim.nn.training import train_in_array

    full = load_digits_dataset(0)
    ds = dataclasses.replace(full, x_train=full.x_train[:64], y_train=full.y_train[:64],
                             x_test=full.x_test[:32], y_test=full.y_test[:32])
    rng = np.random.default_rng(0)
    model = MLP.init([64, 10], rng)
    layer = AnalogLayer(model.weights[0], HW, rng, input_scale=float(ds.x_train.max()),
                        domains=True)
    layer.calibrate(ds.x_train)
    before = layer.read_weights()
    train_in_array(model, [layer], ds, epochs=1, lr=0.5, batch=16, rng=rng)
    change = np.linalg.norm(layer.read_weights() - before) / np.linalg.norm(before)
    assert change > 0.01, change


def test_hwa_forward_quantizes_and_adds_weight_noise():
    """3-bit ADC: at most 8 output levels; 5 % weight noise: two calls differ. A plain
    float forward fails both."""
    rng = np.random.default_rng(0)
    model = MLP.init([16, 6], rng)
    x = rng.uniform(0.0, 1.0, (40, 16))
    hw = dataclasses.replace(HW, adc_bits=3, dac_bits=4)
    mm = hwa_matmul(model, hw, 0.05, rng, [1.0])
    a, b = mm(0, x), mm(0, x)
    assert len(np.unique(np.round(a / np.abs(a).max(), 9))) <= 8
    assert np.abs(a - b).max() > 0
    exact = x @ model.effective(0)
    assert np.abs(a - exact).max() > 0.01 * np.abs(exact).max()


def test_drift_compensation_restores_the_mean_output():
    """One year of retention drift lowers the mean |output| by 3.6 % (measured); the
    per-tile compensation restores it to within 0.01 % (ADC rounding). Budget 0.5 %,
    and the uncompensated read must be off by more than 2 %."""
    _, layer, _ = _layer(domains=False, seed=1)
    x = np.random.default_rng(2).uniform(0.0, 1.0, (200, 16))
    layer.calibrate(x)
    fresh = np.abs(layer.forward(x)).mean()
    raw = np.abs(layer.forward(x, age_s=3.15e7)).mean()
    comp = np.abs(layer.forward(x, age_s=3.15e7, compensate=True)).mean()
    assert abs(raw - fresh) / fresh > 0.02
    assert abs(comp - fresh) / fresh < 0.005


def test_dac_line_charging_energy_in_closed_form():
    """E = C_row sum_i |V_i| |V_i - V_i,prev|, C_row = phys_cols x 0.2 fF."""
    e = EnergyParams()
    v = np.array([[0.1, 0.2], [0.2, 0.0]])
    c_row = 3 * e.c_line_per_cell_f
    want = c_row * np.array([0.1 * 0.1 + 0.2 * 0.2, 0.2 * 0.1 + 0.0])
    np.testing.assert_allclose(dac_energy(v, 3, e), want, rtol=1e-12)


def test_neurosim_estimate_in_closed_form():
    """Uniform G array: array = N M G mean(V^2) t_rows; sensing = VDD I_bias cols T."""
    g = np.full((4, 6), 5e-5)
    state = ArrayState({"g_s": g}, ResistorCell())
    sense = sized_for(1e-3, "integrator")
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, 1e-3), sense=sense)
    v = np.array([[0.1, 0.2, 0.0, 0.2], [0.2, 0.2, 0.2, 0.2]])
    est = neurosim_estimate(state, v, config)
    np.testing.assert_allclose(est["array"], 24 * 5e-5 * np.mean(v**2) * sense.t_rows_s,
                               rtol=1e-12)
    np.testing.assert_allclose(est["sensing"], sense.vdd_v * sense.i_bias_a * 6
                               * sense.period_s, rtol=1e-12)


def test_offsets_have_the_documented_sign():
    """ADC: a positive offset moves every transition down (0.3 LSB + 0.4 LSB -> code 1;
    flipped: -0.1 -> 0). DAC: a positive offset adds to every output."""
    p = AdcParams(8, 1.27e-4, signed=False, offset_lsb=0.4)
    assert int(adc_codes(np.array([0.3 * p.lsb_a]), p)[0]) == 1
    assert int(adc_codes(np.array([-0.6 * p.lsb_a]), dataclasses.replace(p, signed=True))[0]) == 0
    dac = DacParams(8, 0.2, offset_v=0.01)
    np.testing.assert_allclose(dac_volts(np.array([0, 255]), dac), [0.01, 0.21], rtol=1e-12)


@pytest.mark.parametrize(("label", "figure"), [
    ("finite_gain", {"opamp_gain": 200.0}),
    ("offset", {"offset_sys_v": 2e-3}),
    ("bandwidth_settling", {"gbw_hz": 5e7}),
    ("output_resistance", {"r_out_ohm": 2e7}),
])
def test_breakdown_labels_name_the_effect_that_moved(label, figure):
    """Only one op-amp figure differs from the nominal stand-in: its own effect must
    be the largest of the four (a swapped label moves it elsewhere)."""
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (8, 4))
    state = ArrayState({"g_s": g}, ResistorCell())
    x = rng.uniform(0.0, 1.0, (10, 8))
    i_fs = float(g.sum(axis=0).max() * 0.2)
    config = ArrayConfig(DacParams(8, 0.2), AdcParams(8, i_fs, signed=False))
    nominal = dict(opamp_gain=1e5, gbw_hz=5e9, r_out_ohm=0.0, offset_sys_v=0.0)
    sense = sized_for(i_fs, "integrator", **{**nominal, **figure})
    config = dataclasses.replace(config, sense=sense)
    circuit = get_engine("behavioral", noise=False).run(state, x, config)
    out = periphery_breakdown(state, x, config, circuit)
    effects = {k[len("effect_"):-len("_lsb")]: v for k, v in out.items()
               if k.startswith("effect_")}
    assert max(effects, key=effects.get) == label, effects
    assert effects[label] > 0.1, effects


def test_levels_quantise_programming_to_the_domain_grid():
    """hardware.levels = L: L - 1 domains, every programmed polarization on the grid
    -1 + 2k/(L-1); the weight error grows as L falls (half a level at most)."""
    rng = np.random.default_rng(0)
    w = rng.normal(0.0, 0.5, (32, 8))
    errors = {}
    for levels in (8, 23, None):
        hw = HardwareConfig(levels=levels, write_variation=False, read_noise=False)
        layer = AnalogLayer(w, hw, np.random.default_rng(1))
        pol = layer.fields[0, 0]["pol"]
        if levels:
            assert layer.cell.switching_params.n_domains == levels - 1
            k = (pol + 1.0) / 2.0 * (levels - 1)
            np.testing.assert_allclose(k, np.rint(k), atol=1e-9)
            assert len(np.unique(np.round(pol, 9))) <= levels
        errors[levels] = float(np.abs(layer.read_weights() - w).max())
    assert errors[None] < 1e-9 < errors[23] < errors[8]


def test_read_noise_override_sets_the_spread_of_repeated_reads():
    """hardware.read_noise_frac: the relative spread of repeated reads of one input
    scales with it (4x the noise, 4x the spread within 25 %: 400 reads)."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0.2, 0.5, (16, 4))
    x = np.full((400, 16), 0.8)
    spreads = []
    for frac in (0.005, 0.02):
        hw = HardwareConfig(read_noise_frac=frac, write_variation=False, adc_bits=14)
        layer = AnalogLayer(w, hw, np.random.default_rng(1))
        layer.calibrate(x[:4])
        y = layer.forward(x, np.random.default_rng(2))
        spreads.append(float((y.std(axis=0) / np.abs(y.mean(axis=0))).mean()))
    assert 3.0 < spreads[1] / spreads[0] < 5.0
