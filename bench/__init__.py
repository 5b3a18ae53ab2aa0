"""Benchmarks of geoapp against plain tools doing the same job.

`python -m bench` runs them all against the server named by DATABASE_URL, each
in its own scratch database, and appends a dated section to bench/RESULTS.md.
"""
