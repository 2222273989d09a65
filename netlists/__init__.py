"""Netlist generators: pure functions from one params object to SPICE text."""

from netlists.crossbar import CrossbarParams, crossbar
from netlists.netlist import Netlist
from netlists.periphery import AdcParams, DacParams

__all__ = ["AdcParams", "CrossbarParams", "DacParams", "Netlist", "crossbar"]
