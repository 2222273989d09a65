"""Device-true programming: pulses and program-and-verify, to the levels the device has.

``pulse_ladder`` is the nominal device's conductance after 0, 1, ..., N identical
potentiating pulses from the erased state (domains at the normal quantiles of
their activation, deterministic switching): its distinct values are the levels
the pulse scheme can reach and its top is the highest reachable conductance, so
the weight mapping takes g_max from it instead of from P = +1.

``program_and_verify`` writes a tile the way a chip does: erase, then one
potentiating pulse at a time to every cell still below its target, each
followed by a verify read (the real device: its D2D offset, stochastic
switching and read noise), stopping a cell once its read is within half a step
of the target. Cells end at the nearest level they reached; those the ladder
cannot reach stop at the last pulse. Iterations, pulses per cell and the final
error are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from device_models import fefet_mos2 as fe
from device_models.cells import Cell

PROGRAMMING = ("ideal", "pulse")


@dataclass(frozen=True)
class PulseScheme:
    v_pulse_v: float = 1.5
    width_s: float = 100e-9
    max_pulses: int = 64


def nominal_domains(p: fe.FefetParams, shape: tuple[int, ...] = (1,)) -> fe.Domains:
    """Erased devices whose domains sit at the normal quantiles of the activation
    voltage (the typical device), switching deterministically."""
    q = (np.arange(p.n_domains) + 0.5) / p.n_domains
    ea = np.maximum(p.ea_mean_v + p.ea_sigma_v * norm.ppf(q), 0.05 * p.ea_mean_v)
    full = (*shape, p.n_domains)
    return fe.Domains(up=np.zeros(full, bool), progress=np.zeros(full),
                      ea_v=np.broadcast_to(ea, full).copy())


def _fields(pol: np.ndarray, template: dict[str, np.ndarray]) -> dict:
    return {**template, "pol": pol}


def _nominal_template(cell: Cell, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    lo, _ = cell.g_range()
    return cell.program(np.full(shape, lo))


def pulse_ladder(cell: Cell, scheme: PulseScheme) -> np.ndarray:
    """Nominal conductance after 0..max_pulses potentiating pulses (S)."""
    p = cell.switching_params
    d = nominal_domains(p)
    template = _nominal_template(cell, (1, 2))  # one differential pair, its G- erased
    g = []
    for k in range(scheme.max_pulses + 1):
        if k:
            d = fe.apply_pulses(d, scheme.v_pulse_v, scheme.width_s, 1, p)
        pol = np.array([[d.polarization[0], -1.0]])
        g.append(float(cell.conductance(_fields(pol, template))[0, 0]))
    return np.array(g)


def levels(ladder: np.ndarray) -> int:
    """Distinct conductance levels on a ladder (pulses that changed the state)."""
    return len(np.unique(np.round(ladder / ladder.max(), 12)))


def d2d_fields(cell: Cell, template: dict[str, np.ndarray], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
    """Device-to-device threshold offsets of the weight (and mask) devices."""
    out = dict(template)
    shape = np.shape(template["pol"])
    out["dvth_v"] = template["dvth_v"] + fe.draw_vth_offsets(shape, cell.switching_params, rng)
    if "mask_dvth_v" in template:
        out["mask_dvth_v"] = (template["mask_dvth_v"]
                              + fe.draw_vth_offsets(shape, cell.mask_params, rng))
    return out


def program_and_verify(cell: Cell, g_target_s: np.ndarray, template: dict[str, np.ndarray],
                       scheme: PulseScheme, rng: np.random.Generator
                       ) -> tuple[fe.Domains, dict[str, np.ndarray], dict[str, float]]:
    """(domains, fields, stats) of a tile programmed by erase + pulse-and-verify.

    ``template`` carries every field but ``pol`` (D2D offsets, mask state)."""
    p = cell.switching_params
    target = np.asarray(g_target_s, dtype=float)
    d = fe.new_domains(target.shape, p, rng, pol=-1.0)

    def read(dom: fe.Domains, noisy: bool) -> np.ndarray:
        g = cell.conductance(_fields(fe.effective_polarization(dom, p), template))
        return cell.read_noise(g, rng) if noisy else g

    g_prev = read(d, True)
    active = g_prev < target
    pulses = np.zeros(target.shape, dtype=np.int64)
    iterations = 0
    for _ in range(scheme.max_pulses):
        if not active.any():
            break
        iterations += 1
        d = fe.apply_pulses(d, scheme.v_pulse_v, scheme.width_s, active.astype(np.int64), p, rng)
        pulses += active
        g = read(d, True)
        step = np.maximum(g - g_prev, 0.0)
        active &= g < target - 0.5 * step  # verify: stop within half a step of the target
        g_prev = np.where(active, g, g_prev)
    fields = _fields(fe.effective_polarization(d, p), template)
    g_final = cell.conductance(fields)
    lo, hi = cell.g_range()
    err = (g_final - target) / (hi - lo)
    stats = {"iterations": float(iterations), "pulses_mean": float(pulses.mean()),
             "pulses_max": float(pulses.max(initial=0)),
             "at_max_pulses": float((pulses >= scheme.max_pulses).mean()),
             "error_rms_of_range": float(np.sqrt(np.mean(err**2))),
             "error_max_of_range": float(np.abs(err).max(initial=0.0))}
    return d, fields, stats
