"""Thai administrative boundaries: install from files or URLs, normalise to DOPA codes, load.

``python -m geo boundaries install [--from PATH_OR_URL] [--dest DIR]`` reads boundaries in any of
three schemas, at whichever levels are present, from GeoJSON, GeoPackage or zipped Shapefile:

(a) OCHA COD-AB: ``ADM1_PCODE`` / ``ADM2_PCODE`` / ``ADM3_PCODE`` = ``TH`` + DOPA code;
(b) geoBoundaries: one file per level (``...-ADM1...``, ``...-ADM2...``), an English ``shapeName``
    only, no parent. Districts find their province by geometry (the province polygon holding the
    district's representative point), then their code by tolerant name matching within it;
(c) name-only (like ``../shared/boundaries``): ``ADMn_EN`` and ``ADMn_TH`` names, some Thai names
    cut short by the shapefile field limit, Bangkok districts without ``เขต``.

Every feature is matched to the ``geothai`` list of DOPA codes or listed in the manifest as
unmatched, never dropped silently. Geometries are repaired with ``shapely.make_valid`` (keeping
polygonal parts) and written as GeoParquet::

    DEST/province.parquet      code, parent_code (""), name_th, name_en, geometry (EPSG:4326)
    DEST/district.parquet      code (4 digits), parent_code (province), ...
    DEST/subdistrict.parquet   code (6 digits), parent_code (district), ...
    DEST/manifest.json         source, attribution, installed_at, levels: {level: {count, unmatched}},
                               tolerance_m and tolerance (how it was measured, :func:`measure_tolerance_m`)

Names in the output are ``geothai``'s (the full, current DOPA names), not the source's.

Coordinate order: shapely and GeoJSON positions are (lon, lat).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import geothai
import pandas as pd
import pyogrio
import shapely
from geothai._normalize import normalize as geothai_normalize

from geo.data import paths
from geo.data.areas import AREA_WIDTH_BY_LEVEL
from geo.errors import BoundaryError

LEVELS: tuple[str, ...] = ("province", "district", "subdistrict")
LEVEL_ADM: dict[str, int] = {"province": 1, "district": 2, "subdistrict": 3}
ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO)"
OUTPUT_COLUMNS: tuple[str, ...] = ("code", "parent_code", "name_th", "name_en", "geometry")

#: Official releases tried, in order, when no local source is found. geoBoundaries republishes the
#: RTSD/OCHA COD-AB at ADM1 and ADM2.
OFFICIAL_URLS: tuple[str, ...] = (
    "https://github.com/wmgeolab/geoBoundaries/raw/main/releaseData/gbOpen/THA/ADM1/geoBoundaries-THA-ADM1.geojson",
    "https://github.com/wmgeolab/geoBoundaries/raw/main/releaseData/gbOpen/THA/ADM2/geoBoundaries-THA-ADM2.geojson",
)
HDX_PAGE = "https://data.humdata.org/dataset/cod-ab-tha"
VECTOR_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".zip", ".shp")
DOWNLOAD_TIMEOUT_S = (10, 60)  # (connect, read) seconds
#: Metres a position may lie outside its declared district without being flagged, for boundaries
#: whose manifest does not record ``tolerance_m`` (installed before it was measured, or a single
#: level, where nothing can be measured). About half the median of the shared set (2,230 m).
DEFAULT_TOLERANCE_M = 1_000.0
#: Parent and child levels whose disagreement measures the set's accuracy.
TOLERANCE_PAIRS: tuple[tuple[str, str], ...] = (("province", "district"), ("district", "subdistrict"))
#: Metric CRS for the measurement: UTM zone 47N (all of Thailand within about 0.1% scale error).
METRIC_CRS = "EPSG:32647"


# ---------------------------------------------------------------------------------------------
# Loading what is installed
# ---------------------------------------------------------------------------------------------


def load_boundaries(level: str, directory: Path | None = None) -> gpd.GeoDataFrame:
    """Load one installed boundary level.

    Parameters
    ----------
    level : {"province", "district", "subdistrict"}
    directory : Path, optional
        Where the boundaries were installed; default :func:`geo.data.paths.boundaries_dir`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``parent_code``, ``name_th``, ``name_en``, ``geometry`` (EPSG:4326),
        sorted by ``code``.

    Raises
    ------
    BoundaryError
        When ``level`` is unknown or the level is not installed (the message says how to install).

    Example
    -------
    >>> districts = load_boundaries("district")  # doctest: +SKIP
    >>> districts.loc[districts.code == "4609", "name_en"].item()  # doctest: +SKIP
    'Sahatsakhan'
    """
    if level not in LEVELS:
        raise BoundaryError(f"level must be one of {LEVELS}, got {level!r}")
    directory = Path(directory) if directory is not None else paths.boundaries_dir()
    path = directory / f"{level}.parquet"
    if not path.exists():
        raise BoundaryError(
            f"{level} boundaries are not installed in {directory}; run: python -m geo boundaries install"
        )
    frame = gpd.read_parquet(path)
    frame.attrs["tolerance_m"] = boundary_tolerance_m(read_manifest(directory))
    return frame


def boundary_tolerance_m(manifest: dict) -> float:
    """The installed boundaries' tolerance in metres: ``manifest["tolerance_m"]``, or
    :data:`DEFAULT_TOLERANCE_M` when the manifest has none (an older install, or one level only).

    :func:`load_boundaries` puts it in the frame's ``attrs["tolerance_m"]``; the importer does not
    flag a position as outside its district when it lies within that distance of it.

    >>> boundary_tolerance_m({"tolerance_m": 2230.0}), boundary_tolerance_m({})
    (2230.0, 1000.0)
    """
    value = manifest.get("tolerance_m") if isinstance(manifest, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return DEFAULT_TOLERANCE_M


def measure_tolerance_m(frames: dict[str, gpd.GeoDataFrame]) -> dict:
    """How precise a simplified boundary set is, measured from the set itself.

    The installed levels were simplified one by one (the installer does not simplify; the
    source did), so a border shared by a parent and its children is drawn twice, by two
    simplifications. For every parent (a province, a district) this takes the Hausdorff distance
    between its outline and the outline of the union of its children, in metres
    (:data:`METRIC_CRS`): how far the set's own two drawings of the same border lie apart. The
    set cannot place a point more precisely than that. ``tolerance_m`` is the larger of the
    pairs' medians, rounded up to 10 m (the unsimplified source is not at hand to compare with).

    Parameters
    ----------
    frames : dict
        ``{level: GeoDataFrame}`` with ``code``, ``parent_code`` and ``geometry`` (EPSG:4326).

    Returns
    -------
    dict
        ``{"tolerance_m": float or None, "method": str, "pairs": {"district/subdistrict":
        {"parents": n, "median_m", "p90_m", "max_m"}, ...}}``; ``tolerance_m`` None when no pair
        of levels is present.
    """
    import numpy as np

    pairs = {}
    for parent, child in TOLERANCE_PAIRS:
        if parent not in frames or child not in frames or frames[parent].empty or frames[child].empty:
            continue
        parents = frames[parent][["code", "geometry"]].to_crs(METRIC_CRS).set_index("code")
        children = frames[child][["parent_code", "geometry"]].to_crs(METRIC_CRS)
        unions = children.dissolve("parent_code")
        common = parents.index.intersection(unions.index)
        if not len(common):
            continue
        outlines = shapely.boundary(np.asarray(parents.loc[common, "geometry"], dtype=object))
        child_outlines = shapely.boundary(np.asarray(unions.loc[common, "geometry"], dtype=object))
        distance = shapely.hausdorff_distance(outlines, child_outlines)
        distance = distance[np.isfinite(distance)]
        if not distance.size:
            continue
        pairs[f"{parent}/{child}"] = {
            "parents": int(distance.size),
            "median_m": round(float(np.median(distance)), 1),
            "p90_m": round(float(np.percentile(distance, 90)), 1),
            "max_m": round(float(distance.max()), 1),
        }
    if not pairs:
        return {"tolerance_m": None, "method": "not measured: fewer than two nested levels", "pairs": {}}
    worst = max(p["median_m"] for p in pairs.values())
    return {
        "tolerance_m": float(np.ceil(worst / 10.0) * 10.0),
        "method": ("median over parents of the Hausdorff distance (metres, EPSG:32647) between a parent's "
                   "outline and the outline of the union of its children, the larger over the level pairs"),
        "pairs": pairs,
    }


def read_manifest(directory: Path | None = None) -> dict:
    """Return the installed ``manifest.json`` as a dict (``{}`` when nothing is installed)."""
    directory = Path(directory) if directory is not None else paths.boundaries_dir()
    path = directory / "manifest.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Reading sources: files, folders, zips, GeoPackage layers
# ---------------------------------------------------------------------------------------------


@dataclass
class SourceLayer:
    """One layer read from a source, before its level and schema are known."""

    name: str  # file (and layer) it came from, for messages and the manifest
    frame: gpd.GeoDataFrame


def _read_vector(path: str, layer: str | None = None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises many types for unreadable files
        raise BoundaryError(f"cannot read boundaries from {path}{f' (layer {layer})' if layer else ''}: {exc}") from exc
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    return frame


def _layers_of_file(path: Path) -> list[SourceLayer]:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
        except zipfile.BadZipFile as exc:
            raise BoundaryError(f"{path} is not a readable zip file: {exc}") from exc
        inner = [m for m in members if Path(m).suffix.lower() in (".shp", ".geojson", ".json", ".gpkg")]
        if not inner:
            raise BoundaryError(f"{path} holds no .shp, .geojson or .gpkg file (found: {members[:10]})")
        layers: list[SourceLayer] = []
        for member in sorted(inner):
            vsi = f"/vsizip/{path}/{member}"
            if member.lower().endswith(".gpkg"):
                for layer_name, _ in pyogrio.list_layers(vsi):
                    layers.append(SourceLayer(f"{path.name}!{member}:{layer_name}", _read_vector(vsi, layer_name)))
            else:
                layers.append(SourceLayer(f"{path.name}!{member}", _read_vector(vsi)))
        return layers
    if suffix == ".gpkg":
        try:
            layer_names = [row[0] for row in pyogrio.list_layers(path)]
        except Exception as exc:
            raise BoundaryError(f"cannot read GeoPackage {path}: {exc}") from exc
        return [SourceLayer(f"{path.name}:{name}", _read_vector(str(path), name)) for name in layer_names]
    return [SourceLayer(path.name, _read_vector(str(path)))]


def read_source_layers(source: Path) -> list[SourceLayer]:
    """Read every vector layer of a file or a folder of files.

    Raises
    ------
    BoundaryError
        When the path does not exist, holds no vector file, or a file cannot be read.
    """
    source = Path(source)
    if not source.exists():
        raise BoundaryError(f"boundary source {source} does not exist")
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in VECTOR_SUFFIXES)
        if not files:
            raise BoundaryError(
                f"{source} holds no boundary file (looked for {', '.join(VECTOR_SUFFIXES)})"
            )
    else:
        files = [source]
    return [layer for path in files for layer in _layers_of_file(path)]


# ---------------------------------------------------------------------------------------------
# Recognising a layer's level and schema
# ---------------------------------------------------------------------------------------------

_ADM_IN_NAME = re.compile(r"adm(?:in)?[_\- ]?([0-3])", re.IGNORECASE)
_LEVEL_WORDS: dict[str, str] = {
    "sub_district": "subdistrict", "subdistrict": "subdistrict", "tambon": "subdistrict",
    "district": "district", "amphoe": "district", "province": "province", "changwat": "province",
}


def _upper_columns(frame: pd.DataFrame) -> dict[str, str]:
    return {str(c).upper(): str(c) for c in frame.columns}


def classify_layer(layer: SourceLayer) -> tuple[str, str] | None:
    """Return ``(level, schema)`` for a layer, or ``None`` for a layer to skip (country outline).

    ``schema`` is ``"codab"``, ``"geoboundaries"`` or ``"names"``.

    Raises
    ------
    BoundaryError
        When the layer's columns match none of the three schemas.
    """
    cols = _upper_columns(layer.frame)
    for adm, level in ((3, "subdistrict"), (2, "district"), (1, "province")):
        if f"ADM{adm}_PCODE" in cols:
            return level, "codab"
    for adm, level in ((3, "subdistrict"), (2, "district"), (1, "province")):
        if f"ADM{adm}_EN" in cols or f"ADM{adm}_TH" in cols:
            return level, "names"
    if "ADM0_PCODE" in cols or "ADM0_EN" in cols:
        return None
    if "SHAPENAME" in cols:
        adm: int | None = None
        if "SHAPETYPE" in cols:
            found = _ADM_IN_NAME.search(str(layer.frame[cols["SHAPETYPE"]].iloc[0]))
            adm = int(found.group(1)) if found else None
        if adm is None:
            found = _ADM_IN_NAME.search(layer.name)
            adm = int(found.group(1)) if found else None
        if adm is None:
            lowered = layer.name.lower()
            for word, level in _LEVEL_WORDS.items():
                if word in lowered:
                    return level, "geoboundaries"
            raise BoundaryError(
                f"{layer.name}: a geoBoundaries file whose level is unknown; name it with ADM1/ADM2/ADM3"
            )
        if adm == 0:
            return None
        return {1: "province", 2: "district", 3: "subdistrict"}[adm], "geoboundaries"
    raise BoundaryError(
        f"{layer.name}: columns {sorted(cols)} match no known schema; expected COD-AB "
        "(ADM1_PCODE...), geoBoundaries (shapeName) or names (ADM1_EN/ADM1_TH...)"
    )


# ---------------------------------------------------------------------------------------------
# Name matching
# ---------------------------------------------------------------------------------------------

# English words that say the level, not the name ("Chiang Mai Province", "Amphoe Mueang").
_EN_LEVEL_WORDS = re.compile(
    r"\b(province|changwat|district|amphoe|amphur|amphoe|king amphoe|khet|subdistrict|sub-district|"
    r"tambon|khwaeng|khwang|city|municipality)\b",
    re.IGNORECASE,
)
_NON_LETTERS = re.compile(r"[^a-z\u0e00-\u0e7f]")
# Older romanisations seen in public files, rewritten to RTGS before comparing.
_EN_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("muang", "mueang"), ("amphur", "amphoe"), ("krung thep maha nakhon", "bangkok"),
    ("krung thep", "bangkok"),
)


def normalise_en(name: object) -> str:
    """Put an English place name in comparable form: lower case, RTGS spellings, no level words.

    Example
    -------
    >>> normalise_en("Muang Kalasin District")
    'mueangkalasin'
    """
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for old, new in _EN_SPELLINGS:
        text = re.sub(rf"\b{old}\b", new, text)
    text = _EN_LEVEL_WORDS.sub(" ", text)
    return _NON_LETTERS.sub("", text)


def normalise_th(name: object) -> str:
    """Put a Thai place name in comparable form (``geothai``'s normaliser: no prefix, no spaces).

    Example
    -------
    >>> normalise_th("เขต พระนคร")
    'พระนคร'
    """
    if not isinstance(name, str):
        return ""
    return geothai_normalize(unicodedata.normalize("NFC", name).strip())


@dataclass(frozen=True)
class Candidate:
    """A DOPA area a source feature may be: its code and comparable names."""

    code: str
    th: str
    en: str


def _score(th: str, en: str, cand: Candidate) -> float:
    """How well source names fit a candidate: 1.0 exact, 0.95 a cut-short Thai name, else fuzzy."""
    if th and th == cand.th:
        return 1.0
    if en and en == cand.en:
        # Romanisations collide (Ayutthaya has two "Bang Sai": บางไทร and บางซ้าย): a Thai name
        # that disagrees lowers an English match below any Thai one.
        if th and cand.th and not cand.th.startswith(th):
            return 0.8
        return 0.97
    # Thai names cut short by the shapefile field limit: the source is a prefix of the real name.
    if th and len(th) >= 4 and cand.th.startswith(th):
        return 0.95
    best = 0.0
    if en and cand.en:
        ratio = difflib.SequenceMatcher(None, en, cand.en).ratio()
        if ratio >= 0.75:
            best = max(best, 0.9 * ratio)
    if th and cand.th:
        ratio = difflib.SequenceMatcher(None, th, cand.th).ratio()
        if ratio >= 0.8:
            best = max(best, 0.9 * ratio)
    return best


def match_names(
    names: Sequence[tuple[str, str]], candidates: Sequence[Candidate]
) -> list[str | None]:
    """Match source names to candidate areas one-to-one, best scores first.

    Parameters
    ----------
    names : sequence of (thai, english)
        Source feature names, already normalised (:func:`normalise_th`, :func:`normalise_en`);
        either may be empty.
    candidates : sequence of Candidate
        The DOPA areas these features may be (e.g. the districts of one province).

    Returns
    -------
    list of str or None
        For each source feature, the matched code, or ``None`` when no candidate fits well enough
        or a better-fitting feature took it.

    Example
    -------
    >>> match_names([("", "muangkalasin")], [Candidate("4601", "เมืองกาฬสินธุ์", "mueangkalasin")])
    ['4601']
    """
    pairs: list[tuple[float, int, int]] = []
    for i, (th, en) in enumerate(names):
        for j, cand in enumerate(candidates):
            score = _score(th, en, cand)
            if score > 0:
                pairs.append((score, i, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    result: list[str | None] = [None] * len(names)
    taken: set[int] = set()
    for _, i, j in pairs:
        if result[i] is None and j not in taken:
            result[i] = candidates[j].code
            taken.add(j)
    return result


def _candidates(level: str, parent_code: str | None) -> list[Candidate]:
    if level == "province":
        areas: Iterable = geothai.provinces()
    elif level == "district":
        areas = geothai.districts(parent_code) if parent_code else []
    else:
        areas = geothai.subdistricts(parent_code) if parent_code else []
    return [Candidate(a.code, normalise_th(a.name_th), normalise_en(a.name_en)) for a in areas]


def _dopa_area(level: str, code: str):
    return {"province": geothai.province, "district": geothai.district, "subdistrict": geothai.subdistrict}[level](code)


# ---------------------------------------------------------------------------------------------
# Normalising one level
# ---------------------------------------------------------------------------------------------


@dataclass
class LevelResult:
    """The matched features of one level, and what could not be matched."""

    frame: gpd.GeoDataFrame
    unmatched: list[dict] = field(default_factory=list)
    source_features: int = 0
    matched_features: int = 0


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    cols = _upper_columns(frame)
    if name.upper() in cols:
        return frame[cols[name.upper()]].astype("string").fillna("")
    return pd.Series("", index=frame.index, dtype="string")


def _describe(row_names: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row_names.items() if v}


def _match_codab(layer: SourceLayer, level: str) -> tuple[pd.Series, list[dict]]:
    adm = LEVEL_ADM[level]
    raw = _column(layer.frame, f"ADM{adm}_PCODE").str.strip().str.upper()
    codes = raw.str.removeprefix("TH")
    width = AREA_WIDTH_BY_LEVEL[level]
    codes = codes.where(codes.str.fullmatch(r"\d+"), "").str.zfill(width).where(lambda s: s != "0" * width, "")
    known = codes.map(lambda c: bool(c) and _dopa_area(level, c) is not None)
    unmatched = [
        _describe({"source": layer.name, "pcode": str(raw[i]), "name_en": str(_column(layer.frame, f"ADM{adm}_EN")[i]),
                   "reason": "code not in the DOPA list"})
        for i in codes.index[~known]
    ]
    return codes.where(known, None), unmatched


def _match_by_parent(
    layer: SourceLayer,
    level: str,
    parent_codes: pd.Series,
    th_names: pd.Series,
    en_names: pd.Series,
) -> tuple[pd.Series, list[dict]]:
    """Match names within each parent (all provinces for the province level)."""
    codes = pd.Series(None, index=layer.frame.index, dtype="object")
    unmatched: list[dict] = []
    orphan_rows: set = set()
    for parent, idx in parent_codes.groupby(parent_codes, dropna=False).groups.items():
        parent_code = None if pd.isna(parent) else str(parent)
        if level != "province" and not parent_code:
            for i in idx:
                orphan_rows.add(i)
                unmatched.append(_describe({"source": layer.name, "name_th": str(th_names[i]), "name_en": str(en_names[i]),
                                            "reason": "parent area not found"}))
            continue
        names = [(normalise_th(th_names[i]), normalise_en(en_names[i])) for i in idx]
        matched = match_names(names, _candidates(level, parent_code))
        for i, code in zip(idx, matched):
            codes[i] = code
    if level == "subdistrict":
        _match_moved_subdistricts(codes, parent_codes, th_names, en_names)
    for i in codes.index[codes.isna()]:
        if i in orphan_rows:
            continue
        unmatched.append(_describe({"source": layer.name, "parent_code": str(parent_codes[i]),
                                    "name_th": str(th_names[i]), "name_en": str(en_names[i]),
                                    "reason": "no DOPA area of that name"}))
    return codes, unmatched


def _match_moved_subdistricts(
    codes: pd.Series, district_codes: pd.Series, th_names: pd.Series, en_names: pd.Series
) -> None:
    """Give a code to subdistricts that DOPA has since moved to another district of the province.

    Only exact names, among the province's subdistricts no other feature took, count here.
    """
    left = codes.index[codes.isna() & district_codes.notna()]
    taken = set(codes.dropna())
    for i in left:
        province_code = str(district_codes[i])[:2]
        candidates = [
            Candidate(s.code, normalise_th(s.name_th), normalise_en(s.name_en))
            for d in geothai.districts(province_code)
            for s in geothai.subdistricts(d.code)
            if s.code not in taken
        ]
        th, en = normalise_th(th_names[i]), normalise_en(en_names[i])
        exact = [c for c in candidates if th and c.th == th and (not en or c.en == en)]
        if len(exact) == 1:
            codes[i] = exact[0].code
            taken.add(exact[0].code)


def _parents_by_geometry(frame: gpd.GeoDataFrame, parents: gpd.GeoDataFrame | None) -> pd.Series:
    """For each feature, the code of the parent polygon holding its representative point."""
    if parents is None or parents.empty:
        return pd.Series(None, index=frame.index, dtype="object")
    points = gpd.GeoDataFrame(geometry=frame.geometry.representative_point(), crs=frame.crs)
    joined = gpd.sjoin(points, parents[["code", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["code"].reindex(frame.index).astype("object").where(lambda s: s.notna(), None)


def normalise_layer(
    layer: SourceLayer, level: str, schema: str, parents: gpd.GeoDataFrame | None
) -> LevelResult:
    """Match a layer's features to DOPA codes and repair their geometry.

    Parameters
    ----------
    layer : SourceLayer
    level : {"province", "district", "subdistrict"}
    schema : {"codab", "geoboundaries", "names"}
    parents : GeoDataFrame or None
        The already-normalised level above (needed by geoBoundaries to place features; used by
        name-only files only as a fall-back).

    Returns
    -------
    LevelResult
        One row per DOPA code (features of one code are unioned), and every unmatched feature.
    """
    frame = layer.frame
    adm = LEVEL_ADM[level]
    if schema == "codab":
        codes, unmatched = _match_codab(layer, level)
    elif schema == "names":
        th, en = _column(frame, f"ADM{adm}_TH"), _column(frame, f"ADM{adm}_EN")
        if level == "province":
            parent_codes = pd.Series("", index=frame.index, dtype="object")
        else:
            parent_codes = _parent_codes_from_names(frame, level)
        codes, unmatched = _match_by_parent(layer, level, parent_codes, th, en)
    else:  # geoboundaries
        en = _column(frame, "shapeName")
        th = pd.Series("", index=frame.index, dtype="string")
        if level == "province":
            parent_codes = pd.Series("", index=frame.index, dtype="object")
        else:
            parent_codes = _parents_by_geometry(frame, parents)
        codes, unmatched = _match_by_parent(layer, level, parent_codes, th, en)

    keep = codes.notna()
    matched = gpd.GeoDataFrame({"code": codes[keep].astype(str)}, geometry=frame.geometry[keep].values, crs="EPSG:4326")
    return LevelResult(_finish_level(matched, level), unmatched, len(frame), int(keep.sum()))


def _parent_codes_from_names(frame: gpd.GeoDataFrame, level: str) -> pd.Series:
    """Resolve each feature's parent through the names of its ancestors in name-only files."""
    province_names = list(zip(_column(frame, "ADM1_TH"), _column(frame, "ADM1_EN")))
    province_key = {key: None for key in province_names}
    keys = list(province_key)
    matched = match_names([(normalise_th(t), normalise_en(e)) for t, e in keys], _candidates("province", None))
    province_key = dict(zip(keys, matched))
    provinces = pd.Series([province_key[k] for k in province_names], index=frame.index, dtype="object")
    if level == "district":
        return provinces
    districts = pd.Series(None, index=frame.index, dtype="object")
    d_th, d_en = _column(frame, "ADM2_TH"), _column(frame, "ADM2_EN")
    for province_code, idx in provinces.groupby(provinces).groups.items():
        pairs = sorted({(d_th[i], d_en[i]) for i in idx})
        found = match_names([(normalise_th(t), normalise_en(e)) for t, e in pairs], _candidates("district", province_code))
        lookup = dict(zip(pairs, found))
        for i in idx:
            districts[i] = lookup[(d_th[i], d_en[i])]
    return districts


def repair_geometry(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Make geometries valid and keep only their polygonal parts (as MultiPolygon or Polygon).

    ``shapely.make_valid`` can turn a self-intersecting ring into a collection holding stray
    lines or points; those are dropped so every area stays an area.
    """
    valid = shapely.make_valid(geometry.values)
    polygonal = []
    for geom in valid:
        if geom is None or geom.is_empty:
            polygonal.append(geom)
        elif geom.geom_type in ("Polygon", "MultiPolygon"):
            polygonal.append(geom)
        else:
            parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
            polygonal.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return gpd.GeoSeries(polygonal, index=geometry.index, crs=geometry.crs)


def _finish_level(matched: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    matched = matched.set_geometry(repair_geometry(matched.geometry))
    if matched["code"].duplicated().any():
        matched = matched.dissolve(by="code", as_index=False)
        matched = matched.set_geometry(repair_geometry(matched.geometry))
    names = [_dopa_area(level, code) for code in matched["code"]]
    width = {"province": 0, "district": 2, "subdistrict": 4}[level]
    out = gpd.GeoDataFrame(
        {
            "code": matched["code"].astype("string"),
            "parent_code": matched["code"].str[:width].astype("string") if width else pd.Series("", index=matched.index, dtype="string"),
            "name_th": pd.Series([a.name_th for a in names], index=matched.index, dtype="string"),
            "name_en": pd.Series([a.name_en for a in names], index=matched.index, dtype="string"),
        },
        geometry=matched.geometry,
        crs="EPSG:4326",
    )
    return out.sort_values("code").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Installing
# ---------------------------------------------------------------------------------------------


def normalise_source(source: Path, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, LevelResult]:
    """Read a source (file or folder) and normalise every level present in it.

    Raises
    ------
    BoundaryError
        When the source is unreadable, holds no province/district/subdistrict layer, or holds
        one level twice.
    """
    by_level: dict[str, tuple[SourceLayer, str]] = {}
    for layer in read_source_layers(source):
        kind = classify_layer(layer)
        if kind is None:
            continue
        level, schema = kind
        if level in by_level:
            raise BoundaryError(
                f"{source}: two {level} layers ({by_level[level][0].name} and {layer.name}); give one per level"
            )
        by_level[level] = (layer, schema)
    if not by_level:
        raise BoundaryError(f"{source}: no province, district or subdistrict layer found")
    results: dict[str, LevelResult] = {}
    for level in LEVELS:
        if level not in by_level:
            continue
        layer, schema = by_level[level]
        progress(f"matching {len(layer.frame)} {level} features from {layer.name} ({schema})")
        parent_level = {"province": None, "district": "province", "subdistrict": "district"}[level]
        parents = results[parent_level].frame if parent_level in results else None
        results[level] = normalise_layer(layer, level, schema, parents)
    return results


def write_installed(results: dict[str, LevelResult], dest: Path, source_label: str) -> dict:
    """Write GeoParquet files and the manifest into a fresh folder beside ``dest``, then swap it in.

    Nothing in ``dest`` is touched until every file is written, so a failed install leaves the
    previous boundaries in place.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".boundaries-", dir=dest.parent))
    try:
        manifest = {
            "source": source_label,
            "attribution": ATTRIBUTION,
            "licence": "CC BY-IGO 3.0",
            "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "crs": "EPSG:4326",
            "levels": {},
        }
        measured = measure_tolerance_m({level: result.frame for level, result in results.items()})
        if measured["tolerance_m"] is not None:
            manifest["tolerance_m"] = measured["tolerance_m"]
        manifest["tolerance"] = {"method": measured["method"], "pairs": measured["pairs"]}
        for level, result in results.items():
            result.frame.to_parquet(staging / f"{level}.parquet", index=False)
            manifest["levels"][level] = {
                "count": int(len(result.frame)),
                "source_features": int(result.source_features),
                "matched_features": int(result.matched_features),
                "unmatched": result.unmatched,
            }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        dest.mkdir(parents=True, exist_ok=True)
        for stale in (*(f"{lvl}.parquet" for lvl in LEVELS), "manifest.json"):
            (dest / stale).unlink(missing_ok=True)
        for item in staging.iterdir():
            os.replace(item, dest / item.name)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def default_shared_source() -> Path:
    """``../shared/boundaries`` beside the project (the development and CI fixture)."""
    return paths.PROJECT_ROOT.parent / "shared" / "boundaries"


