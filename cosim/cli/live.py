"""The live progress display of long commands: one bar per task the work reports
(ngspice decks, epochs, Monte Carlo runs), with elapsed time and an estimate of
the time left, on stderr so that ``--json`` output stays clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cosim.runs.progress import shown_by


@contextmanager
def live_progress() -> Iterator[None]:
    """Show every progress report made inside the block."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                   TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                   TextColumn("{task.fields[info]}"), console=Console(stderr=True),
                   transient=True)
    tasks: dict[str, int] = {}

    def sink(task: str, done: float, total: float | None, info: str) -> None:
        if task not in tasks:
            tasks[task] = bar.add_task(task, total=total, info=info)
        bar.update(tasks[task], completed=done, total=total, info=info)

    with bar, shown_by(sink):
        yield
