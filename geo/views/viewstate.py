"""What a dashboard view shows, as a value: filters and map view, to and from the URL query string.

A :class:`ViewState` holds everything that makes a view shareable: the household filters of the
sidebar, the language and era, and the page's map view (metric, map level, H3 resolution, the
selected area, the capital, the reach distance). :func:`parse_query` reads it from a URL's query
parameters and :func:`to_query` writes it back, so a link reopens the same view.

Query string (defaults are left out; lists are comma-separated, repeated keys are read too)::

    prov=46,34     provinces (2-digit DOPA codes)        dist=4609      districts (4 digits)
    level=1,2      household levels 1-4                  deficit=natural capitals in deficit
    tpmap=out      in | out (missing from TPMAP)         verified=yes   yes | no
    assist=none    assistance statuses                   pilot=P01-4609 pilot ids, or "none"
    dep=health     TPMAP deprivations (deprived in any)
    lang=en        th (default) | en                     era=CE         BE (default) | CE
    metric=mpi     the Overview's metric                 by=district    province | district | subdistrict | h3 | village
    res=8          H3 resolution 5-10 (absent: automatic; above the role's finest: its finest, said) area=4609      selected area (2/4/6 digits)
    capital=human  the Capitals page's capital           km=10          the Pilots page's distance
    layers=pilots  pilot sites, reach rings and candidate sites over the Overview's, Capitals' or Change map
    names=off      no area names on those maps (absent: the names are drawn)
    k=20           minimum households per shown area (every page; default 10)
    round=2566     the survey round shown (every page; BE or CE, written in the view's era;
                   absent: the latest)
    from=2564      the Change page's earlier round (absent: the round before ``round``)
    change=share_up  the Change page's measure (:data:`geo.views.metrics.CHANGE_METRICS`)
    classes=national   legend set: national | quantile | equal | custom (absent: the page's default,
                       national in meeting mode, quantile elsewhere)
    breaks=10,20,30    the cut points of classes=custom, in the legend's units (percent for a share);
                       breaks alone mean classes=custom

Bad values never raise: :func:`parse_query` drops them and returns a :class:`Notice` for each, so
the page can say what it ignored. Unknown keys are ignored silently (other tools add their own).
Codes the shown data does not hold are dropped by :func:`restrict`, a selected area the data or
the boundaries do not hold by :func:`restrict_area`, a round the data do not hold by
:func:`restrict_rounds` (the view falls back to the latest round, with a notice). Whether the user's role may use a ``k`` is
checked by :func:`geo.access.roles.limit_min_count` (only administrators go below 10).

A notice repeats the ignored value, which is whatever the link held: pages show it through
:func:`markdown_literal`, so no link, image or formatting in it is ever rendered.
"""

from __future__ import annotations

from geo.views.text import capital_label, text
from geo.views.text import area_name

import re
import unicodedata
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, fields, replace

from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS
from geo.engine.filters import NO_PILOT, HouseholdFilter
from geo.engine.protect import DEFAULT_MIN_COUNT
from geo.data.areas import is_valid_area
from geo.data.rounds import BE_OFFSET, round_year
from geo.errors import EngineInputError, PPAPError
from geo.views.metrics import CHANGE_METRICS, OVERVIEW_METRICS, metric_name
from geo.views.style import CLASS_METHODS, MAX_CUSTOM_BREAKS

