"""The household and pilot-project data contract: columns, types, aliases, value ranges.

One row per household per survey round. Everything in ``geo`` that reads or writes households
speaks this contract; ``docs/DATA.md`` is its human-readable twin and must stay in step.

Coordinates are WGS84 degrees in the columns ``lat`` and ``lon`` (never ``lng``).
Codes are DOPA codes held as zero-padded strings: province 2 digits, district 4, subdistrict 6.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import ContractError
from geo.text.contract import ASSISTANCE_LABELS, CAPITAL_LABELS, DEPRIVATION_LABELS, LEVELS  # noqa: F401 (re-exported)

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

#: The five livelihood capitals, in the order used everywhere (columns, legends, profiles).
CAPITALS: tuple[str, ...] = ("human", "physical", "natural", "financial", "social")
#: The 20 PPAP pilot provinces (docs/DOMAIN.md), in the programme's order, Kalasin first.
PILOT_PROVINCES: tuple[str, ...] = (
    "46", "18", "94", "49", "58", "35", "33", "47", "32", "37",
    "31", "30", "42", "45", "52", "65", "93", "95", "96", "34",
)
CAPITAL_COLUMNS: tuple[str, ...] = tuple(f"capital_{c}" for c in CAPITALS)
#: Labels of the capitals, levels 1..4, deprivations and assistance statuses: ``geo.text.contract``.
CAPITAL_SCORE_MIN = 1.0
CAPITAL_SCORE_MAX = 4.0

#: Lower edges of the level bands on the mean capital score (docs/DOMAIN.md: 1.00-1.74, 1.75-2.49,
#: 2.50-3.24, 3.25-4.00).
LEVEL_BAND_LOWER_EDGES: tuple[float, ...] = (1.0, 1.75, 2.50, 3.25)

#: TPMAP's five deprivation dimensions (Basic Minimum Needs survey).
DEPRIVATIONS: tuple[str, ...] = ("health", "living", "education", "income", "access")
DEPRIVATION_COLUMNS: tuple[str, ...] = tuple(f"dep_{d}" for d in DEPRIVATIONS)

#: Assistance status values, with the words the Thai referral centres use.
ASSISTANCE_STATUSES: tuple[str, ...] = ("none", "referred", "in_progress", "helped", "self_resolved")

#: Thailand's extent (docs/DOMAIN.md): a latitude/longitude swap is always detectable.
THAILAND_LAT_RANGE = (5.6, 20.5)
THAILAND_LON_RANGE = (97.3, 105.7)


def round_positions(values: pd.Series, decimals: int) -> pd.Series:
    """Latitudes or longitudes rounded to ``decimals``, as ``Float64``: the one rounding rule of
    positions shown at reduced precision (``geo.access.roles.Capabilities.position_decimals``).

    Numbers are rounded as they are; text (an uploaded cell) is read as a number first, and what
    is no number becomes missing.

    Example
    -------
    >>> round_positions(pd.Series([16.43312, None]), 3).tolist()
    [16.433, <NA>]
    >>> round_positions(pd.Series([" 16.43312", "x"]), 3).tolist()
    [16.433, <NA>]
    """
    if not pd.api.types.is_numeric_dtype(values):
        values = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    return values.astype("Float64").round(decimals)


def position_text(values: pd.Series, decimals: int) -> pd.Series:
    """:func:`round_positions` as text with exactly ``decimals`` decimals; ``""`` for what is no number.

    Example
    -------
    >>> position_text(pd.Series(["16.43312", "", "n/a"]), 3).tolist()
    ['16.433', '', '']
    """
    rounded = round_positions(values, decimals)
    return rounded.map(lambda v: f"{v:.{decimals}f}" if pd.notna(v) else "").astype(object)


# ---------------------------------------------------------------------------------------------
# Household columns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the contract: its name, pandas dtype, whether it is required, and meaning."""

    name: str
    dtype: str
    required: bool
    description: str


HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("household_id", "string", True, "Household identifier, unique within a survey round"),
    Column("survey_year", "Int16", True, "Survey round, Common Era year (BE 2567 = CE 2024)"),
    Column("province_code", "string", True, "DOPA province code, 2 digits"),
    Column("district_code", "string", True, "DOPA district code, 4 digits"),
    Column("subdistrict_code", "string", False, "DOPA subdistrict code, 6 digits"),
    Column("village_no", "Int16", False, "Village number (หมู่ที่) within the subdistrict"),
    Column("lat", "Float64", False, "Latitude, WGS84 degrees"),
    Column("lon", "Float64", False, "Longitude, WGS84 degrees"),
    Column("members", "Int16", True, "Household members (people)"),
    Column("income_per_capita_year", "Float64", False, "Income per member per year, baht"),
    *(
        Column(col, "Float64", True, f"{CAPITAL_LABELS[cap]['en']} score, 1.0-4.0")
        for cap, col in zip(CAPITALS, CAPITAL_COLUMNS)
    ),
    Column("poverty_level", "Int8", True, "Level 1-4; derived from the mean capital score when absent"),
    Column("in_tpmap", "boolean", True, "Household is in the state's TPMAP data"),
    Column("verified", "boolean", False, "Household was verified in the field; unknown (NA) when not reported"),
    *(
        Column(col, "boolean", False,
               f"TPMAP deprivation: {DEPRIVATION_LABELS[dep]['en']}; unknown (NA) when not reported")
        for dep, col in zip(DEPRIVATIONS, DEPRIVATION_COLUMNS)
    ),
    Column("assistance_status", "string", False,
           "One of " + ", ".join(ASSISTANCE_STATUSES) + "; unknown (NA) when not reported"),
    Column("pilot_id", "string", False, "Pilot project the household is enrolled in, if any"),
    Column("national_id_hash", "string", False, "Keyed hash of the 13-digit national ID; never the raw ID"),
)
HOUSEHOLD_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in HOUSEHOLD_COLUMNS)
HOUSEHOLD_DTYPES: dict[str, str] = {c.name: c.dtype for c in HOUSEHOLD_COLUMNS}
REQUIRED_HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(c.name for c in HOUSEHOLD_COLUMNS if c.required)
#: Optional columns real files often lack: a file without them is accepted, the values stored as
#: unknown (NA: ``boolean``, ``Int16``, ``Float64``, ``string``), and the import notes which are absent.
#: The engine counts an unknown deprivation as no deprivation, an unknown ``verified`` as not
#: verified and an unknown assistance status as ``none`` (docs/ENGINE.md).
OPTIONAL_REPORTED_COLUMNS: tuple[str, ...] = (
    "village_no", "income_per_capita_year", "verified", *DEPRIVATION_COLUMNS, "assistance_status", "pilot_id",
)

#: Columns an input file may carry that are never stored as they are.
SENSITIVE_INPUT_COLUMNS: tuple[str, ...] = ("national_id", "head_name")

PILOT_COLUMNS: tuple[Column, ...] = (
    Column("pilot_id", "string", True, "Pilot project identifier"),
    Column("name_th", "string", True, "Project name in Thai"),
    Column("name_en", "string", True, "Project name in English"),
    Column("kind", "string", True, "Kind of project: mushroom, vegetables, rice, livestock, fishery, crafts, ..."),
    Column("university", "string", True, "University running the project"),
    Column("province_code", "string", True, "DOPA province code, 2 digits"),
    Column("district_code", "string", True, "DOPA district code, 4 digits"),
    Column("lat", "Float64", True, "Latitude of the project site, WGS84"),
    Column("lon", "Float64", True, "Longitude of the project site, WGS84"),
    Column("start_year", "Int16", True, "First year, CE"),
    Column("households_target", "Int32", True, "Households the project aims to enrol"),
    Column("illustrative", "boolean", False, "True for sites invented for the synthetic sample"),
)
PILOT_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in PILOT_COLUMNS)
PILOT_DTYPES: dict[str, str] = {c.name: c.dtype for c in PILOT_COLUMNS}

