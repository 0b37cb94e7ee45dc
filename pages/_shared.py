"""Cached loaders shared by the pages: the only module with ``st.cache_data`` / ``st.cache_resource``.

Cache keys are small: a file's path plus its size and modification time, so a regenerated or
re-imported file is read again and an unchanged one is not. Caches are shared by every user of
the server; nothing here depends on who asks (there are no roles yet — when access control comes,
its role and province scope must join every key).

Which households the app shows is decided in one place, :func:`data_source`: the app's store
(``geo.paths.store_dir()/households.parquet``) when it holds households, else the synthetic sample.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from geo import paths
from geo.aggregate import HouseholdIndex, index_households
from geo.boundaries import load_boundaries
from geo.contract import PILOT_COLUMN_NAMES, conform_pilots
from geo.dashboard_maps import context_geometry
from geo.errors import BoundaryError, InputFileError
from geo.maps import display_geometry
from geo.national_id import id_hash_key
from geo.sample import read_sample_metadata
from geo.store import HOUSEHOLDS_FILE, PROVENANCE_FILE

#: Credit every map and page showing the boundaries must carry (DOMAIN.md), used when the
#: installed manifest has no ``attribution`` of its own.
DEFAULT_ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO)"

SAMPLE_FILE = "households.parquet"
PILOTS_FILE = "pilots.csv"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class DataSource:
    """The households file the app shows and what it is."""

    path: Path
    kind: str  # "store" or "sample"
    synthetic: bool
    signature: tuple[int, int]


@dataclass(frozen=True)
class LoadedData:
    """The shown households, indexed once (latest survey round), and their pilots."""

    source: DataSource
    index: HouseholdIndex
    survey_year: int
    rows: int
    pilots: pd.DataFrame
    metadata: dict


def sample_path() -> Path:
    """Where the synthetic sample's households live (honours ``PPAP_DATA_DIR``)."""
    return paths.samples_dir() / SAMPLE_FILE


def store_path() -> Path:
    """Where imported households live (honours ``PPAP_DATA_DIR``)."""
    return paths.store_dir() / HOUSEHOLDS_FILE


def manifest_path() -> Path:
    """Where the installed boundaries' manifest lives (honours ``PPAP_DATA_DIR``)."""
    return paths.boundaries_dir() / MANIFEST_FILE


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def data_source() -> DataSource | None:
    """The households the app shows: the store when it holds rows, else the sample; None if neither."""
    store = store_path()
    if store.is_file() and _parquet_rows(str(store), _signature(store)) > 0:
        return DataSource(store, "store", _is_synthetic(str(store), _signature(store)), _signature(store))
    sample = sample_path()
    if sample.is_file():
        return DataSource(sample, "sample", _is_synthetic(str(sample), _signature(sample)), _signature(sample))
    return None


@st.cache_data(show_spinner=False)
def _parquet_rows(path: str, signature: tuple[int, int]) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError):
        return 0


@st.cache_data(show_spinner=False)
def _is_synthetic(path: str, signature: tuple[int, int]) -> bool:
    try:
        return bool(read_sample_metadata(Path(path)).get("synthetic", False))
    except (OSError, ValueError):
        return False


def load_data() -> LoadedData | None:
    """The shown households, indexed (cached per file version); None when there is no data.

    Raises
    ------
    InputFileError
        The households file exists but cannot be read or indexed.
    """
    source = data_source()
    if source is None:
        return None
    return _load_data(str(source.path), source.kind, source.synthetic, source.signature)


@st.cache_resource(show_spinner="ข้อมูลกำลังโหลด / loading data…", max_entries=2)
def _load_data(path: str, kind: str, synthetic: bool, signature: tuple[int, int]) -> LoadedData:
    # A read-only object shared by every session: never mutate it in a page.
    from geo.errors import PPAPError

    try:
        frame = pd.read_parquet(path)
        if frame.empty:
            raise InputFileError(f"{path} holds no households")
        latest = int(frame["survey_year"].max())
        frame = frame[frame["survey_year"] == latest].reset_index(drop=True)
        index = index_households(frame)
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}. Rebuild the sample with `python -m geo sample`.") from exc
    except PPAPError as exc:
        raise InputFileError(f"cannot index {path}: {exc}") from exc
    metadata = {}
    try:
        metadata = read_sample_metadata(Path(path))
    except (OSError, ValueError):
        pass
    # Pilot sites are programme facts, not household rows: the store's own list when it has one,
    # else the sample's.
    pilots_file = Path(path).with_name(PILOTS_FILE)
    if not pilots_file.is_file():
        pilots_file = paths.samples_dir() / PILOTS_FILE
    pilots = _read_pilots(pilots_file)
    source = DataSource(Path(path), kind, synthetic, signature)
    return LoadedData(source, index, latest, len(frame), pilots, metadata)


