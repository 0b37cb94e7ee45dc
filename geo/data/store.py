"""The app's store of imported households and where they came from.

Layout of :func:`geo.data.paths.store_dir` (or any directory passed as ``store``)::

    households.parquet   every imported household, in the data contract's columns and dtypes
                         (plus ``head_name`` only when an import kept it on purpose)
    provenance.json      {"imports": [{"file", "content_hash", "imported_at", "mode",
                                       "rows_in", "accepted", "warnings", "rejected",
                                       "provinces", "districts", "rounds", "replaced"}, ...]}
    .lock                taken while an import writes, so two imports never interleave

The store holds every survey round. An ``upsert`` import (the default) adds or replaces rows by
their key ``(household_id, survey_year)``: a stored row whose key the import carries is replaced
by the import's row, every other stored row (other households, other rounds) is kept as it is.
A ``replace_all`` import (administrators only) swaps the whole table, every round, for its rows.
The provenance list is never shortened: a ``replace_all`` entry marks where the current data
begins, and only files imported since then count as "already imported" (by the SHA-256 of their
content). Files are written under new names and renamed into place, so a reader sees the old
store or the new one, never half of one. National IDs never reach the store: only their keyed
hashes do.

With ``$PPAP_DATABASE_URL`` set, the default store (``store`` None or
:func:`geo.data.paths.store_dir`) is the database: these functions read and write it through
:mod:`geo.data.database` (another folder passed as ``store`` stays a folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from geo.data import database
from geo.data.contract import HOUSEHOLD_COLUMN_NAMES, conform_households
from geo.data.paths import store_dir
from geo.errors import ArgumentError, ArgumentTypeError, InputFileError, StoreError

HOUSEHOLDS_FILE = "households.parquet"
PROVENANCE_FILE = "provenance.json"
LOCK_FILE = ".lock"
#: How an import meets the store: add or replace its rows by (household_id, survey_year), or swap
#: the whole table (every round) for them.
MODES: tuple[str, ...] = ("upsert", "replace_all")
#: Modes whose entry in the provenance starts the current data (``replace`` as older stores wrote it).
WHOLE_STORE_MODES: tuple[str, ...] = ("replace_all", "replace")
#: The key an ``upsert`` import adds or replaces rows by.
KEY_COLUMNS: tuple[str, str] = ("household_id", "survey_year")
#: Columns kept beside the contract's when an import asks for them.
OPTIONAL_EXTRA_COLUMNS: tuple[str, ...] = ("head_name",)


def _store_path(store: str | os.PathLike[str] | None) -> Path:
    return Path(store) if store is not None else store_dir()


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in OPTIONAL_EXTRA_COLUMNS if c in frame.columns]
    out = conform_households(frame)
    for column in extras:
        out[column] = frame[column].astype("string").reset_index(drop=True)
    return out


def empty_households() -> pd.DataFrame:
    """A household frame with the contract's columns and no rows."""
    return conform_households(pd.DataFrame({c: [] for c in HOUSEHOLD_COLUMN_NAMES}))


