"""Sweep runner: points on Dask, each result written atomically as it finishes.

Layout of a sweep run directory::

    spec.toml, spec.json     the spec as given and as resolved
    points/<id>.json         one file per finished point (status ok, failed or timeout)
    points/<id>.npz          the point's artifacts (arrays), when it has any
    sim/                     simulator files of failed points (netlist, log), named
                             by their records; absent when none failed
    results.parquet          the tidy table (results.csv on request)
    manifest.json

``resume`` re-runs exactly the points whose file is missing or failed; a file is
complete or absent (temp + rename), so a killed sweep leaves nothing corrupt.
A failing point (non-convergence, timeout, ngspice crash, a killed worker) is
recorded with its error (and rundir / netlist / log tail for simulator
failures) and the sweep goes on. Every point runs in a child process of its
worker that is stopped at the spec's ``timeout_s``, whatever the engine.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import CosimError, SimulationError, SimulationTimeout
from cosim.runs.files import write_atomic, write_json, write_parquet
from cosim.runs.isolated import StoppableWorker
from cosim.runs.manifest import now_utc, write_manifest
from cosim.runs.progress import report
from cosim.sweeps.spec import SweepSpec, spec_from_dict
from device_models.validation import ParamError

Task = Callable[[dict[str, Any], float], dict[str, Any]]
"""What a point runs: ``task(params, timeout_s) -> {"metrics": {...}, "artifacts": {...}}``
(a module-level function or a ``functools.partial`` of one, so Dask can ship it)."""


def execute_point(task: Task, point: dict[str, Any], timeout_s: float,
                  scratch: Path | None = None) -> dict[str, Any]:
    """Run on a worker: never raises for a point's own failure; returns a record.
    The point runs in a child process stopped after ``timeout_s``; its simulators'
    files go under ``scratch`` (kept there only when the point fails)."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"id": point["id"], "params": point["params"]}
    try:
        out = _worker().call(task, point["params"], timeout_s, timeout_s=timeout_s,
                             what=f"point {point['id']}", scratch_root=scratch)
        record.update(status="ok", metrics=out["metrics"], error=None)
        arts = out.get("artifacts") or {}
        if arts:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arts)
            record["artifacts_npz"] = buf.getvalue()
    except SimulationError as exc:
        record.update(status="timeout" if isinstance(exc, SimulationTimeout) else "failed",
                      metrics={}, error=str(exc).splitlines()[0],
                      rundir=str(exc.rundir) if exc.rundir else None,
                      netlist=str(exc.netlist) if exc.netlist else None,
                      log_tail=exc.log_tail)
    except (CosimError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        record.update(status="failed", metrics={}, error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=5))
    record["seconds"] = time.perf_counter() - t0
    return record


_LOCAL = threading.local()


def _worker() -> StoppableWorker:
    """This thread's point runner (a Dask worker thread runs one point at a time)."""
    if not hasattr(_LOCAL, "worker"):
        _LOCAL.worker = StoppableWorker()
    return _LOCAL.worker


def point_path(run_dir: Path, pid: str) -> Path:
    return run_dir / "points" / f"{pid}.json"


def save_record(run_dir: Path, record: dict[str, Any]) -> None:
    npz = record.pop("artifacts_npz", None)
    if npz is not None:
        write_atomic(run_dir / "points" / f"{record['id']}.npz", npz)
        record["artifacts"] = f"{record['id']}.npz"
    write_json(point_path(run_dir, record["id"]), record)


def finished_ids(run_dir: Path) -> set[str]:
    """Points with a complete ``ok`` record (failed ones are retried on resume)."""
    done = set()
    for f in (run_dir / "points").glob("*.json"):
        try:
            rec = json.loads(f.read_text())
        except (json.JSONDecodeError, OSError):
            continue  # unreadable: run again
        if rec.get("status") == "ok":
            done.add(rec["id"])
    return done


def check_resumable(run_dir: Path, name: str, resolved: dict[str, Any]) -> None:
    """A run directory can be resumed with this spec (its ``spec.json`` is ``resolved``);
    the temp files a run killed mid-write left (never a partial record) are dropped."""
    old = run_dir / "spec.json"
    if not old.exists():
        raise ParamError("run_dir", str(run_dir), "has no spec.json: nothing to resume")
    if json.loads(old.read_text()) != json.loads(json.dumps(resolved)):
        raise ParamError("spec", name, f"differs from the spec {run_dir} was run with")
    for stale in run_dir.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)


