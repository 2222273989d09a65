"""Reader for binary SPICE raw files, as ngspice writes them with ``-r``.

Written here rather than borrowed: PySpice 1.5's reader uses ``np.fromstring``
(removed in numpy 2) and rejects ngspice 39's header; this one reads every
plot in a file, real or complex, in one ``np.frombuffer`` per plot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class RawFileError(ValueError):
    """The raw file is truncated or not in the expected format."""


@dataclass(frozen=True, eq=False)
class RawPlot:
    title: str
    plotname: str
    flags: str
    vectors: dict[str, np.ndarray]
    """Lower-case vector name -> values (one per point)."""

    @property
    def points(self) -> int:
        return len(next(iter(self.vectors.values()))) if self.vectors else 0

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            raise KeyError(f"vector {name!r} not in plot {self.plotname!r}; "
                           f"has {', '.join(list(self.vectors)[:8])}...") from None


def read_raw(path: str | Path) -> list[RawPlot]:
    """Every plot in the file. Each step of the parse consumes bytes or raises
    RawFileError naming the byte where the file stops making sense: a truncated
    or corrupted file fails at once, it cannot loop."""
    data = Path(path).read_bytes()
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(data):
        plot, new = _read_plot(data, pos, path)
        if new <= pos:  # cannot happen by construction; guards the loop regardless
            raise RawFileError(f"{path}: parser made no progress at byte {pos}")
        plots.append(plot)
        pos = new
    if not plots:
        raise RawFileError(f"{path}: empty raw file")
    return plots


def _line(data: bytes, pos: int, path: str | Path, what: str) -> tuple[str, int]:
    """The line starting at ``pos`` and the position after it."""
    end = data.find(b"\n", pos)
    if end < 0:
        raise RawFileError(f"{path}: truncated raw file at byte {len(data)} ({what})")
    return data[pos:end].decode("latin-1"), end + 1


def _count(header: dict[str, str], key: str, path: str | Path, pos: int) -> int:
    try:
        n = int(header[key])
    except KeyError:
        raise RawFileError(f"{path}: no '{key}' line before byte {pos}") from None
    except ValueError:
        raise RawFileError(f"{path}: '{key}' is {header[key]!r}, not an integer "
                           f"(before byte {pos})") from None
    if n < 0:
        raise RawFileError(f"{path}: '{key}' is {n} (before byte {pos})")
    return n


def _read_plot(data: bytes, pos: int, path: str | Path) -> tuple[RawPlot, int]:
    header: dict[str, str] = {}
    names: list[str] = []
    while True:
        line, pos = _line(data, pos, path, "header ends before Binary:")
        if line.startswith("Variables:"):
            for _ in range(_count(header, "no. variables", path, pos)):
                text, pos = _line(data, pos, path, "inside the Variables: block")
                parts = text.split()
                if len(parts) < 2:
                    raise RawFileError(f"{path}: bad variable line {parts!r} before byte {pos}")
                names.append(parts[1].lower())
            continue
        if line.startswith(("Binary:", "Values:")):
            if line.startswith("Values:"):
                raise RawFileError(f"{path}: ASCII raw file; the harness writes binary ones")
            break
        if ":" in line:
            key, _, value = line.partition(":")
            header[key.strip().lower()] = value.strip()

    nvar = _count(header, "no. variables", path, pos)
    npts = _count(header, "no. points", path, pos)
    if len(names) != nvar:
        raise RawFileError(f"{path}: {nvar} variables announced, {len(names)} listed "
                           f"(before byte {pos})")
    flags = header.get("flags", "real").lower()
    is_complex = "complex" in flags
    width = 16 if is_complex else 8
    nbytes = nvar * npts * width
    if pos + nbytes > len(data):
        raise RawFileError(f"{path}: truncated raw file at byte {len(data)}: {npts} points x "
                           f"{nvar} vectors announced, {len(data) - pos} bytes present")
    arr = np.frombuffer(data, dtype="<c16" if is_complex else "<f8", count=nvar * npts,
                        offset=pos).reshape(npts, nvar)
    pos += nbytes
    vectors = {name: arr[:, k].copy() for k, name in enumerate(names)}
    plot = RawPlot(title=header.get("title", ""), plotname=header.get("plotname", ""),
                   flags=flags, vectors=vectors)
    return plot, pos