def resolve_source(explicit: str | None) -> list[str]:
    """The sources to install from, in order: ``--from``, ``$PPAP_BOUNDARIES``, ../shared, download.

    Returns
    -------
    list of str
        One local path, or the list of URLs to download.
    """
    if explicit:
        return [explicit]
    env = os.environ.get("PPAP_BOUNDARIES")
    if env:
        return [env]
    shared = default_shared_source()
    if shared.is_dir():
        return [str(shared)]
    return list(OFFICIAL_URLS)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _offline_message(urls: Sequence[str], reason: str) -> str:
    return (
        f"could not download boundaries ({reason}). On a machine with internet, download "
        f"{' and '.join(urls)} (or the Thailand COD-AB shapefile zip from {HDX_PAGE}), copy the "
        "file(s) into one folder here, then run: python -m geo boundaries install --from FOLDER"
    )


def download(urls: Sequence[str], into: Path, *, timeout: tuple[float, float] = DOWNLOAD_TIMEOUT_S,
             report: Callable[[str], None] = lambda _m: None) -> Path:
    """Download each URL into the folder ``into`` with progress; return that folder.

    Each file is streamed to a ``.part`` file and renamed only when complete.

    Raises
    ------
    BoundaryError
        On any network error, HTTP error or time-out, with what to download by hand and the
        command to run.
    """
    import requests  # only the download path needs it

    into.mkdir(parents=True, exist_ok=True)
    for url in urls:
        name = Path(url.split("?")[0]).name or "boundaries.geojson"
        target = into / name
        part = into / f"{name}.part"
        try:
            with requests.get(url, stream=True, timeout=timeout) as response:
                response.raise_for_status()
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                with part.open("wb") as out:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        out.write(chunk)
                        done += len(chunk)
                        percent = f" {100 * done / total:5.1f}%" if total else ""
                        report(f"\rdownloading {name}: {done / 1e6:6.1f} MB{percent}")
            report("\n")
        except requests.RequestException as exc:
            part.unlink(missing_ok=True)
            reason = type(exc).__name__
            if isinstance(exc, requests.HTTPError) and exc.response is not None:
                reason = f"HTTP {exc.response.status_code} from {url}"
            raise BoundaryError(_offline_message(urls, reason)) from None
        if total and done != total:
            part.unlink(missing_ok=True)
            raise BoundaryError(_offline_message(urls, f"{name} ended after {done} of {total} bytes"))
        os.replace(part, target)
    return into