def prepare_run_dir(run_dir: Path, spec: SweepSpec, spec_text: str, resume: bool) -> None:
    (run_dir / "points").mkdir(parents=True, exist_ok=True)
    old = run_dir / "spec.json"
    if resume:
        check_resumable(run_dir, spec.name, spec.as_dict())
    elif any((run_dir / "points").iterdir()):
        raise ParamError("run_dir", str(run_dir), "already holds points; pass --resume")
    write_atomic(run_dir / "spec.toml", spec_text)
    write_json(old, spec.as_dict())


SCHEDULER_TIMEOUT_S = 10
CLOSE_TIMEOUT_S = 10
"""Bound on closing the Dask client and cluster (seconds)."""
SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls)://[A-Za-z0-9._\-]+:\d{1,5}$")


def check_scheduler(address: str | None) -> None:
    if address is not None and not SCHEDULER_ADDRESS.match(address):
        raise ParamError("scheduler", address, "must look like tcp://host:port")


def run_sweep(spec: SweepSpec, spec_text: str, run_dir: Path, *, scheduler: str | None = None,
              workers: int = 2, resume: bool = False, csv: bool = False,
              on_point: Callable[[dict, int, int], None] | None = None,
              batch: int | None = None) -> Any:
    """Run every pending point; return the tidy table (pandas DataFrame)."""
    started = now_utc()
    prepare_run_dir(run_dir, spec, spec_text, resume)
    points = spec.points()
    done = finished_ids(run_dir) if resume else set()
    pending = [p for p in points if p["id"] not in done]
    if pending:
        from cosim.sweeps.points import run_point

        with dask_client(scheduler, workers) as client:
            run_points(client, functools.partial(run_point, spec.kind), pending, run_dir,
                       timeout_s=spec.timeout_s, label=f"sweep {spec.name}", n_done=len(done),
                       n_total=len(points), on_point=on_point, batch=batch,
                       remote=scheduler is not None)
    table = collect(run_dir, spec)
    write_parquet(run_dir / "results.parquet", table)
    if csv:
        write_atomic(run_dir / "results.csv", table.to_csv(index=False))
    seeds = list(spec.seeds)
    write_manifest(run_dir, f"sweep {spec.name}",
                   {"spec": spec.as_dict(), "scheduler": scheduler or f"LocalCluster({workers})",
                    "points": len(points), "resumed_with": len(done)},
                   seeds[0] if len(seeds) == 1 else None, started)
    return table


def _run_batch(task: Task, batch: list[dict], timeout_s: float,
               scratch: Path | None) -> list[dict]:
    return [execute_point(task, p, timeout_s, scratch) for p in batch]


def tidy_scratch(run_dir: Path) -> None:
    """Remove what no record names from ``sim/`` (points in flight when the sweep was
    interrupted); remove ``sim/`` itself when nothing is left."""
    import shutil

    sim = run_dir / "sim"
    if not sim.is_dir():
        return
    named = set()
    for f in (run_dir / "points").glob("*.json"):
        try:
            rundir = json.loads(f.read_text()).get("rundir")
        except (json.JSONDecodeError, OSError):
            continue
        if rundir:
            named.add(Path(rundir).resolve())
    for d in sim.iterdir():
        d = d.resolve()
        if not any(n == d or d in n.parents for n in named):
            shutil.rmtree(d, ignore_errors=True)
    if not any(sim.iterdir()):
        sim.rmdir()