def load_households(store: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Return the stored households (contract columns and dtypes), empty when nothing is stored.

    Parameters
    ----------
    store : path, optional
        The store directory; :func:`geo.data.paths.store_dir` when omitted.

    Raises
    ------
    StoreError
        When the households file exists but cannot be read.
    """
    if database.for_store(store):
        return database.load_households()
    path = _store_path(store) / HOUSEHOLDS_FILE
    if not path.is_file():
        return empty_households()
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise StoreError(f"store: cannot read {path}: {exc}") from exc
    return _conform(frame)


def stored_keys(store: str | os.PathLike[str] | None = None) -> set[tuple[str, int]]:
    """The ``(household_id, survey_year)`` pairs already in the store."""
    if database.for_store(store):
        return database.stored_keys()
    path = _store_path(store) / HOUSEHOLDS_FILE
    if not path.is_file():
        return set()
    try:
        frame = pd.read_parquet(path, columns=["household_id", "survey_year"])
    except (OSError, ValueError) as exc:
        raise StoreError(f"store: cannot read {path}: {exc}") from exc
    return set(zip(frame["household_id"].astype(str), frame["survey_year"].astype(int)))


def load_provenance(store: str | os.PathLike[str] | None = None) -> list[dict]:
    """Every import ever made into the store, oldest first (``[]`` for a new store).

    Raises
    ------
    StoreError
        When ``provenance.json`` exists but is not valid JSON of the expected shape.
    """
    if database.for_store(store):
        return database.load_provenance()
    path = _store_path(store) / PROVENANCE_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"store: cannot read {path}: {exc}") from exc
    imports = data.get("imports") if isinstance(data, dict) else None
    if not isinstance(imports, list):
        raise StoreError(f"store: {path} has no 'imports' list")
    return imports


def current_imports(provenance: list[dict]) -> list[dict]:
    """The imports whose rows may be in the store now: those since the last ``replace_all``
    (inclusive; ``replace`` in stores written before rounds)."""
    start = 0
    for index, entry in enumerate(provenance):
        if entry.get("mode") in WHOLE_STORE_MODES:
            start = index
    return provenance[start:]


def imported_hashes(store: str | os.PathLike[str] | None = None) -> dict[str, dict]:
    """Content hash -> provenance entry, for files whose rows are in the store now."""
    if database.for_store(store):
        return database.imported_hashes()
    return {e["content_hash"]: e for e in current_imports(load_provenance(store)) if "content_hash" in e}


def entries_with_areas(households: pd.DataFrame, entries: list[dict], *,
                       stored: set[tuple[str, int]] | frozenset = frozenset()) -> list[dict]:
    """Provenance ``entries`` with what their accepted rows touched: ``provinces``, ``districts``,
    ``rounds`` (survey years, CE) and ``replaced`` (how many of the rows replaced a stored row).

    An import's accepted rows come file by file, in the entries' order, ``accepted`` rows each
    (:func:`geo.ingest.import_households`), so each file gets its own areas and rounds. When the
    counts do not add up to the rows, every entry gets those of the whole import. The areas let
    :func:`geo.access.roles.imports_in_scope` show an officer only the imports that touched their scope.

    Parameters
    ----------
    households : pandas.DataFrame
        The import's accepted rows (``province_code``, ``district_code``, ``household_id``,
        ``survey_year``).
    entries : list of dict
        One provenance entry per file read, with ``accepted``.
    stored : set of (str, int), optional
        The ``(household_id, survey_year)`` keys in the store before the import, to count ``replaced``.

    Returns
    -------
    list of dict
        New entries (the given ones are not changed), codes and rounds sorted.

    Example
    -------
    >>> entries_with_areas(frame, [{"file": "a.csv", "accepted": 2}])[0]["districts"]  # doctest: +SKIP
    ['4601', '4609']
    """
    if not isinstance(households, pd.DataFrame):
        raise ArgumentTypeError(f"households must be a DataFrame, got {type(households).__name__}")
    districts = households["district_code"].astype("string").fillna("").to_numpy(dtype=object)
    provinces = households["province_code"].astype("string").fillna("").to_numpy(dtype=object)
    years = (households["survey_year"].astype("Int64").fillna(0).to_numpy(dtype="int64")
             if "survey_year" in households.columns else [0] * len(households))
    ids = (households["household_id"].astype("string").fillna("").to_numpy(dtype=object)
           if "household_id" in households.columns else [""] * len(households))
    was_stored = [(str(h), int(y)) in stored for h, y in zip(ids, years)] if stored else [False] * len(households)
    counts = [e.get("accepted") for e in entries]
    split = all(isinstance(c, int) and c >= 0 for c in counts) and sum(counts) == len(households)
    out, start = [], 0
    for entry, count in zip(entries, counts):
        part = slice(start, start + count) if split else slice(None)
        start += count if split else 0
        out.append({**entry,
                    "provinces": sorted({str(c) for c in provinces[part] if c}),
                    "districts": sorted({str(c) for c in districts[part] if c}),
                    "rounds": sorted({int(y) for y in years[part] if y}),
                    "replaced": int(sum(was_stored[part]))})
    return out


def upsert_households(stored: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``stored`` with ``new``'s rows added, each replacing the stored row of its key
    ``(household_id, survey_year)``; every other stored row kept, in its order, before the new rows.

    The one rule of an import into the store (docs/DATA.md "The store"); the PostgreSQL store
    applies the same rule (``INSERT ... ON CONFLICT (household_id, survey_year) DO UPDATE``).

    Parameters
    ----------
    stored, new : pandas.DataFrame
        Household frames with ``household_id`` and ``survey_year``; ``new`` has each key once.

    Returns
    -------
    pandas.DataFrame
        A new frame, index 0..n-1.

    Example
    -------
    >>> upsert_households(stored, new)  # doctest: +SKIP
    """
    for name, frame in (("stored", stored), ("new", new)):
        if not isinstance(frame, pd.DataFrame):
            raise ArgumentTypeError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    if stored.empty:
        return new.reset_index(drop=True)
    if new.empty:
        return stored.reset_index(drop=True)
    new_keys = pd.MultiIndex.from_arrays([new["household_id"].astype(str), new["survey_year"].astype("int64")])
    if new_keys.has_duplicates:
        raise ArgumentError("new holds a (household_id, survey_year) key twice; an import keeps each key once")
    old_keys = pd.MultiIndex.from_arrays([stored["household_id"].astype(str), stored["survey_year"].astype("int64")])
    kept = stored[~old_keys.isin(new_keys)]
    return pd.concat([kept, new], ignore_index=True)


