"""What the Change / การเปลี่ยนแปลง page, meeting mode's "what changed" slide and the Pilots page's
impact section show of two survey rounds: pure Python, no Streamlit.

The figures come from :mod:`geo.engine.mobility` (followed households paired across rounds by
``household_id``, counted where they live in the later round) and :mod:`geo.engine.pilot_impact`,
already released by them (the public release or the exact one); this module only selects, words,
maps and charts them:

* :func:`pairs_mask` — the sidebar's filters and the selected area as a mask over the pairs;
* :func:`change_headline` — followed, new, not found, up, same, down, escaped, fell;
* :func:`change_map` — a measure of :data:`geo.views.metrics.CHANGE_METRICS` by province,
  district, subdistrict or H3 cell, as a :class:`geo.views.mapview.MapFigure` (the same drawing,
  legend, drill-down and exports as every other map);
* :func:`shared_legend` — the before and after maps of one metric classed together, one legend;
* :func:`transition_chart` — the 4×4 level transition matrix with its counts (Altair);
* :func:`mobility_download` — the mobility table as researchers download it;
* :func:`impact_chart` and :func:`impact_table` — each pilot's participants against comparison
  households with the 95% interval, worded as a comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from geo.data.areas import area_level
from geo.data.contract import CAPITALS
from geo.engine.aggregate import attach_cell_geometry
from geo.engine.filters import DEFAULT_DEFICIT_CUTOFF, NO_PILOT
from geo.engine.mobility import (CHANGE_THRESHOLD, MOBILITY_COLUMNS, TRANSITION_COLUMNS, mobility_shares,
                                 mobility_table, mobility_table_and_totals, mobility_totals,
                                 released_cell_count)
from geo.engine.mobility_cube import (PairsCube, PairsH3Cube, answers, cube_for_filter, cube_mobility_table,
                                      cube_mobility_totals, cube_released_cell_count, h3_cube_for, pairs_cube_for)
from geo.views import style as mapstyle
from geo.views.dashboard_maps import DashboardMap, MapContext, Size
from geo.views.headline import Headline
from geo.views.mapview import DEFAULT_SIZE, MAX_CELLS, MapFigure, MapView, auto_resolution
# The drawing steps every map shares (boundaries of the scope, colour classes, words): a Change map
# is drawn exactly as a round's map is, from a mobility table instead of the household index.
from geo.views.mapview import _boundary, _classified, _Drawn, _scope_frame, _selected_frame, _within, _words
from geo.errors import ArgumentError
from geo.views.metrics import get_metric, metric_label
from geo.views.text import area_name, capital_label, format_date_both, format_number, level_label, text
from geo.views.viewstate import MAP_RESOLUTIONS, ViewState

#: The Change page's headline figures: mobility count columns, in the order shown.
CHANGE_HEADLINE: tuple[str, ...] = ("followed", "new", "not_found", "up", "same", "down", "escaped", "fell")
#: Sidebar filters the pairs cannot apply (their columns are a round's, not a pair's).
ROUND_ONLY_FILTERS: tuple[str, ...] = ("tpmap", "verified", "assistance")
#: Grey of a withheld cell of the transition chart (the maps' withheld colour).
WITHHELD_HEX = "#{:02x}{:02x}{:02x}".format(*mapstyle.WITHHELD_COLOUR)


def round_pair_text(year_from: int, year_to: int, lang: str = "th", era: str = "BE") -> str:
    """The pair of rounds in words: ``รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566`` (subtitles, exports, meeting mode).

    Example
    -------
    >>> round_pair_text(2021, 2023, "en", "CE")
    'Survey rounds 2021 CE → 2023 CE'
    """
    from geo.views.dashboard import year_label

    return text("round_pair", lang, year_from=year_label(year_from, lang, era), year_to=year_label(year_to, lang, era))


# ---------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------


def pairs_mask(pairs: pd.DataFrame, view: ViewState, *, area: str | None = None) -> np.ndarray | None:
    """The pairs the view's filters keep (``None``: all), in ``pairs``' order.

    Provinces and districts select where a pair is counted (the later round's area for followed
    households); ``level`` selects the level in the **earlier** round (who moved, from where);
    capitals in deficit the earlier round's scores; pilots a pair whose row in either round names
    the pilot (``none``: in neither). The round-only filters (:data:`ROUND_ONLY_FILTERS`) are not
    applied: :func:`unapplied_filters` names them for the page.

    Parameters
    ----------
    area : str, optional
        A DOPA code (2, 4 or 6 digits): keep the pairs counted inside it; default ``view.area``.
    """
    keep = np.ones(len(pairs), dtype=bool)
    area = view.area if area is None else area

    def isin(column: str, values) -> np.ndarray:
        """Which rows' ``column`` (as text) is one of ``values``; a categorical over its categories."""
        values = [str(v) for v in values]
        held = pairs[column]
        if isinstance(held.dtype, pd.CategoricalDtype):
            hit = held.cat.categories.astype(str).isin(values)
            return np.append(hit, False)[held.cat.codes.to_numpy()]  # code -1 (missing) reads False
        return held.astype("string").isin(values).fillna(False).to_numpy(dtype=bool)

    if view.provinces:
        keep &= isin("province_code", view.provinces)
    if view.districts:
        keep &= isin("district_code", view.districts)
    if area:
        keep &= isin(f"{area_level(area)}_code", (area,))
    if view.levels:
        keep &= pairs["level_from"].isin(view.levels).fillna(False).to_numpy(dtype=bool)
    if view.capitals_in_deficit:
        deficit = np.zeros(len(pairs), dtype=bool)
        for capital in view.capitals_in_deficit:
            deficit |= pairs[f"{capital}_from"].to_numpy(dtype="float64") < DEFAULT_DEFICIT_CUTOFF
        keep &= deficit
    if view.pilots:
        named = [p for p in view.pilots if p != NO_PILOT]
        in_pilot = isin("pilot_from", named) | isin("pilot_to", named)
        if NO_PILOT in view.pilots:
            in_pilot |= (pairs["pilot_from"].isna() & pairs["pilot_to"].isna()).to_numpy(dtype=bool)
        keep &= in_pilot
    return None if keep.all() else keep


