"""Run directories and atomic file writes (temp file + rename: never a half-written result).

Files get the mode the user's umask gives (0644 typically), not the 0600 of a
temp file; a run directory a failed command leaves empty is removed."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def read_toml(field: str, path: str | Path) -> tuple[dict, str]:
    """(table, text) of a TOML file a user named; every way it can be unreadable is a
    ParamError naming the path (exit 2), never a traceback."""
    import tomllib

    from device_models.validation import ParamError

    path = Path(path)
    if not path.is_file():
        raise ParamError(field, str(path), "must be an existing TOML file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamError(field, str(path), f"is not UTF-8 text (byte {exc.start}): "
                         "save it as UTF-8") from None
    except OSError as exc:
        raise ParamError(field, str(path), f"cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(field, str(path), f"is not valid TOML: {exc}") from None


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | Path, obj: Any) -> Path:
    return write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_parquet(path: str | Path, table: Any) -> Path:
    """A pandas DataFrame as Parquet (no index), atomically."""
    import io

    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return write_atomic(path, buf.getvalue())


def write_npz(path: str | Path, **arrays: Any) -> Path:
    """Named numpy arrays as a compressed ``.npz``, atomically."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return write_atomic(path, buf.getvalue())


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def new_run_dir(root: str | Path, command: str) -> Path:
    """``root/<UTC timestamp>-<command>[-n]``, created empty."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        d = root / (f"{stamp}-{command}" + (f"-{n}" if n else ""))
        try:
            d.mkdir()
        except FileExistsError:
            continue
        _CREATED.append(d)
        return d
    raise FileExistsError(f"could not create a run directory under {root}")


_CREATED: list[Path] = []


def discard_empty_run_dirs() -> list[Path]:
    """Remove the run directories this process created that hold no file (a command
    that failed before writing anything); returns them."""
    import shutil

    gone = []
    for d in _CREATED:
        if d.is_dir() and not any(p.is_file() for p in d.rglob("*")):
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    _CREATED.clear()
    return gone


class Figures:
    """pyplot's ``subplots`` / ``close`` on matplotlib's object API: figures are
    ``matplotlib.figure.Figure`` objects drawn with the Agg canvas, so no global
    backend is switched (a notebook user's backend stays as it is) and nothing is
    registered with pyplot (nothing to close)."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
                 layout: str | None = None, **kw: Any) -> tuple[Any, Any]:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout=layout)
        return fig, fig.subplots(nrows, ncols, **kw)

    @staticmethod
    def close(fig: Any) -> None:
        """Nothing to release: the figure is not known to pyplot."""


def figures() -> Figures:
    return Figures()


def write_figure(fig: Any, path: str | Path) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    import io

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip("."), dpi=120, bbox_inches="tight")
    return write_atomic(path, buf.getvalue())
