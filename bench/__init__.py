"""Benchmarks of the pipeline at scale: ``python -m bench --sizes 100k,1m,5m`` (see run.py)."""
