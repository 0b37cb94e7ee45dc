"""Cached loaders shared by the pages: the only module with ``st.cache_data`` / ``st.cache_resource``.

Cache keys are small: a file's path plus its size and modification time, so a regenerated or
re-imported file is read again and an unchanged one is not. Caches are shared by every user of
the server, so every loader that returns household data takes ``access=scope_key(user)`` and
enforces with the user rebuilt from it (``geo.access.roles.user_from_scope_key``): what is cached under a
key is exactly what that role and area scope may see (docs/ACCESS.md).

The rules are in ``geo`` and testable without Streamlit; this module only caches them. Which
households the app shows is :func:`geo.data.source.data_source` (``$PPAP_HOUSEHOLDS``, else the
administrator's dataset choice: by default the store when it holds households, else the synthetic
sample), read by :func:`geo.data.source.read_source`
(one survey round: the latest unless the user picks another, an officer's provinces only); an officer's households and pilots are narrowed by
``geo.access.roles.households_in_scope`` / ``pilots_in_scope``. When a file has a fresh persisted
index beside it (``geo.engine.persist.write_index``),
the national scopes map that index from disk instead of reading and indexing the file, and
household rows are read from the file only when a page asks for them (docs/SCALE.md).
Maps, headline figures and tables a view needs are computed once for all sessions with the same
scope (:func:`shared_result`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from geo.data import paths
from geo.data import source as _source
from geo.access.roles import (
    AccessConfig,
    LoginLimiter,
    access_config_path,
    households_in_scope,
    load_access_config,
    pilots_in_scope,
    scope_key,
    scope_provinces,
    user_from_scope_key,
)
from geo.engine.aggregate import HouseholdIndex, index_households
from geo.engine.allocator import keep_freed_memory
from geo.data.boundaries import ATTRIBUTION, load_boundaries
from geo.views.mapview import context_geometry
from geo.errors import BoundaryError, InputFileError
from geo.views.deck import display_geometry
from geo.data.national_id import id_hash_key
from geo.text import label
from geo.data.source import HOUSEHOLDS_ENV, DataSource, metadata_of, pilots_beside, read_source
from geo.data.store import PROVENANCE_FILE

T = TypeVar("T")

# The engine's large temporaries reuse memory instead of faulting fresh pages in on every map
# (geo.engine.allocator); set once per server process, when the pages first load.
keep_freed_memory()


@dataclass(frozen=True)
class LoadedData:
    """The shown households of one survey round, indexed once, and their pilots."""

    source: DataSource
    index: HouseholdIndex
    survey_year: int
    rows: int
    pilots: pd.DataFrame
    metadata: dict
    #: The households behind ``index`` when they are held in memory; ``None`` when the index was
    #: read from disk (then :meth:`household_rows` reads the rows asked for from the file).
    frame: pd.DataFrame | None = None
    #: ``scope_key`` of the user this data was cut for.
    access: str = ""
    #: Every survey round (CE) the file holds, oldest first; ``survey_year`` is one of them.
    rounds: tuple[int, ...] = ()

    @property
    def latest(self) -> int:
        """The file's latest survey round (CE): what every page shows unless the user picks another."""
        return self.rounds[-1] if self.rounds else self.survey_year

    def household_rows(self, mask) -> pd.DataFrame:
        """The households ``mask`` keeps (in index order, as the aggregates use it), as rows.

        In memory: :func:`geo.engine.filters.select_rows`. From a persisted index: only the row groups of
        the file that hold them are read (:func:`geo.data.store.read_rows`, the index's round), never the
        whole file.
        """
        from geo.access.roles import ROW_COLUMNS
        from geo.engine.filters import select_rows
        from geo.data.store import read_rows

        if self.frame is not None:
            return select_rows(self.frame, self.index, mask)
        positions = np.asarray(self.index.order) if mask is None else np.asarray(self.index.order)[mask]
        return read_rows(self.source.path, positions, columns=ROW_COLUMNS, survey_year=self.survey_year)


_signature = _source.file_signature


