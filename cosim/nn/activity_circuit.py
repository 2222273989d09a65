"""The activity network's neurons as leaky integrators with rails, relaxed in one
SPICE transient: the continuous-time option of the activity mode's neuron.

Each neuron is a node holding its state as a voltage v (state 1 = ``v_state_v``):

    C dv/dt = I_in - G_leak v,   v held between the rails 0 and v_state_v,

with G_leak = I_ref / v_state_v, so that v / v_state_v settles at
clip(I_in / I_ref, 0, 1): the fixed point of the discrete neuron
s = clip(F(s_below) + B(s_above) + b), reached by continuous relaxation with
time constant tau = C / G_leak instead of damped passes. I_in is the sum of

- the forward read of the array below: its rows driven at s x v_fs by buffers of
  the states below (the input layer by sources), its columns held at virtual
  ground; each pair's G+ current in, G- current out, scaled to I_ref per unit
  weight x activity;
- the transposed read of the array above: its columns driven by the states
  above, its rows at virtual ground; signed as the discrete transposed read, in
  two non-negative halves (states on the G+ columns, then on the G- columns);
- the bias, a current b x I_ref, and in a forced phase the nudge, a current
  beta x I_ref x (target - s) injected on the output nodes.

Every cell is the cell's own SPICE face with its programmed fields (I-V
curvature, D2D offsets), so the currents are circuit outputs; there is no ADC
and no digital register in this option. The deck instantiates each programmed
tile three times (forward, transposed G+ half, transposed G- half), all from the
one state: the continuous-time stand-in for one array time-multiplexed between
the reads faster than tau (which would scale each read's mean current by its
duty, absorbed in the gains). The rails are steep clamps (``rail_g_s`` beyond
them), as an op-amp integrator's output saturates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.nn.activity import Network
from cosim.simulators import ngspice
from device_models.spice_text import fmt
from device_models.validation import ParamError, check_range


@dataclass(frozen=True)
class NeuronCircuit:
    v_state_v: float = 1.0
    """Neuron voltage of state 1 (the upper rail)."""
    i_ref_a: float = 1e-6
    """Neuron input current per unit of drive."""
    c_f: float = 1e-12
    """Integrating capacitor (F): tau = c_f v_state_v / i_ref_a (1 us by default)."""
    settle_taus: float = 40.0
    """Transient length in time constants."""
    rail_g_s: float = 1e-2
    """Clamp conductance beyond either rail (S)."""

    def __post_init__(self) -> None:
        check_range("v_state_v", self.v_state_v, 0.0, 10.0, lo_open=True)
        check_range("i_ref_a", self.i_ref_a, 0.0, 1.0, lo_open=True)
        check_range("c_f", self.c_f, 0.0, 1e-6, lo_open=True)
        check_range("settle_taus", self.settle_taus, 1.0, 1e4)
        check_range("rail_g_s", self.rail_g_s, 0.0, 1e3, lo_open=True)

    @property
    def tau_s(self) -> float:
        return self.c_f * self.v_state_v / self.i_ref_a


@dataclass
class Relaxation:
    states: list[np.ndarray]
    """[x, s_1, ..., s_L] at the end of the transient, each (1, width)."""
    time_s: np.ndarray
    traces: list[np.ndarray]
    """s_1 ... s_L over time, each (points, width)."""
    deck: str


def _node(k: int, j: int) -> str:
    return f"s{k}_{j}"


def deck(net: Network, x: np.ndarray, circuit: NeuronCircuit = NeuronCircuit(),
         init: list[np.ndarray] | None = None, target: np.ndarray | None = None,
         beta: float = 0.0) -> str:
    """The transient deck relaxing one input vector ``x`` (states from ``init`` or zero;
    outputs nudged toward ``target`` by ``beta``)."""
    x = np.asarray(x, dtype=float).ravel()
    sizes = net.sizes
    if len(x) != sizes[0]:
        raise ParamError("x", len(x), f"must have the input width {sizes[0]}")
    if x.min(initial=0) < 0 or x.max(initial=0) > 1:
        raise ParamError("x", (float(x.min()), float(x.max())), "inputs lie in [0, 1]")
    c = circuit
    cells = {type(layer.cell).__name__: layer.cell for layer in net.layers}
    out = [f"* activity network {'-'.join(map(str, sizes))}: integrator neurons with rails\n"]
    out += [cell.spice_preamble() for cell in cells.values()]
    g_leak = c.i_ref_a / c.v_state_v
    last = len(net.layers)
    for j, v in enumerate(x):  # the clamped input layer
        out.append(f"Vx{j} {_node(0, j)} 0 {fmt(v * c.v_state_v)}\n")
    for k in range(1, last + 1):
        for j in range(sizes[k]):
            n = _node(k, j)
            out.append(f"C{n} {n} 0 {fmt(c.c_f)}\nRl{n} {n} 0 {fmt(1 / g_leak)}\n"
                       f"B{n}r {n} 0 I={fmt(c.rail_g_s)}*(max(v({n})-{fmt(c.v_state_v)},0)"
                       f"+min(v({n}),0))\n")
            bias = float(net.biases[k - 1][j]) * c.i_ref_a
            if bias:
                out.append(f"Ib{n} 0 {n} DC {fmt(bias)}\n")
            if k == last and target is not None and beta:
                t = float(np.asarray(target).ravel()[j])
                out.append(f"B{n}n 0 {n} I={fmt(beta * c.i_ref_a)}*({fmt(t)}"
                           f"-v({n})/{fmt(c.v_state_v)})\n")
    for k, layer in enumerate(net.layers):  # array k joins layer k (rows) and k+1 (cols)
        v_fs = layer.dac.v_fs_v
        gain = c.i_ref_a / (layer.mapping.s_per_weight * v_fs)  # A per A of pair current
        for ri, ci in layer.fields:
            r, cs = layer.row_tiles[ri], layer.col_tiles[ci]
            fields = layer.state(ri, ci).read_fields()
            names = layer.cell.fields
            tag = f"a{k}t{ri}_{ci}"
            rows, phys = fields[names[0]].shape
            for i in range(rows):  # forward: rows driven by the states below
                out.append(f"E{tag}f{i} {tag}fr{i} 0 {_node(k, r.start + i)} 0 "
                           f"{fmt(v_fs / c.v_state_v)}\n")
            for p in range(phys):
                j = cs.start + p // 2
                sign = 1.0 if p % 2 == 0 else -1.0
                out.append(f"V{tag}fc{p} {tag}fc{p} 0 0\n"
                           f"F{tag}f{p} 0 {_node(k + 1, j)} V{tag}fc{p} {fmt(sign * gain)}\n")
                for half in ("p", "n"):  # transposed: one pair side driven per half
                    driven = (half == "p") == (p % 2 == 0)
                    if driven:
                        out.append(f"E{tag}{half}{p} {tag}{half}c{p} 0 {_node(k + 1, j)} 0 "
                                   f"{fmt(v_fs / c.v_state_v)}\n")
                    else:
                        out.append(f"V{tag}{half}c{p} {tag}{half}c{p} 0 0\n")
            for half, sign in (("p", 1.0), ("n", -1.0)):
                for i in range(rows):
                    out.append(f"V{tag}{half}r{i} {tag}{half}r{i} 0 0\n"
                               f"F{tag}{half}{i} 0 {_node(k, r.start + i)} V{tag}{half}r{i} "
                               f"{fmt(sign * gain)}\n")
            for i in range(rows):
                for p in range(phys):
                    values = {f: fields[f][i, p] for f in names}
                    out.append(layer.cell.spice_instance(f"{tag}f{i}_{p}", f"{tag}fr{i}",
                                                         f"{tag}fc{p}", values))
                    for half in ("p", "n"):
                        out.append(layer.cell.spice_instance(
                            f"{tag}{half}{i}_{p}", f"{tag}{half}r{i}", f"{tag}{half}c{p}",
                            values))
    ic = []
    for k in range(1, last + 1):
        start = (np.zeros(sizes[k]) if init is None
                 else np.asarray(init[k], dtype=float).ravel())
        ic += [f"v({_node(k, j)})={fmt(start[j] * c.v_state_v)}" for j in range(sizes[k])]
    out.append(".options noacct klu\n")
    for opt in next(iter(cells.values())).spice_options:
        out.append(f".options {opt}\n")
    out.append(".ic " + " ".join(ic) + "\n")
    t_stop = c.settle_taus * c.tau_s
    out.append(".save " + " ".join(f"v({_node(k, j)})" for k in range(1, last + 1)
                                   for j in range(sizes[k])) + "\n")
    out.append(f".tran {fmt(c.tau_s / 20)} {fmt(t_stop)} 0 {fmt(c.tau_s / 10)} uic\n.end\n")
    return "".join(out)


def relax_transient(net: Network, x: np.ndarray, circuit: NeuronCircuit = NeuronCircuit(),
                    init: list[np.ndarray] | None = None, target: np.ndarray | None = None,
                    beta: float = 0.0, keep: str = "on_failure",
                    timeout_s: float | None = 600.0) -> Relaxation:
    """Relax one input vector in ngspice; a failed run keeps its deck and log."""
    text = deck(net, x, circuit, init, target, beta)
    plot = ngspice.run_deck(text, timeout_s=timeout_s, keep=keep, name="activity").plot
    sizes = net.sizes
    traces = [np.stack([plot[f"v({_node(k, j)})"] for j in range(sizes[k])], axis=1)
              / circuit.v_state_v for k in range(1, len(sizes))]
    states = [np.asarray(x, dtype=float).reshape(1, -1)] + [t[-1:].copy() for t in traces]
    return Relaxation(states, plot["time"], traces, text)


def phases_transient(net: Network, x: np.ndarray, target: np.ndarray, beta: float,
                     circuit: NeuronCircuit = NeuronCircuit()
                     ) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """(-beta states, +beta states, 1 / (2 beta)) of one input vector, each forced phase
    relaxed from the free phase's end state: the symmetric phases of the discrete
    mode, here as three transients."""
    free = relax_transient(net, x, circuit)
    minus = relax_transient(net, x, circuit, free.states, target, -beta)
    plus = relax_transient(net, x, circuit, free.states, target, beta)
    return minus.states, plus.states, 1.0 / (2 * beta)