def _cube(pairs: pd.DataFrame, view: ViewState, change_threshold: float, by: str, scope: str) -> PairsCube | None:
    """The pairs cube (:mod:`geo.engine.mobility_cube`) that answers the view's tables ``by`` that
    level inside ``scope`` and its totals: the smallest of its sums the filter can select
    (:func:`~geo.engine.mobility_cube.cube_for_filter`; with capitals in deficit, the sums by
    district × deficit code: province and district tables, no pilot filter, no subdistrict
    scope); ``None`` (the plain path) otherwise, at another threshold or for pairs not made by
    :func:`geo.engine.mobility.pair_rounds`."""
    if not answers("province", change_threshold) or not {"capital_classes", "transition"} <= set(pairs.columns):
        return None
    deficit = bool(view.capitals_in_deficit)
    if deficit and scope and area_level(scope) == "subdistrict":  # the deficit sums keep no subdistrict
        return None
    return cube_for_filter(pairs_cube_for(pairs), deficit=deficit, pilots=bool(view.pilots), by=by)


def _h3_cube(pairs: pd.DataFrame, view: ViewState, change_threshold: float, res: int,
             scope: str) -> PairsH3Cube | None:
    """The H3 cube of the pairs at ``res`` (:func:`~geo.engine.mobility_cube.h3_cube_for`) when it
    answers the view's filters (the same rule as :func:`_cube`: not on capitals in deficit, at the
    default threshold; a scope of a province or a district, the areas it keeps); ``None`` for the
    plain path, also where the cube is not worthwhile (a fine resolution)."""
    if _cube(pairs, view, change_threshold, "h3", scope) is None or (scope and area_level(scope) == "subdistrict"):
        return None
    return h3_cube_for(pairs, res)


def _h3_change_table(pairs: pd.DataFrame, view: ViewState, scope: str, res: int, change_threshold: float,
                     options: dict) -> tuple[pd.DataFrame, int, list[str]]:
    """The H3 table of the view at ``res``, or at a coarser resolution while the release shows
    more than :data:`~geo.views.mapview.MAX_CELLS` cells: (table, resolution, notices). From the
    H3 cube where it answers, else the plain path with ``options`` (their ``mask`` over the pairs
    made here when first needed); either way the cells are counted before one table is made."""
    notices, plain = [], options if "mask" in options else None
    while True:
        cube = _h3_cube(pairs, view, change_threshold, res, scope)
        if cube is not None:
            mask = pairs_mask(cube.rows, view, area=scope)
            released = {"exact": options["exact"], "min_count": options["min_count"], "mask": mask}
            if cube_released_cell_count(cube, **released) <= MAX_CELLS or res <= MAP_RESOLUTIONS[0]:
                return cube_mobility_table(cube, by="h3", change_threshold=change_threshold, **released), res, notices
        else:
            plain = plain or {**options, "mask": pairs_mask(pairs, view, area=scope)}
            counted = {name: plain[name] for name in ("exact", "min_count", "mask")}
            if res <= MAP_RESOLUTIONS[0] or released_cell_count(pairs, res=res, **counted) <= MAX_CELLS:
                return mobility_table(pairs, by="h3", res=res, **plain), res, notices
        res -= 1
        notices.append("res_capped")


