"""Benchmarks of the real pipeline against the fake Bot API and the local feed server.

`python -m bench` (or `make bench`) prints one table and writes bench/results/latest.json;
docs/PERFORMANCE.md explains each figure and what limits it.
"""
