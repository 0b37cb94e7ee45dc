"""The app's store of imported households and where they came from.

Layout of :func:`geo.paths.store_dir` (or any directory passed as ``store``)::

    households.parquet   every imported household, in the data contract's columns and dtypes
                         (plus ``head_name`` only when an import kept it on purpose)
    provenance.json      {"imports": [{"file", "content_hash", "imported_at", "mode",
                                       "rows_in", "accepted", "warnings", "rejected",
                                       "provinces", "districts"}, ...]}
    .lock                taken while an import writes, so two imports never interleave

An ``append`` import adds rows; a ``replace`` import swaps the whole table for its rows. The
provenance list is never shortened: a ``replace`` entry marks where the current data begins, and
only files imported since then count as "already imported". Files are written under new names and
renamed into place, so a reader sees the old store or the new one, never half of one. National
IDs never reach the store: only their keyed hashes do.
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

from geo.contract import HOUSEHOLD_COLUMN_NAMES, conform_households
from geo.errors import PPAPError
from geo.paths import store_dir

HOUSEHOLDS_FILE = "households.parquet"
PROVENANCE_FILE = "provenance.json"
LOCK_FILE = ".lock"
MODES: tuple[str, ...] = ("append", "replace")
#: Columns kept beside the contract's when an import asks for them.
OPTIONAL_EXTRA_COLUMNS: tuple[str, ...] = ("head_name",)


class StoreError(PPAPError):
    """The store cannot be read or written, or changed under an import."""


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
        The store directory; :func:`geo.paths.store_dir` when omitted.

    Raises
    ------
    StoreError
        When the households file exists but cannot be read.
    """
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
    """The imports whose rows are in the store now: those since the last ``replace`` (inclusive)."""
    start = 0
    for index, entry in enumerate(provenance):
        if entry.get("mode") == "replace":
            start = index
    return provenance[start:]


def imported_hashes(store: str | os.PathLike[str] | None = None) -> dict[str, dict]:
    """Content hash -> provenance entry, for files whose rows are in the store now."""
    return {e["content_hash"]: e for e in current_imports(load_provenance(store)) if "content_hash" in e}


