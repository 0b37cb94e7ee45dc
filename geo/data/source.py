"""Which households file the app shows, and how it is read (pure Python; ``pages/_shared.py`` caches it).

:func:`data_source` decides in one place: the file named by ``$PPAP_HOUSEHOLDS`` when set (e.g.
the national-scale data of ``python -m geo national``), else the dataset an administrator chose
(:func:`dataset_choice`, kept in ``data/settings.json``): the imported store, the bundled sample, or
``auto`` (the default) — the app's store (``geo.data.paths.store_dir()/households.parquet``) when it
holds households, else the synthetic sample (``geo.data.paths.samples_dir()/households.parquet``).
A chosen dataset that is missing falls back to the other; with neither, nothing. With
``$PPAP_DATABASE_URL`` set the store is the database, shown as a local Parquet snapshot of its
current data version (:func:`geo.data.database.snapshot`): another process's import is seen within
seconds, and the index and caches, keyed on the file, work unchanged.

:func:`read_source` reads one survey round of the shown file (the latest unless another is asked
for, :func:`read_round`) with its filters pushed down to the file (a province scope reads only its
row groups), its sample metadata and the pilot sites beside it; :func:`read_rounds` reads several
rounds at once (the Change page compares two). Narrowing to a user's scope is :mod:`geo.access.roles`'s business (``households_in_scope``,
``pilots_in_scope``), not this module's.

:func:`boundaries_dir` says where the deployment's boundaries are: the installed ones, or with
``$PPAP_DATABASE_URL`` set a local copy of the database's boundary release.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from geo.data import database, paths
from geo.data.contract import PILOT_COLUMN_NAMES, conform_pilots
from geo.data.rounds import round_filter, round_years
from geo.data.store import HOUSEHOLDS_FILE, is_synthetic, read_sample_metadata
from geo.errors import ArgumentError, ConfigError, InputFileError

#: Environment variable naming a households file to show instead of the store and the sample.
HOUSEHOLDS_ENV = "PPAP_HOUSEHOLDS"
SAMPLE_FILE = "households.parquet"
PILOTS_FILE = "pilots.csv"
MANIFEST_FILE = "manifest.json"
#: The app's settings an administrator changes in the app (``data/settings.json``, never committed).
SETTINGS_FILE = "settings.json"
#: The datasets an administrator may choose (:func:`dataset_choice`): ``auto`` shows the store when it
#: holds households, else the sample; ``sample`` and ``store`` pin one.
DATASET_CHOICES: tuple[str, ...] = ("auto", "sample", "store")


@dataclass(frozen=True)
class DataSource:
    """The households file the app shows and what it is.

    Attributes
    ----------
    path : pathlib.Path
    kind : str
        ``"store"`` or ``"sample"``; a ``$PPAP_HOUSEHOLDS`` file is ``"sample"`` when synthetic,
        else ``"store"``.
    synthetic : bool
        The file's sample metadata says it is synthetic.
    signature : (int, int)
        The file's size and modification time (:func:`file_signature`), for cache keys.
    """

    path: Path
    kind: str
    synthetic: bool
    signature: tuple[int, int]


class SourceRead(NamedTuple):
    """What :func:`read_source` read of a households file."""

    frame: pd.DataFrame
    #: The survey round read (CE): the only round ``frame`` holds.
    survey_year: int
    #: The file's sample metadata (:func:`metadata_of`).
    metadata: dict
    #: The pilot sites beside the file (:func:`pilots_beside`); ``None`` when not asked for.
    pilots: pd.DataFrame | None
    #: Every survey round the file holds (CE), oldest first.
    rounds: tuple[int, ...] = ()


def sample_path() -> Path:
    """Where the synthetic sample's households live (honours ``PPAP_DATA_DIR``)."""
    return paths.samples_dir() / SAMPLE_FILE


def store_path() -> Path:
    """Where imported households live (honours ``PPAP_DATA_DIR``)."""
    return paths.store_dir() / HOUSEHOLDS_FILE


def manifest_path() -> Path:
    """Where the installed boundaries' manifest lives (honours ``PPAP_DATA_DIR``)."""
    return paths.boundaries_dir() / MANIFEST_FILE


