"""``spice`` engine: ngspice on the generated crossbar deck.

K vectors are batched into one ``.dc`` sweep over DAC lookup tables (the
fastest method measured, see benchmarks/batching.py), split into chunks of at
most ``chunk`` vectors, chunks run as parallel ngspice processes.

Superposition (linear cells): a resistive array is a linear network, so with
``superpose`` on, ngspice solves the deck for the N unit vectors (full-scale
code on one row, zero elsewhere) and the K outputs are ``V @ T.T``. Used
automatically when K > N: with wire resistance every sweep point costs ngspice
a full LU refactorisation (no pivot option changed that, measured), so N points
instead of K is the largest saving available in ngspice 39.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

import numpy as np

from cosim.array.energy import BASIS, adc_energy, dac_energy, window_integrals
from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState, check_inputs
from cosim.engines.base import EngineBase, contract, finish
from cosim.errors import EngineUnavailable
from cosim.runs.progress import Tracker
from cosim.simulators import ngspice, osdi
from device_models.validation import ParamError, check_choice, check_int
from netlists.crossbar import (
    RAIL_PROBES,
    CrossbarParams,
    adc_code_probe,
    crossbar,
    driver_probe,
    reset_edge_s,
    sense_out_probe,
    sense_probe,
    sense_supply_probe,
)
from periphery import sar_adc
from periphery.converters import dac_codes, dac_volts, drive_levels

BATCH_MODES = ("dc", "tran", "op")
TRAN_OPTIONS = ("reltol=1e-5", "abstol=1e-13", "vntol=1e-8")
"""Transient tolerances: emitted after the cell's (a later .options wins). The cells'
DC tolerances (reltol 1e-7, abstol 1e-16) stall ngspice's time step at the pulse
breakpoints of B-source FeFET arrays; these keep charge errors far below an LSB."""
SETTLE_TOL_V = 1e-4
"""A virtual-ground node counts as settled within 0.1 mV of its value at sampling."""
BACKENDS = ("subprocess", "shared")
MODEL_FACES = ("auto", "osdi", "bsource")
"""Cell models in decks: compiled Verilog-A where possible, always, or B-sources."""


class SpiceEngine(EngineBase):
    """ngspice on the generated deck: wires, drivers, sensing circuits, energy."""

    name = "spice"
    solves_circuit = True
    features: ClassVar[dict[str, str]] = {
        "wires": "",
        "sense": "",
        "adc_circuit": "",
        "dac_r_out": "",
        "dac_pwm": "sense = integrator",
        "dac_bit_serial": "",
    }

    def __init__(self, *, batch: str = "dc", chunk: int = 500, jobs: int | None = None,
                 timeout_s: float | None = 600.0, keep: str = "on_failure",
                 workdir: str | Path | None = None, options: tuple[str, ...] = (),
                 t_step_s: float = 1e-6, backend: str = "subprocess",
                 superpose: str = "auto", noise: bool | None = None, seed: int = 0,
                 models: str = "auto") -> None:
        super().__init__(noise=noise, seed=seed, timeout_s=timeout_s)
        check_choice("models", models, MODEL_FACES)
        self.models = models
        check_choice("batch", batch, BATCH_MODES)
        check_choice("backend", backend, BACKENDS)
        check_choice("superpose", superpose, ("auto", "on", "off"))
        self.backend = backend
        self.superpose = superpose
        check_int("chunk", chunk, 1, 100_000)
        self.batch = batch
        self.chunk = 1 if batch == "op" else chunk
        # One in-process ngspice exists per process: the shared backend runs serially.
        default_jobs = 1 if backend == "shared" else max(1, min(4, os.cpu_count() or 1))
        self.jobs = jobs if jobs is not None else default_jobs
        check_int("jobs", self.jobs, 1, 256)
        self.keep = keep
        self.workdir = workdir
        self.options = options
        self.t_step_s = t_step_s

    def available(self) -> tuple[bool, str]:
        info, why = ngspice.probe()
        if info is None:
            return False, why
        return True, f"ngspice {info.version} at {info.path}"

    def use_osdi(self, state: ArrayState) -> bool:
        """Cells as compiled Verilog-A: ``models="osdi"`` demands it, ``"auto"`` takes it
        where the cell has a Verilog-A face and the simulator loads OSDI objects."""
        has_face = hasattr(state.cell, "verilog_a_modules")
        if self.models == "bsource" or self.backend == "shared":
            return False
        if self.models == "osdi":
            if not has_face:
                raise ParamError("models", "osdi", f"needs a cell with a Verilog-A face, not "
                                 f"{state.cell.kind}")
            info = ngspice.require()
            if not info.osdi:
                raise EngineUnavailable(f"models='osdi' needs an ngspice with OSDI; the one "
                                        f"found is {info.describe()}: run `bash bootstrap.sh "
                                        "setup` to build ngspice 46")
            return True
        info = ngspice.available()
        return has_face and info is not None and info.osdi and osdi.compiler()[0] is not None

    def deck_files(self, state: ArrayState) -> dict[str, str]:
        """``.spiceinit`` loading the cell's compiled models (compiled once per machine)."""
        if not self.use_osdi(state):
            return {}
        objs = [osdi.compile_va(src, name)
                for name, src in state.cell.verilog_a_modules().items()]
        return {".spiceinit": "".join(f"osdi {o}\n" for o in objs)}

    def params(self, state: ArrayState, codes: np.ndarray, config: ArrayConfig) -> CrossbarParams:
        """The deck parameters for one chunk of input codes (exposed for `cosim netlist`)."""
        return CrossbarParams(
            osdi=self.use_osdi(state),
            fields=state.read_fields(), input_codes=codes, cell=state.cell, dac=config.dac,
            differential=state.differential, r_row_wire_ohm=config.r_row_wire_ohm,
            r_col_wire_ohm=config.r_col_wire_ohm,
            analysis="op" if len(codes) == 1 else self.batch,
            options=tuple(state.cell.spice_options) + tuple(self.options),
            t_step_s=self.t_step_s)

    def _run_periphery(self, state: ArrayState, codes: np.ndarray, config: ArrayConfig,
                       t0: float) -> MVMResult:
        """Transient with the sensing circuits: sample each column at the end of its
        window, measure settling from the virtual-ground waveforms, integrate energy."""
        parts = self._map(lambda c, report: self._periphery_chunk(state, c, config, report),
                          self._chunks(codes))
        i_col = np.concatenate([p[0] for p in parts])
        energy = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
        settling = np.concatenate([p[2] for p in parts])
        pulse, duty = drive_levels(codes, config.dac)
        v = pulse * duty  # window-average row voltage
        energy["dac"] = dac_energy(v, state.phys_cols, config.energy)
        basis = dict(BASIS, adc=config.energy.adc_basis())
        adc_code = None
        if config.adc_circuit is None:
            energy["adc"] = adc_energy(len(codes), state.cols, config.adc, config.energy)
        else:
            adc_code = np.concatenate([p[3] for p in parts])
            basis["adc"] = ("simulated: SAR ADC circuits (comparator, switch drivers, "
                            "references); logic and clocks excluded")
        if config.sense.cmos is not None:
            basis["sensing"] = "simulated: transistor-level op-amps, rail currents"
        return finish(self.name, state, config, i_col, v, t0, energy_j=energy,
                      settling_s=settling, energy_basis=basis, adc_code=adc_code)

    def _periphery_chunk(self, state: ArrayState, codes: np.ndarray, config: ArrayConfig,
                         report=None):
        sp = config.sense
        period = sp.period_s
        p = CrossbarParams(
            fields=state.read_fields(), input_codes=codes, cell=state.cell, dac=config.dac,
            differential=state.differential, r_row_wire_ohm=config.r_row_wire_ohm,
            r_col_wire_ohm=config.r_col_wire_ohm, analysis="tran", t_step_s=period,
            t_edge_s=sp.sensor.row_edge_s(sp),
            sense=sp, osdi=self.use_osdi(state), adc_circuit=config.adc_circuit,
            options=(tuple(state.cell.spice_options) + TRAN_OPTIONS
                     + (sar_adc.TRAN_OPTIONS if config.adc_circuit is not None else ())
                     + tuple(self.options)))
        plot = ngspice.run_deck(
            crossbar(p).render(), timeout_s=self.timeout_s, keep=self.keep,
            workdir=self.workdir, name="periphery", files=self.deck_files(state),
            on_progress=None if report is None else lambda t: report(t / period)).plot
        t = plot["time"]
        k, rows, cols = len(codes), state.rows, state.phys_cols
        # read before the reset clock's edge: within the transmission gate's 100 ps
        # edge the integrator is already discharging
        t_sample = (np.arange(k) + 1) * period - reset_edge_s(sp)
        v_out = np.stack([np.interp(t_sample, t, plot[sense_out_probe(j)])
                          for j in range(cols)], axis=1)
        i_col = sp.sensor.current_from_output(sp, v_out)
        p_array = sum(plot[f"v(in{i})"] * plot[driver_probe(i)] for i in range(rows))
        p_array = p_array - sum(plot[f"v(o{j})"] * plot[sense_probe(j)] for j in range(cols))
        if sp.cmos is None:  # class-A model of the behavioural op-amp's supply
            i_supply = sum(np.abs(plot[sense_supply_probe(j)]) for j in range(cols))
            p_sense = sp.vdd_v * sp.i_bias_a * cols + sp.signal_supply_v * i_supply
        else:  # what the rails at +-vdd/2 deliver to the transistor-level op-amps
            p_sense = sp.vdd_v / 2 * (plot[RAIL_PROBES[1]] - plot[RAIL_PROBES[0]])
        energy = {"array": window_integrals(t, p_array, period, k),
                  "sensing": window_integrals(t, p_sense, period, k)}
        codes = None
        adc = config.adc_circuit
        if adc is not None:  # a sample's cycle: its sampling and the next period's conversion
            codes = np.stack([sar_adc.codes_from(plot, adc_code_probe(j), adc, period, k)
                              for j in range(state.cols)], axis=1)
            energy["adc"] = window_integrals(t - sar_adc.cycle_start_s(adc, period),
                                             sar_adc.power_w(adc, plot), period, k)
        # Settling: last time a virtual-ground node is farther than SETTLE_TOL_V from its
        # settled value, counted from the step that disturbs it. Integrator: from the
        # row pulse's start to its end, and from its end to the sampling instant (the
        # op-amp recovering the error it held); TIA: from the window's start to the
        # sampling instant.
        phases = sp.sensor.settling_phases(sp, k, t_sample)
        settling = np.zeros(k)
        for j in range(cols):
            vo = plot[f"v(o{j})"]
            for begin, end in phases:
                final = np.interp(end, t, vo)
                for n in range(k):
                    m = (t >= begin[n]) & (t <= end[n])
                    off = np.abs(vo[m] - final[n]) > SETTLE_TOL_V
                    if off.any():
                        settling[n] = max(settling[n], t[m][off][-1] - begin[n])
        return i_col, energy, settling, codes

    def _run_chunk(self, state: ArrayState, codes: np.ndarray, config: ArrayConfig,
                   report=None) -> np.ndarray:
        p = self.params(state, codes, config)
        net = crossbar(p)
        expect = net.points if net.points > 0 else None
        if self.backend == "shared":
            from cosim.simulators.pyspice_shared import run_deck_shared

            plot, _ = run_deck_shared(net.render(), expect_points=expect)
        else:
            step = p.t_step_s if p.analysis == "tran" else 1.0  # .dc: the vector index
            plot = ngspice.run_deck(
                net.render(), timeout_s=self.timeout_s, expect_points=expect, keep=self.keep,
                workdir=self.workdir, name="crossbar", files=self.deck_files(state),
                on_progress=None if report is None else lambda v: report(v / step + 1)).plot
        cols = [plot[sense_probe(j)] for j in range(state.phys_cols)]
        i = np.stack(cols, axis=1)
        if p.analysis == "tran":
            t_end = (np.arange(len(codes)) + 1) * p.t_step_s
            i = np.stack([np.interp(t_end, plot["time"], c) for c in cols], axis=1)
        return i

    def _use_superposition(self, state: ArrayState, vectors: int) -> bool:
        linear = state.cell.linear
        if self.superpose == "on" and not linear:
            raise ParamError("superpose", "on", f"needs linear (resistor) cells, not "
                             f"{state.cell.kind}")
        return linear and (self.superpose == "on" or (self.superpose == "auto"
                                                      and vectors > state.rows))

    @contract
    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
            rng: np.random.Generator | None = None) -> MVMResult:
        t0 = time.perf_counter()
        x = check_inputs(x, state)
        codes = dac_codes(x, config.dac)
        if config.dac.encoding == "pwm" and (config.sense is None
                                             or not config.sense.sensor.integrating):
            raise ParamError("dac.encoding", "pwm", "needs an integrating read-out in the "
                             "spice engine (sense=integrator)")
        if config.sense is not None:
            return self._run_periphery(state, codes, config, t0)
        if self._use_superposition(state, len(codes)):
            unit = np.eye(state.rows, dtype=np.int64) * config.dac.max_code
            t = self._solve(state, unit, config).T / config.dac.v_fs_v  # (phys cols, rows)
            v = dac_volts(codes, config.dac)
            return finish(self.name, state, config, v @ t.T, v, t0)
        i_col = self._solve(state, codes, config)
        return finish(self.name, state, config, i_col, dac_volts(codes, config.dac), t0)

    def _solve(self, state: ArrayState, codes: np.ndarray, config: ArrayConfig) -> np.ndarray:
        return np.concatenate(self._map(lambda c, report: self._run_chunk(state, c, config, report),
                                        self._chunks(codes)), axis=0)

    def _chunks(self, codes: np.ndarray) -> list[np.ndarray]:
        """The vectors balanced over the parallel jobs, at most ``chunk`` per deck."""
        per = min(self.chunk, -(-len(codes) // self.jobs))
        return [codes[s:s + per] for s in range(0, len(codes), per)]

    def _map(self, fn, chunks: list) -> list:
        """fn(chunk, on_progress) over the chunks: in order, as up to ``jobs`` parallel
        ngspice processes, their progress summed into one task. An interrupt (or a
        failed chunk) stops the decks still running instead of waiting for them."""
        tracker = Tracker(f"ngspice ({len(chunks)} deck{'s' if len(chunks) > 1 else ''})",
                          [len(c) for c in chunks])

        def one(k: int):
            out = fn(chunks[k], lambda done: tracker.part(k, done))
            tracker.part(k, len(chunks[k]))
            return out

        return ngspice.map_decks(one, range(len(chunks)), self.jobs)
