"""The data layer: the household and pilot contract, area codes and boundaries, the store, national
IDs and spreadsheets. Imports nothing from the rest of ``geo`` but :mod:`geo.errors` and
:mod:`geo.checks` (docs/ARCHITECTURE.md)."""
