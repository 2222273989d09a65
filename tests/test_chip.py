"""Chip-level roll-up: windows per inference, storage schemes, digital baseline."""

import dataclasses

import numpy as np
import pytest

from cosim.codesign.chip import ChipDesign, LayerLoad, digital_baseline, rollup
from cosim.codesign.cost import BLOCKS
from device_models.validation import ParamError

# n_in, n_out, kept, r_w, E[x], E[x^2], E[x step], ones per code, P(x > 0)
DENSE = np.array([150.0, 16.0, 1.0, 0.4, 0.3, 0.15, 0.05, 2.5, 0.8])
SPARSE = DENSE * np.array([1, 1, 0.25, 1, 1, 1, 1, 1, 1])


def test_energy_and_latency_scale_with_the_windows_area_does_not():
    """A convolution reading its arrays at 64 positions costs 64 windows of energy and
    latency (weight-stationary, one copy of the kernels); the area is that of its
    tiles."""
    one = rollup([LayerLoad("fc", DENSE, 1)], ChipDesign())
    conv = rollup([LayerLoad("conv", DENSE, 64)], ChipDesign())
    assert conv["energy_j"] == pytest.approx(64 * one["energy_j"], rel=1e-12)
    assert conv["latency_s"] == pytest.approx(64 * one["latency_s"], rel=1e-12)
    assert conv["area_mm2"] == one["area_mm2"] and conv["tiles"] == one["tiles"] == 2
    assert one["energy_j"] == pytest.approx(sum(one["energy_by_block_j"].values()))
    assert set(one["energy_by_block_j"]) == {*BLOCKS, "index"}
    assert conv["tops_per_w"] == pytest.approx(2 * 150 * 16 * 64 / conv["energy_j"] / 1e12)


def test_layers_add_in_sequence():
    a = rollup([LayerLoad("a", DENSE, 3)], ChipDesign())
    b = rollup([LayerLoad("b", SPARSE, 5)], ChipDesign())
    both = rollup([LayerLoad("a", DENSE, 3), LayerLoad("b", SPARSE, 5)], ChipDesign())
    for key in ("energy_j", "latency_s", "area_mm2", "macs"):
        assert both[key] == pytest.approx(a[key] + b[key], rel=1e-12)


def test_storage_schemes_at_75_percent_sparsity():
    """Unstructured 75 % sparsity: CSR packs the kept weights into fewer tiles but
    drives its columns one input order at a time (latency x columns) and reads an
    index per kept weight; the index-free cell keeps the dense layout (same tiles,
    latency), no index, and its pruned cells draw (almost) no array current. A structured
    CSR (all 16 columns sharing one input order) needs no serial passes: the dense
    latency."""
    load = [LayerLoad("conv", SPARSE, 10)]
    dense = rollup(load, ChipDesign(storage="dense"))
    csr = rollup(load, ChipDesign(storage="csr"))
    free = rollup(load, ChipDesign(storage="index_free"))
    assert csr["tiles"] < dense["tiles"] == free["tiles"]
    assert csr["latency_s"] == pytest.approx(16 * dense["latency_s"], rel=1e-9)
    assert free["latency_s"] == dense["latency_s"]
    assert csr["energy_by_block_j"]["index"] > 0 == free["energy_by_block_j"]["index"]
    # the pruned pairs' 2 G_min current is gone (measured 0.76x; the kept 25 % remain)
    assert free["energy_by_block_j"]["array"] < 0.9 * dense["energy_by_block_j"]["array"]
    assert free["area_mm2"] > dense["area_mm2"]  # two FeFETs per cell
    structured = rollup(load, ChipDesign(storage="csr", csr_columns_per_window=16))
    assert structured["latency_s"] == pytest.approx(dense["latency_s"], rel=1e-12)


def test_digital_baseline_is_the_cited_arithmetic():
    """Horowitz, ISSCC 2014 (45 nm): 0.2 pJ 8-bit multiply + 0.03 pJ add; 10 pJ per
    64-bit read of an 8 KB SRAM, so 1.25 pJ per 8-bit weight."""
    d = digital_baseline(1e6, "int8", weight_fetch=False)
    assert d["j_per_mac"] == pytest.approx(0.23e-12)
    assert d["energy_j"] == pytest.approx(0.23e-6)
    assert digital_baseline(1e6, "int8")["j_per_mac"] == pytest.approx(1.48e-12)


def test_bad_designs_are_refused_by_name():
    with pytest.raises(ParamError, match=r"chip\.storage"):
        ChipDesign(storage="coo")
    with pytest.raises(ParamError, match=r"chip\.tile"):
        dataclasses.replace(ChipDesign(), tile=1)
    with pytest.raises(ParamError, match="layers"):
        rollup([], ChipDesign())


def test_torch_model_loads_count_conv_positions():
    torch = pytest.importorskip("torch")
    from torch import nn

    from cosim.codesign.chip import chip_loads
    from cosim.nn.analog_torch import convert_to_analog
    from cosim.nn.layers import HardwareConfig

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    x = torch.rand(16, 1, 8, 8)
    analog = convert_to_analog(model, HardwareConfig(tile_rows=32, tile_cols=16),
                               calibration=x)
    loads = chip_loads(analog, x)
    assert [ld.windows for ld in loads] == [36, 1]
    assert list(loads[0].stats[:3]) == [9, 4, 1.0]
    assert 0 < loads[0].stats[4] < 1  # mean DAC code of the image patches
