"""Cached loaders shared by the pages: the only module with ``st.cache_data``.

Cache keys are small: a file's path plus its size and modification time, so a regenerated file
is read again and an unchanged one is not. Callers get copies, never a shared object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from geo import paths
from geo.errors import BoundaryError, InputFileError

#: Credit every map and page showing the boundaries must carry (DOMAIN.md), used when the
#: installed manifest has no ``attribution`` of its own.
DEFAULT_ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO)"

SAMPLE_FILE = "households.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class SampleHeadline:
    """Headline figures of one survey round of the sample."""

    households: int
    people: int
    survey_year: int


def sample_path() -> Path:
    """Where the synthetic sample's households live (honours ``PPAP_DATA_DIR``)."""
    return paths.samples_dir() / SAMPLE_FILE


def manifest_path() -> Path:
    """Where the installed boundaries' manifest lives (honours ``PPAP_DATA_DIR``)."""
    return paths.boundaries_dir() / MANIFEST_FILE


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def sample_headline() -> SampleHeadline | None:
    """Households and people in the sample's latest survey round; ``None`` if there is no sample.

    Raises
    ------
    InputFileError
        The sample file exists but cannot be read or lacks ``survey_year`` / ``members``.
    """
    path = sample_path()
    if not path.is_file():
        return None
    return _read_sample_headline(str(path), _signature(path))


@st.cache_data(show_spinner=False)
def _read_sample_headline(path: str, signature: tuple[int, int]) -> SampleHeadline:
    # `signature` is only part of the cache key: a rewritten file gets a new entry.
    try:
        frame = pd.read_parquet(path, columns=["survey_year", "members"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(
            f"cannot read the sample {path}: {exc}. Rebuild it with `python -m geo sample`."
        ) from exc
    if frame.empty:
        raise InputFileError(f"the sample {path} has no households. Rebuild it with `python -m geo sample`.")
    # One row per household per survey round (geo/contract.py): count the latest round only.
    latest = int(frame["survey_year"].max())
    round_rows = frame[frame["survey_year"] == latest]
    return SampleHeadline(
        households=len(round_rows),
        people=int(round_rows["members"].astype("Int64").sum()),
        survey_year=latest,
    )


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