def install(source: str | None = None, dest: Path | None = None, *,
            report: Callable[[str], None] = lambda _m: None) -> dict:
    """Install boundaries from a path or URL(s) into ``dest``; return the manifest.

    Parameters
    ----------
    source : str, optional
        A file, a folder or an http(s) URL. Default: see :func:`resolve_source`.
    dest : Path, optional
        Default :func:`geo.data.paths.boundaries_dir`.
    report : callable, optional
        Receives progress text.

    Raises
    ------
    BoundaryError
        When the source cannot be read or downloaded, or matches nothing.

    Example
    -------
    >>> install("../shared/boundaries", Path("/tmp/b"))["levels"]["district"]["count"]  # doctest: +SKIP
    928
    """
    dest = Path(dest) if dest is not None else paths.boundaries_dir()
    sources = resolve_source(source)
    if all(_is_url(s) for s in sources):
        with tempfile.TemporaryDirectory(prefix="ppap-download-") as tmp:
            folder = download(sources, Path(tmp), report=report)
            results = normalise_source(folder, progress=lambda m: report(m + "\n"))
            return write_installed(results, dest, " ".join(sources))
    local = Path(sources[0]).expanduser().resolve()
    results = normalise_source(local, progress=lambda m: report(m + "\n"))
    return write_installed(results, dest, str(local))
