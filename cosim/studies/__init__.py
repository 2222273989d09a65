"""Studies built on the engines: engine comparison, IR drop, energy per MAC, device reports."""