LANGS: tuple[str, ...] = ("th", "en")
ERAS: tuple[str, ...] = ("BE", "CE")
#: Map levels: H3 hexagons or admin-area choropleths.
MAP_BY: tuple[str, ...] = ("province", "district", "subdistrict", "h3")
#: Levels a view's ``by`` may name: the map levels, and villages (the Households page's table of one
#: district, :mod:`geo.views.villages`).
TABLE_BY: tuple[str, ...] = MAP_BY + ("village",)
#: H3 resolutions a map may use and a user may pick; each role's finest is
#: :attr:`geo.access.roles.Capabilities.max_h3_res` (res 10, a few households a cell, for administrators
#: only), applied by :func:`limit_resolution`.
MAP_RESOLUTIONS: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
#: Layers a metric map may draw over its areas (``layers=pilots``).
MAP_LAYERS: tuple[str, ...] = ("pilots",)
#: Area names on a metric map (``names=off`` hides them; ``on`` is the default).
NAME_CHOICES: tuple[str, ...] = ("on", "off")
#: Reach distances offered on the Pilots page, km.
REACH_KM: tuple[int, ...] = (2, 5, 10, 20, 30)
#: Largest minimum count (``k``) a view may ask for.
MAX_MIN_COUNT = 1000
TPMAP_CHOICES: tuple[str, ...] = ("any", "in", "out")
VERIFIED_CHOICES: tuple[str, ...] = ("any", "yes", "no")
#: Pages and the view fields each one puts in its URL (filters, ``lang`` and ``era`` always).
PAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "overview": ("metric", "by", "res", "area", "classes", "breaks", "layers", "names"),
    "capitals": ("capital", "by", "area", "classes", "breaks", "layers", "names"),
    "pilots": ("km", "area", "classes", "breaks"),
    "households": ("by", "area"),
    "meeting": ("metric", "area", "classes", "breaks"),
    "change": ("change", "by", "res", "area", "round_from", "layers", "names"),
    "data": (),
    "audit": (),
}
#: A page's legend set when the view names none (:data:`geo.views.style.CLASS_METHODS`): meeting mode
#: walks through provinces, so its classes are national; other pages default to ``"quantile"``.
PAGE_CLASSES: dict[str, str] = {"meeting": "national"}
FILTER_FIELDS: tuple[str, ...] = (
    "provinces", "districts", "levels", "capitals_in_deficit", "tpmap", "verified", "assistance", "pilots",
    "deprivations",
)
#: Query parameter of each view field.
QUERY_NAMES: dict[str, str] = {
    "provinces": "prov", "districts": "dist", "levels": "level", "capitals_in_deficit": "deficit",
    "tpmap": "tpmap", "verified": "verified", "assistance": "assist", "pilots": "pilot",
    "lang": "lang", "era": "era", "metric": "metric", "by": "by", "res": "res", "area": "area",
    "capital": "capital", "km": "km", "min_count": "k", "round": "round", "round_from": "from", "change": "change",
    "classes": "classes", "breaks": "breaks", "deprivations": "dep", "layers": "layers",
    "names": "names",
}
#: View fields every page puts in its URL besides the filters.
ALWAYS_FIELDS: tuple[str, ...] = ("lang", "era", "min_count", "round")
#: View fields that are survey rounds (CE in the view, the view's era in the URL).
ROUND_FIELDS: tuple[str, ...] = ("round", "round_from")
#: Every query parameter the dashboard reads.
QUERY_KEYS: frozenset[str] = frozenset(QUERY_NAMES.values())
_PILOT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_MAX_LIST = 100


