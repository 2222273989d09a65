"""The PyTorch interface: analog Linear/Conv2d on simulated arrays, conversion of a
user's model, hardware-aware training forward, straight-through gradients."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the extra is installed by bootstrap.sh setup
from torch import nn  # noqa: E402

from cosim.nn.analog_torch import (  # noqa: E402
    AnalogConv2d,
    AnalogLinear,
    convert_to_analog,
    set_mode,
    tile_report,
)
from cosim.nn.layers import HardwareConfig  # noqa: E402
from device_models.validation import ParamError  # noqa: E402

EXACT = HardwareConfig(cell="resistor", engine="ideal", dac_bits=12, adc_bits=16,
                       write_variation=False, read_noise=False, tile_rows=16, tile_cols=8)
"""Linear cells, 12-bit DAC, 16-bit ADCs: the arrays compute x @ W to ~1e-3 of range."""
ROOT = Path(__file__).parent.parent


def test_torch_is_installed_by_setup():
    """The extra is part of the set-up: the suite must not skip the interface."""
    assert torch.__version__.startswith("2.13.0")


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_linear_on_exact_arrays_matches_float_across_tiles():
    """40 inputs x 20 outputs on 16 x 8 tiles (3 x 3 tiles, partial sums added
    digitally): within 2e-3 of the range (DAC 12 bits + ADC 16 bits per tile)."""
    torch.manual_seed(0)
    lin = nn.Linear(40, 20)
    x = torch.rand(64, 40)
    analog = convert_to_analog(lin, EXACT, calibration=x)
    assert tile_report(analog)[0]["tiles"] == 9
    with torch.no_grad():
        assert _rel_err(analog(x), lin(x)) < 2e-3


def test_conv_on_exact_arrays_matches_float():
    """im2col mapping: stride, padding, several channels; a transposed or misordered
    unroll would be off by O(1)."""
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    x = torch.rand(4, 3, 9, 9)
    analog = convert_to_analog(conv, EXACT, calibration=x)
    with torch.no_grad():
        y = analog(x)
        assert y.shape == conv(x).shape
        assert _rel_err(y, conv(x)) < 2e-3
    assert tile_report(analog)[0]["vectors_per_input"] == 25


def test_signed_inputs_go_in_two_phases():
    torch.manual_seed(2)
    lin = nn.Linear(12, 4)
    x = torch.randn(30, 12)
    analog = convert_to_analog(lin, EXACT, calibration=x)
    with torch.no_grad():
        assert _rel_err(analog(x), lin(x)) < 2e-3


def test_fefet_arrays_differ_from_float_but_stay_close():
    """Behavioral FeFET arrays (I-V curvature, variation, noise, 8-bit ADCs) are not the
    float layer, and not far from it either."""
    torch.manual_seed(3)
    lin = nn.Linear(64, 16)
    x = torch.rand(128, 64)
    analog = convert_to_analog(lin, HardwareConfig(), calibration=x)
    with torch.no_grad():
        err = _rel_err(analog(x), lin(x))
    assert 0.005 < err < 0.3


def test_gradients_pass_straight_through():
    """The backward of the arrays is the backward of x @ W.T: for L = sum(y^2),
    dL/dx = 2y W and dL/dW = (2y)^T x with y the arrays' own outputs."""
    torch.manual_seed(4)
    lin = nn.Linear(10, 6)
    x = torch.rand(20, 10, requires_grad=True)
    analog = convert_to_analog(lin, EXACT, calibration=x.detach())
    y = analog(x)
    y.square().sum().backward()
    g = 2 * y.detach()
    torch.testing.assert_close(x.grad, g @ lin.weight.detach())
    torch.testing.assert_close(analog.weight.grad, g.T @ x.detach())
    torch.testing.assert_close(analog.bias.grad, g.sum(0))


def test_hwa_forward_draws_new_arrays_and_quantizes_per_tile():
    """Training in hwa mode programs fresh arrays each forward (device variation drawn
    anew: two forwards differ) and reads them through each tile's ADC (3 bits: at most
    8 levels per output column of a one-tile layer)."""
    torch.manual_seed(5)
    hw = dataclasses.replace(HardwareConfig(), adc_bits=3, read_noise=False)
    analog = convert_to_analog(nn.Linear(16, 4, bias=False), hw, calibration=torch.rand(8, 16))
    set_mode(analog, "hwa")
    analog.train()
    x = torch.rand(50, 16)
    a, b = analog(x).detach(), analog(x).detach()
    assert (a - b).abs().max() > 0
    for j in range(4):
        assert len(torch.unique(a[:, j])) <= 8
    analog.eval()  # evaluation reads the programmed arrays
    c, d = analog(x).detach(), analog(x).detach()
    torch.testing.assert_close(c, d)


