"""Run manifests: what produced a result, so it can be produced again."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cosim.runs.files import write_json
from cosim.simulators import ngspice

PACKAGES = ("numpy", "scipy", "matplotlib", "PySpice", "pandas", "pyarrow", "typer")


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=cwd or Path(__file__).parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def build_manifest(command: str, config: dict[str, Any], seed: int | None,
                   started: str, ended: str | None = None) -> dict[str, Any]:
    info = ngspice.available()
    return {
        "command": command,
        "argv": sys.argv,
        "config": config,
        "seed": seed,
        "started_utc": started,
        "ended_utc": ended,
        "cosim_version": _version("cosim"),
        "git_commit": git_commit(),
        "ngspice_version": info.version if info else None,
        "ngspice": ({"path": info.path, "version": info.version, "klu": info.klu,
                     "osdi": info.osdi, "origin": info.origin} if info else None),
        "python": sys.version.split()[0],
        "packages": {p: _version(p) for p in PACKAGES},
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }


def write_manifest(run_dir: Path, command: str, config: dict[str, Any], seed: int | None,
                   started: str) -> Path:
    return write_json(run_dir / "manifest.json",
                      build_manifest(command, config, seed, started, now_utc()))
