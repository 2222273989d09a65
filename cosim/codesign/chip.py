"""Chip-level roll-up of one inference: tiles, converters, energy by block, latency,
area, TOPS/W and TOPS/mm^2, beside a digital baseline.

The per-window block models are the co-design cost model's
(``cosim.codesign.cost.layer_cost``: array, class-A sensing, DAC line charging,
SAR/flash conversions, digital partial-sum adds; latency per window = integration
period + the conversions each shared converter makes; area = cells + op-amps +
converters + row drivers, figures in ``ChipParams`` each with its source). A layer
that reads its arrays V times per inference (a convolution: one window per output
position) costs V windows of energy and, weight-stationary with one copy of the
weights, V windows of latency in sequence; layers run in sequence, a layer's tiles
in parallel. Area counts every layer's tiles once.

Three ways to hold a pruned network (``storage``):

- ``dense``: every weight on a one-FeFET cell, pruned ones programmed to G_min
  (they still draw current, occupy tiles and are converted);
- ``csr``: conventional sparse; only the kept weights on the arrays, packed
  column by column (ceil(kept x n_in) rows per column), so each column needs its
  own input order: a gather unit reads the CSR index (``index_bits`` per kept
  weight, from SRAM) and drives the rows column by column, one window per column
  group that shares an input order (``csr_columns_per_window``, 1 for unstructured
  sparsity); index reads are priced at the SRAM figure below;
- ``index_free``: the 2-FeFET cell, every weight in place with its own digital
  FeFET (pruned cells cut off); no index at inference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cosim.codesign.cost import BLOCKS, default_blocks, design_arrays, layer_cost
from cosim.codesign.points import stats_row
from device_models.validation import ParamError, check_choice, check_int

DIGITAL_MAC_J = {"int8": 0.2e-12 + 0.03e-12, "int4": 0.2e-12 / 4 + 0.03e-12 / 2}
"""Digital MAC arithmetic at 45 nm, from M. Horowitz, "Computing's energy problem",
ISSCC 2014 (Fig. 1.1.9): 8-bit integer multiply 0.2 pJ, 8-bit add 0.03 pJ. INT4:
the multiply scaled by the square of the width (1/4), the add by the width (1/2)
(scaling assumed). Arithmetic only."""
SRAM_J_PER_BIT = 10e-12 / 64
"""Reading a small (8 KB) SRAM, 64 bits for 10 pJ at 45 nm (Horowitz, ISSCC 2014):
the price of a weight or an index bit fetched per MAC."""
STORAGES = ("dense", "csr", "index_free")


@dataclass(frozen=True)
class LayerLoad:
    """What one layer asks of the chip per inference."""

    name: str
    stats: np.ndarray
    """A row of ``cosim.codesign.points.STATS`` (shape, kept fraction, input statistics)."""
    windows: int = 1
    """Array reads (input vectors) per inference: 1 for a dense layer, the output
    positions for a convolution."""


@dataclass(frozen=True)
class ChipDesign:
    tile: int = 128
    """Physical rows and columns per array (tile/2 differential pairs)."""
    adc_bits: int = 8
    adc_arch: str = "sar"
    cols_per_adc: int = 4
    encoding: str = "amplitude"
    v_read_v: float = 0.2
    act_bits: int = 8
    """DAC resolution (input codes)."""
    storage: str = "dense"
    index_bits: int = 10
    """CSR: bits per stored index (log2 of the widest layer's fan-in, rounded up)."""
    csr_columns_per_window: int = 1

    def __post_init__(self) -> None:
        check_int("chip.tile", self.tile, 2, 4096)
        check_int("chip.adc_bits", self.adc_bits, 1, 16)
        check_choice("chip.adc_arch", self.adc_arch, ("flash", "sar"))
        check_int("chip.cols_per_adc", self.cols_per_adc, 1, 4096)
        check_choice("chip.encoding", self.encoding, ("amplitude", "pwm", "bit_serial"))
        check_int("chip.act_bits", self.act_bits, 1, 16)
        check_choice("chip.storage", self.storage, STORAGES)
        check_int("chip.index_bits", self.index_bits, 1, 64)
        check_int("chip.csr_columns_per_window", self.csr_columns_per_window, 1, 4096)

    @property
    def cell(self) -> str:
        return "sparse_fefet" if self.storage == "index_free" else "fefet"


def _layer(load: LayerLoad, d: ChipDesign) -> dict[str, float]:
    n_in, n_out, kept = (float(v) for v in load.stats[:3])
    stats = np.array(load.stats, dtype=float)
    group = 1
    if d.storage == "csr":  # packed: ceil(kept n_in) rows, every stored weight kept
        stats[0], stats[2] = max(1.0, np.ceil(kept * n_in)), 1.0
        group = min(d.csr_columns_per_window, int(n_out))
    h = design_arrays([{"tile": d.tile, "adc_bits": d.adc_bits, "adc_arch": d.adc_arch,
                        "cols_per_adc": d.cols_per_adc, "encoding": d.encoding,
                        "cell": d.cell, "v_read_v": d.v_read_v}])
    chip, energy, sense = default_blocks()
    c = {k: float(np.asarray(v)[0]) for k, v in layer_cost(stats, d.act_bits, h, chip,
                                                             energy, sense).items()}
    out = {b: c[b] * load.windows for b in BLOCKS}
    out["index"] = 0.0
    latency = c["latency_s"] * load.windows
    if d.storage == "csr":
        # column groups in sequence, each a window with its own gathered inputs; the
        # gather reads the index of every kept weight once per window
        passes = int(np.ceil(n_out / group))
        scale = passes * group / n_out  # each pass converts its own group only
        out["sensing"] *= passes  # the op-amps run through every pass
        out["array"] *= passes  # every pass drives the rows of all packed columns
        out["dac"] *= passes
        out["adc"] *= scale
        latency *= passes
        out["index"] = kept * n_in * n_out * d.index_bits * SRAM_J_PER_BIT * load.windows
    out.update(latency_s=latency, area_m2=c["area_m2"], tiles=c["tiles"],
               utilisation=c["utilisation"],
               macs=float(n_in * n_out * load.windows),
               useful_macs=float(kept * n_in * n_out * load.windows))
    return out


def rollup(loads: list[LayerLoad], design: ChipDesign) -> dict:
    """Per-inference totals (J, s, m^2, tiles, converters), energy by block, TOPS/W and
    TOPS/mm^2 (counting the network's useful MACs, 2 ops each), and the per-layer
    figures."""
    if not loads:
        raise ParamError("layers", 0, "needs at least one layer")
    layers = [{"name": ld.name, **_layer(ld, design)} for ld in loads]
    blocks = (*BLOCKS, "index")
    total = {b: sum(layer[b] for layer in layers) for b in blocks}
    energy = sum(total.values())
    latency = sum(layer["latency_s"] for layer in layers)
    area = sum(layer["area_m2"] for layer in layers)
    ops = 2.0 * sum(layer["useful_macs"] for layer in layers)
    return {
        "design": dataclasses.asdict(design),
        "energy_j": energy, "energy_by_block_j": total, "latency_s": latency,
        "area_mm2": area * 1e6, "tiles": int(sum(layer["tiles"] for layer in layers)),
        "macs": sum(layer["macs"] for layer in layers),
        "useful_macs": ops / 2,
        "tops_per_w": ops / energy / 1e12,
        "tops_per_mm2": ops / latency / (area * 1e6) / 1e12,
        "layers": layers,
    }


def digital_baseline(useful_macs: float, bits: str = "int8", weight_fetch: bool = True
                     ) -> dict:
    """Energy of the same MACs on a digital datapath at 45 nm (arithmetic from
    ``DIGITAL_MAC_J``; with ``weight_fetch``, each weight read from SRAM per MAC)."""
    check_choice("bits", bits, tuple(DIGITAL_MAC_J))
    width = 8 if bits == "int8" else 4
    per_mac = DIGITAL_MAC_J[bits] + (width * SRAM_J_PER_BIT if weight_fetch else 0.0)
    return {"bits": bits, "weight_fetch": weight_fetch, "j_per_mac": per_mac,
            "energy_j": per_mac * useful_macs, "tops_per_w": 2.0 / per_mac / 1e12,
            "source": "Horowitz, ISSCC 2014, 45 nm"}


def chip_loads(model, x) -> list[LayerLoad]:
    """Per analog layer of a converted PyTorch model (``cosim.nn.analog_torch``; needs
    the torch extra), what one inference asks of the chip:
    weight shape, kept fraction and the statistics of its DAC codes on inputs x
    (averaged over the batch), and its array reads per inference."""
    import torch

    from cosim.nn.analog_torch import analog_layers, input_phases

    layers = analog_layers(model)
    seen: dict = {}

    def hook(module, args):
        seen[module] = input_phases(module.unrolled(args[0]).detach().double().numpy())

    handles = [m.register_forward_pre_hook(hook) for m in layers]
    try:
        with torch.no_grad():
            model(torch.as_tensor(np.asarray(x), dtype=torch.float32))
    finally:
        for h in handles:
            h.remove()
    loads = []
    for i, m in enumerate(layers):
        if m.arrays is None:
            raise ParamError("layer", "not programmed", "program the model before chip_loads")
        dac = m.arrays.dac
        codes = np.rint(np.clip(seen[m] / m.arrays.input_scale, 0.0, 1.0) * dac.max_code)
        w = m.matrix()
        loads.append(LayerLoad(f"{i}:{type(m).__name__}", stats_row(
            w, w != 0, codes.astype(np.int64), dac.bits), m.vectors_per_input))
    return loads