def _train(model, x, y, params, lr: float, steps: int) -> list[float]:
    """Full-batch SGD steps on cross-entropy; the loss of each step."""
    opt = torch.optim.SGD(params, lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_hwa_training_moves_weights_and_lowers_the_loss():
    torch.manual_seed(6)
    x = torch.rand(200, 8)
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).long()
    model = convert_to_analog(nn.Sequential(nn.Linear(8, 2)), HardwareConfig(),
                              calibration=x[:32])
    set_mode(model, "hwa")
    model.train()
    losses = _train(model, x, y, model.parameters(), 0.5, 30)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_bad_models_and_layers_are_refused_by_name():
    with pytest.raises(ParamError, match=r"conv\.groups"):
        AnalogConv2d(4, 4, 3, groups=2)
    with pytest.raises(ParamError, match=r"no nn\.Linear"):
        convert_to_analog(nn.Sequential(nn.ReLU()))
    lin = AnalogLinear(3, 2)
    with pytest.raises(ParamError, match="not programmed"):
        lin(torch.rand(1, 3))


def test_the_three_line_example_runs():
    """examples/torch/convert.py: a user's CNN trained in PyTorch, converted and
    evaluated through FeFET arrays; within 5 points of float (measured 1.1)."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "torch" / "convert.py")],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    assert res["float_test_acc"] > 0.9
    assert res["hardware_test_acc"] > res["float_test_acc"] - 0.05
    assert [layer["layer"] for layer in res["layers"]] == ["AnalogConv2d", "AnalogLinear",
                                                            "AnalogLinear"]


def test_core_imports_no_torch():
    """The netlist/engine/sweep core and the numpy network stack run without torch."""
    code = ("import sys\n"
            "import cosim.engines, cosim.sweeps, cosim.nn.layers, cosim.nn.training, "
            "cosim.cli.app, netlists, device_models, periphery\n"
            "assert 'torch' not in sys.modules, 'the core imported torch'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_hardware_per_layer_by_module_name():
    """A dict picks each layer's configuration by module name ("*" for the rest): here
    bit-serial inputs on the first layer, a 3-bit ADC on the last; unknown names and
    missing defaults are refused by name."""
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    x = torch.rand(40, 16)
    serial = dataclasses.replace(EXACT, dac_encoding="bit_serial", dac_bits=6)
    coarse = dataclasses.replace(EXACT, adc_bits=3)
    analog = convert_to_analog(model, {"0": serial, "*": coarse}, calibration=x)
    first, last = analog[0], analog[2]
    assert first.hardware.dac_encoding == "bit_serial" and first.hardware.adc_bits == 16
    assert last.hardware is coarse
    with torch.no_grad():
        y = analog(x)
        for j in range(4):  # the last layer's 3-bit ADC: at most 8 levels per output
            assert len(torch.unique(y[:, j] - last.bias[j])) <= 8
    with pytest.raises(ParamError, match="names no Linear"):
        convert_to_analog(model, {"5": coarse, "*": coarse})
    with pytest.raises(ParamError, match="no entry for layer"):
        convert_to_analog(model, {"0": coarse})


def test_in_array_training_writes_the_devices_and_lowers_the_loss():
    """in_array mode: the backward writes -lr x^T dL/dy as pulses; the weight follows
    the devices (equal to the arrays' read-back), gets no gradient, and the loss falls.
    Arrays programmed without domains are refused by name."""
    torch.manual_seed(8)
    x = torch.rand(200, 8)
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).long()
    model = convert_to_analog(nn.Sequential(nn.Linear(8, 2)), HardwareConfig(),
                              calibration=x[:32], in_array=True)
    set_mode(model, "in_array", array_lr=0.5)
    model.train()
    w0 = model[0].weight.detach().clone()
    losses = _train(model, x, y, [model[0].bias], 0.1, 15)
    layer = model[0]
    assert layer.weight.grad is None
    assert (layer.weight.detach() - w0).abs().max() > 0.01
    np.testing.assert_allclose(layer.weight.detach().numpy(),
                               layer.arrays.read_weights().T, rtol=1e-6, atol=1e-7)
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3])
    plain = convert_to_analog(nn.Linear(8, 2), HardwareConfig(), calibration=x[:32])
    set_mode(plain, "in_array")
    plain.train()
    with pytest.raises(ParamError, match="without domains"):
        nn.functional.cross_entropy(plain(x), y).backward()
