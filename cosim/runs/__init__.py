"""Run directories: atomic files, figures, manifests."""
