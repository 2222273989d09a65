"""``cosim sweep``: load a spec, run it, write the table; how its points ended."""

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
                  scheduler: str | None, workers: int, csv: bool) -> tuple[Path, Outcome]:
    """Run a spec file into a (new) run directory; progress goes to the progress
    reports (``cosim.runs.progress``), which the CLI shows."""
    spec, text = load_spec(spec_path)
    run_dir = run_dir or new_run_dir(results, f"sweep-{spec.name}")
    table = run_sweep(spec, text, run_dir, scheduler=scheduler, workers=workers,
                      resume=resume, csv=csv)
    return run_dir, Outcome.of(table)
