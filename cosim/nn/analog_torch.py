"""PyTorch interface (the optional extra ``cosim[torch]``): ``nn.Linear`` and
``nn.Conv2d`` whose forward runs on simulated arrays.

    analog = convert_to_analog(model, HardwareConfig(), calibration=x_cal, seed=0)
    logits = analog(x_test)

Each converted layer keeps its float weight (a ``Parameter`` with the original
name, so ``state_dict`` stays compatible) and holds the arrays it is programmed on:
an ``AnalogLayer`` (``cosim.nn.layers``) tiled onto ``tile_rows`` x ``tile_cols``
arrays, every tile read through the configured engine and its own ADC, partial
sums of row tiles added digitally. A convolution is weight-stationary: its
kernels unrolled into the columns of (in_channels x kh x kw) x out_channels
arrays, and every output position an input vector (im2col).

Modes, per layer (``set_mode(model, mode)``):

- ``arrays`` (after conversion): the programmed arrays, fixed;
- ``hwa``: hardware-aware training; every forward programs the current weights
  onto freshly drawn arrays (device variation drawn anew), ranges each tile's ADC
  on the batch and reads through the engine, so the loss sees the device's I-V
  curvature, its variation and noise, and the per-tile ADC;
- ``in_array``: in-array training (arrays converted with ``in_array=True``): the
  forward reads the programmed arrays, the backward writes each layer's update
  -array_lr x^T dL/dy as gate pulses through the FeFET switching model (per cell)
  and sets the float weight to what the devices then hold; the optimizer moves
  only the digital biases (the weights get no gradient);
- ``float``: plain PyTorch.

Gradients pass straight through the arrays: the backward of ``y = arrays(x)`` is
that of ``x @ W.T`` (quantizers and device non-linearity treated as identity).
Inputs with negative values are applied in two phases of non-negative drive
(x+ then x-) and the outputs subtracted digitally.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosim.nn.layers import AnalogLayer, HardwareConfig, programmed_layer
from device_models.validation import ParamError, check_choice, check_range

MODES = ("arrays", "hwa", "in_array", "float")


class _StraightThrough(torch.autograd.Function):
    """y = run(x) in the forward; the gradients of x @ w.T in the backward. With
    ``write``, the weight gradient is not returned but written to the arrays
    (``write(x, dL/dy)``): the device applies the update."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, run, write=None) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.write = write
        y = run(x.detach().to(torch.float64).cpu().numpy())
        return torch.from_numpy(np.ascontiguousarray(y)).to(dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, gy: torch.Tensor):
        x, w = ctx.saved_tensors
        gx = gy @ w
        if ctx.write is None:
            return gx, gy.t() @ x, None, None
        ctx.write(x.detach().double().numpy(), gy.detach().double().numpy())
        return gx, None, None, None


def input_phases(x: np.ndarray) -> np.ndarray:
    """The non-negative drives a batch is applied as (x, or x+ and x- stacked)."""
    x = np.asarray(x, dtype=float)
    return x if (x >= 0).all() else np.concatenate([np.maximum(x, 0.0), np.maximum(-x, 0.0)])


def _programmed(w: np.ndarray, hw: HardwareConfig, rng: np.random.Generator,
                x: np.ndarray, domains: bool = False) -> AnalogLayer:
    """w programmed onto arrays, input scale and ADC ranges from the drives of x; on a
    prunable cell the zero weights are pruned in the cell (its digital FeFET)."""
    mask = (w != 0) if hw.make_cell().prunable else None
    return programmed_layer(w, hw, rng, input_phases(x), mask=mask, domains=domains)


def _two_phase(read, x: np.ndarray) -> np.ndarray:
    """Non-negative drive only: read x+ and x- separately and subtract."""
    if (x >= 0).all():
        return read(x)
    return read(np.maximum(x, 0.0)) - read(np.maximum(-x, 0.0))


