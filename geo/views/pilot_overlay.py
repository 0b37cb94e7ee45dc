"""Pilot projects drawn over a map: sites (a colour and a letter per kind), reach rings, and the
candidate sites of the gaps (high-need areas with no pilot within reach).

:func:`with_pilots` adds a :class:`PilotOverlay` to a :class:`geo.views.mapview.MapFigure`; the figure
then draws it on screen (:meth:`geo.views.mapview.MapFigure.deck`), in the offline HTML export and in
the PNG/PDF exports (:mod:`geo.export.static`). Pilot sites are programme facts (a village's
position, a name, a university), not household rows; the figures beside them (households
enrolled, in need within reach) come from protected tables only. Pure Python: no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geo.views import style as mapstyle
from geo.views.text import TEXT, format_number, text

#: One letter per pilot kind, drawn on the site's circle (colour is never the only cue).
PILOT_KIND_LETTERS: dict[str, str] = {
    "mushroom": "M", "vegetables": "V", "rice": "R", "livestock": "L", "fishery": "F", "crafts": "C",
}
#: Colour of the reach rings.
RING_COLOUR = (0, 90, 160)
#: Candidate sites (gaps) are drawn as black hollow circles.
GAP_COLOUR = (0, 0, 0)


def pilot_kind_colour(kind: str) -> tuple[int, int, int]:
    """The Okabe-Ito colour of a pilot kind (grey for kinds without one)."""
    return mapstyle.PILOT_KIND_COLOURS.get(str(kind), mapstyle.OTHER_COLOUR)


def pilot_kind_letter(kind: str) -> str:
    """The letter drawn on a pilot site (unknown kinds get their own initial).

    Example
    -------
    >>> pilot_kind_letter("mushroom"), pilot_kind_letter("weaving")
    ('M', 'W')
    """
    kind = str(kind)
    return PILOT_KIND_LETTERS.get(kind, (kind[:1] or "o").upper())


def pilot_kind_label(kind: str, lang: str = "th") -> str:
    """The name of a pilot kind in ``lang`` (the kind itself when it has no label)."""
    key = f"kind_{kind}"
    return text(key, lang) if key in TEXT else str(kind)


@dataclass(frozen=True, eq=False)
class PilotOverlay:
    """What :func:`with_pilots` draws over a map.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per site with a position: ``lon``, ``lat``, ``kind``, ``letter``, ``colour``
        (RGB tuple) and the tooltip fields ``tt_title``, ``tt_1``..``tt_4``.
    gaps : pandas.DataFrame
        Candidate sites shown (protected, not withheld): ``code``, ``lon``, ``lat`` and tooltip fields.
    km : int
        Reach radius of the rings.
    legend : geo.views.style.Legend
        Pilot kinds, the rings and the candidate sites.
    """

    sites: pd.DataFrame
    gaps: pd.DataFrame
    km: int
    legend: mapstyle.Legend

    def layers(self) -> list:
        """pydeck layers: ``rings``, ``pilots``, ``pilot_letters``, ``gaps`` (those with data)."""
        import pydeck as pdk

        from geo.views import deck as maps

        out = []
        tip_fields = ("tt_title", "tt_1", "tt_2", "tt_3", "tt_4")
        if len(self.sites):
            out.append(maps.ring_layer(self.sites, radius_m=self.km * 1000.0))
            points = [{"lon": float(r.lon), "lat": float(r.lat), "fill": [*map(int, r.colour), 255],
                       **{f: getattr(r, f) for f in tip_fields}} for r in self.sites.itertuples(index=False)]
            out.append(pdk.Layer("ScatterplotLayer", data=points, id="pilots", pickable=True, stroked=True,
                                 filled=True, get_position=["lon", "lat"], get_fill_color="fill",
                                 get_line_color=[20, 20, 20], get_radius=2500, radius_min_pixels=13,
                                 line_width_min_pixels=2))
            letters = [{"lon": float(r.lon), "lat": float(r.lat), "letter": r.letter}
                       for r in self.sites.itertuples(index=False)]
            out.append(pdk.Layer("TextLayer", data=letters, id="pilot_letters", get_position=["lon", "lat"],
                                 get_text="letter", get_size=17, get_color=[255, 255, 255], outline_width=3,
                                 outline_color=[20, 20, 20], font_weight=700, get_text_anchor="'middle'",
                                 get_alignment_baseline="'center'", font_settings={"sdf": True}, pickable=False))
        if len(self.gaps):
            data = [{"lon": float(r.lon), "lat": float(r.lat), **{f: getattr(r, f) for f in tip_fields}}
                    for r in self.gaps.itertuples(index=False)]
            out.append(pdk.Layer("ScatterplotLayer", data=data, id="gaps", pickable=True, stroked=True,
                                 filled=False, get_position=["lon", "lat"], get_radius=1800, radius_min_pixels=9,
                                 line_width_min_pixels=3, get_line_color=[*GAP_COLOUR, 255]))
        return out


def _site_rows(pilots: pd.DataFrame, reach: pd.DataFrame, km: int, lang: str) -> pd.DataFrame:
    from geo.views.text import shown_count
    from geo.views.deck import tooltip_fields

    sites = pilots.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    by_id = reach.set_index("pilot_id") if len(reach) else pd.DataFrame()
    rows = []
    for _, site in sites.iterrows():
        row = by_id.loc[site["pilot_id"]] if site["pilot_id"] in by_id.index else None
        enrolled = shown_count(row["households_shown"], lang) if row is not None else "0"
        target = format_number(site["households_target"], lang) if pd.notna(site["households_target"]) else "–"
        name = site["name_th"] if lang == "th" else site["name_en"]
        lines = [
            (text("pilot_kind", lang), f"{pilot_kind_letter(site['kind'])} · {pilot_kind_label(site['kind'], lang)}"),
            (text("university", lang), str(site["university"])),
            (text("enrolled_of_target", lang), f"{enrolled} / {target}"),
            (text("in_need_within", lang, km=km),
             "–" if row is None or pd.isna(row["in_need_within"]) else format_number(int(row["in_need_within"]), lang)),
        ]
        # 4 decimals (about 11 m): a village, never a household's exact position.
        rows.append({"lon": round(float(site["lon"]), 4), "lat": round(float(site["lat"]), 4),
                     "kind": str(site["kind"]), "letter": pilot_kind_letter(site["kind"]),
                     "colour": pilot_kind_colour(site["kind"]), **tooltip_fields(str(name), lines)})
    columns = ["lon", "lat", "kind", "letter", "colour", "tt_title", "tt_1", "tt_2", "tt_3", "tt_4"]
    return pd.DataFrame(rows, columns=columns)


def _gap_rows(gaps: pd.DataFrame, lang: str) -> pd.DataFrame:
    from geo.views.text import area_name, shown_count
    from geo.views.deck import tooltip_fields

    columns = ["code", "lon", "lat", "tt_title", "tt_1", "tt_2", "tt_3", "tt_4"]
    if not len(gaps):
        return pd.DataFrame(columns=columns)
    shown = gaps[~gaps["suppressed"].to_numpy(dtype=bool)]
    rows = []
    for code, households, km, lon, lat in zip(shown["code"].astype(str), shown["households_shown"],
                                              shown["nearest_pilot_km"], shown["lon"], shown["lat"]):
        tips = tooltip_fields(f"{text('candidate_site', lang)}: {area_name(code, lang)}",
                              [(text("in_need", lang), shown_count(households, lang)),
                               (text("nearest_pilot_km", lang), format_number(km, lang, decimals=1))])
        rows.append({"code": code, "lon": round(float(lon), 4), "lat": round(float(lat), 4), **tips})
    return pd.DataFrame(rows, columns=columns)


def with_pilots(figure, pilots: pd.DataFrame, reach: pd.DataFrame, gaps: pd.DataFrame, *, km: int):
    """``figure`` (a :class:`geo.views.mapview.MapFigure`) with the pilot sites, rings and gaps over it.

    Parameters
    ----------
    pilots : pandas.DataFrame
        The pilot projects (contract columns) the user may see.
    reach : pandas.DataFrame
        :func:`geo.engine.aggregate.pilot_reach` of the pilots, protected (:func:`geo.engine.protect.protect`).
    gaps : pandas.DataFrame
        :func:`geo.engine.gaps.pilot_gaps` (protected): the shown ones become candidate sites.
    km : int
        Reach radius (km) of the rings.

    Returns
    -------
    MapFigure
        The same map with ``pilots`` set and the title saying what is drawn.
    """
    lang = figure.view.lang
    sites = _site_rows(pilots, reach, km, lang)
    minx, miny, maxx, maxy = figure.bounds
    on_map = sites["lon"].between(minx, maxx) & sites["lat"].between(miny, maxy)
    kinds = list(dict.fromkeys(sites.loc[on_map.to_numpy(), "kind"]))  # the legend lists the kinds on this map
    notes = (mapstyle.LegendItem(RING_COLOUR, text("reach_rings", lang, km=km)),
             mapstyle.LegendItem(GAP_COLOUR, text("candidate_site", lang)))
    legend = mapstyle.Legend(
        text("pilot_sites", lang),
        tuple(mapstyle.LegendItem(pilot_kind_colour(kd), f"{pilot_kind_letter(kd)} {pilot_kind_label(kd, lang)}")
              for kd in kinds),
        notes if len(sites) else (),
    )
    overlay = PilotOverlay(sites, _gap_rows(gaps, lang), int(km), legend)
    title = f"{text('pilot_sites', lang)} · {text('reach_rings', lang, km=km)} · {figure.title}"
    return replace(figure, pilots=overlay, title=title)


def ring_polygon(lon: float, lat: float, km: float, *, points: int = 72) -> np.ndarray:
    """A circle of ``km`` around a point as (lon, lat) vertices, on a local flat approximation
    (good to well under 1% at the few-km radii the rings use).

    Example
    -------
    >>> ring_polygon(103.5, 16.5, 5).shape
    (73, 2)
    """
    angles = np.linspace(0.0, 2.0 * np.pi, points + 1)
    dlat = km / 110.574
    dlon = km / (111.320 * np.cos(np.radians(lat)))
    return np.column_stack([lon + dlon * np.cos(angles), lat + dlat * np.sin(angles)])