def unapplied_filters(view: ViewState) -> tuple[str, ...]:
    """The view's filters the Change page cannot apply to pairs (:data:`ROUND_ONLY_FILTERS` that are set)."""
    return tuple(name for name in ROUND_ONLY_FILTERS if getattr(view, name) not in ((), "any"))


# ---------------------------------------------------------------------------------------------
# Headline
# ---------------------------------------------------------------------------------------------


def change_headline(totals: pd.Series, lang: str = "th") -> tuple[Headline, ...]:
    """The headline figures of a :func:`geo.engine.mobility.mobility_totals` row, in ``lang``: a
    withheld figure reads "withheld" (ปกปิด), never a number."""
    out = []
    for key in CHANGE_HEADLINE:
        value = totals.get(key, pd.NA)
        missing = value is None or pd.isna(value)
        out.append(Headline(key, text(f"change_{key}", lang),
                            text("withheld", lang) if missing else format_number(int(value), lang),
                            None if missing else float(value)))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------------------------


def _provinces_held(pairs: pd.DataFrame) -> set[str]:
    """The province codes (text) of the pairs: from a categorical's codes in one histogram, not
    each pair's text (a third of a second per million pairs)."""
    column = pairs["province_code"]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return set(column.astype("string").dropna().tolist())
    codes = column.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories)) > 0
    return set(pd.Index(column.cat.categories[used]).astype("string").tolist())