@dataclass(frozen=True)
class ViewState:
    """One dashboard view. Every field has a default, so ``ViewState()`` is the opening view.

    Lists are tuples without duplicates, in a canonical order (codes sorted, levels ascending,
    capitals and statuses in the contract's order), so two equal views serialise equally.
    """

    provinces: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()
    capitals_in_deficit: tuple[str, ...] = ()
    tpmap: str = "any"
    verified: str = "any"
    assistance: tuple[str, ...] = ()
    pilots: tuple[str, ...] = ()
    #: TPMAP dimensions: keep households deprived in at least one (``dep=health,income``).
    deprivations: tuple[str, ...] = ()
    lang: str = "th"
    era: str = "BE"
    metric: str = "poor_households"
    by: str = "province"
    res: int | None = None
    area: str = ""
    capital: str = "human"
    km: int = 5
    #: Smallest number of households an area must hold to be shown (``geo.engine.protect.protect``'s
    #: ``k``); only administrators may go below 10 (:func:`geo.access.roles.limit_min_count`).
    min_count: int = DEFAULT_MIN_COUNT
    #: The survey round shown (CE); ``None`` is the latest the data hold.
    round: int | None = None
    #: The Change page's earlier round (CE); ``None`` is the round before the one shown.
    round_from: int | None = None
    #: The Change page's measure (:data:`geo.views.metrics.CHANGE_METRICS`).
    change: str = CHANGE_METRICS[0]
    #: The legend set (:data:`geo.views.style.CLASS_METHODS`); ``""`` is the page's default.
    classes: str = ""
    #: Cut points of ``classes="custom"``, as the legend reads them (percent for a share).
    breaks: tuple[float, ...] = ()
    #: Layers drawn over a metric map (:data:`MAP_LAYERS`): ``("pilots",)`` adds the pilot sites,
    #: reach rings and candidate sites to the Overview and Capitals maps.
    layers: tuple[str, ...] = ()
    #: Area names on the map (:data:`NAME_CHOICES`): ``"off"`` draws the map without them.
    names: str = "on"

    def audit_fields(self) -> dict[str, str]:
        """``area`` and ``filters`` for the audit log (:func:`geo.access.audit.log_event`): the selected
        area (else the districts, else the provinces, else ``"all"``) and every non-default filter
        and map setting as ``name=value`` pairs.

        Example
        -------
        >>> ViewState(provinces=("46",), levels=(1, 2), by="district").audit_fields()
        {'area': '46', 'filters': 'prov=46 level=1,2 by=district'}
        """
        area = self.area or ",".join(self.districts) or ",".join(self.provinces) or "all"
        query = {k: v for k, v in to_query(replace(self, era="CE")).items() if k not in ("lang", "era")}
        if self.min_count != ViewState().min_count:
            query.setdefault("k", str(self.min_count))
        return {"area": area, "filters": " ".join(f"{k}={v}" for k, v in query.items())}

    def to_filter(self) -> HouseholdFilter | None:
        """The engine's :class:`~geo.engine.filters.HouseholdFilter` for these filters; ``None`` keeps all.

        Example
        -------
        >>> ViewState(levels=(1, 2), tpmap="out").to_filter().in_tpmap
        False
        """
        flt = HouseholdFilter(
            provinces=self.provinces or None,
            districts=self.districts or None,
            levels=self.levels or None,
            capitals_in_deficit=self.capitals_in_deficit or None,
            in_tpmap={"any": None, "in": True, "out": False}[self.tpmap],
            verified={"any": None, "yes": True, "no": False}[self.verified],
            assistance=self.assistance or None,
            pilots=self.pilots or None,
            deprivations=self.deprivations or None,
        )
        return None if flt.is_empty else flt

    @property
    def has_filters(self) -> bool:
        """True when any household filter is set."""
        return any(getattr(self, name) not in ((), "any") for name in FILTER_FIELDS)

    def without_filters(self) -> ViewState:
        """The same view with every household filter cleared."""
        defaults = ViewState()
        return replace(self, **{name: getattr(defaults, name) for name in FILTER_FIELDS})


@dataclass(frozen=True)
class Notice:
    """A query value that was ignored, and why (``reason`` is a :mod:`geo.views.text` label key)."""

    param: str
    value: str
    reason: str


# ---------------------------------------------------------------------------------------------
# Areas: drilling down and back
# ---------------------------------------------------------------------------------------------


def shown_level(view: ViewState) -> str:
    """Which admin level the map draws: the level below the selected area, at least ``view.by``.

    A selected subdistrict is drawn among its district's subdistricts. With ``by="h3"`` this is
    the admin level the top-10 table and drill-down use.

    Example
    -------
    >>> shown_level(ViewState(by="province", area="46")), shown_level(ViewState(area="460901"))
    ('district', 'subdistrict')
    """
    order = ("province", "district", "subdistrict")
    below = {0: 0, 2: 1, 4: 2, 6: 2}[len(view.area)]
    floor = order.index(view.by) if view.by in order else 0
    return order[max(below, floor)]


def drill_down(view: ViewState, code: str) -> ViewState:
    """The view after clicking area ``code``: it becomes the selected area.

    Clicking a subdistrict selects it (there is no finer admin level); clicking the already
    selected area keeps the view. Codes that are not areas leave the view unchanged.
    """
    if not is_valid_area(code) or code == "":
        return view
    return replace(view, area=code)


