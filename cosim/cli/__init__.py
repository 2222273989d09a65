"""The ``cosim`` command line (Typer app in ``cosim.cli.app``)."""
