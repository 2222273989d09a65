"""The Netlist value: deck text plus what a reader needs to interpret its output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from device_models.spice_text import fmt


@dataclass(frozen=True)
class Netlist:
    title: str
    """First line of the deck (SPICE treats it as a comment)."""
    body: str
    """Elements, options and analysis; every line ends in a newline."""
    probes: tuple[str, ...] = ()
    """Vectors the caller reads back from the raw file (e.g. ``i(vs0)``)."""
    points: int = 1
    """Number of points the analysis must produce (checked by the harness)."""

    def render(self) -> str:
        """The whole standalone deck; pure (same Netlist, same text)."""
        return f"* {self.title}\n{self.body}.end\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.render())
        return path


__all__ = ["Netlist", "fmt"]
