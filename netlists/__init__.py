"""Netlist generators: pure functions from one params object to SPICE text."""

from netlists.crossbar import CrossbarParams, crossbar
from netlists.netlist import Netlist

__all__ = ["CrossbarParams", "Netlist", "crossbar"]
