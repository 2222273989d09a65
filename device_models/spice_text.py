"""Small helpers for emitting SPICE text."""


def fmt(x: float) -> str:
    """Format a number so that ngspice reads back the same double (17 significant digits)."""
    return f"{float(x):.17g}"