def drill_up(view: ViewState) -> ViewState:
    """The view one level up: subdistrict -> its district's view, district -> province, province -> all.

    A selected subdistrict goes back to its district, which shows the same subdistricts map.
    """
    return replace(view, area=view.area[:-2]) if view.area else view


def selected_code(selection: object, layer: str = "areas") -> str | None:
    """The area code of the object picked on a map (Streamlit's pydeck selection state); never raises.

    ``selection`` is ``{"indices": {...}, "objects": {layer: [object, ...]}}``; an area is a GeoJSON
    feature whose ``properties`` hold ``code``. Anything else gives ``None``.

    Example
    -------
    >>> selected_code({"objects": {"areas": [{"properties": {"code": "4609"}}]}})
    '4609'
    """
    try:
        picked = selection["objects"][layer]  # type: ignore[index]
        if not picked:
            return None
        obj = picked[0]
        code = obj.get("properties", {}).get("code", obj.get("code")) if isinstance(obj, Mapping) else None
    except (KeyError, TypeError, IndexError, AttributeError):
        return None
    return code if is_valid_area(code) and code != "" else None


# ---------------------------------------------------------------------------------------------
# Parsing and serialising
# ---------------------------------------------------------------------------------------------


def _values(raw: object) -> list[str]:
    """Every comma-separated value of a query parameter (a string or a list of strings)."""
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, Iterable) else [str(raw)]
    out: list[str] = []
    for item in items:
        out += [part.strip() for part in str(item).split(",") if part.strip()]
    return out


def _single(raw: object) -> str:
    values = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, Iterable) else [str(raw)]
    return str(values[-1]).strip() if values else ""


def _codes(param: str, raw: object, width: int, notices: list[Notice]) -> tuple[str, ...]:
    good = []
    for value in _values(raw)[:_MAX_LIST]:
        if len(value) == width and value.isascii() and value.isdigit():
            good.append(value)
        else:
            notices.append(Notice(param, value, "url_bad_code"))
    return tuple(sorted(set(good)))


def _choices(param: str, raw: object, allowed: tuple[str, ...], notices: list[Notice]) -> tuple[str, ...]:
    values = _values(raw)[:_MAX_LIST]
    for value in values:
        if value not in allowed:
            notices.append(Notice(param, value, "url_bad_choice"))
    return tuple(a for a in allowed if a in values)


def _choice(param: str, raw: object, allowed: tuple[str, ...], default: str, notices: list[Notice]) -> str:
    value = _single(raw)
    if value in allowed:
        return value
    notices.append(Notice(param, value, "url_bad_choice"))
    return default


def _levels(raw: object, notices: list[Notice]) -> tuple[int, ...]:
    good = set()
    for value in _values(raw)[:_MAX_LIST]:
        if value in ("1", "2", "3", "4"):
            good.add(int(value))
        else:
            notices.append(Notice("level", value, "url_bad_choice"))
    return tuple(sorted(good))


def _pilots(raw: object, notices: list[Notice]) -> tuple[str, ...]:
    good = set()
    for value in _values(raw)[:_MAX_LIST]:
        if value == NO_PILOT or _PILOT_ID.match(value):
            good.add(value)
        else:
            notices.append(Notice("pilot", value, "url_bad_code"))
    return tuple(sorted(good))


def _round(param: str, raw: object, notices: list[Notice]) -> int | None:
    """A survey round from a link, in CE (BE or CE accepted: :func:`geo.data.rounds.round_year`)."""
    value = _single(raw)
    try:
        return round_year(value)
    except PPAPError:
        notices.append(Notice(param, value, "url_bad_round"))
        return None


def _int_choice(param: str, raw: object, allowed: Container[int], notices: list[Notice]) -> int | None:
    value = _single(raw)
    if value.isascii() and value.isdigit() and int(value) in allowed:
        return int(value)
    notices.append(Notice(param, value, "url_bad_choice"))
    return None