def boundaries_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where this deployment's boundaries are: the folder the app loads them from.

    With ``$PPAP_DATABASE_URL`` set the database is the system of record for the boundaries too:
    this is this machine's local copy of the database's boundary release
    (:func:`geo.data.database.boundaries_snapshot`, written once per release, the release polled
    at most every :data:`geo.data.database.RELEASE_POLL_SECONDS`). Otherwise, and when the
    database holds no boundaries (``db init --no-boundaries``), the installed boundaries
    (:func:`geo.data.paths.boundaries_dir`). Either folder holds ``province.parquet``,
    ``district.parquet``, ``subdistrict.parquet`` and ``manifest.json``
    (:func:`geo.data.boundaries.load_boundaries` reads it).

    Raises
    ------
    StoreError
        The database is set but cannot be read, or its boundaries cannot be written locally.

    Example
    -------
    >>> boundaries_dir({}) == paths.boundaries_dir()
    True
    """
    environ = os.environ if environ is None else environ
    if database.enabled(environ):
        snap = database.boundaries_snapshot(database.database_url(environ))
        if snap is not None:
            return snap
    return paths.boundaries_dir()


def file_signature(path: str | os.PathLike[str]) -> tuple[int, int]:
    """A file's ``(size, modification time in ns)``: a cache key that changes when the file does.

    Raises ``OSError`` when the file is missing.
    """
    stat = Path(path).stat()
    return stat.st_size, stat.st_mtime_ns


def parquet_rows(path: str | os.PathLike[str]) -> int:
    """Rows of a Parquet file from its footer (nothing else is read); 0 when it cannot be read."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError):
        return 0


def data_source(environ: Mapping[str, str] | None = None, *,
                row_count: Callable[[Path], int] = parquet_rows,
                synthetic: Callable[[Path], bool] = is_synthetic,
                prepare_snapshot: Callable[[Path], object] | None = None,
                choice: str | None = None) -> DataSource | None:
    """The households the app shows: ``$PPAP_HOUSEHOLDS`` when set, else the chosen dataset
    (``choice``): the store when it holds rows, else the sample (``auto``); the sample, else the
    store (``sample``); the store, else the sample (``store``). None if none of them.

    Parameters
    ----------
    environ : mapping, optional
        Where ``PPAP_HOUSEHOLDS`` is looked up; ``os.environ`` when omitted.
    row_count, synthetic : callable, optional
        How a file's rows are counted (:func:`parquet_rows`) and whether it is synthetic
        (:func:`geo.data.store.is_synthetic`); the app passes cached versions.
    prepare_snapshot : callable, optional
        Run on a new database snapshot before it is shown (:func:`geo.data.database.snapshot`'s
        ``prepare``); the app writes the engine's persisted index there.
    choice : {"auto", "sample", "store"}, optional
        The dataset to show; :func:`dataset_choice` (the administrator's setting) when omitted.

    Raises
    ------
    InputFileError
        ``$PPAP_HOUSEHOLDS`` is set but names no file.
    ArgumentError
        ``choice`` is not one of :data:`DATASET_CHOICES`.

    Example
    -------
    >>> data_source({"PPAP_HOUSEHOLDS": "data/national/households.parquet"}).kind  # doctest: +SKIP
    'sample'
    """
    environ = os.environ if environ is None else environ
    override = environ.get(HOUSEHOLDS_ENV)
    if override:
        path = Path(override).expanduser().resolve()
        if not path.is_file():
            raise InputFileError(f"{HOUSEHOLDS_ENV}={override}: no such file (python -m geo national writes one)")
        is_synth = synthetic(path)
        return DataSource(path, "sample" if is_synth else "store", is_synth, file_signature(path))
    choice = dataset_choice() if choice is None else _check_choice(choice)

    def store() -> DataSource | None:
        if database.enabled(environ):  # the database's households, as a local snapshot of its data version
            snap = database.snapshot(database.database_url(environ), prepare=prepare_snapshot)
            return None if snap is None else DataSource(snap, "store", synthetic(snap), file_signature(snap))
        path = store_path()
        if path.is_file() and row_count(path) > 0:
            return DataSource(path, "store", synthetic(path), file_signature(path))
        return None

    def sample() -> DataSource | None:
        path = sample_path()
        return DataSource(path, "sample", synthetic(path), file_signature(path)) if path.is_file() else None

    first, second = (sample, store) if choice == "sample" else (store, sample)
    return first() or second()


