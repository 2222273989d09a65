"""``cosim sweep``: load a spec, run it with a progress bar, write the table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.runs.files import new_run_dir
from cosim.sweeps.runner import run_sweep
from cosim.sweeps.spec import load_spec


@dataclass(frozen=True)
class Outcome:
    """How a sweep's points ended: the CLI's exit code and message come from it."""

    total: int
    failed: int
    first_errors: tuple[str, ...]

    @classmethod
    def of(cls, table: Any, shown: int = 3) -> Outcome:
        bad = table[table.status != "ok"]
        errors = tuple(f"{r.point_id} ({r.status}): {str(r.error).splitlines()[0][:200]}"
                       for r in bad.head(shown).itertuples())
        return cls(len(table), len(bad), errors)

    @property
    def all_failed(self) -> bool:
        return self.total > 0 and self.failed == self.total

    def message(self, name: str) -> str:
        lines = [f"{name}: {self.failed} of {self.total} points failed; first errors:"]
        return "\n".join(lines + [f"  {e}" for e in self.first_errors])


def sweep_command(spec_path: Path, results: Path, run_dir: Path | None, resume: bool,
                  scheduler: str | None, workers: int, csv: bool, quiet: bool = False
                  ) -> tuple[Path, Outcome]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    spec, text = load_spec(spec_path)
    run_dir = run_dir or new_run_dir(results, f"sweep-{spec.name}")
    total = len(spec.points())
    failed = 0
    with Progress(TextColumn(f"sweep {spec.name}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                  TextColumn("{task.fields[info]}"), transient=True, disable=quiet) as bar:
        task = bar.add_task("sweep", total=total, info="")

        def on_point(rec: dict, count: int, n: int) -> None:
            nonlocal failed
            failed += rec["status"] != "ok"
            bar.update(task, completed=count, info=f"failed: {failed}" if failed else "")

        table = run_sweep(spec, text, run_dir, scheduler=scheduler, workers=workers,
                          resume=resume, csv=csv, on_point=on_point)
    return run_dir, Outcome.of(table)
