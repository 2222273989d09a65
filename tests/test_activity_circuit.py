"""The activity network with integrator neurons and rails, relaxed in an ngspice
transient, against the discrete fixed point of the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.nn import activity as act
from cosim.nn.activity_circuit import NeuronCircuit, deck, phases_transient, relax_transient
from cosim.nn.layers import AnalogLayer, HardwareConfig
from device_models.validation import ParamError

pytestmark = pytest.mark.ngspice


def _net(cell: str = "resistor", seed: int = 0, biases=None):
    rng = np.random.default_rng(seed)
    hw = HardwareConfig(cell=cell, read_noise=False, write_variation=False,
                        pair_mapping="balanced")
    ws = [rng.normal(0, 0.5, (6, 5)), rng.normal(0, 0.5, (5, 3))]
    layers = [AnalogLayer(w, hw, rng, w_max=2.0) for w in ws]
    biases = biases or [np.full(5, 0.1), np.full(3, 0.05)]
    net = act.Network(layers, biases)
    ref = act.Network([act.FloatLayer(layer.read_weights()) for layer in layers], biases)
    return net, ref, rng.uniform(size=(1, 6))


EXACT = act.ActivitySettings(tol=0.0, damping=0.5)


def test_linear_cells_settle_at_the_discrete_fixed_point():
    """Resistor cells: the transient's end states equal the discrete relaxation's fixed
    point (400 damped passes on the weights read back) within 5e-4 of the state
    range (the rails' clamp lets a state pass 0 by I/G_rail = 1e-4; ngspice reltol),
    free and nudged toward a target."""
    net, ref, x = _net()
    free = relax_transient(net, x)
    s, _ = act.relax(ref, x, None, 400, EXACT, np.random.default_rng(0))
    for a, b in zip(free.states[1:], s[1:], strict=True):
        np.testing.assert_allclose(a, b, atol=5e-4)
    target = np.eye(3)[[1]]
    nudged = relax_transient(net, x, init=free.states, target=target, beta=0.5)
    s2, _ = act.relax(ref, x, s, 400, EXACT, np.random.default_rng(0), target, 0.5, False)
    for a, b in zip(nudged.states[1:], s2[1:], strict=True):
        np.testing.assert_allclose(a, b, atol=5e-4)
    assert nudged.states[2][0, 1] > free.states[2][0, 1] + 0.1  # pulled toward the target
    assert free.traces[0].shape[1] == 5 and free.time_s[-1] == pytest.approx(40e-6)


def test_the_rails_clip_the_states():
    """A bias of +3 holds every hidden neuron at the upper rail, -3 at the lower."""
    for b, want in ((3.0, 1.0), (-3.0, 0.0)):
        net, _, x = _net(biases=[np.full(5, b), np.zeros(3)])
        s = relax_transient(net, x).states[1]
        np.testing.assert_allclose(s, want, atol=1e-3)


def test_fefet_cells_carry_their_curvature_into_the_states():
    """FeFET cells (their SPICE face): close to the linear fixed point but not equal
    (I-V curvature at partial row voltages); measured max |diff| 1e-3, bounds
    2e-4 < diff < 0.05."""
    net, ref, x = _net("fefet")
    got = relax_transient(net, x, target=np.eye(3)[[1]], beta=0.5, init=None).states
    s2, _ = act.relax(ref, x, None, 400, EXACT, np.random.default_rng(0), np.eye(3)[[1]], 0.5,
                      False)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got[1:], s2[1:], strict=True))
    assert 2e-4 < diff < 0.05


def test_transient_phases_give_the_activity_update():
    """The update from the three transients (free, -beta, +beta) matches the discrete
    one on the same arrays (resistor cells; 2e-3 absolute on entries of order 0.1)
    and changes with the target."""
    net, ref, x = _net()
    ups = []
    for cls in (0, 2):
        target = np.eye(3)[[cls]]
        neg, pos, scale = phases_transient(net, x, target, 0.2)
        dws, _ = act.weight_updates(neg, pos, scale)
        st = act.ActivitySettings(beta=0.2, tol=0.0, free_steps=400, forced_steps=400)
        rneg, rpos, rscale = act.phases(ref, x, target, st, np.random.default_rng(0))
        want, _ = act.weight_updates(rneg, rpos, rscale)
        for a, b in zip(dws, want, strict=True):
            np.testing.assert_allclose(a, b, atol=2e-3)
        ups.append(dws[1])
    assert np.abs(ups[0] - ups[1]).max() > 0.05


def test_bad_inputs_are_refused():
    net, _, x = _net()
    with pytest.raises(ParamError, match="input width"):
        deck(net, np.zeros(4))
    with pytest.raises(ParamError, match=r"\[0, 1\]"):
        deck(net, x + 2.0)
    with pytest.raises(ParamError, match="c_f"):
        NeuronCircuit(c_f=0.0)
