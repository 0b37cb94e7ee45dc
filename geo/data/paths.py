"""Where the project keeps its data. Paths come from this file's location, never the working
directory, and nothing here writes anything.

``PPAP_DATA_DIR`` moves the whole data folder (boundaries, samples, store) elsewhere, for
deployments that keep data off the code's disk. ``PPAP_NATIONAL_DIR`` moves the national-scale
data (``python -m geo national``, docs/SCALE.md) on its own: it is large and never committed.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # geo/data/paths.py -> the project


def data_dir() -> Path:
    """The data folder: ``$PPAP_DATA_DIR`` when set, else ``<project>/data``."""
    override = os.environ.get("PPAP_DATA_DIR")
    return Path(override).resolve() if override else PROJECT_ROOT / "data"


def boundaries_dir() -> Path:
    """Installed boundaries: ``province.parquet``, ``district.parquet``, ``subdistrict.parquet``."""
    return data_dir() / "boundaries"


def samples_dir() -> Path:
    """The synthetic sample: ``households.parquet`` and ``pilots.csv``."""
    return data_dir() / "samples"


def store_dir() -> Path:
    """The app's store of imported households and their provenance."""
    return data_dir() / "store"


def national_dir() -> Path:
    """National-scale synthetic data (13M households): ``$PPAP_NATIONAL_DIR``, else ``data/national``."""
    override = os.environ.get("PPAP_NATIONAL_DIR")
    return Path(override).resolve() if override else data_dir() / "national"
