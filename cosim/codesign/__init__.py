"""Semi-decoupled architecture-hardware co-design search (``cosim codesign``)."""
