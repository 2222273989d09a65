"""Periphery blocks: DAC/ADC converters, column sensing, CMOS op-amp and comparator.

Like ``device_models``, each block is one frozen params object with a numpy face
and a SPICE face beside it; ``netlists`` assembles decks from them.
"""
