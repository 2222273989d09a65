"""``nodal`` engine: exact nodal analysis of the array with wire resistance.

Same topology as the generated deck (``netlists.crossbar``): each row has M
wire segments from its driver, each column N segments down to its
virtual-ground sense node; a cell joins r[i, j] and c[i, j].

Linear cells (transfer-matrix path). The array is a linear map V -> I, so the
engine computes its transfer matrix T (columns x rows) once per programmed array
(kept by content in ``TRANSFER_MATRICES``) and every batch is ``V @ T.T``. T
comes from a block elimination that uses the array's structure: each row chain
is tridiagonal, so eliminating the row nodes leaves, in the column nodes, a
block-tridiagonal SPD system with dense M x M diagonal blocks D_i and couplings
-g_c I between neighbouring rows. A forward block-Thomas sweep (one Cholesky per
row) carries all N unit-driver responses to the last row, whose column voltages
give the sense currents directly; no back substitution is needed. Cost
O(N M^3 + N^2 M^2) in dense BLAS-3 kernels.

Nonlinear cells (chord-Newton path). The KCL residual uses each cell's numpy
face with the actual row and column node voltages; the correction solves a
sparse system built from the wires and each cell's secant conductance
(factored once with SuperLU, reused for every vector and every iteration).
Iteration stops when the largest node-voltage update is below
``vtol_v`` (default 1e-12 V) and fails loudly after ``max_iter``.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cosim.array.memory import check_memory
from cosim.array.result import MVMResult
from cosim.array.state import ArrayConfig, ArrayState
from cosim.engines.base import Deadline, EngineBase, contract, finish, row_voltages
from cosim.engines.cache import ArrayCache, fingerprint
from cosim.errors import SimulationError
from device_models.validation import ParamError, check_int, check_range

TRANSFER_MATRICES = ArrayCache()
"""Transfer matrices by programmed conductances and wire resistances: repeated batches
on one programmed array cost one matrix product each."""

DEFAULT_CHUNK = 2000
"""Vectors solved at once (bounds the chunk buffers in ``plan``)."""


def plan(rows: int, cols: int, vectors: int, linear: bool, chunk: int) -> dict:
    """Method and peak memory (bytes) the engine will use, before it starts."""
    k = min(vectors, chunk)
    if linear:
        # D_i, its factor and inverse, the running RHS (M x N), T, one chunk of outputs.
        peak = 8 * (4 * cols * cols + 2 * cols * rows + k * (rows + cols))
        return {"method": "transfer-matrix (block Thomas)", "peak_bytes": int(peak)}
    n = 2 * rows * cols
    fill = 60 * n  # SuperLU factor of a 2-layer grid: measured ~30-50 nnz per node
    peak = 8 * (3 * n * k + 2 * fill) + 16 * fill
    return {"method": "chord Newton (SuperLU)", "peak_bytes": int(peak)}


class NodalEngine(EngineBase):
    """Exact nodal analysis with wire resistance; ideal drivers and virtual ground."""

    name = "nodal"
    features: ClassVar[dict[str, str]] = {
        "wires": "",
        "dac_pwm": "linear cells",
        "dac_bit_serial": "",
    }

    def __init__(self, *, chunk: int = DEFAULT_CHUNK, max_iter: int = 100,
                 vtol_v: float = 1e-12, max_memory_bytes: int | None = None,
                 noise: bool | None = None, seed: int = 0,
                 timeout_s: float | None = None) -> None:
        super().__init__(noise=noise, seed=seed, timeout_s=timeout_s)
        check_int("chunk", chunk, 1, 10**7)
        check_int("max_iter", max_iter, 1, 10_000)
        check_range("vtol_v", vtol_v, 0.0, 1.0, lo_open=True)
        if max_memory_bytes is not None:  # None: the shared budget (COSIM_MEMORY_GIB)
            check_int("max_memory_bytes", max_memory_bytes, 2**20)
        self.chunk = chunk
        self.max_iter = max_iter
        self.vtol_v = vtol_v
        self.max_memory_bytes = max_memory_bytes
        self.last_plan: dict | None = None
        self.last_iterations: int = 0

    def available(self) -> tuple[bool, str]:
        return True, f"scipy {__import__('scipy').__version__}"

    @contract
    def run(self, state: ArrayState, x: np.ndarray, config: ArrayConfig,
            rng: np.random.Generator | None = None) -> MVMResult:
        t0 = time.perf_counter()
        deadline = self.deadline()
        v = row_voltages(x, state, config)
        linear = state.cell.linear
        if config.dac.encoding == "pwm" and not linear:
            raise ParamError("dac.encoding", "pwm", "needs linear (resistor) cells in the "
                             "nodal engine (the wires' IR drop changes as pulses end)")
        self.last_plan = plan(state.rows, state.phys_cols, len(v), linear, self.chunk)
        check_memory("array", f"{state.rows}x{state.phys_cols}", self.last_plan["peak_bytes"],
                     f"the nodal engine's {self.last_plan['method']}", self.max_memory_bytes,
                     "max_memory_bytes" if self.max_memory_bytes else "COSIM_MEMORY_GIB")
        if linear:
            g = state.conductance()
            key = fingerprint("nodal", g, config.r_row_wire_ohm, config.r_col_wire_ohm)
            t = TRANSFER_MATRICES.get(
                key, lambda: transfer_matrix(g, config.r_row_wire_ohm, config.r_col_wire_ohm,
                                             deadline), lambda m: m.nbytes)
            i_col = np.empty((len(v), state.phys_cols))
            for s in range(0, len(v), self.chunk):
                i_col[s:s + self.chunk] = v[s:s + self.chunk] @ t.T
        else:
            i_col = np.concatenate([self._newton(state, v[s:s + self.chunk], config, deadline)
                                    for s in range(0, len(v), self.chunk)])
        return finish(self.name, state, config, i_col, v, t0)

    # ------------------------------------------------------------ nonlinear path
    def _newton(self, state: ArrayState, v: np.ndarray, config: ArrayConfig,
                deadline: Deadline) -> np.ndarray:
        fields = state.read_fields()
        if config.r_row_wire_ohm == 0 and config.r_col_wire_ohm == 0:  # nothing to solve
            return state.cell.current(v[:, :, None], fields, 0.0).sum(axis=1)
        net = WireNetwork(state.rows, state.phys_cols, config.r_row_wire_ohm,
                          config.r_col_wire_ohm)
        g_sec = state.cell.conductance(fields)
        lu = spla.splu(net.matrix(g_sec).tocsc(), permc_spec="MMD_AT_PLUS_A")
        u = lu.solve(net.rhs(v, g_sec))  # linear (secant) start, (n_unknowns, K)
        for it in range(1, self.max_iter + 1):
            deadline.check()
            vr, vc = net.node_voltages(u, v)
            i_cell = state.cell.current(vr, fields, vc)
            du = lu.solve(net.residual(u, v, i_cell))
            u += du
            if np.max(np.abs(du)) <= self.vtol_v:
                self.last_iterations = it
                vr, vc = net.node_voltages(u, v)
                return net.sense_currents(u, state.cell.current(vr, fields, vc))
        raise SimulationError(
            f"nodal chord-Newton did not converge in {self.max_iter} iterations "
            f"(last max |dV| = {np.max(np.abs(du)):.3g} V > vtol_v={self.vtol_v:g})")


def transfer_matrix(g_s: np.ndarray, r_row_ohm: float, r_col_ohm: float,
                    deadline: Deadline | None = None) -> np.ndarray:
    """Exact (columns x rows) map from row driver voltages to sense currents.

    Runs with one BLAS thread: the sweep is a chain of small LAPACK calls, where
    OpenBLAS's thread hand-offs cost more than they save (measured on 2 cores:
    128x128 1.65 s with 2 threads, 0.10 s with 1; 256x256 3.5 s vs 1.16 s).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _transfer_matrix(np.asarray(g_s, dtype=float), r_row_ohm, r_col_ohm,
                                deadline or Deadline(None, "nodal"))