# ---------------------------------------------------------------------------------------------
# Header aliases (Thai and English) -> contract column
# ---------------------------------------------------------------------------------------------

#: Every accepted header for each column. Matching ignores case, spaces, dots, hyphens and
#: underscores (see :func:`header_key`). Name columns (จังหวัด, อำเภอ, ตำบล) map to the code
#: columns: the importer resolves names to codes.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "household_id": ("household_id", "hh_id", "household", "รหัสครัวเรือน", "รหัสบ้าน", "เลขที่ครัวเรือน"),
    "survey_year": ("survey_year", "year", "survey_round", "ปีสำรวจ", "ปีที่สำรวจ", "ปี", "ปี พ.ศ.", "พ.ศ."),
    "province_code": ("province_code", "province", "changwat", "รหัสจังหวัด", "จังหวัด"),
    "district_code": ("district_code", "district", "amphoe", "รหัสอำเภอ", "อำเภอ", "อำเภอ/เขต"),
    "subdistrict_code": ("subdistrict_code", "subdistrict", "tambon", "รหัสตำบล", "ตำบล", "ตำบล/แขวง"),
    "village_no": ("village_no", "village", "moo", "หมู่ที่", "หมู่", "หมู่บ้าน"),
    "lat": ("lat", "latitude", "ละติจูด", "ละติจูต"),
    "lon": ("lon", "lng", "long", "longitude", "ลองจิจูด", "ลองติจูด"),
    "members": ("members", "household_size", "people", "จำนวนสมาชิก", "สมาชิก", "จำนวนคน", "จำนวนสมาชิกในครัวเรือน"),
    "income_per_capita_year": (
        "income_per_capita_year", "income_per_capita", "income", "รายได้ต่อคนต่อปี",
        "รายได้เฉลี่ยต่อคนต่อปี", "รายได้ต่อหัวต่อปี",
    ),
    "capital_human": ("capital_human", "human_capital", "human", "ทุนมนุษย์"),
    "capital_physical": ("capital_physical", "physical_capital", "physical", "ทุนกายภาพ"),
    "capital_natural": ("capital_natural", "natural_capital", "natural", "ทุนธรรมชาติ"),
    "capital_financial": (
        "capital_financial", "financial_capital", "financial", "economic_capital", "ทุนเศรษฐกิจ",
        "ทุนการเงิน",
    ),
    "capital_social": ("capital_social", "social_capital", "social", "ทุนสังคม"),
    "poverty_level": ("poverty_level", "level", "ระดับ", "ระดับความยากจน", "ระดับครัวเรือน"),
    "in_tpmap": ("in_tpmap", "tpmap", "อยู่ในtpmap", "ในtpmap", "tpmap(ใช่/ไม่ใช่)"),
    "verified": ("verified", "ตรวจสอบแล้ว", "ยืนยันแล้ว", "สถานะการตรวจสอบ"),
    "dep_health": ("dep_health", "health", "ด้านสุขภาพ", "สุขภาพ"),
    "dep_living": ("dep_living", "living", "living_conditions", "ด้านความเป็นอยู่", "ความเป็นอยู่"),
    "dep_education": ("dep_education", "education", "ด้านการศึกษา", "การศึกษา"),
    "dep_income": ("dep_income", "ด้านรายได้", "ขัดสนรายได้"),
    "dep_access": (
        "dep_access", "access", "access_to_services", "ด้านการเข้าถึงบริการรัฐ",
        "การเข้าถึงบริการรัฐ",
    ),
    "assistance_status": ("assistance_status", "assistance", "status", "สถานะการช่วยเหลือ", "การช่วยเหลือ"),
    "pilot_id": ("pilot_id", "pilot", "รหัสโครงการ", "โครงการนำร่อง"),
    "national_id": ("national_id", "citizen_id", "pid", "id_card", "เลขประจำตัวประชาชน", "เลขบัตรประชาชน",
                    "เลขบัตรประจำตัวประชาชน"),
    "head_name": ("head_name", "name", "ชื่อหัวหน้าครัวเรือน", "ชื่อสกุล", "ชื่อ"),
}