def _write_atomically(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; os.umask() to read the mask is not thread-safe
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(store: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Hold the store's lock (blocking) while the ``with`` body runs; yield the store directory."""
    directory = _store_path(store)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK_FILE, "a+")
    except OSError as exc:
        raise StoreError(f"store: cannot open {directory}: {exc}") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_households(
    households: pd.DataFrame,
    entries: list[dict],
    *,
    mode: str = "upsert",
    store: str | os.PathLike[str] | None = None,
) -> Path:
    """Write imported households and their provenance entries into the store.

    Under the store's lock it checks again that none of the ``entries``' files was imported
    meanwhile (``upsert``), then writes: ``upsert`` adds the rows or replaces the stored row of the
    same ``(household_id, survey_year)`` (:func:`upsert_households`), leaving every other household
    and every other round as it was; ``replace_all`` swaps the whole table, every round.

    Parameters
    ----------
    households : pandas.DataFrame
        Accepted rows in the data contract (``head_name`` may be present when kept on purpose).
    entries : list of dict
        One provenance entry per file: ``file``, ``content_hash``, ``imported_at``, counts. Each is
        stored with the ``provinces``, ``districts`` and ``rounds`` its rows touched and how many
        stored rows they ``replaced`` (:func:`entries_with_areas`).
    mode : {"upsert", "replace_all"}
        Add or replace by key, or replace the whole store.
    store : path, optional
        The store directory; :func:`geo.data.paths.store_dir` when omitted.

    Returns
    -------
    pathlib.Path
        The households file.

    Raises
    ------
    StoreError
        When a file of the import was imported meanwhile, or the store cannot be written.
    ArgumentError
        When ``mode`` is not ``upsert`` or ``replace_all``.
    """
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(households, pd.DataFrame):
        raise ArgumentTypeError(f"households must be a DataFrame, got {type(households).__name__}")
    if database.for_store(store):  # one transaction in the database (geo.data.database.save_households)
        return database.snapshot_path(database.save_households(households, entries, mode=mode))
    new = _conform(households)
    with locked(store) as directory:
        provenance = load_provenance(directory)
        if mode == "upsert":
            known = {e.get("content_hash") for e in current_imports(provenance)}
            again = [e["file"] for e in entries if e.get("content_hash") in known]
            if again:
                raise StoreError(f"store: {', '.join(again)} was imported meanwhile; run the import again")
            existing = load_households(directory)
            keys = set(zip(existing["household_id"].astype(str), existing["survey_year"].astype(int)))
            combined = upsert_households(existing, new)
        else:
            keys = set()
            combined = new
        combined = _conform(combined)
        try:
            _write_atomically(directory / HOUSEHOLDS_FILE, lambda p: combined.to_parquet(p, index=False))
            entries = entries_with_areas(new, entries, stored=keys)  # which areas and rounds each file touched
            text = json.dumps({"imports": provenance + list(entries)}, ensure_ascii=False, indent=2)
            _write_atomically(directory / PROVENANCE_FILE, lambda p: p.write_text(text + "\n", encoding="utf-8"))
        except OSError as exc:
            raise StoreError(f"store: cannot write {directory}: {exc}") from exc
    return directory / HOUSEHOLDS_FILE


# ---------------------------------------------------------------------------------------------
# Persisted index
# ---------------------------------------------------------------------------------------------


def survey_rounds(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(earliest, latest)`` survey round (``survey_year``) of a household Parquet file; ``None``
    when it holds no households. Reads the one column. Raises what pyarrow raises for an
    unreadable file (``OSError``, ``ValueError``, ``KeyError`` without the column)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    years = pq.read_table(path, columns=["survey_year"]).column("survey_year")
    if len(years) == 0:
        return None
    return int(pc.min(years).as_py()), int(pc.max(years).as_py())


def latest_round(source: str | os.PathLike[str] | pd.DataFrame) -> int | None:
    """The latest survey round — the one the app, the index and the exports show — of a household
    Parquet file or a frame; ``None`` when there are no households (or no ``survey_year``, in a frame).

    The one definition of "the latest round"; read it with :func:`latest_round_filter`.
    """
    if isinstance(source, pd.DataFrame):
        if "survey_year" not in source.columns or not source["survey_year"].notna().any():
            return None
        return int(source["survey_year"].max())
    rounds = survey_rounds(source)
    return None if rounds is None else rounds[1]


def latest_round_filter(latest: int) -> list[tuple[str, str, int]]:
    """The pyarrow / ``pandas.read_parquet`` filter that keeps only round ``latest``."""
    return [("survey_year", "=", latest)]


def read_rows(households_path: str | os.PathLike[str], positions, *, columns=None,
              survey_year: int | None = None) -> pd.DataFrame:
    """Rows ``positions`` of one survey round of a households file (default the latest), reading
    only the row groups that hold them (a district of a national file: one or two groups of
    250,000, not 13 million rows).

    ``positions`` are row numbers within the round as :func:`geo.engine.persist.write_index` read
    it (an index's ``order``); the result keeps them as its index labels, in ascending order. A
    file of several rounds costs one read of its ``survey_year`` column to number them.

    Raises
    ------
    StoreError
        When the file cannot be read or a position is out of range.
    """
    import numpy as np
    import pyarrow.parquet as pq

    wanted = np.unique(np.asarray(positions, dtype=np.int64))
    path = Path(households_path)
    try:
        parquet = pq.ParquetFile(path)
        rounds = survey_rounds(path)
        names = list(columns) if columns is not None else None
        sizes = np.array([parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)],
                         dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        in_round = int(starts[-1])
        where = wanted  # the rows' numbers in the whole file
        if rounds is not None and (rounds[0] != rounds[1] or survey_year not in (None, rounds[1])):
            year = rounds[1] if survey_year is None else int(survey_year)
            years = parquet.read(columns=["survey_year"]).column("survey_year").to_numpy(zero_copy_only=False)
            rows_of_round = np.flatnonzero(years == year)
            in_round = rows_of_round.size
            where = rows_of_round[wanted[wanted < in_round]]
        if wanted.size and wanted[-1] >= in_round:
            raise StoreError(f"store: row {wanted[-1]} is beyond the {in_round} rows of {path}")
        group_of = np.searchsorted(starts, where, side="right") - 1  # the row group of each wanted row
        groups = np.unique(group_of)
        if not groups.size:
            return parquet.schema_arrow.empty_table().select(names or parquet.schema_arrow.names).to_pandas()
        table = parquet.read_row_groups(groups.tolist(), columns=names)
        offsets = np.concatenate([[0], np.cumsum(sizes[groups])])  # where each read group starts in `table`
        local = offsets[np.searchsorted(groups, group_of)] + (where - starts[group_of])
        return table.take(local).to_pandas().set_axis(wanted)
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"store: cannot read rows of {path}: {exc}") from exc


_CODE_COLUMNS = ("province_code", "district_code", "subdistrict_code", "household_id", "pilot_id")


def read_households(path: str | Path) -> pd.DataFrame:
    """Read households from a contract Parquet or CSV file and conform them.

    Raises
    ------
    InputFileError
        When the file is missing or not ``.parquet`` / ``.csv``.
    ContractError
        When required columns are missing or values do not fit the contract's types.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"--input {str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix == ".csv":
        frame = pd.read_csv(path, dtype={c: "string" for c in _CODE_COLUMNS}, encoding="utf-8-sig")
    else:
        raise InputFileError(f"--input must be a .parquet or .csv file in the household contract, got {path.name!r}")
    return conform_households(frame)


def read_sample_metadata(path: Path) -> dict:
    """The sample metadata stored in a households parquet file, or ``{}`` when there is none.

    Pages and exports use it to label synthetic data.

    Example
    -------
    >>> read_sample_metadata(paths.samples_dir() / "households.parquet").get("synthetic")  # doctest: +SKIP
    True
    """
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY in meta:
        return json.loads(meta[METADATA_KEY])
    return {"synthetic": True} if meta.get(SYNTHETIC_KEY) == b"true" else {}


def is_synthetic(path: Path) -> bool:
    """True when the households file at ``path`` is a synthetic sample; never raises."""
    try:
        return bool(read_sample_metadata(Path(path)).get("synthetic", False))
    except Exception:  # noqa: BLE001 - a predicate: unreadable means "not known to be synthetic"
        return False


#: Parquet key-value metadata keys.
METADATA_KEY = b"ppap_sample"


SYNTHETIC_KEY = b"synthetic"
