"""Self-contained HTML reports from sweep runs."""