_HEADER_NOISE = re.compile(r"[\s._\-]+")


def header_key(header: str) -> str:
    """Put a column header in the form used for alias matching.

    Parameters
    ----------
    header : str
        A header as it appears in a file, e.g. ``" ทุนมนุษย์ "`` or ``"Province Code"``.

    Returns
    -------
    str
        NFC-normalised, lower case, without spaces, dots, underscores or hyphens, and without a
        byte-order mark.

    Example
    -------
    >>> header_key("Province Code")
    'provincecode'
    """
    text = unicodedata.normalize("NFC", str(header)).replace("\ufeff", "")
    return _HEADER_NOISE.sub("", text.strip().lower())


_ALIAS_INDEX: dict[str, str] = {
    header_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in aliases
}


def column_for_header(header: str) -> str | None:
    """Return the contract column a header stands for, or ``None`` when it is not recognised.

    Example
    -------
    >>> column_for_header("ทุนมนุษย์")
    'capital_human'
    >>> column_for_header("favourite colour") is None
    True
    """
    return _ALIAS_INDEX.get(header_key(header))


# ---------------------------------------------------------------------------------------------
# Derivations and checks
# ---------------------------------------------------------------------------------------------


def poverty_level_from_scores(mean_score: np.ndarray | pd.Series) -> np.ndarray:
    """Derive the household level (1-4) from the mean capital score with the docs/DOMAIN.md bands.

    Parameters
    ----------
    mean_score : array-like of float
        Mean of the five capital scores, 1.0-4.0. NaN gives level 0 (unknown).

    Returns
    -------
    numpy.ndarray of int8
        1 อยู่ลำบาก for 1.00-1.74, 2 อยู่ยาก for 1.75-2.49, 3 อยู่พอได้ for 2.50-3.24, 4 อยู่ดี for
        3.25-4.00.

    Example
    -------
    >>> poverty_level_from_scores(np.array([1.2, 1.75, 2.6, 3.9])).tolist()
    [1, 2, 3, 4]
    """
    scores = np.asarray(mean_score, dtype="float64")
    levels = np.searchsorted(np.asarray(LEVEL_BAND_LOWER_EDGES), scores, side="right").astype("int8")
    levels[np.isnan(scores)] = 0
    return np.clip(levels, 0, 4).astype("int8")


def is_valid_province_code(code: object) -> bool:
    """True when ``code`` is a 2-digit string; never raises."""
    return isinstance(code, str) and len(code) == 2 and code.isascii() and code.isdigit()


def is_valid_district_code(code: object) -> bool:
    """True when ``code`` is a 4-digit string; never raises."""
    return isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit()


def is_valid_subdistrict_code(code: object) -> bool:
    """True when ``code`` is a 6-digit string; never raises."""
    return isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()


def is_in_thailand(lat: object, lon: object) -> bool:
    """True when (lat, lon) lies in Thailand's bounding box; never raises."""
    try:
        lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return (
        THAILAND_LAT_RANGE[0] <= lat_f <= THAILAND_LAT_RANGE[1]
        and THAILAND_LON_RANGE[0] <= lon_f <= THAILAND_LON_RANGE[1]
    )