def data_source() -> DataSource | None:
    """:func:`geo.data.source.data_source` (``$PPAP_HOUSEHOLDS``, else the administrator's dataset
    choice: by default the store when it holds rows, else the sample; None if none of them), with
    each file's row count and synthetic flag cached per file version.

    Raises
    ------
    InputFileError
        ``$PPAP_HOUSEHOLDS`` is set but names no file.
    """
    return _source.data_source(
        row_count=lambda path: _parquet_rows(str(path), _signature(path)),
        synthetic=lambda path: _is_synthetic(str(path), _signature(path)),
        prepare_snapshot=_persist_index,
    )


def _persist_index(path: Path) -> None:
    """A new database snapshot's persisted index (geo.engine.persist), written by a child process
    so this one does not hold the memory of reading every row; every process then maps it. When it
    fails the snapshot is shown all the same, indexed in memory."""
    import subprocess
    import sys

    try:
        subprocess.run([sys.executable, "-c", "import sys; from geo.engine.persist import write_index; "
                        "write_index(sys.argv[1])", str(path)], cwd=paths.PROJECT_ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
    except (OSError, subprocess.TimeoutExpired):
        pass  # no persisted index: the snapshot is indexed in memory


@st.cache_data(show_spinner=False)
def _parquet_rows(path: str, signature: tuple[int, int]) -> int:
    return _source.parquet_rows(path)


@st.cache_data(show_spinner=False)
def _is_synthetic(path: str, signature: tuple[int, int]) -> bool:
    from geo.data.store import is_synthetic

    return is_synthetic(Path(path))


def source_rounds(source: DataSource) -> tuple[int, ...]:
    """Every survey round (CE) the shown file holds, oldest first (cached per file version)."""
    return _file_rounds(str(source.path), source.signature)


@st.cache_data(show_spinner=False)
def _file_rounds(path: str, signature: tuple[int, int]) -> tuple[int, ...]:
    return _source.file_rounds(path)


def load_data(access: str, survey_year: int | None = None) -> LoadedData | None:
    """The households ``access`` (a :func:`geo.access.roles.scope_key`) may see in survey round
    ``survey_year`` (CE; the latest when None or a round the file does not hold), indexed; None
    when there is no data.

    Cached per file version, per round and per scope: an officer's data holds only their areas
    (and their pilots), so every figure, map and table computed from it is in scope.

    Raises
    ------
    InputFileError
        The households file exists but cannot be read or indexed.
    """
    if not isinstance(access, str) or not access:
        raise TypeError("load_data needs access=scope_key(user)")
    source = data_source()
    if source is None:
        return None
    rounds = source_rounds(source)
    if not rounds:
        raise InputFileError(f"{source.path} holds no households")
    year = survey_year if survey_year in rounds else rounds[-1]
    return _load_data(str(source.path), source.kind, source.synthetic, source.signature, access, year, rounds)


def shared_result(name: str, data: LoadedData, key: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` once for every session that asks for the same thing of the same data.

    People in a meeting open the same views: a map, its headline figures and its top 10 are
    computed once per (households file version, survey round, user's scope, ``name``, ``key``) and shared
    read-only by every session with that scope (kept 15 minutes, at most 256 results). ``key``
    must hold everything the result depends on beyond the data: the view (a frozen
    ``ViewState``), ``k``, the H3 cap, the date printed, the size.
    """
    from pages._errors import errors_explained

    with errors_explained():  # a geo error: one line on the page (or fragment), which stops
        return _shared_result(name, str(data.source.path), data.source.signature, data.access, data.survey_year,
                              key, compute)


@st.cache_resource(show_spinner=False, max_entries=256, ttl=900)
def _shared_result(name: str, path: str, signature: tuple[int, int], access: str, survey_year: int, key: tuple,
                   _compute):
    # A read-only object shared by every session with this scope: never mutate it in a page.
    return _compute()


def load_data_for(user, survey_year: int | None = None) -> LoadedData | None:
    """:func:`load_data` for a :class:`geo.access.roles.User`."""
    return load_data(scope_key(user), survey_year)


@st.cache_resource(show_spinner=label("loading_data"), max_entries=8)
def _load_data(path: str, kind: str, synthetic: bool, signature: tuple[int, int], access: str, survey_year: int,
               rounds: tuple[int, ...]) -> LoadedData:
    # A read-only object shared by every session with this scope: never mutate it in a page.
    user = user_from_scope_key(access)
    if user.scope.is_national:
        full = _national_data(path, kind, synthetic, signature, survey_year, rounds)
        return replace(full, access=access)
    read = read_source(path, provinces=scope_provinces(user), survey_year=survey_year)
    frame = households_in_scope(read.frame, user)
    source = DataSource(Path(path), kind, synthetic, signature)
    return LoadedData(source, _index(path, frame), read.survey_year, len(frame),
                      pilots_in_scope(read.pilots, user), read.metadata, frame, access, rounds)


@st.cache_resource(show_spinner=label("loading_data"), max_entries=3)
def _national_data(path: str, kind: str, synthetic: bool, signature: tuple[int, int], survey_year: int,
                   rounds: tuple[int, ...]) -> LoadedData:
    # Every household of one round: shared by the national scopes (administrator, researcher, viewer).
    from geo.engine.persist import read_index

    source = DataSource(Path(path), kind, synthetic, signature)
    persisted = read_index(path, survey_year=survey_year)
    if persisted is not None:  # start-up is a read of the index, not a read and index of every row
        index, meta = persisted
        return LoadedData(source, index, int(meta["survey_year"]), index.n, pilots_beside(path),
                          metadata_of(path), None, "", rounds)
    read = read_source(path, survey_year=survey_year)
    return LoadedData(source, _index(path, read.frame), read.survey_year, len(read.frame), read.pilots,
                      read.metadata, read.frame, "", rounds)


def load_pairs(data: LoadedData, year_from: int, year_to: int) -> pd.DataFrame:
    """The households of ``data``'s scope in rounds ``year_from`` and ``year_to`` paired by
    ``household_id`` (:func:`geo.engine.mobility.pair_rounds`): cached per file version, scope and
    pair of rounds, shared read-only by every session with that scope. A national scope maps the
    pairs persisted beside the file when they are fresh (:func:`geo.engine.persist.read_pairs`:
    no row is read or paired; each earlier round with the latest).

    Raises
    ------
    InputFileError
        The households file cannot be read or paired.
    """
    return _load_pairs(str(data.source.path), data.source.signature, data.access, int(year_from), int(year_to))


@st.cache_resource(show_spinner=label("loading_data"), max_entries=4)
def _load_pairs(path: str, signature: tuple[int, int], access: str, year_from: int, year_to: int) -> pd.DataFrame:
    # A read-only frame shared by every session with this scope: never mutate it in a page.
    import pyarrow.parquet as pq

    from geo.data.contract import CAPITAL_COLUMNS
    from geo.engine.mobility import pair_rounds
    from geo.errors import PPAPError

    user = user_from_scope_key(access)
    if scope_provinces(user) is None:  # a national scope: the pairs persisted beside the file, when fresh
        from geo.engine.persist import read_pairs

        try:
            persisted = read_pairs(path, year_from, year_to)
        except PPAPError:
            persisted = None  # unreadable: paired below, as without them
        if persisted is not None:
            return persisted
    wanted = ("household_id", "survey_year", "province_code", "district_code", "subdistrict_code", "poverty_level",
              "members", "lat", "lon", *CAPITAL_COLUMNS, "pilot_id")
    try:
        held = set(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from exc
    frame = _source.read_rounds(path, (year_from, year_to), provinces=scope_provinces(user),
                                columns=[c for c in wanted if c in held])
    try:
        return pair_rounds(households_in_scope(frame, user), year_from, year_to)
    except PPAPError as exc:
        raise InputFileError(f"cannot pair the rounds of {path}: {exc}") from exc


def _index(path: str, frame: pd.DataFrame) -> HouseholdIndex:
    from geo.errors import PPAPError

    try:
        return index_households(frame)
    except PPAPError as exc:
        raise InputFileError(f"cannot index {path}: {exc}") from exc


def display_boundaries(level: str):
    """Simplified boundaries of one level for drawing (cached, shared, read-only); None if not installed.

    The boundaries are the deployment's (:func:`geo.data.source.boundaries_dir`): the installed
    files, or with ``$PPAP_DATABASE_URL`` set this machine's copy of the database's release.
    """
    path = _source.boundaries_dir() / f"{level}.parquet"
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
    path = _source.boundaries_dir() / f"{level}.parquet"
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
    directory = _source.boundaries_dir()
    path = directory / "province.parquet"
    if "province" in out:
        out["context"] = _context_boundaries(str(path.parent), _signature(path))
    districts = directory / "district.parquet"
    if "district" in out:  # full-detail districts for verification (geo.views.mapview.outside_declared)
        out["verify"] = _verify_boundaries(str(districts.parent), _signature(districts))
    return out


@st.cache_resource(show_spinner=False, max_entries=2)
def _verify_boundaries(directory: str, signature: tuple[int, int]):
    from geo.engine.verify import prepare_boundaries

    return prepare_boundaries(load_boundaries("district", Path(directory)), "district")


@st.cache_resource(show_spinner=False, max_entries=2)
def _context_boundaries(directory: str, signature: tuple[int, int]):
    return context_geometry(load_boundaries("province", Path(directory)))


def boundary_manifest() -> dict[str, Any] | None:
    """The deployment's boundaries' manifest (:func:`geo.data.source.boundaries_dir`); ``None`` if
    boundaries are not installed.

    Raises
    ------
    BoundaryError
        The manifest exists but is not a JSON object.
    """
    path = _source.boundaries_dir() / _source.MANIFEST_FILE
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
    """The credit line for the boundaries: the manifest's ``attribution``, else
    :data:`geo.data.boundaries.ATTRIBUTION`."""
    if manifest:
        attribution = manifest.get("attribution")
        if isinstance(attribution, str) and attribution.strip():
            return attribution.strip()
    return ATTRIBUTION


def provenance() -> list[dict]:
    """The store's import history (not cached: it is small and must be current)."""
    from geo.data import database
    from geo.data.store import load_provenance

    if not database.enabled() and not (paths.store_dir() / PROVENANCE_FILE).is_file():
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



def _config_key() -> tuple[str, bool, int]:
    path, explicit = access_config_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1
    return str(path), explicit, mtime


def access_config() -> AccessConfig:
    """The deployment's access configuration (``geo.access.roles.load_access_config``), read once per
    file version; a bad file raises ``AccessConfigError`` naming the file and key."""
    path, explicit, mtime = _config_key()
    return _access_config(path if explicit else None, mtime)


@st.cache_resource(show_spinner=False, max_entries=4)
def _access_config(path: str | None, mtime: int) -> AccessConfig:
    return load_access_config(path)


def login_limiter() -> LoginLimiter:
    """The failed-login limiter for this configuration, shared by every session of the process."""
    return _login_limiter(*_config_key())


@st.cache_resource(show_spinner=False, max_entries=4)
def _login_limiter(path: str, explicit: bool, mtime: int) -> LoginLimiter:
    return access_config().new_limiter()


def _secret(name: str):
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets file: StreamlitSecretNotFoundError
        return None
    except Exception:  # a broken secrets file must not hide the page; Streamlit reports it itself
        return None


def apply_audit_secrets() -> None:
    """``ppap_audit_key`` from ``.streamlit/secrets.toml`` as ``$PPAP_AUDIT_KEY`` (the key of the
    audit log's checkpoints, ``geo.access.audit.audit_key``), unless the variable is already set. The
    audit functions read only the variable, so the CLI and the app sign alike."""
    from geo.access.audit import AUDIT_KEY_ENV

    if not os.environ.get(AUDIT_KEY_ENV):
        secret = _secret("ppap_audit_key")
        if isinstance(secret, str) and secret:
            os.environ[AUDIT_KEY_ENV] = secret


def oidc_secrets() -> dict | None:
    """The ``[auth]`` section of ``.streamlit/secrets.toml`` as a plain dict (None when absent),
    for ``geo.access.roles.oidc_problem``."""
    section = _secret("auth")
    if section is None:
        return None
    try:
        return {k: (dict(v) if hasattr(v, "keys") else v) for k, v in dict(section).items()}
    except (TypeError, ValueError):
        return None

