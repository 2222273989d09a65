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
    data = Path(path).read_bytes()
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(data):
        plot, pos = _read_plot(data, pos, path)
        plots.append(plot)
    if not plots:
        raise RawFileError(f"{path}: empty raw file")
    return plots


def _read_plot(data: bytes, pos: int, path: str | Path) -> tuple[RawPlot, int]:
    header: dict[str, str] = {}
    names: list[str] = []
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise RawFileError(f"{path}: header ends before Binary:/Values:")
        line = data[pos:end].decode("latin-1")
        pos = end + 1
        if line.startswith("Variables:"):
            n = int(header["no. variables"])
            for _ in range(n):
                end = data.find(b"\n", pos)
                parts = data[pos:end].decode("latin-1").split()
                pos = end + 1
                if len(parts) < 2:
                    raise RawFileError(f"{path}: bad variable line {parts!r}")
                names.append(parts[1].lower())
            continue
        if line.startswith(("Binary:", "Values:")):
            if line.startswith("Values:"):
                raise RawFileError(f"{path}: ASCII raw file; the harness writes binary ones")
            break
        if ":" in line:
            key, _, value = line.partition(":")
            header[key.strip().lower()] = value.strip()

    nvar = int(header["no. variables"])
    npts = int(header["no. points"])
    flags = header.get("flags", "real").lower()
    is_complex = "complex" in flags
    width = 16 if is_complex else 8
    nbytes = nvar * npts * width
    if pos + nbytes > len(data):
        raise RawFileError(f"{path}: truncated: {npts} points x {nvar} vectors announced, "
                           f"{len(data) - pos} bytes present")
    arr = np.frombuffer(data, dtype="<c16" if is_complex else "<f8", count=nvar * npts,
                        offset=pos).reshape(npts, nvar)
    pos += nbytes
    vectors = {name: arr[:, k].copy() for k, name in enumerate(names)}
    plot = RawPlot(title=header.get("title", ""), plotname=header.get("plotname", ""),
                   flags=flags, vectors=vectors)
    return plot, pos

