"""The engine's index persisted beside a households file (``<name>.index/``): every array of the
:class:`~geo.engine.aggregate.HouseholdIndex` and the profile cube as ``.npy`` files, memory-mapped
back at start-up, so a national deployment starts without reading 13 million rows.

Layout of ``<name>.index/``::

    index.json, *.npy        the latest survey round's index and profile cube
    rounds/<year>/           the same for each earlier round (a round change reads no rows)
    pairs/<from>-<to>/       each earlier round paired with the latest
                             (:func:`geo.engine.mobility.pair_rounds`): every column of the pairs
                             frame, its pairs cube and the H3 cubes worth keeping (``h3_<res>/``;
                             :mod:`geo.engine.mobility_cube`), so a comparison on the Change page
                             pairs no rows and builds no cube

Everything is memory-mapped read-only when read back: the pages of a column come in as a view
touches them and every process on the machine shares them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from geo.data.contract import CAPITAL_COLUMNS
from geo.errors import PPAPError, StoreError

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
#: deprivations (``deprivation_mask`` and the cube's deprivation sums) only for households in TPMAP;
#: 5: every round's index (``rounds/``) and the pairs of each earlier round with the latest (``pairs/``);
#: 6: the pairs cube's sums by district × deficit code (``cube/by_deficit/``).
INDEX_VERSION = 6
ROUNDS_DIR = "rounds"
PAIRS_DIR = "pairs"


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
    from geo.data.store import latest_round

    path = Path(households_path)
    latest = latest_round(path)
    if latest is None:
        raise StoreError(f"store: {path} holds no households")
    return read_round_for_index(path, latest), latest


def read_round_for_index(households_path: str | os.PathLike[str], survey_year: int) -> pd.DataFrame:
    """One survey round (CE) of a households Parquet file, only the columns the engine indexes.
    pyarrow's own errors pass through."""
    import pyarrow.parquet as pq

    from geo.data.store import latest_round_filter
    from geo.engine.aggregate import INDEX_COLUMNS, OPTIONAL_INDEX_COLUMNS

    path = Path(households_path)
    names = set(pq.read_schema(path).names)
    optional = [c for c in OPTIONAL_INDEX_COLUMNS if c in names]
    table = pq.read_table(path, columns=list(INDEX_COLUMNS) + optional + ["survey_year"],
                          filters=latest_round_filter(int(survey_year)))
    return table.drop_columns(["survey_year"]).to_pandas()


