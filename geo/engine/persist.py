"""The engine's index persisted beside a households file (``<name>.index/``): every array of the
:class:`~geo.engine.aggregate.HouseholdIndex` and the profile cube as ``.npy`` files, memory-mapped
back at start-up, so a national deployment starts without reading 13 million rows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import StoreError
from geo.errors import PPAPError

if TYPE_CHECKING:
    import pandas as pd


#: Per-household arrays of :class:`geo.engine.aggregate.HouseholdIndex`, one ``.npy`` file each.
INDEX_ARRAYS: tuple[str, ...] = (
    "cell", "order", "province", "district", "subdistrict", "members", "level", "capitals", "profile",
    "deprivation_mask", "deficit_mask", "j2", "pilot", "record_key", "lat", "lon",
    "moved_pos", "moved_cell", "moved_offsets",
)


#: Code tables of the index, kept in ``index.json``.
INDEX_CODES: tuple[str, ...] = ("province_codes", "district_codes", "subdistrict_codes", "pilot_ids")


#: 2: record keys (geo.engine.cellkey) in the index and the cube; 3: exact hexagons (moved_*); 4: TPMAP
#: deprivations (``deprivation_mask`` and the cube's deprivation sums) only for households in TPMAP.
INDEX_VERSION = 4


def index_dir_for(households_path: str | os.PathLike[str]) -> Path:
    """Where the persisted index of a households file lives: ``<name>.index/`` beside it."""
    path = Path(households_path)
    return path.with_name(path.stem + ".index")


def _file_signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def read_latest_for_index(households_path: str | os.PathLike[str]) -> tuple[pd.DataFrame, int]:
    """The latest survey round of a households Parquet file, only the columns the engine indexes
    (:data:`geo.engine.aggregate.INDEX_COLUMNS` and the optional ones the file has), and that round.

    Raises
    ------
    StoreError
        When the file holds no households. pyarrow's own errors (``OSError``, ``ValueError``)
        pass through for the caller to word.
    """
    import pyarrow.parquet as pq

    from geo.data.store import latest_round, latest_round_filter
    from geo.engine.aggregate import INDEX_COLUMNS, OPTIONAL_INDEX_COLUMNS

    path = Path(households_path)
    latest = latest_round(path)
    if latest is None:
        raise StoreError(f"store: {path} holds no households")
    names = set(pq.read_schema(path).names)
    optional = [c for c in OPTIONAL_INDEX_COLUMNS if c in names]
    table = pq.read_table(path, columns=list(INDEX_COLUMNS) + optional + ["survey_year"],
                          filters=latest_round_filter(latest))
    return table.drop_columns(["survey_year"]).to_pandas(), latest


def write_index(households_path: str | os.PathLike[str]) -> Path:
    """Index the latest survey round of a households file once and persist the index beside it.

    Only the columns the engine needs are read (:data:`geo.engine.aggregate.INDEX_COLUMNS`). The index
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

    from geo.engine.aggregate import index_households
    from geo.engine.cube import build_cube, write_cube

    path = Path(households_path)
    try:
        signature = _file_signature(path)
        frame, latest = read_latest_for_index(path)
        index = index_households(frame)
    except (OSError, ValueError, KeyError, PPAPError) as exc:
        raise StoreError(f"store: cannot index {path}: {exc}") from exc
    final = index_dir_for(path)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in INDEX_ARRAYS:
        np.save(tmp / f"{name}.npy", getattr(index, name), allow_pickle=False)
    # The profile cube too (geo.engine.cube), so the first map after a start pays no pass over every row.
    write_cube(build_cube(index), tmp)
    meta = {
        "version": INDEX_VERSION, "source": path.name, "source_signature": signature, "survey_year": latest,
        "rows": int(index.n), **{name: [str(c) for c in getattr(index, name)] for name in INDEX_CODES},
    }
    (tmp / "index.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def read_index(households_path: str | os.PathLike[str], *, mmap: bool = True, survey_year: int | None = None):
    """The persisted index of a households file, or ``None`` when there is none, it is stale, or it
    is not of round ``survey_year`` (CE; the index holds the latest round, :func:`write_index`).

    Arrays are memory-mapped read-only by default: start-up is a read of a small JSON file, pages
    come in as they are touched, every process on the machine shares them, and nothing can write
    to the shared index by mistake.

    Returns
    -------
    (HouseholdIndex, dict) or None
        The index and its ``index.json`` (``survey_year``, ``rows``, ...).
    """
    import numpy as np

    from geo.engine.aggregate import HouseholdIndex
    from geo.engine.cube import read_cube, register_cube

    path = Path(households_path)
    folder = index_dir_for(path)
    try:
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if meta.get("version") != INDEX_VERSION or meta.get("source_signature") != _file_signature(path):
            return None
        if survey_year is not None and meta.get("survey_year") != int(survey_year):
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