def _released_rows(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """A mobility table with the shares and the columns a map's classes read: ``households_shown``
    (the followed households as released, text) and ``suppressed`` (the area's followed withheld)."""
    shares = mobility_shares(table) if len(table) else pd.DataFrame(
        columns=["share_up", "share_escaped", "share_fell", *(f"{c}_mean_change" for c in CAPITALS)])
    followed = table["followed"] if len(table) else pd.Series([], dtype="Int64")
    out = pd.concat([table[[key]].reset_index(drop=True),
                     table.drop(columns=[key, *shares.columns], errors="ignore").reset_index(drop=True),
                     shares.reset_index(drop=True)], axis=1)
    out["households_shown"] = pd.array([None if pd.isna(v) else str(int(v)) for v in followed], dtype="string")
    out["suppressed"] = followed.isna().to_numpy(dtype=bool)
    return out


def change_map(pairs: pd.DataFrame, boundaries: dict, view: ViewState, *, context: MapContext | None = None,
               size: Size = DEFAULT_SIZE, change_threshold: float = CHANGE_THRESHOLD,
               metric: str | None = None) -> DashboardMap:
    """A Change measure (``view.change``, or ``metric``) between the pairs' two rounds, by
    ``view.by`` below the selected area (or H3 cells), as every page's maps are drawn.

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`geo.engine.mobility.pair_rounds` of the user's households (already in their scope).
    boundaries : dict
        Display boundaries by level, as for :func:`geo.views.dashboard_maps.metric_map`.
    view : ViewState
    context : MapContext, optional
        The date, the synthetic label, the credit, ``k``, exact or public release, the H3 cap and
        the rounds in words (``round_text``, the subtitle's first part).
    change_threshold : float, default 0.25
        A capital score change of at least this much counts as improved or worse.

    Returns
    -------
    DashboardMap
        ``figure.table`` is the released mobility table (with shares) of the areas drawn;
        ``figure.totals`` the selection's :func:`geo.engine.mobility.mobility_totals` as one row,
        ``figure.headline`` its :func:`change_headline`.
    """
    context = context or MapContext()
    map_view = MapView.from_viewstate(view, min_count=context.min_count, max_res=context.max_res,
                                      metric=metric or view.change, exact=context.exact)
    k = map_view.min_count
    scope = map_view.scope_code
    cube = _cube(pairs, view, change_threshold, map_view.level, scope)
    plain_totals = None
    provinces = _provinces_held(cube.rows if cube is not None else pairs)
    scope_frame = _scope_frame(boundaries, map_view, provinces)
    bounds = tuple(float(b) for b in scope_frame.total_bounds)
    # The cubes answer from their rows (a few thousand to a few million, not every pair); the
    # pairs' own mask is made only for the plain path.
    options = {"exact": map_view.exact, "min_count": k, "change_threshold": change_threshold}
    if cube is None:
        options["mask"] = pairs_mask(pairs, view, area=scope)
    else:
        cube_options = {**options, "mask": pairs_mask(cube.rows, view, area=scope)}
    if map_view.level == "h3":
        auto = min(auto_resolution(bounds), map_view.max_res)
        res = min(map_view.res or auto, map_view.max_res)
        table, res, notices = _h3_change_table(pairs, view, scope, res, change_threshold, options)
        rows = attach_cell_geometry(_released_rows(table, "h3_cell"))
        keys = rows["h3_cell"].astype(str).tolist()
        up = "district" if scope else "province"
        outlines = scope_frame if map_view.district_code else _within(_boundary(boundaries, up), scope, provinces)
        drawn = _Drawn(rows, rows, keys, [f"H3 {c}" for c in keys], list(rows.geometry), outlines, res,
                       tuple(dict.fromkeys(notices)), auto)
    else:
        import geopandas as gpd

        level = map_view.level
        if cube is not None:
            table = cube_mobility_table(cube, by=level, **cube_options)
        else:  # the headline's totals from the table's pass
            table, plain_totals = mobility_table_and_totals(pairs, by=level, **options)
        table = table[table["code"].astype(str).str.startswith(scope)].reset_index(drop=True)
        released = _released_rows(table, "code")
        frame = _within(_boundary(boundaries, level), scope, provinces)
        frame = frame.assign(code=frame["code"].astype(str))[["code", "geometry"]]
        rows = frame.merge(released, on="code", how="left")
        drawn_table = gpd.GeoDataFrame(released.merge(frame, on="code", how="left"), geometry="geometry",
                                       crs=frame.crs)
        parent = {"province": None, "district": "province", "subdistrict": "district"}[level]
        outlines = _within(_boundary(boundaries, parent), scope, provinces) if parent else None
        keys = rows["code"].tolist()
        drawn = _Drawn(drawn_table, rows, keys, [area_name(c, map_view.lang) for c in keys], list(rows["geometry"]),
                       outlines)
    areas, fill, legend, _edges = _classified(drawn, map_view)
    words = _words(map_view, drawn.res, synthetic=bool(context.synthetic), attribution=context.attribution,
                   data_source=None, round_text=context.round_text)
    words["subtitle"] = " · ".join([words["subtitle"], text("change_headline_note", map_view.lang, k=k)])
    if cube is not None:
        totals = cube_mobility_totals(cube, **cube_options)
    else:
        totals = plain_totals if plain_totals is not None else mobility_totals(pairs, **options)
    now = context.now or dt.date.today()
    figure = MapFigure(
        view=map_view, level=map_view.level, res=drawn.res, table=drawn.table, areas=areas, fill=fill,
        outlines=drawn.outlines, context=boundaries.get("context"), legend=legend, synthetic=bool(context.synthetic),
        date=now, date_text=format_date_both(now, map_view.lang), headline=change_headline(totals, map_view.lang),
        totals=totals.to_frame().T,
        bounds=bounds, notices=drawn.notices, selected=_selected_frame(boundaries, map_view),
        auto_res=drawn.auto_res, **words)
    return DashboardMap(figure, size)


def shared_legend(maps: Sequence[DashboardMap], *, size: Size = DEFAULT_SIZE) -> tuple[DashboardMap, ...]:
    """The same metric's maps (before and after) recoloured with one set of classes: the class
    breaks of every shown value of all of them, so a colour means the same in each. Each map's
    legend becomes that one legend; withheld and no-data areas keep their greys.

    Raises
    ------
    ArgumentError
        When the maps do not show one sequential metric.
    """
    metrics = {m.figure.view.metric for m in maps}
    if len(metrics) != 1 or get_metric(next(iter(metrics))).scale != "sequential":
        raise ArgumentError(f"shared_legend needs maps of one sequential metric, got {sorted(metrics)}")
    spec = get_metric(metrics.pop())
    values = [m.figure.areas["value"].to_numpy(dtype="float64", na_value=np.nan) for m in maps]
    every = np.concatenate(values) if values else np.zeros(0)
    edges = mapstyle.class_breaks(every[np.isfinite(every)], method="quantile")
    out = []
    for m, vals in zip(maps, values):
        figure = m.figure
        status = figure.areas["status"].to_numpy()
        grey = (status == "withheld") | ((status == "shown") & ~np.isfinite(vals))
        fill = mapstyle.fill_colours(np.where(status == "shown", vals, np.nan), edges, withheld=grey,
                                     alpha=225 if figure.level == "h3" else 210)
        legend = replace(figure.legend, items=mapstyle.sequential_legend(
            figure.legend.title, edges, spec.legend_formatter(figure.view.lang)).items)
        figure = replace(figure, fill=fill, legend=legend)
        out.append(DashboardMap(figure, size))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The transition chart and the download
# ---------------------------------------------------------------------------------------------


def transition_frame(totals: pd.Series, lang: str = "th") -> pd.DataFrame:
    """The 4×4 level transitions of a :func:`geo.engine.mobility.mobility_totals` row, long:
    ``level_from``, ``level_to`` (1-4), their labels, ``households`` (<NA> where withheld) and
    ``label`` (the count as text, or "withheld")."""
    rows = []
    for column in TRANSITION_COLUMNS:
        a, b = int(column[1]), int(column[-1])
        value = totals.get(column, pd.NA)
        missing = value is None or pd.isna(value)
        rows.append({"level_from": a, "level_to": b, "from_label": f"{a} {level_label(a, lang)}",
                     "to_label": f"{b} {level_label(b, lang)}", "households": pd.NA if missing else int(value),
                     "label": text("withheld", lang) if missing else format_number(int(value), lang)})
    frame = pd.DataFrame(rows)
    frame["households"] = frame["households"].astype("Int64")
    return frame


def transition_chart(totals: pd.Series, *, year_from: int, year_to: int, lang: str = "th", era: str = "BE"):
    """The level transition matrix as an Altair heatmap with each cell's count written in it:
    rows the level in the earlier round, columns the level in the later one, withheld cells grey.

    Returns
    -------
    altair.LayerChart
    """
    import altair as alt

    from geo.views.dashboard import year_label

    frame = transition_frame(totals, lang)
    frame["shown"] = frame["households"].astype("float64")
    order = [f"{lv} {level_label(lv, lang)}" for lv in (1, 2, 3, 4)]
    y_title = text("transition_from", lang, year=year_label(year_from, lang, era))
    x_title = text("transition_to", lang, year=year_label(year_to, lang, era))
    base = alt.Chart(frame).encode(
        x=alt.X("to_label:N", sort=order, title=x_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("from_label:N", sort=order, title=y_title))
    cells = base.mark_rect(stroke="white").encode(
        color=alt.condition("isValid(datum.shown)",
                            alt.Color("shown:Q", scale=alt.Scale(scheme="blues"), legend=None),  # the counts are written in
                            alt.value(WITHHELD_HEX)),
        tooltip=[alt.Tooltip("from_label:N", title=y_title), alt.Tooltip("to_label:N", title=x_title),
                 alt.Tooltip("label:N", title=text("households", lang))])
    labels = base.mark_text(fontSize=15, fontWeight="bold").encode(
        text="label:N",
        color=alt.condition("isValid(datum.shown) && datum.shown > 0.6 * " + str(float(frame["shown"].max() or 0)),
                            alt.value("white"), alt.value("#222222")))
    return (cells + labels).properties(title=text("transition_title", lang), height=300)


def mobility_download(table: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """A released mobility table as researchers download it: ``min_count`` and ``release``, the
    area's code and name (or the H3 cell), the contract's columns
    (:data:`geo.engine.mobility.MOBILITY_COLUMNS`, empty where withheld), then the shares."""
    key = "h3_cell" if "h3_cell" in table.columns else "code"
    out = pd.DataFrame({key: table[key].astype(str)})
    if key == "code":
        out["name"] = [area_name(c, lang) for c in out["code"]]
    for column in MOBILITY_COLUMNS:
        out[column] = table[column].reset_index(drop=True) if column in table.columns else pd.NA
    if len(table):
        shares = mobility_shares(table).reset_index(drop=True)
        for column in ("share_up", "share_escaped", "share_fell"):
            out[column] = shares[column].round(4)
    out.insert(0, "release", table.attrs.get("release", ""))
    out.insert(0, "min_count", table.attrs.get("min_count", ""))
    return out


# ---------------------------------------------------------------------------------------------
# Pilot impact
# ---------------------------------------------------------------------------------------------

IMPACT_COLUMNS: tuple[str, ...] = ("pilot_id", "capital", "participants", "comparison", "change_participants",
                                   "change_comparison", "difference", "ci_low", "ci_high",
                                   "share_up_participants", "share_up_comparison")


def impact_shown(impact: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`geo.engine.pilot_impact.pilot_impact` with a difference to show (both
    groups at least ``k``: the engine leaves the difference out otherwise)."""
    return impact[pd.to_numeric(impact["difference"], errors="coerce").notna()].reset_index(drop=True)


def impact_table(impact: pd.DataFrame, pilots: pd.DataFrame, lang: str = "th") -> pd.DataFrame:
    """Pilot impact as people read it: one row per pilot and capital, the groups' sizes, their
    mean changes, the difference with its 95% interval, the shares moving up; "withheld" where a
    group is under ``k``."""
    from geo.views.text import format_percent

    names = dict(zip(pilots["pilot_id"].astype(str), pilots["name_th" if lang == "th" else "name_en"].astype(str)))
    withheld = text("withheld", lang)

    def number(v, decimals=0, sign=False):
        if v is None or pd.isna(v):
            return withheld
        shown = format_number(float(v), lang, decimals=decimals)
        return f"+{shown}" if sign and float(v) > 0 else shown

    def share(v):
        return withheld if v is None or pd.isna(v) else format_percent(float(v), lang)

    rows = []
    for r in impact.itertuples(index=False):
        interval = withheld if pd.isna(r.ci_low) else f"{number(r.ci_low, 2, True)} – {number(r.ci_high, 2, True)}"
        rows.append({
            text("pilot", lang): names.get(str(r.pilot_id), str(r.pilot_id)),
            text("capital", lang): capital_label(str(r.capital), lang),
            text("impact_participants", lang): number(r.participants),
            text("impact_comparison", lang): number(r.comparison),
            text("impact_change_participants", lang): number(r.change_participants, 2, True),
            text("impact_change_comparison", lang): number(r.change_comparison, 2, True),
            text("impact_difference", lang): number(r.difference, 2, True),
            text("impact_interval", lang): interval,
            text("impact_share_up", lang): f"{share(r.share_up_participants)} / {share(r.share_up_comparison)}",
        })
    return pd.DataFrame(rows)


def impact_chart(impact: pd.DataFrame, pilots: pd.DataFrame, lang: str = "th"):
    """Each pilot's difference in mean change per capital (participants − comparison) as a point
    with its 95% interval as an error bar, a zero line, one small panel per pilot (Altair).
    Rows without a difference (a group under ``k``) are left out (:func:`impact_shown`).

    Returns
    -------
    altair.Chart
    """
    import altair as alt

    shown = impact_shown(impact)
    names = dict(zip(pilots["pilot_id"].astype(str), pilots["name_th" if lang == "th" else "name_en"].astype(str)))
    frame = pd.DataFrame({
        "pilot": [names.get(str(p), str(p)) for p in shown["pilot_id"]],
        "capital": [capital_label(str(c), lang) for c in shown["capital"]],
        "difference": pd.to_numeric(shown["difference"], errors="coerce").astype("float64"),
        "ci_low": pd.to_numeric(shown["ci_low"], errors="coerce").astype("float64"),
        "ci_high": pd.to_numeric(shown["ci_high"], errors="coerce").astype("float64"),
    })
    order = [capital_label(c, lang) for c in CAPITALS]
    title = text("impact_difference", lang)
    base = alt.Chart(frame).encode(y=alt.Y("capital:N", sort=order, title=None))
    bars = base.mark_errorbar(ticks=True, color="#555555").encode(
        x=alt.X("ci_low:Q", title=title), x2="ci_high:Q")
    points = base.mark_point(filled=True, size=80, color="#0072B2").encode(
        x="difference:Q",
        tooltip=[alt.Tooltip("pilot:N", title=text("pilot", lang)), alt.Tooltip("capital:N", title=text("capital", lang)),
                 alt.Tooltip("difference:Q", title=title, format="+.2f"),
                 alt.Tooltip("ci_low:Q", title="95% −", format="+.2f"),
                 alt.Tooltip("ci_high:Q", title="95% +", format="+.2f")])
    zero = base.mark_rule(color="#999999", strokeDash=[4, 3]).encode(x=alt.datum(0.0))
    return alt.layer(zero, bars, points, data=frame).facet(
        row=alt.Row("pilot:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
