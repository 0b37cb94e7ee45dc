"""Benchmarks, outside the library: ``python -m bench …`` (``python -m bench --help``). They
print figures measured against a baseline in the same run (docs/ENGINE.md, DASHBOARD.md, SCALE.md)."""
