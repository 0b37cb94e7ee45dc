"""Survey rounds: which rounds a households file or frame holds, and a year as the user typed it.

A household keeps its ``household_id`` from round to round; ``survey_year`` (CE, as stored) names
the round. Files and URLs may say a round in Buddhist Era (พ.ศ. 2566) or Common Era (2023):
:func:`round_year` reads either. The app shows the latest round (:func:`geo.data.store.latest_round`)
unless the user picks another.
"""

from __future__ import annotations

import os

import pandas as pd

from geo.errors import ArgumentError

#: A year at or above this is Buddhist Era (BE = CE + 543); below it, Common Era.
BE_FROM = 2400
BE_OFFSET = 543


def round_year(year: int | str) -> int:
    """A survey round's year in CE, from a year in BE (>= 2400) or CE.

    >>> round_year(2566), round_year("2023"), round_year(" 2564 ")
    (2023, 2023, 2021)

    Raises
    ------
    ArgumentError
        When ``year`` is not a whole number between 1900 and 2700 (BE or CE).
    """
    try:
        value = int(str(year).strip())
    except ValueError:
        raise ArgumentError(f"a survey round is a year such as 2566 (BE) or 2023 (CE), got {year!r}") from None
    if value >= BE_FROM:
        value -= BE_OFFSET
    if not 1900 <= value <= 2200:
        raise ArgumentError(f"a survey round is a year such as 2566 (BE) or 2023 (CE), got {year!r}")
    return value


def round_years(source: str | os.PathLike[str] | pd.DataFrame) -> list[int]:
    """Every survey round (CE) a households Parquet file or frame holds, oldest first; ``[]`` when
    none. Reads only the ``survey_year`` column of a file.

    Raises what pyarrow raises for an unreadable file (``OSError``, ``ValueError``, ``KeyError``).
    """
    if isinstance(source, pd.DataFrame):
        if "survey_year" not in source.columns:
            return []
        years = source["survey_year"].dropna()
        return sorted(int(y) for y in pd.unique(years))
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    column = pq.read_table(source, columns=["survey_year"]).column("survey_year")
    return sorted(int(y) for y in pc.unique(column.drop_null()).to_pylist())


def round_filter(year: int) -> list[tuple[str, str, int]]:
    """The pyarrow / ``pandas.read_parquet`` filter that keeps only round ``year`` (CE)."""
    return [("survey_year", "=", int(year))]