def parse_breaks(value: object) -> tuple[float, ...] | None:
    """Typed cut points (``"10, 20, 30"``) as numbers; ``None`` unless there are 1 to
    :data:`geo.views.style.MAX_CUSTOM_BREAKS` finite numbers, strictly increasing. Never raises.

    Example
    -------
    >>> parse_breaks("10,20,30"), parse_breaks("20,10"), parse_breaks("x")
    ((10.0, 20.0, 30.0), None, None)
    """
    import math

    try:
        numbers = tuple(float(v) for v in _values(value))
    except (TypeError, ValueError):
        return None
    if not 1 <= len(numbers) <= MAX_CUSTOM_BREAKS or not all(math.isfinite(n) for n in numbers):
        return None
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        return None
    return numbers


def format_breaks(breaks: Iterable[float]) -> str:
    """Cut points as a link or a text box writes them: ``(10.0, 20.5) -> "10,20.5"``."""
    return ",".join(repr(float(b)).removesuffix(".0") for b in breaks)


def _legend_set(params: Mapping[str, object], notices: list[Notice]) -> dict[str, object]:
    """``classes`` and ``breaks`` from a link: bad values dropped with a notice (the page's default)."""
    values: dict[str, object] = {}
    if "classes" in params:
        values["classes"] = _choice("classes", params.get("classes"), CLASS_METHODS, "", notices)
    if "breaks" in params:
        raw = params.get("breaks")
        breaks = parse_breaks(raw)
        if breaks is None:
            notices.append(Notice("breaks", ",".join(_values(raw)), "url_bad_breaks"))
        elif values.get("classes", "custom") != "custom":
            notices.append(Notice("breaks", format_breaks(breaks), "url_breaks_not_custom"))
        else:
            values.update(classes="custom", breaks=breaks)
    if values.get("classes") == "custom" and not values.get("breaks"):
        notices.append(Notice("classes", "custom", "url_custom_needs_breaks"))
        values["classes"] = ""
    return values


def parse_query(params: Mapping[str, object]) -> tuple[ViewState, list[Notice]]:
    """Read a view from URL query parameters; bad values are dropped with a notice, never raised.

    Parameters
    ----------
    params : mapping of str to str or list of str
        ``st.query_params`` (as ``{key: get_all(key)}``) or any parsed query string.

    Returns
    -------
    (ViewState, list of Notice)

    Example
    -------
    >>> view, notices = parse_query({"prov": "46,xx", "by": "district"})
    >>> view.provinces, view.by, [(n.param, n.value) for n in notices]
    (('46',), 'district', [('prov', 'xx')])
    """
    notices: list[Notice] = []
    values: dict[str, object] = {}
    get = params.get
    if "prov" in params:
        values["provinces"] = _codes("prov", get("prov"), 2, notices)
    if "dist" in params:
        values["districts"] = _codes("dist", get("dist"), 4, notices)
    if "level" in params:
        values["levels"] = _levels(get("level"), notices)
    if "deficit" in params:
        values["capitals_in_deficit"] = _choices("deficit", get("deficit"), CAPITALS, notices)
    if "tpmap" in params:
        values["tpmap"] = _choice("tpmap", get("tpmap"), TPMAP_CHOICES, "any", notices)
    if "verified" in params:
        values["verified"] = _choice("verified", get("verified"), VERIFIED_CHOICES, "any", notices)
    if "assist" in params:
        values["assistance"] = _choices("assist", get("assist"), ASSISTANCE_STATUSES, notices)
    if "pilot" in params:
        values["pilots"] = _pilots(get("pilot"), notices)
    if "layers" in params:
        values["layers"] = _choices("layers", get("layers"), MAP_LAYERS, notices)
    if "names" in params:
        values["names"] = _choice("names", get("names"), NAME_CHOICES, "on", notices)
    if "dep" in params:
        values["deprivations"] = _choices("dep", get("dep"), DEPRIVATIONS, notices)
    if "lang" in params:
        values["lang"] = _choice("lang", get("lang"), LANGS, "th", notices)
    if "era" in params:
        values["era"] = _choice("era", get("era"), ERAS, "BE", notices)
    if "metric" in params:
        values["metric"] = _choice("metric", metric_name(_single(get("metric"))), OVERVIEW_METRICS,
                                   ViewState.metric, notices)
    if "by" in params:
        values["by"] = _choice("by", get("by"), TABLE_BY, ViewState.by, notices)
    if "res" in params:
        values["res"] = _int_choice("res", get("res"), MAP_RESOLUTIONS, notices)
    if "area" in params:
        area = _single(get("area"))
        if is_valid_area(area):
            values["area"] = area
        else:
            notices.append(Notice("area", area, "url_bad_code"))
    if "capital" in params:
        values["capital"] = _choice("capital", get("capital"), CAPITALS, ViewState.capital, notices)
    if "km" in params:
        km = _int_choice("km", get("km"), REACH_KM, notices)
        if km is not None:
            values["km"] = km
    if "k" in params:
        k = _int_choice("k", get("k"), range(1, MAX_MIN_COUNT + 1), notices)
        if k is not None:
            values["min_count"] = k
    for field_name in ROUND_FIELDS:
        param = QUERY_NAMES[field_name]
        if param in params:
            year = _round(param, get(param), notices)
            if year is not None:
                values[field_name] = year
    if "change" in params:
        values["change"] = _choice("change", get("change"), CHANGE_METRICS, ViewState.change, notices)
    values.update(_legend_set(params, notices))
    view = ViewState(**values)  # type: ignore[arg-type]
    if view.districts and view.provinces:
        inside = tuple(d for d in view.districts if d[:2] in view.provinces)
        for d in sorted(set(view.districts) - set(inside)):
            notices.append(Notice("dist", d, "url_district_outside"))
        view = replace(view, districts=inside)
    return view, notices


