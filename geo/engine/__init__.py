"""The engine: H3 indexing, the household index and its aggregates, the profile cube, filters,
spatial verification, pilot reach and gaps, and disclosure control (the public release by cell
key, :mod:`geo.engine.protect`). Builds on :mod:`geo.data` only (docs/ARCHITECTURE.md)."""
