"""Circuit simulators: the ngspice subprocess harness, its raw reader, PySpice shared mode."""