def _read_pilots(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return conform_pilots(pd.DataFrame({c: [] for c in PILOT_COLUMN_NAMES}))
    try:
        frame = pd.read_csv(path, dtype={"province_code": str, "district_code": str, "pilot_id": str})
        return conform_pilots(frame)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read the pilots {path}: {exc}") from exc


def display_boundaries(level: str):
    """Simplified boundaries of one level for drawing (cached, shared, read-only); None if not installed."""
    path = paths.boundaries_dir() / f"{level}.parquet"
    if not path.is_file():
        return None
    return _display_boundaries(str(path.parent), level, _signature(path))


@st.cache_resource(show_spinner=False, max_entries=6)
def _display_boundaries(directory: str, level: str, signature: tuple[int, int]):
    try:
        frame = load_boundaries(level, Path(directory))
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"cannot read the {level} boundaries: {exc}") from exc
    return frame.set_geometry(display_geometry(frame.geometry))


def analysis_boundaries(level: str):
    """Full-precision boundaries for checking positions, and why they are missing (cached).

    Returns
    -------
    (GeoDataFrame or None, str or None)
    """
    path = paths.boundaries_dir() / f"{level}.parquet"
    if not path.is_file():
        return None, "not installed"
    return _analysis_boundaries(str(path.parent), level, _signature(path)), None


@st.cache_resource(show_spinner=False, max_entries=3)
def _analysis_boundaries(directory: str, level: str, signature: tuple[int, int]):
    return load_boundaries(level, Path(directory))


def boundaries_by_level() -> dict[str, Any]:
    """Every installed level's display boundaries (levels not installed are left out), and
    ``"context"``: every province, simplified further, for the pale background."""
    out = {}
    for level in ("province", "district", "subdistrict"):
        frame = display_boundaries(level)
        if frame is not None:
            out[level] = frame
    path = paths.boundaries_dir() / "province.parquet"
    if "province" in out:
        out["context"] = _context_boundaries(str(path.parent), _signature(path))
    return out


@st.cache_resource(show_spinner=False, max_entries=2)
def _context_boundaries(directory: str, signature: tuple[int, int]):
    return context_geometry(load_boundaries("province", Path(directory)))


def boundary_manifest() -> dict[str, Any] | None:
    """The installed boundaries' manifest; ``None`` if boundaries are not installed.

    Raises
    ------
    BoundaryError
        The manifest exists but is not a JSON object.
    """
    path = manifest_path()
    if not path.is_file():
        return None
    return _read_manifest(str(path), _signature(path))


@st.cache_data(show_spinner=False)
def _read_manifest(path: str, signature: tuple[int, int]) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoundaryError(
            f"cannot read {path}: {exc}. Reinstall with `python -m geo boundaries install`."
        ) from exc
    if not isinstance(manifest, dict):
        raise BoundaryError(f"{path} is not a JSON object. Reinstall with `python -m geo boundaries install`.")
    return manifest


def boundary_attribution(manifest: dict[str, Any] | None) -> str:
    """The credit line for the boundaries: the manifest's ``attribution``, else the default."""
    if manifest:
        attribution = manifest.get("attribution")
        if isinstance(attribution, str) and attribution.strip():
            return attribution.strip()
    return DEFAULT_ATTRIBUTION


def provenance() -> list[dict]:
    """The store's import history (not cached: it is small and must be current)."""
    from geo.store import load_provenance

    if not (paths.store_dir() / PROVENANCE_FILE).is_file():
        return []
    return load_provenance()


def hash_key() -> str | bytes | None:
    """The national-ID hash key: ``st.secrets["ppap_id_hash_key"]``, else ``$PPAP_ID_HASH_KEY``."""
    secret = None
    try:
        secret = st.secrets.get("ppap_id_hash_key")
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets file: StreamlitSecretNotFoundError
        secret = None
    return id_hash_key(secret, os.environ)