def settings_path() -> Path:
    """Where the app's settings live: ``data/settings.json`` (honours ``PPAP_DATA_DIR``)."""
    return paths.data_dir() / SETTINGS_FILE


def _check_choice(choice: object) -> str:
    if choice not in DATASET_CHOICES:
        raise ArgumentError(f"dataset must be one of {', '.join(DATASET_CHOICES)}; got {str(choice)[:40]!r}")
    return str(choice)


def read_settings(path: str | os.PathLike[str] | None = None) -> dict:
    """The settings file as a dict; ``{}`` when there is none.

    Raises
    ------
    ConfigError
        The file exists but is not a JSON object (the message names it).
    """
    import json

    path = Path(path) if path is not None else settings_path()
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the settings ({exc}); fix or delete the file") from exc
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: the settings must be a JSON object, got {type(settings).__name__}")
    return settings


def dataset_choice(path: str | os.PathLike[str] | None = None) -> str:
    """The dataset the administrator chose (``"auto"``, ``"sample"`` or ``"store"``); ``"auto"``
    when nothing was chosen, or the settings file cannot be read or holds an unknown value
    (a broken settings file never stops the app: it shows what ``auto`` shows).

    Example
    -------
    >>> dataset_choice("/nonexistent/settings.json")
    'auto'
    """
    try:
        value = read_settings(path).get("dataset", "auto")
    except ConfigError:
        return "auto"
    return value if value in DATASET_CHOICES else "auto"


def write_dataset_choice(choice: str, path: str | os.PathLike[str] | None = None) -> str:
    """Save the dataset choice in the settings file (atomically, keeping its other settings) and
    return the choice it replaced. Who may do it, and the audit record, are the caller's business
    (:func:`geo.access.settings.change_dataset`).

    Raises
    ------
    ArgumentError
        ``choice`` is not one of :data:`DATASET_CHOICES`.
    ConfigError
        The settings file cannot be written (an unreadable one is replaced, not an error).
    """
    import json
    import tempfile

    choice = _check_choice(choice)
    path = Path(path) if path is not None else settings_path()
    try:
        settings = read_settings(path)
    except ConfigError:
        settings = {}  # a broken file is replaced by a good one
    before = settings.get("dataset", "auto")
    settings["dataset"] = choice
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings, out, ensure_ascii=False, indent=2)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the settings ({exc})") from exc
    return before if before in DATASET_CHOICES else "auto"


def available_datasets(environ: Mapping[str, str] | None = None, *,
                       row_count: Callable[[Path], int] = parquet_rows) -> tuple[str, ...]:
    """The datasets there are to choose from: ``"sample"`` when the bundled sample is installed,
    ``"store"`` when the store (or the database) is set up. ``auto`` is always a choice."""
    environ = os.environ if environ is None else environ
    out = []
    if sample_path().is_file():
        out.append("sample")
    if database.enabled(environ) or (store_path().is_file() and row_count(store_path()) > 0):
        out.append("store")
    return tuple(out)


def dataset_overridden(environ: Mapping[str, str] | None = None) -> bool:
    """``$PPAP_HOUSEHOLDS`` names the shown file: the deployment, not the settings, decides."""
    environ = os.environ if environ is None else environ
    return bool(environ.get(HOUSEHOLDS_ENV))


def file_rounds(path: str | os.PathLike[str]) -> tuple[int, ...]:
    """Every survey round (CE) a households Parquet file holds, oldest first (reads one column).

    Raises
    ------
    InputFileError
        The file cannot be read or lacks ``survey_year``.
    """
    try:
        return tuple(round_years(path))
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}. Rebuild the sample with `python -m geo sample`.") from exc