def _transfer_matrix(g: np.ndarray, r_row_ohm: float, r_col_ohm: float,
                     deadline: Deadline) -> np.ndarray:
    n, m = g.shape
    if r_row_ohm == 0 and r_col_ohm == 0:
        return g.T.copy()
    if r_col_ohm == 0:  # columns at 0 V: rows are independent ladders
        gr = 1.0 / r_row_ohm
        t = np.empty((m, n))
        for i in range(n):
            w = _row_ladder_solve(g[i], gr, np.eye(m, 1)[:, 0] * gr)
            t[:, i] = g[i] * w
        return t
    gc = 1.0 / r_col_ohm
    z = np.zeros((m, n))
    p_inv = None
    for i in range(n):
        deadline.check()
        col_diag = gc * (2.0 if i > 0 else 1.0)  # up (if any) and down segments
        if r_row_ohm == 0:
            d = np.diag(g[i] + col_diag)
            y = g[i]
        else:
            gr = 1.0 / r_row_ohm
            inv_g = _row_ladder_solve(g[i], gr, np.diag(g[i]))  # Rm^-1 diag(G)
            d = np.diag(g[i] + col_diag) - g[i][:, None] * inv_g
            d = 0.5 * (d + d.T)
            y = g[i] * _row_ladder_solve(g[i], gr, np.eye(m, 1)[:, 0] * gr)
        if p_inv is not None:
            d = d - gc * gc * p_inv
            z = gc * (p_inv @ z)
        z[:, i] += y
        if i == n - 1:
            return gc * sla.cho_solve(sla.cho_factor(d, lower=True, check_finite=False), z,
                                      check_finite=False)
        p_inv = _spd_inverse(d)
    raise AssertionError("unreachable")


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of an SPD matrix from its Cholesky factor (LAPACK potrf + potri)."""
    c, info = sla.lapack.dpotrf(a, lower=True, clean=False)
    if info != 0:
        raise SimulationError(f"nodal: block {info} of the array matrix is not positive definite")
    inv, info = sla.lapack.dpotri(c, lower=True)
    if info != 0:
        raise SimulationError("nodal: singular block while inverting the array matrix")
    return np.tril(inv) + np.tril(inv, -1).T


def _row_ladder_solve(g_row: np.ndarray, gr: float, b: np.ndarray) -> np.ndarray:
    """Solve one row chain's tridiagonal KCL (driver segment, M-1 inner segments,
    cells to the column nodes held at 0) for right-hand side(s) b."""
    m = len(g_row)
    diag = g_row + gr + np.r_[np.full(m - 1, gr), 0.0]
    ab = np.zeros((3, m))
    ab[0, 1:] = -gr
    ab[1] = diag
    ab[2, :-1] = -gr
    return sla.solve_banded((1, 1), ab, b, check_finite=False)


class WireNetwork:
    """Sparse KCL of the array's wires for the nonlinear path.

    Unknowns: row nodes (if row wires have resistance) then column nodes (if
    column wires do); otherwise those nodes are pinned to the driver / 0 V.
    """

    def __init__(self, rows: int, cols: int, r_row_ohm: float, r_col_ohm: float) -> None:
        self.n, self.m = rows, cols
        self.row_free, self.col_free = r_row_ohm > 0, r_col_ohm > 0
        self.gr = 1.0 / r_row_ohm if self.row_free else 0.0
        self.gc = 1.0 / r_col_ohm if self.col_free else 0.0
        nm = rows * cols
        self.r0 = 0
        self.c0 = nm if self.row_free else 0
        self.size = (nm if self.row_free else 0) + (nm if self.col_free else 0)
        if self.size == 0:
            raise ValueError("WireNetwork needs wire resistance on rows or columns")

    def _ridx(self) -> np.ndarray:
        return self.r0 + np.arange(self.n * self.m).reshape(self.n, self.m)

    def _cidx(self) -> np.ndarray:
        return self.c0 + np.arange(self.n * self.m).reshape(self.n, self.m)

    def matrix(self, g_cell: np.ndarray) -> sp.csr_matrix:
        """Wire Laplacian plus cell (secant) conductances over the unknowns."""
        rows, cols, vals = [], [], []

        def add(a, b, g):  # conductance g between unknown index arrays a and b (b<0: pinned)
            a, b, g = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(g, float))
            a, b, g = a.ravel(), b.ravel(), g.ravel()
            rows.extend([a]), cols.extend([a]), vals.extend([g])
            free = b >= 0
            rows.extend([b[free], a[free], b[free]])
            cols.extend([b[free], b[free], a[free]])
            vals.extend([g[free], -g[free], -g[free]])

        ri, ci = self._ridx(), self._cidx()
        if self.row_free:
            add(ri[:, 0], -1, self.gr)  # driver segment
            add(ri[:, 1:], ri[:, :-1], self.gr)
        if self.col_free:
            add(ci[:-1, :], ci[1:, :], self.gc)
            add(ci[-1, :], -1, self.gc)  # segment to the virtual ground
        a = ri if self.row_free else np.full((self.n, self.m), -1)
        b = ci if self.col_free else np.full((self.n, self.m), -1)
        if self.row_free:
            add(a, b, g_cell)
        else:
            add(b, -1, g_cell)
        r, c, v = (np.concatenate(z) for z in (rows, cols, vals))
        return sp.csr_matrix((v, (r, c)), shape=(self.size, self.size))

    def node_voltages(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(K, rows, cols) row-node and column-node voltages."""
        k = v.shape[0]
        if self.row_free:
            vr = u[self.r0:self.r0 + self.n * self.m].T.reshape(k, self.n, self.m)
        else:
            vr = np.broadcast_to(v[:, :, None], (k, self.n, self.m))
        if self.col_free:
            vc = u[self.c0:self.c0 + self.n * self.m].T.reshape(k, self.n, self.m)
        else:
            vc = np.zeros((k, self.n, self.m))
        return vr, vc

    def rhs(self, v: np.ndarray, g_cell: np.ndarray) -> np.ndarray:
        """Right-hand side of the secant system: driver injections (and pinned rows)."""
        b = np.zeros((self.size, v.shape[0]))
        if self.row_free:
            b[self._ridx()[:, 0]] = self.gr * v.T
        else:  # rows pinned to the drivers: cells inject into the column nodes
            b[self._cidx()] = g_cell[:, :, None] * v.T[:, None, :]
        return b

    def residual(self, u: np.ndarray, v: np.ndarray, i_cell: np.ndarray) -> np.ndarray:
        """KCL residual (current into each unknown node), (size, K)."""
        k = v.shape[0]
        res = np.zeros((self.size, k))
        i_nm = i_cell.reshape(k, -1).T  # (n*m, K), current from row node to column node
        if self.row_free:
            vr = u[self.r0:self.r0 + self.n * self.m].reshape(self.n, self.m, k)
            left = np.concatenate([v.T[:, None, :], vr[:, :-1, :]], axis=1)
            right = np.concatenate([vr[:, 1:, :], vr[:, -1:, :]], axis=1)
            wire = self.gr * (left - vr) + self.gr * (right - vr)
            res[self.r0:self.r0 + self.n * self.m] = wire.reshape(-1, k) - i_nm
        if self.col_free:
            vc = u[self.c0:self.c0 + self.n * self.m].reshape(self.n, self.m, k)
            up = np.concatenate([vc[:1], vc[:-1]], axis=0)
            down = np.concatenate([vc[1:], np.zeros((1, self.m, k))], axis=0)
            wire = self.gc * (up - vc) + self.gc * (down - vc)
            res[self.c0:self.c0 + self.n * self.m] = wire.reshape(-1, k) + i_nm
        return res

    def sense_currents(self, u: np.ndarray, i_cell: np.ndarray) -> np.ndarray:
        """(K, cols) currents into the virtual-ground nodes."""
        if self.col_free:
            k = u.shape[1]
            vc = u[self.c0:self.c0 + self.n * self.m].reshape(self.n, self.m, k)
            return (self.gc * vc[-1]).T
        return i_cell.sum(axis=1)