def conform_households(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the contract's columns, in order, with the contract's dtypes.

    Optional columns that are missing are added empty. Use after an import or in the generator so
    every stored frame has one shape.

    Parameters
    ----------
    df : pandas.DataFrame
        Households with at least the required columns.

    Returns
    -------
    pandas.DataFrame
        A new frame; the input is not changed.

    Raises
    ------
    ContractError
        When a required column is missing or a value cannot take the column's dtype.
    """
    missing = [c for c in REQUIRED_HOUSEHOLD_COLUMNS if c not in df.columns]
    if missing:
        raise ContractError(f"households: missing required columns {missing}")
    out = pd.DataFrame(index=df.index)
    for column in HOUSEHOLD_COLUMNS:
        values = df[column.name] if column.name in df.columns else pd.Series(pd.NA, index=df.index)
        try:
            out[column.name] = values.astype(column.dtype)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"households: column {column.name!r} cannot be {column.dtype}: {exc}") from exc
    return out.reset_index(drop=True)


def check_households(df: pd.DataFrame) -> None:
    """Check that a conformed household frame keeps every rule of the contract.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`conform_households`.

    Raises
    ------
    ContractError
        Naming the first broken rule, the column and up to five offending values.
    """
    conformed = list(df.columns) == list(HOUSEHOLD_COLUMN_NAMES)
    if not conformed:
        raise ContractError(f"households: columns must be {list(HOUSEHOLD_COLUMN_NAMES)}, got {list(df.columns)}")

    def fail(rule: str, column: str, bad: pd.Series) -> None:
        sample = bad.head(5).tolist()
        raise ContractError(f"households: {rule} in {column!r} ({int(bad.size)} rows, e.g. {sample})")

    for column in REQUIRED_HOUSEHOLD_COLUMNS:
        nulls = df[column].isna()
        if nulls.any():
            fail("missing values", column, df.loc[nulls, "household_id"])
    for column, width in (("province_code", 2), ("district_code", 4), ("subdistrict_code", 6)):
        values = df[column].dropna()
        bad = values[~values.str.fullmatch(rf"\d{{{width}}}")]
        if not bad.empty:
            fail(f"codes must be {width} digits", column, bad)
    bad = df.loc[df["district_code"].str[:2] != df["province_code"], "district_code"]
    if not bad.empty:
        fail("district outside its province", "district_code", bad)
    sub = df["subdistrict_code"]
    bad = sub[sub.notna() & (sub.str[:4] != df["district_code"])]
    if not bad.empty:
        fail("subdistrict outside its district", "subdistrict_code", bad)
    for column in CAPITAL_COLUMNS:
        values = df[column]
        bad = values[(values < CAPITAL_SCORE_MIN) | (values > CAPITAL_SCORE_MAX)]
        if not bad.empty:
            fail("scores must be 1.0-4.0", column, bad)
    bad = df.loc[~df["poverty_level"].isin([1, 2, 3, 4]), "poverty_level"]
    if not bad.empty:
        fail("levels must be 1-4", "poverty_level", bad)
    bad = df.loc[(df["members"] < 1) | (df["members"] > 30), "members"]
    if not bad.empty:
        fail("members must be 1-30", "members", bad)
    status = df["assistance_status"]
    bad = df.loc[status.notna() & ~status.isin(ASSISTANCE_STATUSES), "assistance_status"]
    if not bad.empty:
        fail(f"status must be one of {ASSISTANCE_STATUSES}", "assistance_status", bad)
    lat, lon = df["lat"], df["lon"]
    if (lat.isna() != lon.isna()).any():
        fail("lat and lon must be both present or both empty", "lat", df.loc[lat.isna() != lon.isna(), "household_id"])
    dupes = df.duplicated(["household_id", "survey_year"])
    if dupes.any():
        fail("duplicate household in one survey round", "household_id", df.loc[dupes, "household_id"])


def conform_pilots(df: pd.DataFrame) -> pd.DataFrame:
    """Return pilot projects with exactly the contract's pilot columns and dtypes.

    Raises
    ------
    ContractError
        When a required pilot column is missing or a value cannot take the column's dtype.
    """
    missing = [c.name for c in PILOT_COLUMNS if c.required and c.name not in df.columns]
    if missing:
        raise ContractError(f"pilots: missing required columns {missing}")
    out = pd.DataFrame(index=df.index)
    for column in PILOT_COLUMNS:
        values = df[column.name] if column.name in df.columns else pd.Series(False, index=df.index)
        try:
            out[column.name] = values.astype(column.dtype)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"pilots: column {column.name!r} cannot be {column.dtype}: {exc}") from exc
    return out.reset_index(drop=True)
