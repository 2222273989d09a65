# Convenience targets; bootstrap.sh is the entry point (works without make).
.PHONY: demo test setup bench lint
demo: ; bash bootstrap.sh demo
test: ; bash bootstrap.sh test
setup: ; bash bootstrap.sh setup
bench: ; bash bootstrap.sh bench
lint: ; .venv/bin/ruff check .