def to_query(view: ViewState, page: str | None = None) -> dict[str, str]:
    """URL query parameters for ``view`` on ``page`` (all view fields when ``page`` is None).

    Fields at their default are left out, so the opening view has an empty query string.

    Example
    -------
    >>> to_query(ViewState(provinces=("46",), levels=(1, 2), by="district"), "overview")
    {'prov': '46', 'level': '1,2', 'by': 'district'}
    """
    if page is not None and page not in PAGE_FIELDS:
        raise EngineInputError(f"page must be one of {list(PAGE_FIELDS)}, got {page!r}")
    wanted = set(PAGE_FIELDS[page]) if page is not None else {f for fs in PAGE_FIELDS.values() for f in fs}
    defaults = ViewState()
    out: dict[str, str] = {}
    for field in fields(ViewState):
        name = field.name
        if name not in FILTER_FIELDS and name not in ALWAYS_FIELDS and name not in wanted:
            continue
        value = getattr(view, name)
        if value == getattr(defaults, name):
            continue
        if name in ROUND_FIELDS:  # a round in the user's era: ?round=2566, or ?round=2023 with era=CE
            value = value + BE_OFFSET if view.era == "BE" else value
        if name == "breaks":
            out[QUERY_NAMES[name]] = format_breaks(value)
            continue
        out[QUERY_NAMES[name]] = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
    return out


def normalise(view: ViewState) -> ViewState:
    """``view`` in canonical form (sorted, de-duplicated lists), as :func:`parse_query` returns."""
    return parse_query(to_query(view))[0]


def restrict(view: ViewState, *, provinces: Iterable[str], districts: Iterable[str],
             pilots: Iterable[str]) -> tuple[ViewState, list[Notice]]:
    """Drop codes the data does not hold (a link made with other data), with a notice each.

    Parameters
    ----------
    view : ViewState
    provinces, districts, pilots : iterable of str
        The codes present in the data shown (``"none"`` is always a valid pilot).
    """
    notices: list[Notice] = []
    known = {"prov": set(provinces), "dist": set(districts), "pilot": set(pilots) | {NO_PILOT}}
    values = {}
    for name, param in (("provinces", "prov"), ("districts", "dist"), ("pilots", "pilot")):
        kept = tuple(v for v in getattr(view, name) if v in known[param])
        notices += [Notice(param, v, "url_not_in_data") for v in getattr(view, name) if v not in known[param]]
        values[name] = kept
    return replace(view, **values), notices


