"""``cosim sweep``: load a spec, run it with a progress bar, write the table."""

from __future__ import annotations

from pathlib import Path

from cosim.runs.files import new_run_dir
from cosim.sweeps.runner import run_sweep
from cosim.sweeps.spec import load_spec


def sweep_command(spec_path: Path, results: Path, run_dir: Path | None, resume: bool,
                  scheduler: str | None, workers: int, csv: bool, quiet: bool = False) -> Path:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    spec, text = load_spec(spec_path)
    run_dir = run_dir or new_run_dir(results, f"sweep-{spec.name}")
    total = len(spec.points())
    failed = 0
    with Progress(TextColumn(f"sweep {spec.name}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), transient=True, disable=quiet) as bar:
        task = bar.add_task("sweep", total=total, info="")

        def on_point(rec: dict, count: int, n: int) -> None:
            nonlocal failed
            failed += rec["status"] != "ok"
            bar.update(task, completed=count, info=f"failed: {failed}" if failed else "")

        run_sweep(spec, text, run_dir, scheduler=scheduler, workers=workers, resume=resume,
                  csv=csv, on_point=on_point)
    return run_dir
