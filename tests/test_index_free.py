"""Index-free sparse training on the 2-FeFET cell: transposed reads, VAU line writes,
the digital FeFET in the write path, pulse programming, read disturb, write cost."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines import get_engine
from cosim.nn.layers import AnalogLayer, HardwareConfig
from cosim.nn.programming import pulse_ladder
from cosim.nn.training import cosine
from cosim.nn.writes import WriteCircuit, WriteLedger, vau_write
from device_models import fefet_mos2 as fe
from device_models.registry import make_cell
from device_models.validation import ParamError
from periphery.converters import AdcParams


def _layer(cell: str = "sparse_fefet", seed: int = 0, shape=(12, 6), sparsity: float = 0.5,
           **hw):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.5, shape)
    mask = rng.uniform(size=shape) >= sparsity if cell == "sparse_fefet" else None
    config = HardwareConfig(cell=cell, **{"read_noise": False, "write_variation": False, **hw})
    return w, mask, AnalogLayer(w, config, rng, mask=mask, domains=True)


# ---------------------------------------------------------------- transposed reads

def test_transposed_read_gives_w_transpose_delta_on_linear_cells():
    """Resistor cells, behavioral engine, 8-bit row ADCs: delta @ W^T to the
    quantization of two unsigned phases (each 1 LSB = 1/255 of its range)."""
    rng = np.random.default_rng(1)
    w = rng.normal(0.0, 0.5, (10, 7))
    layer = AnalogLayer(w, HardwareConfig(cell="resistor", read_noise=False), rng)
    delta = rng.normal(size=(20, 7))
    got = layer.backward(delta)
    want = delta @ w.T
    assert cosine(got, want) > 0.999
    np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())


@pytest.mark.parametrize("engine", ["behavioral", "nodal", "spice"])
def test_transposed_read_through_every_engine(engine):
    """FeFET pairs read column-driven: the I-V curvature bends the result away from
    W^T delta (cosine > 0.97 here), and every engine that solves the array agrees
    with the behavioral one (no wires: to 1e-3 of the largest output)."""
    w, _, layer = _layer("fefet", shape=(6, 4))
    delta = np.random.default_rng(2).normal(size=(3, 4))
    got = dataclasses.replace(layer.hw, engine=engine)
    layer.hw = got
    out = layer.backward(delta)
    layer.hw = dataclasses.replace(got, engine="behavioral")
    ref = layer.backward(delta)
    assert cosine(out, delta @ w.T) > 0.97
    np.testing.assert_allclose(out, ref, atol=1e-3 * np.abs(ref).max())


def test_in_array_backward_uses_the_transposed_read():
    """With backward = array the errors come from the arrays: breaking the transposed
    read (here: zero) changes the gradients; the exact reference does not use it."""
    from cosim.nn.mlp import MLP

    rng = np.random.default_rng(3)
    model = MLP.init((12, 6, 3), rng)
    layers = [AnalogLayer(w, HardwareConfig(cell="fefet", read_noise=False), rng)
              for w in model.weights]
    x = rng.uniform(size=(5, 12))
    for layer, a in zip(layers, model.forward(x)[:-1], strict=True):
        layer.calibrate(a)
    acts = model.forward(x)
    y = np.array([0, 1, 2, 0, 1])
    g_array, _, _ = model.gradients(acts, y, lambda k, d: layers[k].backward(d))
    g_float, _, _ = model.gradients(acts, y)
    g_zero, _, _ = model.gradients(acts, y, lambda k, d: 0 * layers[k].backward(d))
    assert cosine(g_array[0], g_float[0]) > 0.9
    assert not np.allclose(g_array[0], g_float[0])  # it is the array's, not the float's
    assert np.all(g_zero[0] == 0)


# ---------------------------------------------------------------- index-free VAU

def test_vau_does_not_read_the_mask():
    """Two layers differing only in their pruning masks receive the same line pulses;
    the cells both keep change identically."""
    rng = np.random.default_rng(5)
    w = rng.normal(0.0, 0.5, (12, 6))
    masks = [rng.uniform(size=w.shape) > 0.5 for _ in range(2)]
    for m in masks:  # the largest weight kept in both: the same weight-to-G scale
        m.ravel()[np.argmax(np.abs(w))] = True
    hw = HardwareConfig(cell="sparse_fefet", read_noise=False, write_variation=False)
    layers = [AnalogLayer(w, hw, np.random.default_rng(0), mask=m, domains=True)
              for m in masks]
    x, delta = rng.uniform(size=(8, 12)), rng.normal(size=(8, 6))
    before = [layer.domains[0, 0].polarization for layer in layers]
    ledgers = [layer.apply_update(x, delta, 2.0, np.random.default_rng(7), "vau")
               for layer in layers]
    assert ledgers[0].line_pulses == ledgers[1].line_pulses > 0
    both = np.repeat(masks[0] & masks[1], 2, axis=1)
    moved = [layer.domains[0, 0].polarization - b for layer, b in zip(layers, before,
                                                                       strict=True)]
    np.testing.assert_array_equal(moved[0][both], moved[1][both])
    assert np.abs(moved[0][both]).sum() > 0


def _identical_devices(rows: int, phys: int, p: fe.FefetParams) -> fe.Domains:
    one = fe.new_domains((1, 1), p, np.random.default_rng(0), pol=-1.0)
    full = (rows, phys, p.n_domains)
    d = fe.Domains(np.broadcast_to(one.up, full).copy(), np.zeros(full),
                   np.broadcast_to(one.ea_v, full).copy())
    return fe.apply_pulses(d, 1.5, 100e-9, 4, p)  # partly up, so both directions move


def test_vau_writes_are_line_operations_with_half_select_disturb():
    """Identical deterministic devices: a cell's change depends only on its row's and
    column's pulse counts (line writes), cells on idle lines still move (V/2
    half-select through the kinetics), and the write time is one train per
    sub-phase, not one per row."""
    p = dataclasses.replace(fe.MOS2_HZO_DEFAULT, stochastic_switching=False, ea_sigma_v=0.6)
    rows, cols = 6, 4
    d = _identical_devices(rows, 2 * cols, p)
    n_rows = np.array([3, 0, 3, -2, 0, -2])
    n_cols = np.array([0, 2, 0, -1])
    c = WriteCircuit(1.5, 100e-9, "v2", 0.2e-15, "both")
    ledger = WriteLedger()
    out = vau_write(d, p, np.ones((rows, 2 * cols)), c, n_rows, n_cols,
                    np.random.default_rng(0), ledger)
    moved = out.polarization - d.polarization
    for i in range(rows):
        for j in range(2 * cols):
            twins = (n_rows == n_rows[i])[:, None] & (n_cols[np.arange(2 * cols) // 2]
                                                      == n_cols[j // 2])[None, :]
            twins &= (np.arange(2 * cols) % 2 == j % 2)[None, :]
            np.testing.assert_array_equal(moved[twins], moved[i, j])
    idle = (n_rows == 0)[:, None] & (n_cols[np.arange(2 * cols) // 2] == 0)[None, :]
    assert ledger.half_selected > 0 and np.abs(moved[idle]).sum() > 0
    # sub-phases: rows (3 then 2 slots) and columns (2 then 1), both pair sides each
    assert ledger.time_s == pytest.approx(2 * (3 + 2 + 2 + 1) * 100e-9)


def test_digital_fefet_blocks_writes_to_pruned_cells():
    """Both write modes leave pruned cells' analog domains untouched (their digital
    FeFET keeps the channel off the write path); regrowing one lets it be written."""
    for mode in ("exact", "vau"):
        w, mask, layer = _layer(seed=6)
        pruned = ~np.repeat(mask, 2, axis=1)
        before = layer.domains[0, 0].polarization.copy()
        dw = np.sign(np.random.default_rng(1).normal(size=w.shape)) * 0.5
        layer.write_update(dw, np.random.default_rng(2), mode)
        after = layer.domains[0, 0].polarization
        np.testing.assert_array_equal(after[pruned], before[pruned])
        assert np.abs(after - before)[~pruned].sum() > 0
        layer.set_mask(np.ones(w.shape, bool))
        layer.write_update(dw, np.random.default_rng(2), mode)
        assert np.abs(layer.domains[0, 0].polarization - after)[pruned].sum() > 0


def test_write_cost_vau_uses_fewer_operations_and_less_time_on_dense_updates():
    """A dense update of a few pulses per cell: per-cell writes issue a bit-line train
    per cell and a word-line train per row; VAU one train per line and sub-phase."""
    w, _, layer = _layer("fefet", shape=(32, 16))
    dw = np.abs(np.random.default_rng(3).normal(size=w.shape)) * 0.3
    exact = layer.write_update(dw, np.random.default_rng(4), "exact")
    _, _, layer = _layer("fefet", shape=(32, 16))
    vau = layer.write_update(dw, np.random.default_rng(4), "vau")
    assert exact.line_pulses > 3 * vau.line_pulses
    assert exact.time_s > 3 * vau.time_s
    assert vau.energy_device_j > 0 and exact.energy_lines_j > 0


# ---------------------------------------------------------------- programming and reads

def test_pulse_deploy_respects_the_level_limit():
    """Pulse programming maps g_max to the top of the pulse ladder (what the pulses
    reach), not to P = +1, and reports its iterations and error."""
    _, _, ideal = _layer("fefet", shape=(8, 4))
    _, _, pulsed = _layer("fefet", shape=(8, 4), programming="pulse", program_pulses=6)
    ladder = pulse_ladder(pulsed.cell, pulsed.hw.pulse_scheme())
    assert len(ladder) == 7
    pair = pulse_ladder(make_cell("sparse_fefet_pair"), pulsed.hw.pulse_scheme())
    # the pair cell's ladder exists (one pair, G- erased); its top differs from the
    # 2-FeFET cell's by the series order (digital FeFET on the row side): 3.6 % here
    assert pair[-1] == pytest.approx(pulse_ladder(make_cell("sparse_fefet"),
                                                  pulsed.hw.pulse_scheme())[-1], rel=0.1)
    assert pulsed.mapping.g_max_s == pytest.approx(ladder[-1])
    assert pulsed.mapping.g_max_s < 0.9 * ideal.mapping.g_max_s
    st = pulsed.program_stats
    assert 1 <= st["iterations"] <= 6 and st["pulses_max"] <= 6
    assert 0 < st["error_rms_of_range"] < 0.5


def test_read_disturb_accumulates_and_switches_off():
    _, _, layer = _layer("fefet", shape=(8, 4), programming="pulse")
    before = layer.domains[0, 0].polarization.copy()
    layer.after_reads(10**7)  # 1 s of read bias
    gained = layer.domains[0, 0].polarization - before
    assert gained.min() >= 0 and gained.mean() > 0.005
    _, _, quiet = _layer("fefet", shape=(8, 4), programming="pulse", read_disturb=False)
    before = quiet.domains[0, 0].polarization.copy()
    quiet.after_reads(10**7)
    np.testing.assert_array_equal(quiet.domains[0, 0].polarization, before)
    assert quiet.reads == 10**7


def test_gathered_read_disturb_equals_the_stress_at_once():
    """Reads below the flush size are gathered, then applied before a read-back: the
    state equals one stress of the summed time (closed form, exact to float)."""
    kw = {"programming": "pulse", "read_time_s": 1e-3}  # 1 ms per read: visible quickly
    _, _, split = _layer("fefet", shape=(8, 4), **kw)
    before = split.domains[0, 0].polarization.copy()
    for _ in range(3):
        split.after_reads(1000)
    assert np.array_equal(split.domains[0, 0].polarization, before)  # not yet applied
    split.read_weights()  # the read-back applies the gathered stress
    assert split.domains[0, 0].polarization.mean() > before.mean() + 0.005
    p = split.cell.switching_params
    direct = fe.apply_stress(_layer("fefet", shape=(8, 4), **kw)[2].domains[0, 0],
                             split.cell.vg_read_v, 3.0, p, None)
    np.testing.assert_array_equal(split.domains[0, 0].polarization, direct.polarization)


# ---------------------------------------------------------------- three FeFETs per weight

def test_pair_cell_shares_one_digital_fefet_and_solves_alike_in_every_engine():
    """sparse_fefet_pair: 3 FeFETs per signed weight (4 for sparse_fefet); pruning a
    pair blocks both sides; behavioral and ngspice agree forward and transposed."""
    pair, single = make_cell("sparse_fefet_pair"), make_cell("sparse_fefet")
    assert 2 * pair.fefets_per_cell == 3 and 2 * single.fefets_per_cell == 4
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 4))
    mask = rng.uniform(size=w.shape) > 0.5
    mask.ravel()[np.argmax(np.abs(w))] = True
    outs = {}
    x, d = rng.uniform(size=(3, 6)), rng.normal(size=(2, 4))
    for engine in ("behavioral", "spice"):
        hw = HardwareConfig(cell="sparse_fefet_pair", engine=engine, read_noise=False,
                            write_variation=False)
        layer = AnalogLayer(w, hw, np.random.default_rng(1), mask=mask)
        state = layer.state(0, 0)
        config = ArrayConfig(layer.dac, AdcParams(16, 1e-4, signed=True))
        per_cell = {"expansion": False} if engine == "behavioral" else {}  # the faces
        outs[engine] = (get_engine(engine, noise=False, **per_cell).run(state, x,
                                                                        config).i_out_a,
                        layer.backward(d))
    for a, b in zip(outs["behavioral"], outs["spice"], strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6 * np.abs(a).max())
    pruned = ~np.repeat(mask, 2, axis=1)
    i = pair.current(np.full((1, 6, 1), 0.2), layer.fields[0, 0])[0]
    assert np.abs(i[pruned]).max() < 1e-4 * np.abs(i[~pruned]).max()
    assert cosine(outs["behavioral"][1], d @ (w * mask).T) > 0.97


def test_pair_cell_needs_a_differential_array():
    cell = make_cell("sparse_fefet_pair")
    with pytest.raises(ParamError, match="needs a differential array"):
        ArrayState(cell.program(np.full((2, 2), cell.g_range()[0])), cell, differential=False)
