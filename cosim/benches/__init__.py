"""Characterization benches (op-amp, comparator): circuits measured in ngspice,
their figures handed to the behavioral models."""