def read_round(path: str | os.PathLike[str], survey_year: int | None = None, *,
               provinces: Iterable[str] | None = None, columns: Iterable[str] | None = None,
               rounds: Iterable[int] | None = None) -> tuple[pd.DataFrame, int]:
    """One survey round of a households Parquet file (the latest when ``survey_year`` is None or
    a round the file does not hold), and its year (CE).

    Filters are pushed down to the file: only that round's rows, only ``provinces``' rows when
    given (a province scope reads only its row groups) and only ``columns`` when given.

    Parameters
    ----------
    survey_year : int, optional
        The round in CE (:func:`geo.data.rounds.round_year` reads a BE or CE year).
    rounds : iterable of int, optional
        The file's rounds when the caller already knows them (:func:`file_rounds`).

    Raises
    ------
    InputFileError
        The file cannot be read, holds no households or lacks ``survey_year``.

    Example
    -------
    >>> frame, year = read_round("data/samples/households.parquet", 2021)  # doctest: +SKIP
    """
    held = tuple(rounds) if rounds is not None else file_rounds(path)
    if not held:
        raise InputFileError(f"{path} holds no households")
    year = int(survey_year) if survey_year is not None and int(survey_year) in held else held[-1]
    return _read(path, round_filter(year), provinces, columns), year


def read_latest_round(path: str | os.PathLike[str], *, provinces: Iterable[str] | None = None,
                      columns: Iterable[str] | None = None) -> tuple[pd.DataFrame, int]:
    """The latest survey round of a households Parquet file, and its year (:func:`read_round`)."""
    return read_round(path, None, provinces=provinces, columns=columns)


def read_rounds(path: str | os.PathLike[str], survey_years: Iterable[int], *,
                provinces: Iterable[str] | None = None, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The rows of several survey rounds of a households file (``survey_year`` tells them apart),
    with the same push-down as :func:`read_round`; rounds the file does not hold give no rows.

    Raises
    ------
    InputFileError
        The file cannot be read or lacks ``survey_year``.
    """
    years = sorted({int(y) for y in survey_years})
    if columns is not None and "survey_year" not in columns:
        columns = [*columns, "survey_year"]
    return _read(path, [("survey_year", "in", years)], provinces, columns)


def _read(path, filters: list, provinces: Iterable[str] | None, columns: Iterable[str] | None) -> pd.DataFrame:
    provinces = list(provinces) if provinces else None
    if provinces:
        filters = [*filters, ("province_code", "in", provinces)]
    try:
        frame = pd.read_parquet(path, columns=list(columns) if columns else None, filters=filters)
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}. Rebuild the sample with `python -m geo sample`.") from exc
    return frame.reset_index(drop=True)


def read_source(path: str | os.PathLike[str], *, provinces: Iterable[str] | None = None,
                columns: Iterable[str] | None = None, with_pilots: bool = True,
                survey_year: int | None = None) -> SourceRead:
    """:func:`read_round` of ``path`` (the latest round unless ``survey_year`` names another the file
    holds), with its metadata, its rounds and (unless ``with_pilots=False``) the pilot sites beside it.

    Raises
    ------
    InputFileError
        The households or the pilots cannot be read.
    """
    rounds = file_rounds(path)
    frame, year = read_round(path, survey_year, provinces=provinces, columns=columns, rounds=rounds)
    return SourceRead(frame, year, metadata_of(path), pilots_beside(path) if with_pilots else None, rounds)


def metadata_of(path: str | os.PathLike[str]) -> dict:
    """The file's sample metadata (:func:`geo.data.store.read_sample_metadata`); ``{}`` when unreadable."""
    try:
        return read_sample_metadata(Path(path))
    except (OSError, ValueError):
        return {}


def pilots_beside(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The pilot sites of a households file: ``pilots.csv`` beside it, else the sample's.

    Pilot sites are programme facts, not household rows: the store's own list when it has one,
    else the sample's (:func:`read_pilots`).
    """
    pilots_file = Path(path).with_name(PILOTS_FILE)
    if not pilots_file.is_file():
        pilots_file = paths.samples_dir() / PILOTS_FILE
    return read_pilots(pilots_file)


def read_pilots(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A pilots CSV, conformed (:func:`geo.data.contract.conform_pilots`); no rows when there is no file.

    Raises
    ------
    InputFileError
        The file exists but cannot be read or conformed.
    """
    path = Path(path)
    if not path.is_file():
        return conform_pilots(pd.DataFrame({c: [] for c in PILOT_COLUMN_NAMES}))
    try:
        frame = pd.read_csv(path, dtype={"province_code": str, "district_code": str, "pilot_id": str})
        return conform_pilots(frame)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read the pilots {path}: {exc}") from exc
