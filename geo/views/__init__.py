"""What the pages and exports show: label text in Thai and English, the dashboard's view state and
its URL, metrics and tables, map figures, pydeck decks, colour scales and legends, the pilot
overlay. Builds on :mod:`geo.engine` and :mod:`geo.data` (docs/ARCHITECTURE.md)."""