def write_index(households_path: str | os.PathLike[str], *, pairs: bool = True) -> Path:
    """Index every survey round of a households file once and persist the indexes beside it, with
    each earlier round paired with the latest (``pairs``).

    Only the columns the engine needs are read (:data:`geo.engine.aggregate.INDEX_COLUMNS`; for
    the pairs, :data:`PAIR_COLUMNS`). The index records the file's size and modification time, so
    :func:`read_index` and :func:`read_pairs` ignore it once the file changes. The folder is
    written under a new name and renamed into place. Layout: the module's docstring.

    Parameters
    ----------
    households_path : path
        A households parquet file in the data contract.
    pairs : bool, default True
        Also pair each earlier round with the latest and persist the pairs and their cube.

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

    from geo.data.rounds import round_years

    path = Path(households_path)
    final = index_dir_for(path)
    tmp = final.with_name(final.name + ".tmp")
    try:
        signature = _file_signature(path)
        years = round_years(path)
        if not years:
            raise StoreError(f"store: {path} holds no households")
        shutil.rmtree(tmp, ignore_errors=True)
        latest = years[-1]
        _write_round_index(path, latest, signature, tmp)
        for year in years[:-1]:
            _write_round_index(path, year, signature, tmp / ROUNDS_DIR / str(year))
        if pairs:
            for year in years[:-1]:
                _write_pairs(path, year, latest, signature, tmp / PAIRS_DIR / f"{year}-{latest}")
    except (OSError, ValueError, KeyError, PPAPError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"store: cannot index {path}: {exc}") from exc
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def _write_round_index(path: Path, year: int, signature: list[int], folder: Path) -> None:
    """One round's :class:`~geo.engine.aggregate.HouseholdIndex` and profile cube into ``folder``."""
    import numpy as np

    from geo.engine.aggregate import index_households
    from geo.engine.cube import build_cube, keep_all_rows_sums, write_cube

    index = index_households(read_round_for_index(path, year))
    folder.mkdir(parents=True)
    for name in INDEX_ARRAYS:
        np.save(folder / f"{name}.npy", getattr(index, name), allow_pickle=False)
    # The profile cube too (geo.engine.cube), with the sums of all its rows per level, so the first
    # map and the first filter change after a start pay no pass over every household or cube row.
    cube = build_cube(index)
    keep_all_rows_sums(index, cube)
    write_cube(cube, folder)
    meta = {
        "version": INDEX_VERSION, "source": path.name, "source_signature": signature, "survey_year": int(year),
        "rows": int(index.n), **{name: [str(c) for c in getattr(index, name)] for name in INDEX_CODES},
    }
    (folder / "index.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def read_index(households_path: str | os.PathLike[str], *, mmap: bool = True, survey_year: int | None = None):
    """The persisted index of a households file's round ``survey_year`` (CE; default the latest),
    or ``None`` when there is none or it is stale (:func:`write_index`).

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
        meta = _fresh_meta(folder / "index.json", path)
        if meta is None:
            return None
        if survey_year is not None and meta.get("survey_year") != int(survey_year):
            folder = folder / ROUNDS_DIR / str(int(survey_year))
            meta = _fresh_meta(folder / "index.json", path)
            if meta is None or meta.get("survey_year") != int(survey_year):
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


def _fresh_meta(meta_path: Path, households_path: Path) -> dict | None:
    """An ``index.json`` of this version written from the file as it is now, else ``None``."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("version") != INDEX_VERSION or meta.get("source_signature") != _file_signature(households_path):
        return None
    return meta


# ---------------------------------------------------------------------------------------------
# Pairs of two rounds (geo.engine.mobility)
# ---------------------------------------------------------------------------------------------

#: Columns of a households file that :func:`geo.engine.mobility.pair_rounds` reads (as the app's pairs do).
PAIR_COLUMNS: tuple[str, ...] = ("household_id", "survey_year", "province_code", "district_code", "subdistrict_code",
                                 "poverty_level", "members", "lat", "lon", *CAPITAL_COLUMNS, "pilot_id")


def _write_pairs(path: Path, year_from: int, year_to: int, signature: list[int], folder: Path) -> None:
    """Pair two rounds of a households file and save the pairs and their cube into ``folder``."""
    import pyarrow.parquet as pq

    from geo.checks import H3_RESOLUTIONS
    from geo.engine.mobility import pair_rounds
    from geo.engine.mobility_cube import h3_cube_for, pairs_cube_for

    held = set(pq.read_schema(path).names)
    columns = [c for c in PAIR_COLUMNS if c in held]
    frame = pq.read_table(path, columns=columns, filters=[("survey_year", "in", [int(year_from), int(year_to)])]
                          ).to_pandas()
    pairs = pair_rounds(frame, year_from, year_to)
    del frame
    folder.mkdir(parents=True)
    spec = write_frame(pairs, folder / "frame")
    write_pairs_cube(pairs_cube_for(pairs), folder / "cube")
    h3_cubes = {}
    for res in H3_RESOLUTIONS:  # the kept ones (coarse cells); None: the plain path, not tried again
        cube = h3_cube_for(pairs, res)
        h3_cubes[str(res)] = None if cube is None else f"h3_{res}"
        if cube is not None:
            write_h3_cube(cube, folder / f"h3_{res}")
    meta = {"version": INDEX_VERSION, "source": path.name, "source_signature": signature,
            "year_from": int(year_from), "year_to": int(year_to), "rows": len(pairs), "columns": spec,
            "h3_cubes": h3_cubes}
    (folder / "pairs.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def read_pairs(households_path: str | os.PathLike[str], year_from: int, year_to: int):
    """The persisted pairs of two rounds of a households file (:func:`write_index`), memory-mapped,
    with their pairs cube and H3 cubes registered (:func:`geo.engine.mobility_cube.pairs_cube_for`
    and :func:`~geo.engine.mobility_cube.h3_cube_for` return them without a pass over the pairs,
    and a resolution whose H3 cube was not kept goes to the plain path without trying again);
    ``None`` when there are none or they are stale.

    The frame equals :func:`geo.engine.mobility.pair_rounds` of the file's two rounds (every
    column, dtype and ``attrs``); it is read-only: never change it.
    """
    from geo.engine.mobility_cube import register_h3_cube, register_pairs_cube

    path = Path(households_path)
    folder = index_dir_for(path) / PAIRS_DIR / f"{int(year_from)}-{int(year_to)}"
    meta = _fresh_meta(folder / "pairs.json", path)
    if meta is None:
        return None
    try:
        pairs = read_frame(folder / "frame", meta["columns"])
        cube = read_pairs_cube(folder / "cube")
        h3_cubes = {int(res): None if name is None else read_h3_cube(folder / name)
                    for res, name in meta.get("h3_cubes", {}).items()}
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"store: the persisted pairs in {folder} cannot be read: {exc}") from exc
    pairs.attrs = {"year_from": int(meta["year_from"]), "year_to": int(meta["year_to"])}
    register_pairs_cube(pairs, cube)
    for res, h3_cube in h3_cubes.items():
        register_h3_cube(pairs, res, h3_cube)
    return pairs


# ---------------------------------------------------------------------------------------------
# Frames and pairs cubes as memory-mappable files
# ---------------------------------------------------------------------------------------------


def write_frame(frame: pd.DataFrame, folder: Path) -> list[dict]:
    """Save every column of ``frame`` into ``folder`` (``c<i>.npy``; categorical codes with their
    categories, nullable integers with their mask, text as an Arrow IPC file) and return the
    specification :func:`read_frame` reads it back with.

    Raises
    ------
    StoreError
        For a column of a kind it cannot save.
    """
    import pandas as pd

    import numpy as np
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    spec = []
    for i, name in enumerate(frame.columns):
        column, stem = frame[name], folder / f"c{i}"
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            np.save(f"{stem}.npy", column.cat.codes.to_numpy(), allow_pickle=False)
            categories = dtype.categories
            entry = {"kind": "category", "ordered": bool(dtype.ordered)}
            if categories.dtype.kind in "iuf":
                np.save(f"{stem}.categories.npy", categories.to_numpy(), allow_pickle=False)
                entry["categories"] = None
            else:
                entry["categories"] = [str(c) for c in categories]
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(column.array, "_mask"):
            np.save(f"{stem}.npy", column.array._data, allow_pickle=False)
            np.save(f"{stem}.mask.npy", column.array._mask, allow_pickle=False)
            entry = {"kind": "masked", "dtype": str(dtype)}
        elif isinstance(dtype, pd.StringDtype) or dtype == object:
            values = pa.array(column.astype("string").array, type=pa.large_string())
            with pa.OSFile(f"{stem}.arrow", "wb") as sink, pa.ipc.new_file(sink, pa.schema([("v", values.type)])) as w:
                w.write_table(pa.table({"v": values}))
            entry = {"kind": "string", "dtype": str(dtype) if isinstance(dtype, pd.StringDtype) else "string"}
        elif isinstance(dtype, np.dtype):
            np.save(f"{stem}.npy", column.to_numpy(), allow_pickle=False)
            entry = {"kind": "numpy"}
        else:
            raise StoreError(f"store: cannot persist column {name!r} of type {dtype}")
        spec.append({"name": str(name), **entry})
    return spec


def read_frame(folder: Path, spec: list[dict]) -> pd.DataFrame:
    """A frame :func:`write_frame` saved, every column memory-mapped read-only (no copy)."""
    import pandas as pd

    import numpy as np
    import pyarrow as pa

    def load(suffix: str, i: int) -> np.ndarray:
        return np.asarray(np.load(folder / f"c{i}{suffix}", mmap_mode="r", allow_pickle=False))

    columns: dict[str, object] = {}
    for i, entry in enumerate(spec):
        kind = entry["kind"]
        if kind == "category":
            categories = entry["categories"]
            categories = pd.Index(load(".categories.npy", i) if categories is None else categories)
            dtype = pd.CategoricalDtype(categories, ordered=entry["ordered"])
            columns[entry["name"]] = pd.Categorical.from_codes(load(".npy", i), dtype=dtype, validate=False)
        elif kind == "masked":
            columns[entry["name"]] = _masked(entry["dtype"], load(".npy", i), load(".mask.npy", i))
        elif kind == "string":
            source = pa.memory_map(str(folder / f"c{i}.arrow"), "r")
            table = pa.ipc.open_file(source).read_all()
            columns[entry["name"]] = pd.array(table.column("v").cast(pa.string()), dtype=entry["dtype"])
        else:
            columns[entry["name"]] = load(".npy", i)
    return pd.DataFrame(columns, copy=False)


def _masked(dtype: str, data, mask):
    """A nullable integer / boolean array over saved data and mask (no copy)."""
    import pandas as pd

    from pandas.core.arrays import BooleanArray, FloatingArray, IntegerArray

    kind = pd.api.types.pandas_dtype(dtype)
    cls = BooleanArray if isinstance(kind, pd.BooleanDtype) else \
        FloatingArray if isinstance(kind, pd.Float32Dtype | pd.Float64Dtype) else IntegerArray
    return cls(data, mask)


#: The other sums a pairs cube holds (:class:`geo.engine.mobility_cube.PairsCube`), each saved in a folder of its name.
_PAIRS_CUBE_SUMS: tuple[str, ...] = ("coarse", "by_pilot", "by_deficit")


def write_pairs_cube(cube, folder: Path) -> None:
    """Save a :class:`geo.engine.mobility_cube.PairsCube` (and its coarser sums) into ``folder``."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    spec = write_frame(cube.rows, folder / "rows")
    for level, codes in cube.place.items():
        np.save(folder / f"place_{level}.npy", codes, allow_pickle=False)
    np.save(folder / "transition.npy", cube.transition, allow_pickle=False)
    np.save(folder / "measures.npy", cube.measures, allow_pickle=False)
    meta = {"rows": spec, "categories": {level: [str(c) for c in values] for level, values in cube.categories.items()},
            "years": cube.years, "deficit_cutoff": cube.deficit_cutoff, "deficit": cube.deficit, "levels": list(cube.place),
            "coarse": None, "by_pilot": None, "by_deficit": None}
    for name in _PAIRS_CUBE_SUMS:
        other = getattr(cube, name)
        if other is cube:
            meta[name] = "self"
        elif other is not None:
            write_pairs_cube(other, folder / name)
            meta[name] = name
    (folder / "cube.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def read_pairs_cube(folder: Path):
    """A cube :func:`write_pairs_cube` saved, its arrays memory-mapped read-only."""
    import numpy as np

    from geo.engine.mobility_cube import PairsCube

    meta = json.loads((folder / "cube.json").read_text(encoding="utf-8"))

    def load(name: str) -> np.ndarray:
        return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False))

    cube = PairsCube(rows=read_frame(folder / "rows", meta["rows"]),
                     place={level: load(f"place_{level}") for level in meta["levels"]},
                     categories={level: np.asarray(values, dtype=object) for level, values in meta["categories"].items()},
                     transition=load("transition"), measures=load("measures"), years=meta["years"],
                     deficit_cutoff=float(meta["deficit_cutoff"]), deficit=bool(meta["deficit"]))
    for name in _PAIRS_CUBE_SUMS:
        if meta.get(name) == "self":
            object.__setattr__(cube, name, cube)
        elif meta.get(name) is not None:
            object.__setattr__(cube, name, read_pairs_cube(folder / meta[name]))
    return cube


#: The arrays of a :class:`geo.engine.mobility_cube.PairsH3Cube`, saved as ``<name>.npy``.
H3_CUBE_ARRAYS: tuple[str, ...] = ("cell", "cells", "counts", "keys", "sums", "parent", "transition", "pairs", "key")


def write_h3_cube(cube, folder: Path) -> None:
    """Save a :class:`geo.engine.mobility_cube.PairsH3Cube` into ``folder`` (its rows with
    :func:`write_frame`, each array as it is: narrow counts stay narrow)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    spec = write_frame(cube.rows, folder / "rows")
    for name in H3_CUBE_ARRAYS:
        np.save(folder / f"{name}.npy", getattr(cube, name), allow_pickle=False)
    meta = {"rows": spec, "res": int(cube.res), "years": cube.years}
    (folder / "cube.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def read_h3_cube(folder: Path):
    """An H3 cube :func:`write_h3_cube` saved, its arrays memory-mapped read-only."""
    import numpy as np

    from geo.engine.mobility_cube import PairsH3Cube

    meta = json.loads((folder / "cube.json").read_text(encoding="utf-8"))
    arrays = {name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False))
              for name in H3_CUBE_ARRAYS}
    return PairsH3Cube(rows=read_frame(folder / "rows", meta["rows"]), res=int(meta["res"]), years=meta["years"],
                       **arrays)