def stop_workers(cluster: Any) -> None:
    """Interrupted: tell each nanny not to restart its worker, then stop every
    descendant (workers, their point runners, simulators) now. Safe to call twice."""
    import logging

    from cosim.simulators.processes import stop_descendants

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    for nanny in getattr(cluster, "workers", {}).values():
        with contextlib.suppress(Exception):  # do not restart the workers we stop
            nanny.close_gracefully(reason="cosim interrupted")
    stop_descendants()


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A Dask client on ``scheduler`` or on a LocalCluster of ``workers`` processes,
    closed on exit. On Ctrl-C / SIGTERM the workers and their point runners are
    stopped first (a graceful close waits for the busy workers' tasks, up to a
    point's whole timeout); the close of what is left then runs in the background,
    silenced (the CLI exits at once; a notebook keeps its prompt)."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise CosimError(f"cannot reach the Dask scheduler at {scheduler} within "
                             f"{SCHEDULER_TIMEOUT_S} s ({type(exc).__name__}: {exc}); is it "
                             "running, and is the address right?") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    interrupted = False
    try:
        yield client
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: workers first, then Dask
            interrupted = True
            stop_workers(cluster)
        raise
    finally:
        def close() -> None:
            with contextlib.suppress(Exception):
                client.close(timeout=CLOSE_TIMEOUT_S)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=CLOSE_TIMEOUT_S)

        if interrupted:
            threading.Thread(target=close, name="cosim-dask-close", daemon=True).start()
        else:
            close()


def run_points(client: Any, task: Task, pending: list[dict], run_dir: Path, *,
               timeout_s: float, label: str, n_done: int = 0, n_total: int | None = None,
               on_point: Callable[[dict, int, int], None] | None = None,
               batch: int | None = None, remote: bool = False) -> list[dict]:
    """Run ``pending`` points on ``client`` and save each record under
    ``run_dir/points`` as it arrives; return the records. Points go in batches
    (default: about 8 tasks per worker thread, so cheap points do not pay the
    per-task scheduling cost one by one)."""
    from distributed import as_completed

    n_total = n_done + len(pending) if n_total is None else n_total
    (run_dir / "points").mkdir(parents=True, exist_ok=True)
    out: list[dict] = []
    try:
        if batch is None:
            threads = sum(client.nthreads().values()) or 1
            batch = max(1, -(-len(pending) // (8 * threads)))
        batches = [pending[i:i + batch] for i in range(0, len(pending), batch)]
        # simulator files of failed points next to the results (remote workers: their tmp)
        scratch = None if remote else (run_dir / "sim").resolve()
        futures = {client.submit(_run_batch, task, b, timeout_s, scratch, pure=False,
                                 retries=0): b for b in batches}
        count, failed = n_done, 0
        for fut in as_completed(futures):
            try:
                records = fut.result()
            except Exception as exc:  # worker died / killed: record every point of the batch
                records = [{"id": p["id"], "params": p["params"], "status": "failed",
                            "metrics": {}, "error": f"worker lost: {type(exc).__name__}: {exc}",
                            "seconds": float("nan")} for p in futures[fut]]
            for rec in records:
                save_record(run_dir, rec)
                out.append(rec)
                count += 1
                failed += rec["status"] != "ok"
                report(label, count, n_total, f"failed: {failed}" if failed else "")
                if on_point:
                    on_point(rec, count, n_total)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            # the points in flight must stop writing before their scratch is tidied
            stop_workers(getattr(client, "cluster", None))
        raise
    finally:
        tidy_scratch(run_dir)
    return out


def collect(run_dir: Path, spec: SweepSpec):
    """Tidy table of every point in the spec, one row each (missing ones as such)."""
    import pandas as pd

    rows = []
    for p in spec.points():
        f = point_path(run_dir, p["id"])
        rec = json.loads(f.read_text()) if f.exists() else {"status": "missing", "metrics": {}}
        row = {"point_id": p["id"], **p["params"], "status": rec["status"],
               "error": rec.get("error"), "seconds": rec.get("seconds")}
        for m in spec.metrics:
            row[m] = rec.get("metrics", {}).get(m)
        for key in ("engines",):
            if key in row and isinstance(row[key], list):
                row[key] = ",".join(row[key])
        rows.append(row)
    return pd.DataFrame(rows)


def load_run(run_dir: Path) -> tuple[SweepSpec, Any]:
    """Spec and tidy table of a finished sweep directory."""
    import pandas as pd

    spec_file = run_dir / "spec.json"
    if not spec_file.exists() or not (run_dir / "results.parquet").exists():
        raise ParamError("run_dir", str(run_dir), "is not a finished sweep (no spec.json / "
                         "results.parquet)")
    spec = spec_from_dict(json.loads(spec_file.read_text()))
    return spec, pd.read_parquet(run_dir / "results.parquet")
