"""Every page's export fits its text at every size: no text box off the canvas, no two text boxes
overlapping (measured by matplotlib's own renderer), labels on every area that has room, and a
pilot legend that lists only the kinds on the map.

Renders the sample's maps as the pages build them (:mod:`geo.views.dashboard_maps`) at each of
:data:`geo.export.common.SIZES`, and the PDF brief.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from geo.export import static
from geo.export.common import SIZES
from geo.views.dashboard_maps import MapContext, capital_map, metric_map, pilot_map
from geo.views.viewstate import ViewState

DAY = dt.date(2026, 11, 21)
#: Each page's map and the views it is drawn for: (name, builder of its MapFigure).
PAGES = ("overview", "overview_h3", "overview_subdistricts", "capitals", "capitals_dominant", "pilots",
         "meeting", "overview_en")


@pytest.fixture(scope="module")
def sample(sample_households_path):
    from geo.data.source import read_pilots
    from geo.views.mapview import load_map_inputs

    inputs = load_map_inputs(sample_households_path)
    return inputs, read_pilots(sample_households_path.parent / "pilots.csv")


def _figure(sample, page: str, province: str = "46"):
    from geo.engine.aggregate import pilot_reach
    from geo.engine.gaps import pilot_gaps
    from geo.engine.protect import protect

    inputs, pilots = sample
    context = MapContext(now=DAY, synthetic=True, attribution=inputs.attribution)
    view = ViewState(area=province, by="district", metric="mpi")
    index, boundaries = inputs.index, inputs.boundaries
    if page == "overview":
        return metric_map(index, boundaries, view, context=context).figure
    if page == "overview_en":
        return metric_map(index, boundaries, replace(view, lang="en", metric="share_levels_1_2"), context=context).figure
    if page == "overview_h3":
        return metric_map(index, boundaries, replace(view, by="h3"), context=context).figure
    if page == "overview_subdistricts":
        return metric_map(index, boundaries, replace(view, by="subdistrict"), context=context).figure
    if page == "capitals":
        return capital_map(index, boundaries, view, context=context).figure
    if page == "capitals_dominant":
        return capital_map(index, boundaries, view, dominant=True, context=context).figure
    if page == "meeting":
        return metric_map(index, boundaries, view, context=replace(context, classes="national")).figure
    reach = protect(pilot_reach(index, pilots, radius_km=5))
    gaps = pilot_gaps(index, pilots, radius_km=5)
    return pilot_map(index, boundaries, view, pilots, reach, gaps, context=context).figure


def text_boxes(fig) -> list[tuple[str, object]]:
    """Every visible text of a rendered figure and its drawn box (pixels); a label's white halo
    (``gid="halo"``, the same text under it) is left out."""
    renderer = fig.canvas.get_renderer()
    texts = [*fig.texts, *(t for ax in fig.axes for t in ax.texts)]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts
            if t.get_visible() and t.get_text().strip() and t.get_gid() != "halo"]


def fit_problems(fig) -> list[str]:
    """What does not fit: texts cut by the canvas's edge, and pairs of texts that overlap."""
    boxes = text_boxes(fig)
    width, height = fig.bbox.width, fig.bbox.height
    problems = [f"cut: {s!r} {[round(v) for v in b.extents]}" for s, b in boxes
                if b.x0 < 0 or b.y0 < 0 or b.x1 > width or b.y1 > height]
    for i, (s, a) in enumerate(boxes):
        for t, b in boxes[i + 1:]:
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1:
                problems.append(f"overlap: {s!r} and {t!r}")
    return problems


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_s_export_fits_its_text(sample, page, size):
    fig = static.render(_figure(sample, page), SIZES[size])
    assert fit_problems(fig) == []


@pytest.mark.parametrize("page", ("overview", "pilots", "overview_subdistricts"))
def test_the_pdf_brief_fits_its_text(sample, page):
    fig = static.render(_figure(sample, page), static.BRIEF_SIZE, brief=True)
    assert fit_problems(fig) == []


def test_the_checker_finds_overlaps_and_cut_text():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "one")
    fig.text(0.12, 0.5, "two")
    fig.text(0.98, 0.5, "cut off the right edge")
    problems = fit_problems(fig)
    assert any(p.startswith("overlap: 'one' and 'two'") for p in problems)
    assert any(p.startswith("cut: 'cut off") for p in problems)


def test_pilots_key_figures_and_date_fit_at_1080p(sample):
    """The Pilots export once ran its key figures off the bottom and printed the date over one."""
    figure = _figure(sample, "pilots")
    fig = static.render(figure, SIZES["1920x1080"])
    drawn = {s for s, _ in text_boxes(fig)}
    assert all(h.label in drawn and h.text in drawn for h in figure.headline)
    assert fit_problems(fig) == []


def test_pilot_legend_lists_only_the_kinds_on_the_map(sample):
    from geo.views.pilot_overlay import pilot_kind_label

    figure = _figure(sample, "pilots")
    minx, miny, maxx, maxy = figure.bounds
    sites = figure.pilots.sites
    inside = sites[sites["lon"].between(minx, maxx) & sites["lat"].between(miny, maxy)]
    shown = {f"{row.letter} {pilot_kind_label(row.kind)}" for row in inside.itertuples()}
    listed = {item.label for item in figure.pilots.legend.items}
    assert listed == shown and len(set(sites["kind"])) > len(listed)


def test_many_areas_are_labelled_where_they_fit(sample):
    """Nakhon Ratchasima (32 districts; 289 subdistricts) was unlabelled over a 30-area cap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 (the renderer static uses)

    for by, at_least in (("district", 0.8), ("subdistrict", 0.35)):
        figure = metric_map(sample[0].index, sample[0].boundaries, ViewState(area="30", by=by),
                            context=MapContext(now=DAY, synthetic=True)).figure
        fig = static.render(figure, SIZES["1920x1080"])
        names = set(figure.areas["name"])
        labelled = {s.split("\n")[0] for s, _ in text_boxes(fig)} & names
        assert len(labelled) >= at_least * len(names), (by, len(labelled), len(names))
        assert fit_problems(fig) == []


def test_an_inset_locator_frames_the_mapped_province_and_labels_keep_clear(sample):
    figure = _figure(sample, "overview")
    fig = static.render(figure, SIZES["1920x1080"])
    (inset,) = [ax for ax in fig.axes if ax.get_gid() == "inset"]
    frame = inset.patches[-1]  # the mapped area's frame, in lon/lat
    x0, y0, x1, y1 = figure.bounds
    assert (frame.get_x(), frame.get_y()) == pytest.approx((x0, y0))
    box = inset.get_window_extent(fig.canvas.get_renderer())
    assert not any(b.overlaps(box) for _, b in text_boxes(fig))
    every = metric_map(sample[0].index, sample[0].boundaries, ViewState(),
                       context=MapContext(now=DAY, synthetic=True)).figure
    assert not [ax for ax in static.render(every, SIZES["1920x1080"]).axes if ax.get_gid() == "inset"]
