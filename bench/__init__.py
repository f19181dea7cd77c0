"""Benchmarks: run with `.venv/bin/python -m bench.<name>`; not part of `make test`."""