class _AnalogMixin:
    """What the analog Linear and Conv2d share: the arrays, the mode, the draws."""

    hardware: HardwareConfig
    rng: np.random.Generator
    arrays: AnalogLayer | None
    mode: str

    def _setup(self, hardware: HardwareConfig, seed: int | list[int]) -> None:
        self.hardware = hardware
        self.rng = np.random.default_rng(seed)
        self.arrays = None
        self.mode = "arrays"
        self.array_lr = 0.02

    def matrix(self) -> np.ndarray:
        """The weight as the arrays hold it: (inputs per output, outputs)."""
        w = self.weight.detach().to(torch.float64).cpu().numpy()
        return w.reshape(w.shape[0], -1).T

    def program(self, x_cal: np.ndarray, domains: bool = False) -> None:
        """Program the current weights and range the ADCs on calibration inputs
        (rows of unrolled inputs); with ``domains`` the FeFET states live as
        ferroelectric domains that in-array updates switch."""
        self.arrays = _programmed(self.matrix(), self.hardware, self.rng, x_cal, domains)

    def _read(self, xm: torch.Tensor) -> torch.Tensor:
        """(vectors, inputs) -> (vectors, outputs) through the arrays of the mode."""
        if self.mode == "hwa" and self.training:
            def run(x: np.ndarray) -> np.ndarray:
                fresh = _programmed(self.matrix(), self.hardware, self.rng, x)
                return _two_phase(lambda u: fresh.forward(u, self.rng), x)
        else:
            if self.arrays is None:
                raise ParamError("layer", "not programmed", "convert_to_analog(model, ...) "
                                 "with calibration data, or program(x_cal), first")
            arrays = self.arrays

            def run(x: np.ndarray) -> np.ndarray:
                return _two_phase(lambda u: arrays.forward(u, self.rng), x)
        w = self.weight.reshape(self.weight.shape[0], -1)
        write = None
        if self.mode == "in_array" and self.training:
            write = self._write
        return _StraightThrough.apply(xm, w, run, write)

    def _write(self, x: np.ndarray, grad_y: np.ndarray) -> None:
        """In-array update: -array_lr x^T dL/dy written as gate pulses per cell, then the
        float weight set to what the devices now hold."""
        arrays = self.arrays
        if not (arrays.domains or arrays.in_array):
            raise ParamError("mode", "in_array", "the arrays were programmed without "
                             "domains: convert_to_analog(..., in_array=True)")
        arrays.apply_update(x, grad_y, self.array_lr, self.rng, "exact")
        held = torch.as_tensor(arrays.read_weights().T, dtype=self.weight.dtype)
        with torch.no_grad():
            self.weight.copy_(held.reshape(self.weight.shape))

    def tile_report(self) -> dict:
        """Tiles, utilisation and array reads per input of this layer."""
        rows, cols = self.matrix().shape
        hw = self.hardware
        tiles = -(-rows // hw.tile_rows) * -(-cols // hw.tile_cols)
        return {"layer": type(self).__name__, "weights": [rows, cols], "tiles": tiles,
                "utilisation": rows * cols / (tiles * hw.tile_rows * hw.tile_cols),
                "vectors_per_input": self.vectors_per_input}


class AnalogLinear(_AnalogMixin, nn.Linear):
    """``nn.Linear`` on simulated arrays (bias added digitally)."""

    vectors_per_input = 1

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 hardware: HardwareConfig | None = None, seed: int | list[int] = 0) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._setup(hardware or HardwareConfig(), seed)

    def unrolled(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "float":
            return F.linear(x, self.weight, self.bias)
        y = self._read(self.unrolled(x)).reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias


class AnalogConv2d(_AnalogMixin, nn.Conv2d):
    """``nn.Conv2d`` on simulated arrays: kernels unrolled into array columns, every
    output position one input vector (im2col); bias added digitally."""

    vectors_per_input = 0
    """Output positions of the last input seen (set by ``forward``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, hardware: HardwareConfig | None = None,
                 seed: int | list[int] = 0) -> None:
        if groups != 1:
            raise ParamError("conv.groups", groups, "must be 1 (grouped and depthwise "
                             "convolutions are not mapped onto arrays yet)")
        if padding_mode != "zeros":
            raise ParamError("conv.padding_mode", padding_mode, "must be zeros")
        if isinstance(padding, str):
            raise ParamError("conv.padding", padding, "must be a number or a pair")
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                           dilation, groups, bias, padding_mode)
        self._setup(hardware or HardwareConfig(), seed)

    def unrolled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N * positions, C * kh * kw) patches."""
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        self.vectors_per_input = cols.shape[-1]
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "float":
            return self._conv_forward(x, self.weight, self.bias)
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        oh = (h + 2 * self.padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        y = self._read(self.unrolled(x))  # (N * positions, out)
        y = y.reshape(n, oh * ow, self.out_channels).transpose(1, 2)
        y = y.reshape(n, self.out_channels, oh, ow)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def _analog_copy(module: nn.Module, hardware: HardwareConfig, seed: list[int]) -> nn.Module:
    if isinstance(module, nn.Linear):
        new = AnalogLinear(module.in_features, module.out_features, module.bias is not None,
                           hardware=hardware, seed=seed)
    else:
        new = AnalogConv2d(module.in_channels, module.out_channels, module.kernel_size,
                           module.stride, module.padding, module.dilation, module.groups,
                           module.bias is not None, module.padding_mode, hardware=hardware,
                           seed=seed)
    new.load_state_dict(module.state_dict())
    return new


def analog_layers(model: nn.Module) -> list[_AnalogMixin]:
    return [m for m in model.modules() if isinstance(m, _AnalogMixin)]


def convert_to_analog(model: nn.Module,
                      hardware: HardwareConfig | dict[str, HardwareConfig] | None = None, *,
                      calibration: torch.Tensor | np.ndarray | None = None,
                      seed: int = 0, in_array: bool = False) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` and ``nn.Conv2d`` on simulated
    arrays. ``hardware`` is one configuration for every layer, or per layer a dict
    from module names (as ``model.named_modules()`` gives them, e.g. ``"0"``,
    ``"features.3"``) to configurations, with ``"*"`` for the rest: input encoding,
    converters, tile size and cell may differ layer by layer. With ``calibration``
    inputs the arrays are programmed and their ADCs ranged layer by layer (each on
    what the previous analog layers actually produce); without, call
    ``program_analog`` before the first analog forward. Device draws come from
    ``seed`` (one Generator per layer). ``in_array``: program the FeFET states as
    domains, for in-array training (``set_mode(model, "in_array")``)."""
    import copy

    if isinstance(hardware, dict):
        per_layer = dict(hardware)
        for key, hw in per_layer.items():
            if not isinstance(hw, HardwareConfig):
                raise ParamError(f"hardware[{key!r}]", type(hw).__name__,
                                 "must be a HardwareConfig")
    else:
        per_layer = {"*": hardware or HardwareConfig()}
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    unknown = sorted(set(per_layer) - {"*", *names})
    if unknown:
        raise ParamError("hardware", unknown, "names no Linear/Conv2d layer of the model; "
                         f"its layers: {', '.join(names) or 'none'}")
    out = copy.deepcopy(model)
    if not names:
        raise ParamError("model", type(model).__name__, "has no nn.Linear or nn.Conv2d "
                         "layer to put on arrays")
    for i, name in enumerate(names):
        hw = per_layer.get(name, per_layer.get("*"))
        if hw is None:
            raise ParamError("hardware", sorted(per_layer), f"has no entry for layer "
                             f"{name!r} and no '*' default")
        if name == "":  # the model is itself one layer
            out = _analog_copy(out, hw, [seed, i])
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = out.get_submodule(parent_name)
        setattr(parent, attr, _analog_copy(getattr(parent, attr), hw, [seed, i]))
    if calibration is not None:
        program_analog(out, calibration, in_array)
    return out


def program_analog(model: nn.Module, calibration: torch.Tensor | np.ndarray,
                   domains: bool = False) -> None:
    """Program every analog layer's current weights, in forward order, ranging its ADCs
    on the inputs it receives from the calibration batch."""
    x = torch.as_tensor(np.asarray(calibration), dtype=torch.float32)
    layers = analog_layers(model)
    pending = list(layers)

    def hook(module, args):
        if module in pending:
            module.program(module.unrolled(args[0]).detach().double().numpy(), domains)
            pending.remove(module)

    handles = [m.register_forward_pre_hook(hook) for m in layers]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if pending:
        raise ParamError("model", type(model).__name__, f"{len(pending)} analog layers "
                         "were not reached by the calibration forward")


def set_mode(model: nn.Module, mode: str, array_lr: float | None = None) -> None:
    """Put every analog layer of ``model`` in ``mode`` (arrays | hwa | in_array | float);
    ``array_lr``: the learning rate of in-array writes."""
    check_choice("mode", mode, MODES)
    if array_lr is not None:
        check_range("array_lr", array_lr, 0.0, 10.0, lo_open=True)
    for m in analog_layers(model):
        m.mode = mode
        if array_lr is not None:
            m.array_lr = array_lr


def tile_report(model: nn.Module) -> list[dict]:
    """Per analog layer: weight matrix, tiles, utilisation, array reads per input."""
    return [m.tile_report() for m in analog_layers(model)]