def entries_with_areas(households: pd.DataFrame, entries: list[dict]) -> list[dict]:
    """Provenance ``entries`` with the areas their accepted rows hold: ``provinces`` and ``districts``.

    An import's accepted rows come file by file, in the entries' order, ``accepted`` rows each
    (:func:`geo.ingest.import_households`), so each file gets its own areas. When the counts do
    not add up to the rows, every entry gets the areas of the whole import. The areas let
    :func:`geo.access.imports_in_scope` show an officer only the imports that touched their scope.

    Parameters
    ----------
    households : pandas.DataFrame
        The import's accepted rows (``province_code``, ``district_code``).
    entries : list of dict
        One provenance entry per file read, with ``accepted``.

    Returns
    -------
    list of dict
        New entries (the given ones are not changed), codes sorted.

    Example
    -------
    >>> entries_with_areas(frame, [{"file": "a.csv", "accepted": 2}])[0]["districts"]  # doctest: +SKIP
    ['4601', '4609']
    """
    if not isinstance(households, pd.DataFrame):
        raise TypeError(f"households must be a DataFrame, got {type(households).__name__}")
    districts = households["district_code"].astype("string").fillna("").to_numpy(dtype=object)
    provinces = households["province_code"].astype("string").fillna("").to_numpy(dtype=object)
    counts = [e.get("accepted") for e in entries]
    split = all(isinstance(c, int) and c >= 0 for c in counts) and sum(counts) == len(households)
    out, start = [], 0
    for entry, count in zip(entries, counts):
        part = slice(start, start + count) if split else slice(None)
        start += count if split else 0
        out.append({**entry,
                    "provinces": sorted({str(c) for c in provinces[part] if c}),
                    "districts": sorted({str(c) for c in districts[part] if c})})
    return out


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
    mode: str = "append",
    store: str | os.PathLike[str] | None = None,
) -> Path:
    """Write imported households and their provenance entries into the store.

    Under the store's lock it checks again that none of the ``entries``' files was imported
    meanwhile and (for ``append``) that no household/round is already stored, then writes.

    Parameters
    ----------
    households : pandas.DataFrame
        Accepted rows in the data contract (``head_name`` may be present when kept on purpose).
    entries : list of dict
        One provenance entry per file: ``file``, ``content_hash``, ``imported_at``, counts.
    mode : {"append", "replace"}
        Add to the stored rows, or replace them all.
    store : path, optional
        The store directory; :func:`geo.paths.store_dir` when omitted.

    Returns
    -------
    pathlib.Path
        The households file.

    Raises
    ------
    StoreError
        When the store changed under the import (another import of the same file or households),
        or cannot be written.
    ValueError
        When ``mode`` is not ``append`` or ``replace``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(households, pd.DataFrame):
        raise TypeError(f"households must be a DataFrame, got {type(households).__name__}")
    new = _conform(households)
    with locked(store) as directory:
        provenance = load_provenance(directory)
        if mode == "append":
            known = {e.get("content_hash") for e in current_imports(provenance)}
            again = [e["file"] for e in entries if e.get("content_hash") in known]
            if again:
                raise StoreError(f"store: {', '.join(again)} was imported meanwhile; run the import again")
            existing = load_households(directory)
            keys = set(zip(existing["household_id"].astype(str), existing["survey_year"].astype(int)))
            clash = [k for k in zip(new["household_id"].astype(str), new["survey_year"].astype(int)) if k in keys]
            if clash:
                raise StoreError(
                    f"store: {len(clash)} households were stored meanwhile (e.g. {clash[0][0]} in "
                    f"{clash[0][1]}); run the import again"
                )
            combined = new if existing.empty else pd.concat([existing, new], ignore_index=True)
        else:
            combined = new
        combined = _conform(combined)
        try:
            _write_atomically(directory / HOUSEHOLDS_FILE, lambda p: combined.to_parquet(p, index=False))
            entries = entries_with_areas(new, entries)  # which areas each file touched
            text = json.dumps({"imports": provenance + list(entries)}, ensure_ascii=False, indent=2)
            _write_atomically(directory / PROVENANCE_FILE, lambda p: p.write_text(text + "\n", encoding="utf-8"))
        except OSError as exc:
            raise StoreError(f"store: cannot write {directory}: {exc}") from exc
    return directory / HOUSEHOLDS_FILE


# ---------------------------------------------------------------------------------------------
# Persisted index
# ---------------------------------------------------------------------------------------------

#: Per-household arrays of :class:`geo.aggregate.HouseholdIndex`, one ``.npy`` file each.
INDEX_ARRAYS: tuple[str, ...] = (
    "cell", "order", "province", "district", "subdistrict", "members", "level", "capitals", "profile",
    "deprivation_mask", "deficit_mask", "j2", "pilot", "record_key", "lat", "lon",
)
#: Code tables of the index, kept in ``index.json``.
INDEX_CODES: tuple[str, ...] = ("province_codes", "district_codes", "subdistrict_codes", "pilot_ids")
INDEX_VERSION = 2  # 2: record keys (geo.cellkey) in the index and the cube


def index_dir_for(households_path: str | os.PathLike[str]) -> Path:
    """Where the persisted index of a households file lives: ``<name>.index/`` beside it."""
    path = Path(households_path)
    return path.with_name(path.stem + ".index")


def _file_signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def write_index(households_path: str | os.PathLike[str]) -> Path:
    """Index the latest survey round of a households file once and persist the index beside it.

    Only the columns the engine needs are read (:data:`geo.aggregate.INDEX_COLUMNS`). The index
    records the file's size and modification time, so :func:`read_index` ignores it once the file
    changes. The folder is written under a new name and renamed into place.

    Parameters
    ----------
    households_path : path
        A households parquet file in the data contract.

    Returns
    -------
    pathlib.Path
        The index folder (:func:`index_dir_for`).

    Raises
    ------
    StoreError
        When the file cannot be read or indexed.

    Example
    -------
    >>> write_index(paths.national_dir() / "households.parquet")  # doctest: +SKIP
    """
    import shutil

    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from geo.aggregate import INDEX_COLUMNS, OPTIONAL_INDEX_COLUMNS, index_households
    from geo.cube import build_cube, write_cube
    from geo.errors import PPAPError

    path = Path(households_path)
    try:
        signature = _file_signature(path)
        years = pq.read_table(path, columns=["survey_year"]).column("survey_year")
        if len(years) == 0:
            raise StoreError(f"store: {path} holds no households")
        latest = int(pc.max(years).as_py())
        names = set(pq.read_schema(path).names)
        optional = [c for c in OPTIONAL_INDEX_COLUMNS if c in names]
        table = pq.read_table(path, columns=list(INDEX_COLUMNS) + optional + ["survey_year"],
                              filters=[("survey_year", "=", latest)])
        frame = table.drop_columns(["survey_year"]).to_pandas()
        del table
        index = index_households(frame)
    except (OSError, ValueError, KeyError, PPAPError) as exc:
        raise StoreError(f"store: cannot index {path}: {exc}") from exc
    final = index_dir_for(path)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in INDEX_ARRAYS:
        np.save(tmp / f"{name}.npy", getattr(index, name), allow_pickle=False)
    # The profile cube too (geo.cube), so the first map after a start pays no pass over every row.
    write_cube(build_cube(index), tmp)
    meta = {
        "version": INDEX_VERSION, "source": path.name, "source_signature": signature, "survey_year": latest,
        "rows": int(index.n), **{name: [str(c) for c in getattr(index, name)] for name in INDEX_CODES},
    }
    (tmp / "index.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def read_rows(households_path: str | os.PathLike[str], positions, *, columns=None) -> pd.DataFrame:
    """Rows ``positions`` of a households file's latest survey round, reading only the row groups
    that hold them (a district of a national file: one or two groups of 250,000, not 13 million rows).

    ``positions`` are row numbers in the latest round as :func:`write_index` read it (an index's
    ``order``); the result keeps them as its index labels, in ascending order.

    Raises
    ------
    StoreError
        When the file cannot be read or a position is out of range.
    """
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted = np.unique(np.asarray(positions, dtype=np.int64))
    path = Path(households_path)
    try:
        parquet = pq.ParquetFile(path)
        years = pq.read_table(path, columns=["survey_year"]).column("survey_year")
        latest = pc.max(years).as_py() if len(years) else None
        one_round = len(years) == 0 or pc.min(years).as_py() == latest
        names = list(columns) if columns is not None else None
        if not one_round:  # rows of several rounds: the latest round's numbering needs the whole file
            frame = pd.read_parquet(path, columns=names, filters=[("survey_year", "=", latest)])
            if wanted.size and wanted[-1] >= len(frame):
                raise StoreError(f"store: row {wanted[-1]} is beyond the {len(frame)} rows of {path}")
            return frame.iloc[wanted].set_axis(wanted)
        sizes = np.array([parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)],
                         dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        if wanted.size and wanted[-1] >= starts[-1]:
            raise StoreError(f"store: row {wanted[-1]} is beyond the {starts[-1]} rows of {path}")
        group_of = np.searchsorted(starts, wanted, side="right") - 1  # the row group of each wanted row
        groups = np.unique(group_of)
        if not groups.size:
            return parquet.schema_arrow.empty_table().select(names or parquet.schema_arrow.names).to_pandas()
        table = parquet.read_row_groups(groups.tolist(), columns=names)
        offsets = np.concatenate([[0], np.cumsum(sizes[groups])])  # where each read group starts in `table`
        local = offsets[np.searchsorted(groups, group_of)] + (wanted - starts[group_of])
        return table.take(local).to_pandas().set_axis(wanted)
    except (OSError, ValueError) as exc:
        raise StoreError(f"store: cannot read rows of {path}: {exc}") from exc


def read_index(households_path: str | os.PathLike[str], *, mmap: bool = True):
    """The persisted index of a households file, or ``None`` when there is none or it is stale.

    Arrays are memory-mapped read-only by default: start-up is a read of a small JSON file, pages
    come in as they are touched, every process on the machine shares them, and nothing can write
    to the shared index by mistake.

    Returns
    -------
    (HouseholdIndex, dict) or None
        The index and its ``index.json`` (``survey_year``, ``rows``, ...).
    """
    import numpy as np

    from geo.aggregate import HouseholdIndex
    from geo.cube import read_cube, register_cube

    path = Path(households_path)
    folder = index_dir_for(path)
    try:
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if meta.get("version") != INDEX_VERSION or meta.get("source_signature") != _file_signature(path):
            return None
        arrays = {name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None,
                                           allow_pickle=False))
                  for name in INDEX_ARRAYS}
    except (OSError, ValueError, KeyError):
        return None
    codes = {name: np.asarray(meta[name], dtype=object) for name in INDEX_CODES}
    index = HouseholdIndex(**arrays, **codes)
    cube = read_cube(folder, mmap=mmap)
    if cube is not None:
        register_cube(index, cube)
    return index, meta
