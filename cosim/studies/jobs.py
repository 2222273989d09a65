"""What the studies share: independent jobs in worker processes under one
progress bar with a time estimate (rich), and the mean +- sample std their tables
quote."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def _one_thread() -> None:
    """Worker start: one BLAS / OpenMP thread (PyTorch reads OMP_NUM_THREADS when a
    job first imports it); the pool's workers already fill the cores, and threads
    contending beside them cost more than they give."""
    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)


class JobRunner:
    """A process pool (one thread per worker) and one progress bar over all the jobs a
    study will submit."""

    def __init__(self, workers: int, total: int, label: str) -> None:
        self.pool = ProcessPoolExecutor(workers, initializer=_one_thread)
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeRemainingColumn())
        self.task = self.bar.add_task(label, total=total)

    def __enter__(self) -> JobRunner:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()
        self.pool.shutdown(cancel_futures=True)

    def run(self, fn: Callable[..., dict], jobs: Sequence[tuple],
            describe: Callable[[dict], str]) -> list[dict]:
        """fn(*job) for every job, in parallel; each result printed (``describe``) as it
        arrives; the results in the jobs' order."""
        futures = {self.pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        out: list[dict | None] = [None] * len(jobs)
        for fut in as_completed(futures):
            out[futures[fut]] = result = fut.result()
            self.bar.console.print(describe(result))
            self.bar.advance(self.task)
        return out


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample std (ddof 1; 0 for one value)."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