def restrict_rounds(view: ViewState, rounds: Iterable[int]) -> tuple[ViewState, list[Notice]]:
    """Drop a round the data do not hold (a link made with other data), with a notice: the view
    falls back to the latest round (``round``) or to the round before the one shown (``from``).

    Parameters
    ----------
    view : ViewState
    rounds : iterable of int
        The survey rounds (CE) of the data shown.

    Example
    -------
    >>> view, notices = restrict_rounds(ViewState(round=2019, round_from=2021), [2021, 2023])
    >>> view.round, view.round_from, [(n.param, n.value, n.reason) for n in notices]
    (None, 2021, [('round', '2562', 'url_not_in_data')])
    """
    held = set(int(r) for r in rounds)
    values, notices = {}, []
    for name in ROUND_FIELDS:
        year = getattr(view, name)
        if year is not None and year not in held:
            shown = year + BE_OFFSET if view.era == "BE" else year
            notices.append(Notice(QUERY_NAMES[name], str(shown), "url_not_in_data"))
            values[name] = None
    return replace(view, **values), notices


def limit_resolution(view: ViewState, max_res: int) -> tuple[ViewState, list[Notice]]:
    """The view with its H3 resolution at most ``max_res`` (the role's finest,
    :attr:`geo.access.roles.Capabilities.max_h3_res`), and a notice when it was finer: a
    ``?res=10`` link opened by a viewer is drawn at res 7 and says so, never silently.

    Example
    -------
    >>> view, notices = limit_resolution(ViewState(by="h3", res=10), 7)
    >>> view.res, [(n.param, n.value, n.reason) for n in notices]
    (7, [('res', '10', 'url_res_capped')])
    """
    if view.res is None or view.res <= max_res:
        return view, []
    return replace(view, res=max_res), [Notice("res", str(view.res), "url_res_capped")]


def change_rounds(view: ViewState, rounds: Iterable[int]) -> tuple[int, int] | None:
    """The two rounds (CE) the Change page compares: ``(from, to)``, ``to`` the round shown (the
    latest unless the view picks one), ``from`` the view's earlier round when it is before ``to``,
    else the round just before ``to``. ``None`` when the data hold no round before ``to``.

    Example
    -------
    >>> change_rounds(ViewState(), [2019, 2021, 2023]), change_rounds(ViewState(round_from=2019), [2019, 2021, 2023])
    ((2021, 2023), (2019, 2023))
    """
    held = sorted(set(int(r) for r in rounds))
    if not held:
        return None
    to = view.round if view.round in held else held[-1]
    earlier = [r for r in held if r < to]
    if not earlier:
        return None
    return (view.round_from if view.round_from in earlier else earlier[-1]), to


def restrict_area(view: ViewState, *, data_areas: Container[str],
                  boundary_areas: Container[str] | None = None) -> tuple[ViewState, list[Notice]]:
    """Drop a selected area that the data or the boundaries do not hold, with a notice.

    A well-formed code of no real area (``?area=99``), or of an area with no households in the
    data shown, would leave the maps nothing to draw; the view falls back to every area instead.

    Parameters
    ----------
    view : ViewState
    data_areas : container of str
        Area codes (any level) with households in the data shown.
    boundary_areas : container of str or None
        Area codes (any level) in the installed boundaries; ``None`` skips that check (no
        boundaries installed, so no map is drawn).

    Returns
    -------
    (ViewState, list of Notice)
        The view (``area`` cleared when unknown) and a notice (``url_not_in_data`` or
        ``url_not_in_boundaries``) when it was.

    Example
    -------
    >>> view, notices = restrict_area(ViewState(area="99"), data_areas={"46", "4609"})
    >>> view.area, [(n.param, n.value, n.reason) for n in notices]
    ('', [('area', '99', 'url_not_in_data')])
    """
    if not view.area:
        return view, []
    if view.area not in data_areas:
        reason = "url_not_in_data"
    elif boundary_areas is not None and view.area not in boundary_areas:
        reason = "url_not_in_boundaries"
    else:
        return view, []
    return replace(view, area=""), [Notice("area", view.area, reason)]


