"""What the dashboard pages show, computed once here so pages stay thin: headline figures, metric
values, top-10 tables, five-capital profiles, area tables, titles and legends.

Every figure that leaves this module has passed :func:`geo.engine.protect.protect`: area tables row by
row, and the headline figures of a selection as a one-row table (:func:`selection_totals`), so a
selection of fewer than ``k`` households shows ``<10`` and nothing else.

Pure Python: no Streamlit. Pages call these through ``pages/_shared.py`` (cached loaders) and
render the results.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePath

import numpy as np
import pandas as pd

from geo.engine.aggregate import COUNT_COLUMNS, KEY_COLUMNS, METRIC_COLUMNS, HouseholdIndex, aggregate
from geo.data.contract import CAPITAL_COLUMNS, CAPITALS, PILOT_PROVINCES
from geo.engine.cube import cube_aggregate
from geo.engine.filters import filter_mask
from geo.views.text import capital_label, format_number, text, to_be
from geo.views.style import Legend, hex_colour
from geo.engine.protect import DEFAULT_MIN_COUNT, protect
from geo.views.viewstate import ViewState
from geo.data.areas import area_level, area_parents
from geo.engine.filters import area_mask, combine_masks
from geo.views.text import area_name, shown_count
from geo.data.store import MODES
from geo.views.headline import selection_totals, totals_of
from geo.views.metrics import format_value, metric_values
from geo.errors import EngineInputError
from geo.engine.cellkey import perturb

ADMIN_LEVELS: tuple[str, ...] = ("province", "district", "subdistrict")


# ---------------------------------------------------------------------------------------------
# Masks: filters and the selected area
# ---------------------------------------------------------------------------------------------


def view_mask(index: HouseholdIndex, view: ViewState, *, area: str | None = None) -> np.ndarray | None:
    """Households the view's filters keep inside ``area`` (default: the view's selected area)."""
    return combine_masks(filter_mask(index, view.to_filter()), area_mask(index, view.area if area is None else area))


def map_parent(view: ViewState) -> str:
    """The area whose children the map draws: the selected area, or its district for a subdistrict."""
    return view.area[:4] if len(view.area) == 6 else view.area


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def households_shown(index: HouseholdIndex, *, exact: bool = False) -> int:
    """How many households the data holds, as a user may see it: the exact count, or (the public
    release) the count perturbed by the cell key of every household — the same figure as the
    headline of an unfiltered view (:mod:`geo.engine.cellkey`)."""
    if exact:
        return int(index.n)
    return int(perturb(np.array([index.n]), np.array([index.record_key.sum(dtype=np.int64)]))[0])


def view_aggregate(index: HouseholdIndex, level: str, view: ViewState, *, area: str | None = None) -> pd.DataFrame:
    """``aggregate(index, level, mask=view_mask(index, view, area=area))``, unprotected: from the
    profile cube (:mod:`geo.engine.cube`, milliseconds on national data) when it can answer the view's
    filters, else from the engine."""
    area = view.area if area is None else area
    table = cube_aggregate(index, level, view.to_filter(), area) if level in ADMIN_LEVELS else None
    return table if table is not None else aggregate(index, level, mask=view_mask(index, view, area=area))


def view_totals(index: HouseholdIndex, view: ViewState, *, area: str | None = None,
                k: int = DEFAULT_MIN_COUNT, exact: bool = False) -> pd.DataFrame:
    """:func:`selection_totals` of the view's households (in ``area``, default the view's)."""
    return totals_of(view_aggregate(index, "province", view, area=area), k=k, exact=exact)


def view_area_table(index: HouseholdIndex, level: str, view: ViewState, *, area: str | None = None,
                    k: int = DEFAULT_MIN_COUNT, names: bool = True, exact: bool = False) -> pd.DataFrame:
    """:func:`area_table` of the view's households (in ``area``, default the view's)."""
    if level not in ADMIN_LEVELS:
        raise EngineInputError(f"level must be one of {ADMIN_LEVELS}, got {level!r}")
    return _named(protect(view_aggregate(index, level, view, area=area), k=k, exact=exact), names)


def area_table(index: HouseholdIndex, level: str, mask: np.ndarray | None, *, k: int = DEFAULT_MIN_COUNT,
               names: bool = True, exact: bool = False) -> pd.DataFrame:
    """Protected aggregate of the selected households by admin ``level``, with Thai/English names.

    Parameters
    ----------
    index : HouseholdIndex
    level : {"province", "district", "subdistrict"}
    mask : bool array or None
        Households to include (filters and selected area).
    k : int, default 10
    names : bool, default True
        Add ``name_th`` and ``name_en`` after ``code`` (from the DOPA list).
    exact : bool, default False
        Exact counts (officers, administrators); else the public release (:func:`geo.engine.protect.protect`).
    """
    if level not in ADMIN_LEVELS:
        raise EngineInputError(f"level must be one of {ADMIN_LEVELS}, got {level!r}")
    return _named(protect(aggregate(index, level, mask=mask), k=k, exact=exact), names)


def _named(table: pd.DataFrame, names: bool) -> pd.DataFrame:
    if names:
        codes = table["code"].astype(str).tolist()
        position = table.columns.get_loc("code") + 1
        table.insert(position, "name_th", [area_name(c, "th") for c in codes])
        table.insert(position + 1, "name_en", [area_name(c, "en") for c in codes])
    return table


def top_areas(table: pd.DataFrame, metric: str, *, n: int = 10, lang: str = "th") -> pd.DataFrame:
    """The ``n`` areas with the highest metric, for the table beside the map.

    Withheld areas are never ranked. Columns: ``code``, ``rank``, ``area``, ``value`` (text),
    ``households`` (as shown).
    """
    values = metric_values(table, metric)
    keep = np.isfinite(values)
    if "suppressed" in table.columns:
        keep &= ~table["suppressed"].to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    order = rows[np.lexsort((table["code"].astype(str).to_numpy()[rows], -values[rows]))][:n]
    codes = table["code"].astype(str).to_numpy()[order]
    return pd.DataFrame({
        "code": codes,
        "rank": np.arange(1, order.size + 1),
        "area": [area_name(c, lang) for c in codes],
        "value": [format_value(v, metric, lang) for v in values[order]],
        "households": [format_number(v, lang)
                       for v in table["households"].to_numpy(dtype="float64", na_value=np.nan)[order]],
    })


def capital_profile(index: HouseholdIndex, view: ViewState, *, k: int = DEFAULT_MIN_COUNT,
                    exact: bool = False) -> pd.DataFrame:
    """Mean capital scores of the selected area, its province and the 20 pilot provinces.

    The three groups use the view's filters (for the 20-province reference, every filter except
    provinces and districts, so like is compared with like). A group of fewer than ``k``
    households is withheld (NaN). With no area selected, the first group is the whole selection.

    Returns
    -------
    pandas.DataFrame
        Long form: ``group`` (``"area"``, ``"province"``, ``"pilot_provinces"``), ``capital``,
        ``mean_score``, ``deficit_share``, ``households_shown``.
    """
    present = set(index.province_codes.astype(str))
    reference = replace(view, provinces=tuple(p for p in PILOT_PROVINCES if p in present), districts=())
    groups: list[tuple[str, pd.DataFrame]] = [("area", view_totals(index, view, k=k, exact=exact))]
    if view.area:
        groups.append(("province", view_totals(index, view, area=view.area[:2], k=k, exact=exact)))
    groups.append(("pilot_provinces", view_totals(index, reference, area="", k=k, exact=exact)
                   if reference.provinces else selection_totals(index, np.zeros(index.n, dtype=bool), k=k,
                                                                exact=exact)))
    rows = []
    for group, table in groups:
        totals = table.iloc[0]
        for capital, column in zip(CAPITALS, CAPITAL_COLUMNS):
            rows.append({
                "group": group,
                "capital": capital,
                "mean_score": float(totals[f"mean_{column}"]) if pd.notna(totals[f"mean_{column}"]) else np.nan,
                "deficit_share": float(totals[f"deficit_share_{capital}"])
                if pd.notna(totals[f"deficit_share_{capital}"]) else np.nan,
                "households_shown": str(totals["households_shown"]),
            })
    return pd.DataFrame(rows)


def profile_chart_data(profile: pd.DataFrame, view: ViewState, lang: str = "th") -> pd.DataFrame:
    """:func:`capital_profile` with readable labels for a grouped bar chart: ``capital``
    (name in ``lang``), ``group`` (the selected area's name, its province's, the 20-province
    average), ``mean_score``; withheld groups are dropped."""
    group_names = {
        "area": area_name(view.area, lang) if view.area else text("group_selection", lang),
        "province": area_name(view.area[:2], lang) if view.area else "",
        "pilot_provinces": text("group_pilot_provinces", lang),
    }
    shown = profile.dropna(subset=["mean_score"])
    if view.area and len(view.area) == 2:
        shown = shown[shown["group"] != "province"]  # the area is the province
    return pd.DataFrame({
        "capital": [capital_label(c, lang) for c in shown["capital"]],
        "group": [group_names[g] for g in shown["group"]],
        "order": [list(group_names).index(g) for g in shown["group"]],
        "mean_score": shown["mean_score"].round(2).to_numpy(),
        "deficit_share": shown["deficit_share"].to_numpy(),
    })


def capitals_table(table: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """A protected area table laid out for reading and sorting: name, households, mean score and
    share in deficit per capital, dominant deficit (labels in ``lang``)."""
    out = pd.DataFrame({
        text("area", lang): [area_name(c, lang) for c in table["code"].astype(str)],
        text("code", lang): table["code"].astype(str).to_numpy(),
        text("households", lang): pd.array(table["households"], dtype="Int64"),
    })
    for capital, column in zip(CAPITALS, CAPITAL_COLUMNS):
        out[f"{capital_label(capital, lang)} · {text('mean_score_short', lang)}"] = (
            pd.to_numeric(table[f"mean_{column}"], errors="coerce").round(2).to_numpy())
    for capital in CAPITALS:
        out[f"{capital_label(capital, lang)} · {text('deficit_short', lang)} %"] = (
            (100 * pd.to_numeric(table[f"deficit_share_{capital}"], errors="coerce")).round(1).to_numpy())
    dominant = table["dominant_deficit"].astype("string")
    out[text("dominant_deficit", lang)] = [capital_label(d, lang) if isinstance(d, str) else "–" for d in dominant]
    return out


def count_column(table: pd.DataFrame, name: str, lang: str = "th") -> list[str]:
    """A protected table's count column for reading: thousands separated, and a withheld count
    reads ``<10`` (the table's ``min_count``), never ``None``."""
    withheld = f"<{table.attrs.get('min_count', DEFAULT_MIN_COUNT)}"
    values = table[name].to_numpy(dtype="float64", na_value=np.nan)
    return [withheld if np.isnan(v) else format_number(int(v), lang) for v in values]


def research_table(table: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """A protected area table for reading on screen: names, households as shown (``<10`` for
    withheld areas), people, households per level, share at levels 1-2, not in TPMAP, verified,
    MPI and the share helped, with headers in ``lang``."""
    from geo.views.text import level_label

    def number(name: str) -> pd.Series:
        return pd.array(pd.to_numeric(table[name], errors="coerce"), dtype="Float64")

    def count(name: str) -> list[str]:
        return count_column(table, name, lang)

    out = pd.DataFrame({
        text("code", lang): table["code"].astype(str).to_numpy(),
        text("area", lang): [area_name(c, lang) for c in table["code"].astype(str)],
        text("households", lang): [shown_count(v, lang) for v in table["households_shown"]],
        text("people", lang): count("people"),
    })
    for lv in range(1, 5):
        out[f"{lv} {level_label(lv, lang)}"] = count(f"households_level_{lv}")
    out[text("metric_share_levels_1_2", lang) + " %"] = (100 * number("share_level_1_2")).round(1)
    out[text("not_in_tpmap", lang)] = count("not_in_tpmap")
    out[text("verified", lang)] = count("verified")
    out["MPI"] = number("af_mpi").round(3)
    out[text("metric_assistance_coverage", lang) + " %"] = (100 * number("assistance_helped_share")).round(1)
    return out


def pilots_table(pilots: pd.DataFrame, reach: pd.DataFrame, km: int, lang: str = "th") -> pd.DataFrame:
    """Pilot projects for reading: name, kind, university, enrolled / target and households in
    need within ``km``, from a protected :func:`geo.engine.aggregate.pilot_reach` table."""
    from geo.views.pilot_overlay import pilot_kind_label, pilot_kind_letter

    by_id = reach.set_index("pilot_id") if len(reach) else pd.DataFrame(columns=["households_shown", "in_need_within"])
    rows = []
    for _, site in pilots.iterrows():
        row = by_id.loc[site["pilot_id"]] if site["pilot_id"] in by_id.index else None
        target = site["households_target"]
        need = None if row is None else row["in_need_within"]
        rows.append({
            text("pilot", lang): site["name_th"] if lang == "th" else site["name_en"],
            text("pilot_kind", lang): f"{pilot_kind_letter(site['kind'])} · {pilot_kind_label(site['kind'], lang)}",
            text("university", lang): site["university"],
            text("area", lang): f"{area_name(str(site['district_code']), lang)}, "
                                f"{area_name(str(site['province_code']), lang)}",
            text("enrolled", lang): "0" if row is None else shown_count(row["households_shown"], lang),
            text("target", lang): "–" if pd.isna(target) else format_number(target, lang),
            text("in_need_within", lang, km=km): (
                "–" if need is None or pd.isna(need) else format_number(int(need), lang)),
        })
    return pd.DataFrame(rows)


def gaps_table(gaps: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """Candidate sites from :func:`geo.engine.gaps.pilot_gaps` for reading: rank, subdistrict with its
    district and province, households in need, distance to the nearest pilot."""
    codes = gaps["code"].astype(str).tolist()
    return pd.DataFrame({
        text("rank", lang): np.arange(1, len(gaps) + 1),
        text("area", lang): [" › ".join(area_name(c[:w], lang) for w in range(2, len(c) + 1, 2)) for c in codes],
        text("in_need", lang): [shown_count(v, lang) for v in gaps["households_shown"]],
        text("nearest_pilot_km", lang): pd.to_numeric(gaps["nearest_pilot_km"], errors="coerce").round(1).to_numpy(),
    })


def download_table(table: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """A protected area table as it is downloaded: key, names, households as shown, then metrics.

    Withheld rows keep their name and the ``<10`` / ``suppressed`` text and nothing else.
    """
    if "households_shown" not in table.columns:
        raise EngineInputError("table must come from protect() (no 'households_shown' column)")
    drop = {"suppressed", "geometry", "res"}
    columns = [c for c in table.columns if c not in drop]
    out = table[columns].copy()
    out = out.rename(columns={"households_shown": "households_shown", "households": "households_count"})
    if "dominant_deficit" in out.columns:
        out["dominant_deficit"] = out["dominant_deficit"].astype("string")
    out.insert(0, "min_count", table.attrs.get("min_count", DEFAULT_MIN_COUNT))
    return out


# ---------------------------------------------------------------------------------------------
# Names, titles, legends
# ---------------------------------------------------------------------------------------------


def breadcrumb(area: str, lang: str = "th") -> list[tuple[str, str]]:
    """``[(code, name), ...]`` from all provinces down to ``area``, for the "back" links."""
    return [(code, area_name(code, lang)) for code in area_parents(area)]


def view_breadcrumb(view: ViewState, lang: str = "th") -> list[tuple[str, str]]:
    """The breadcrumb of what a page's map shows: the selected area's, and with none selected the
    sidebar's provinces (one province is the map's area, as :meth:`geo.views.mapview.MapView.from_viewstate`
    draws it), so it never says "20 pilot provinces" over a map of Kalasin.

    Example
    -------
    >>> view_breadcrumb(ViewState(provinces=("46",)), "en")
    [('46', 'Kalasin')]
    """
    if not view.provinces:
        return breadcrumb(view.area, lang)
    if len(view.provinces) == 1:
        return breadcrumb(view.area or view.provinces[0], lang)[1:]
    top = ("", ", ".join(area_name(p, lang) for p in view.provinces))
    return [top, *breadcrumb(view.area, lang)[1:]]


def where_label(view: ViewState, lang: str = "th") -> str:
    """Where a view looks: the selected area's breadcrumb, else the chosen provinces, else all."""
    if view.area:
        return " › ".join(name for _, name in breadcrumb(view.area, lang)[1:])
    if view.provinces:
        return ", ".join(area_name(p, lang) for p in view.provinces)
    return text("all_pilot_provinces", lang)


def legend_html(legend: Legend, *, scale: float = 1.0) -> str:
    """The legend as escaped HTML: a title and one swatch per class or category, large type
    (``scale`` times larger again for meeting mode's wall screen).

    Every label is escaped with :func:`html.escape`, so a name can never inject markup.

    Example
    -------
    >>> from geo.views.style import LegendItem
    >>> "&lt;b&gt;" in legend_html(Legend("<b>", (LegendItem((0, 0, 0), "x"),)))
    True
    """
    def swatch(colour, label: str) -> str:
        return (
            f'<span style="display:inline-flex;align-items:center;margin:2px {14 * scale:g}px 2px 0;">'
            f'<span style="display:inline-block;width:{22 * scale:g}px;height:{16 * scale:g}px;'
            f'background:{hex_colour(colour)};border:1px solid #555;margin-right:{6 * scale:g}px;"></span>'
            f"{html.escape(label)}</span>"
        )

    items = "".join(swatch(i.colour, i.label) for i in legend.items)
    notes = "".join(swatch(i.colour, i.label) for i in legend.notes)
    return (
        f'<div style="font-size:{1.05 * scale:g}rem;line-height:1.6;">'
        f'<div style="font-weight:600;">{html.escape(legend.title)}</div>'
        f"<div>{items}{notes}</div></div>"
    )


def year_label(year_ce: int, lang: str = "th", era: str = "BE") -> str:
    """A survey year as shown: ``พ.ศ. 2566`` / ``BE 2566``, or ``ค.ศ. 2023`` / ``2023 CE``."""
    if era == "CE":
        return text("year_ce", lang, year=year_ce)
    return text("year_be", lang, year=to_be(year_ce))


def format_timestamp(value: object, lang: str = "th", era: str = "BE") -> str:
    """An ISO 8601 time from a manifest or the store as a Thai date (BE, or CE) and time of day.

    Text that is not a time is returned as it is.

    Example
    -------
    >>> format_timestamp("2026-11-21T05:17:19+00:00")
    '21 พ.ย. 2569 05:17'
    >>> format_timestamp("2026-11-21T05:17:19+00:00", "en", "CE")
    '21 Nov 2026 05:17'
    """
    import datetime as dt

    from geo.views.text import format_date

    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{format_date(moment.date(), lang, era=era)} {moment:%H:%M}"


def codes_in(index: HouseholdIndex, level: str) -> tuple[str, ...]:
    """Area codes present in the data at ``level`` (pilot provinces first for provinces)."""
    codes = {"province": index.province_codes, "district": index.district_codes,
             "subdistrict": index.subdistrict_codes}[level].astype(str).tolist()
    if level == "province":
        pilot = [p for p in PILOT_PROVINCES if p in codes]
        return tuple(pilot + sorted(set(codes) - set(pilot)))
    return tuple(sorted(codes))


def ordered_provinces(codes: Sequence[str], lang: str = "th") -> list[str]:
    """Province codes with the 20 pilot provinces first, each group sorted by name in ``lang``."""
    pilot = sorted((c for c in codes if c in PILOT_PROVINCES), key=lambda c: area_name(c, lang))
    other = sorted((c for c in codes if c not in PILOT_PROVINCES), key=lambda c: area_name(c, lang))
    return pilot + other


# ---------------------------------------------------------------------------------------------
# The data page: import report, boundaries, provenance
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    """An import's report as two tables for the page: per file, and rows with problems."""

    files: pd.DataFrame
    problems: pd.DataFrame


def import_summary(result, lang: str = "th", *, max_rows: int = 500) -> ImportSummary:
    """Tables of a :class:`geo.ingest.ImportResult`: one row per file, and up to ``max_rows``
    rows with warnings or rejections, their reasons in ``lang``."""
    files = pd.DataFrame({
        text("file", lang): [f.file for f in result.files],
        text("rows_in", lang): [f.rows_in for f in result.files],
        text("accepted", lang): [f.accepted for f in result.files],
        text("warnings", lang): [f.warnings for f in result.files],
        text("rejected", lang): [f.rejected for f in result.files],
        "": ["; ".join(getattr(n, f"message_{lang}") for n in f.notes) for f in result.files],
    })
    rows = result.rows[result.rows["status"] != "accepted"].head(max_rows)
    problems = pd.DataFrame({
        text("file", lang): rows["file"].to_numpy(),
        "#": rows["row"].to_numpy(),
        text("mode", lang): [text("rejected" if s == "rejected" else "warnings", lang) for s in rows["status"]],
        "": ["; ".join(getattr(r, f"message_{lang}") for r in reasons) for reasons in rows["reasons"]],
    })
    return ImportSummary(files, problems)


def _public_source(source: object) -> str:
    """Where boundaries came from, as a visitor may read it: a URL as it is, a local path by its
    last folder or file only (the server's folders are nobody's business)."""
    text_ = str(source or "–")
    if "://" in text_ or text_ == "–":
        return text_
    return PurePath(text_).name or text_


def boundaries_summary(manifest: dict, lang: str = "th", era: str = "BE") -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Facts about installed boundaries (source, credit, licence, date) and a table per level."""
    facts = [
        (text("boundaries_source", lang), _public_source(manifest.get("source"))),
        (text("credit", lang), str(manifest.get("attribution", "–"))),
        (text("licence", lang), str(manifest.get("licence", "–"))),
        (text("installed_at", lang), format_timestamp(manifest.get("installed_at", "–"), lang, era)),
    ]
    levels = manifest.get("levels") or {}
    table = pd.DataFrame({
        text("level", lang): [text(level, lang) if level in ("province", "district", "subdistrict") else str(level)
                              for level in levels],
        text("boundaries_count", lang): [int(v.get("count", 0)) for v in levels.values()],
        text("boundaries_unmatched", lang): [len(v.get("unmatched") or []) for v in levels.values()],
        "": [", ".join(f"{u.get('name_th', '')} ({u.get('reason', '')})" for u in (v.get("unmatched") or [])[:5])
             for v in levels.values()],
    })
    return facts, table


def provenance_table(imports: list[dict], lang: str = "th", era: str = "BE") -> pd.DataFrame:
    """The store's import history, newest first (times in BE, or CE)."""
    rows = list(reversed(imports))
    return pd.DataFrame({
        text("file", lang): [str(e.get("file", "")) for e in rows],
        text("imported_at", lang): [format_timestamp(e.get("imported_at", ""), lang, era) for e in rows],
        text("mode", lang): [text(f"mode_{e.get('mode')}", lang) if e.get("mode") in (*MODES, "append", "replace")
                             else str(e.get("mode", "")) for e in rows],
        text("rows_in", lang): [int(e.get("rows_in", 0)) for e in rows],
        text("accepted", lang): [int(e.get("accepted", 0)) for e in rows],
        text("warnings", lang): [int(e.get("warnings", 0)) for e in rows],
        text("rejected", lang): [int(e.get("rejected", 0)) for e in rows],
    })
