"""Networks on simulated arrays: layers, training modes, datasets, configs."""