#: Longest part of a link's value a notice repeats (the rest is cut, with an ellipsis).
LITERAL_LIMIT = 80
_BACKTICKS = re.compile(r"`+")


def markdown_literal(value: object, *, limit: int = LITERAL_LIMIT) -> str:
    """``value`` as Markdown that shows exactly its text: an inline code span; never raises.

    For any text a user controls (a link's values, an uploaded file's name, an error message
    quoting a file) that a page puts in ``st.markdown``, ``st.caption``, ``st.warning`` and the
    like. Inside a code span Markdown makes no links, images, autolinks (``http://...``,
    ``www...``, e-mail addresses), emphasis, HTML, maths or Streamlit directives (``:red[...]``,
    ``:material/...:``), where backslash escapes would still leave autolinks live. The fence is
    longer than any run of backticks in ``value``; line breaks and other control or format
    characters (which could end the span or reorder the text, e.g. U+202E) become U+FFFD; the text
    is cut to ``limit`` characters. ASCII letters and digits alone (``county``, ``TH46``) cannot
    form any of these and are returned as they are.

    Parameters
    ----------
    value : object
        Any value; ``str(value)`` is shown.
    limit : int, default LITERAL_LIMIT
        Most characters of ``value`` shown.

    Returns
    -------
    str
        Markdown; ``""`` for an empty or blank value.

    Example
    -------
    >>> markdown_literal("[log in](http://evil.invalid)")
    '` [log in](http://evil.invalid) `'
    >>> markdown_literal("a`b"), markdown_literal("county")
    ('`` a`b ``', 'county')
    """
    text_value = value if isinstance(value, str) else str(value)
    if len(text_value) > limit:
        text_value = text_value[:limit] + "…"
    text_value = "".join("\ufffd" if unicodedata.category(ch)[0] == "C" else ch for ch in text_value)
    if not text_value.strip():
        return ""
    if text_value.isascii() and text_value.isalnum():
        return text_value
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text_value)), default=0) + 1)
    # Spaces inside the fence: one is stripped from each side, so a value starting or ending with
    # a backtick cannot join the fence.
    return f"{fence} {text_value} {fence}"


def describe_filters(view: ViewState, lang: str = "th", *, with_provinces: bool = False) -> str:
    """The view's filters in words, for titles and downloads (``""`` when none is set).

    Provinces are left out unless ``with_provinces`` (titles name them through :func:`where_label`).
    """
    from geo.views.text import assistance_label, deprivation_label, level_label

    parts = []
    if view.provinces and (with_provinces or view.area):
        parts.append(", ".join(area_name(p, lang) for p in view.provinces))
    if view.districts:
        parts.append(f"{text('district', lang)} " + ", ".join(area_name(d, lang) for d in view.districts))
    if view.levels:
        parts.append(f"{text('level', lang)} " + ", ".join(f"{lv} {level_label(lv, lang)}" for lv in view.levels))
    if view.capitals_in_deficit:
        capitals = ", ".join(capital_label(c, lang) for c in view.capitals_in_deficit)
        parts.append(text("deficit_in", lang, capitals=capitals))
    if view.tpmap != "any":
        parts.append(text(f"tpmap_{view.tpmap}", lang))
    if view.verified != "any":
        parts.append(text(f"verified_{view.verified}", lang))
    if view.assistance:
        parts.append(", ".join(assistance_label(s, lang) for s in view.assistance))
    if view.deprivations:
        parts.append(text("deprived_in", lang, dimensions=", ".join(deprivation_label(d, lang)
                                                                     for d in view.deprivations)))
    if view.pilots:
        named = [p for p in view.pilots if p != NO_PILOT]
        pilots = [f"{text('pilot', lang)} {', '.join(named)}"] if named else []
        if NO_PILOT in view.pilots:  # "In no pilot" reads alone, not "Pilot project In no pilot"
            pilots.append(text("no_pilot", lang))
        parts.append(", ".join(pilots))
    return "; ".join(parts)
