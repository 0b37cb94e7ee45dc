"""The village (หมู่, ``village_no``) table of one district: households, people and the share at each
level per village, released like every other table (:func:`geo.engine.protect.protect`).

A village is its subdistrict and its number there (``หมู่ที่ 5`` of ตำบล 460901): its key is the
subdistrict's code followed by the number, two digits at least (``"46090105"``, the DOPA village
code's shape), so the exact release's complementary suppression reads the enclosing subdistrict,
district and province from the key as it does for the admin levels. The index holds no village
numbers: the page reads them with the district's household rows (:func:`village_keys`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.engine.aggregate import HouseholdIndex, aggregate_by_key
from geo.engine.protect import DEFAULT_MIN_COUNT, protect
from geo.errors import EngineInputError
from geo.views.dashboard import count_column
from geo.views.text import area_name, level_label, shown_count, text
from geo.views.viewstate import ViewState

#: ``table.attrs["by"]`` of a village table.
VILLAGE_BY = "village"


def chosen_district(view: ViewState) -> str:
    """The one district a view narrows to (its selected district or subdistrict, else its only
    sidebar district); ``""`` when it narrows to none or several. Never raises.

    Example
    -------
    >>> chosen_district(ViewState(area="460901")), chosen_district(ViewState(provinces=("46",)))
    ('4609', '')
    """
    if len(view.area) >= 4:
        return view.area[:4]
    if len(view.districts) == 1 and (not view.area or view.districts[0].startswith(view.area)):
        return view.districts[0]
    return ""


def village_code(subdistrict_code: str, village_no: int) -> str:
    """A village's key: its subdistrict's code and its number, two digits at least.

    Example
    -------
    >>> village_code("460901", 5)
    '46090105'
    """
    return f"{subdistrict_code}{int(village_no):02d}"


def village_keys(index: HouseholdIndex, rows: pd.DataFrame) -> np.ndarray:
    """Per household of ``index`` (index order), its village key; ``""`` for households not in
    ``rows`` or without a subdistrict or village number.

    Parameters
    ----------
    rows : pandas.DataFrame
        Household rows with ``village_no``, labelled by their row in the frame the index was built
        from (``index.order``), as ``LoadedData.household_rows`` gives them.

    Raises
    ------
    EngineInputError
        ``rows`` has no ``village_no`` column.
    """
    if "village_no" not in rows.columns:
        raise EngineInputError(f"rows must have a village_no column, got {list(rows.columns)[:12]}")
    number = pd.Series(np.full(int(np.asarray(index.order).max(initial=-1)) + 1, -1, dtype=np.int64))
    known = pd.to_numeric(rows["village_no"], errors="coerce")
    known = known[known.notna() & (known > 0)]
    number.iloc[known.index.to_numpy(dtype=np.int64)] = known.astype(np.int64).to_numpy()
    at = number.to_numpy()[np.asarray(index.order)]
    sub = np.asarray(index.subdistrict)
    codes = np.asarray(index.subdistrict_codes, dtype=object)
    out = np.full(index.n, "", dtype=object)
    ok = (at > 0) & (sub >= 0)
    out[ok] = [village_code(c, n) for c, n in zip(codes[sub[ok]], at[ok])]
    return out


def village_table(index: HouseholdIndex, keys: np.ndarray, mask: np.ndarray | None, *,
                  k: int = DEFAULT_MIN_COUNT, exact: bool = False) -> pd.DataFrame:
    """The protected village table of the households ``mask`` keeps.

    Parameters
    ----------
    keys : numpy.ndarray
        :func:`village_keys` of the index.
    mask : numpy.ndarray of bool or None
        The view's households (``geo.views.dashboard.view_mask``): one district's, for the page.
    k, exact
        As :func:`geo.engine.protect.protect`: the public release (perturbed, villages under ``k``
        left out) or, for officers in their areas and administrators, the exact one.

    Returns
    -------
    pandas.DataFrame
        ``code`` (the village key), ``subdistrict_code``, ``village_no``, ``name_th`` and ``name_en``
        (the subdistrict's), then the released columns of :func:`geo.engine.protect.protect`.

    Example
    -------
    >>> table = village_table(index, village_keys(index, rows), view_mask(index, view))  # doctest: +SKIP
    """
    table = protect(aggregate_by_key(index, keys, by=VILLAGE_BY, mask=mask), k=k, exact=exact)
    codes = table["code"].astype(str)
    table.insert(1, "subdistrict_code", codes.str[:6].to_numpy())
    table.insert(2, "village_no", pd.array(codes.str[6:].astype(int).to_numpy() if len(table) else [], dtype="Int64"))
    table.insert(3, "name_th", [area_name(c[:6], "th") for c in codes])
    table.insert(4, "name_en", [area_name(c[:6], "en") for c in codes])
    return table


def village_reading_table(table: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """A protected village table for reading, as :func:`geo.views.dashboard.research_table` reads an
    area table: subdistrict, village, households as shown, people, households at each level
    (``<10`` where withheld) and the share at levels 1-2, headers in ``lang``."""
    out = pd.DataFrame({
        text("code", lang): table["code"].astype(str).to_numpy(),
        text("subdistrict", lang): table[f"name_{lang}"].astype(str).to_numpy(),
        text("village", lang): [text("village_no", lang, number=n) for n in table["village_no"]],
        text("households", lang): [shown_count(v, lang) for v in table["households_shown"]],
        text("people", lang): count_column(table, "people", lang),
    })
    for lv in range(1, 5):
        out[f"{lv} {level_label(lv, lang)}"] = count_column(table, f"households_level_{lv}", lang)
    out[text("metric_share_levels_1_2", lang) + " %"] = pd.array(
        np.round(100 * pd.to_numeric(table["share_level_1_2"], errors="coerce").to_numpy(dtype="float64"), 1),
        dtype="Float64")
    return out
