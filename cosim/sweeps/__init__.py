"""Parameter sweeps on Dask: specs, point kinds, resumable runner."""
