"""The Change page's views (geo.views.change) on the tiny world's two rounds: the filters as a pair
mask, the headline, the maps (values are the engine's shares, withheld areas grey, the rounds in
the subtitle and every export), one legend for before and after, the transition matrix and the
download; and the rounds in the view state and the URL (geo.views.viewstate)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from geo.engine.aggregate import index_households
from geo.engine.mobility import MOBILITY_COLUMNS, TRANSITION_COLUMNS, mobility_shares, mobility_table, \
    mobility_totals, pair_rounds
from geo.export import export_bytes
from geo.views.change import (CHANGE_HEADLINE, change_headline, change_map, mobility_download, pairs_mask,
                              round_pair_text, shared_legend, transition_chart, transition_frame, unapplied_filters)
from geo.views.dashboard_maps import MapContext, metric_map
from geo.views.metrics import CHANGE_METRICS, get_metric, metric_label
from geo.views.viewstate import ViewState, change_rounds, parse_query, restrict_rounds, to_query
from tests.pages import tiny_world

DAY = dt.date(2026, 12, 5)


@pytest.fixture(scope="module")
def households() -> pd.DataFrame:
    return tiny_world.two_rounds()


@pytest.fixture(scope="module")
def pairs(households) -> pd.DataFrame:
    return pair_rounds(households, 2021, 2023)


@pytest.fixture(scope="module")
def boundaries() -> dict:
    return tiny_world.boundaries()


def exact(k: int = 1, **more) -> MapContext:
    return MapContext(now=DAY, synthetic=True, min_count=k, exact=True, **more)


# ---------------------------------------------------------------------------------------------
# Rounds in the view and the URL
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["2566", "2023", " 2566 "])
def test_a_round_is_read_in_be_or_ce(given):
    view, notices = parse_query({"round": given})
    assert (view.round, notices) == (2023, [])


def test_a_round_is_written_in_the_users_era_and_round_trips():
    view = ViewState(round=2021, round_from=2019, change="share_fell")
    assert to_query(view, "change") == {"round": "2564", "from": "2562", "change": "share_fell"}
    assert to_query(ViewState(round=2021, era="CE"), "overview") == {"era": "CE", "round": "2021"}
    for era in ("BE", "CE"):
        shown = ViewState(round=2021, round_from=2019, era=era, change="change_social")
        assert parse_query(to_query(shown, "change"))[0] == shown
    assert "round" not in to_query(ViewState(), "overview")  # the latest: no parameter


@pytest.mark.parametrize("given", ["abc", "25", "2566x", "9999"])
def test_a_bad_round_is_a_notice_not_an_error(given):
    view, notices = parse_query({"round": given, "from": given})
    assert view.round is None and view.round_from is None
    assert [(n.param, n.reason) for n in notices] == [("round", "url_bad_round"), ("from", "url_bad_round")]


def test_an_unknown_round_falls_back_to_the_latest_with_a_notice():
    view, notices = restrict_rounds(ViewState(round=2019, round_from=2021), [2021, 2023])
    assert (view.round, view.round_from) == (None, 2021)
    assert [(n.param, n.value, n.reason) for n in notices] == [("round", "2562", "url_not_in_data")]
    kept, none = restrict_rounds(ViewState(round=2021), [2021, 2023])
    assert kept.round == 2021 and none == []


def test_the_change_page_compares_the_two_latest_unless_told():
    rounds = [2019, 2021, 2023]
    assert change_rounds(ViewState(), rounds) == (2021, 2023)
    assert change_rounds(ViewState(round_from=2019), rounds) == (2019, 2023)
    assert change_rounds(ViewState(round=2021), rounds) == (2019, 2021)
    assert change_rounds(ViewState(round=2021, round_from=2023), rounds) == (2019, 2021)  # not before: ignored
    assert change_rounds(ViewState(), [2023]) is None
    assert change_rounds(ViewState(round=2019), rounds) is None


def test_the_change_measure_is_checked():
    view, notices = parse_query({"change": "share_escaped"})
    assert view.change == "share_escaped" and not notices
    view, notices = parse_query({"change": "mpi"})
    assert view.change == CHANGE_METRICS[0] and notices[0].param == "change"


def test_round_pair_in_words():
    assert round_pair_text(2021, 2023, "th") == "รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566"
    assert round_pair_text(2021, 2023, "en", "CE") == "Survey rounds 2021 CE → 2023 CE"


# ---------------------------------------------------------------------------------------------
# Selection and headline
# ---------------------------------------------------------------------------------------------


def test_filters_select_pairs(pairs):
    assert pairs_mask(pairs, ViewState()) is None
    prov = pairs_mask(pairs, ViewState(provinces=("34",)))
    assert prov.sum() == (pairs["province_code"].astype(str) == "34").sum() > 0
    level = pairs_mask(pairs, ViewState(levels=(1,)))
    assert (pairs.loc[level, "level_from"] == 1).all() and level.sum() == (pairs["level_from"] == 1).sum()
    area = pairs_mask(pairs, ViewState(area="4609"))
    assert set(pairs.loc[area, "district_code"].astype(str)) == {"4609"}
    pilot = pairs_mask(pairs, ViewState(pilots=("P1",)))
    in_p1 = (pairs["pilot_from"].astype("string") == "P1").fillna(False) | \
        (pairs["pilot_to"].astype("string") == "P1").fillna(False)
    assert pilot.sum() == in_p1.sum() >= 10  # the 10 enrolled in 2023, and any named in 2021
    none = pairs_mask(pairs, ViewState(pilots=("none",)))
    assert none.sum() == len(pairs) - in_p1.sum()
    deficit = pairs_mask(pairs, ViewState(capitals_in_deficit=("natural",)))
    assert (pairs.loc[deficit, "natural_from"] < 1.75).all()


def test_round_only_filters_are_named_not_applied(pairs):
    view = ViewState(tpmap="out", assistance=("helped",))
    assert unapplied_filters(view) == ("tpmap", "assistance")
    assert pairs_mask(pairs, view) is None


def test_headline_counts_are_conserved_and_withheld_reads_withheld(pairs):
    totals = mobility_totals(pairs, exact=True, min_count=1)
    items = {h.key: h for h in change_headline(totals, "en")}
    assert tuple(items) == CHANGE_HEADLINE
    assert items["followed"].value + items["new"].value == totals["households_to"] == 71
    assert items["followed"].value + items["not_found"].value == totals["households_from"] == 70
    assert items["up"].value + items["same"].value + items["down"].value == items["followed"].value
    public = {h.key: h for h in change_headline(mobility_totals(pairs, min_count=10), "th")}
    withheld = [h for h in public.values() if h.value is None]
    assert withheld and all(h.text == "ปกปิด" for h in withheld)  # e.g. "down": fewer than 10


# ---------------------------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", CHANGE_METRICS)
def test_map_values_are_the_engines_shares(pairs, boundaries, metric):
    figure = change_map(pairs, boundaries, ViewState(area="46", change=metric), context=exact()).figure
    table = mobility_table(pairs, by="district", exact=True, min_count=1)
    table = table[table["code"].astype(str).str.startswith("46")].set_index("code")
    column = get_metric(metric).columns[0]
    expected = mobility_shares(table)[column]
    shown = figure.areas.set_index("key")
    assert set(shown.index) == {"4601", "4609"}
    for code in shown.index:
        value, want = shown.loc[code, "value"], expected.loc[code]
        assert (np.isnan(value) and np.isnan(want)) or value == pytest.approx(want)
    assert figure.title.startswith(metric_label(metric, "th"))


def test_small_areas_are_withheld_in_the_public_release(pairs, boundaries):
    figure = change_map(pairs, boundaries, ViewState(area="4609", by="subdistrict"),
                        context=MapContext(now=DAY, min_count=10)).figure
    status = dict(zip(figure.areas["key"], figure.areas["status"]))
    assert status["460902"] == "withheld"  # 4 households
    assert all(v in ("", None) or not str(v).startswith("4") for v in figure.areas["value_text"])
    assert "460902" not in set(figure.table["code"].astype(str))


def test_h3_change_map_and_its_rounds_in_the_subtitle(pairs, boundaries):
    context = exact(round_text=round_pair_text(2021, 2023, "th"))
    figure = change_map(pairs, boundaries, ViewState(by="h3", res=7, area="46"), context=context).figure
    assert figure.level == "h3" and figure.res == 7 and len(figure.areas) > 0
    assert figure.subtitle.startswith("รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566")
    followed = pd.to_numeric(figure.table["followed"], errors="coerce").sum()
    assert followed == ((pairs["status"] == "followed") & (pairs["province_code"].astype(str) == "46")).sum()


@pytest.mark.parametrize("fmt", ["html", "pdf", "png"])
def test_every_export_says_which_rounds(pairs, boundaries, fmt):
    context = exact(round_text=round_pair_text(2021, 2023, "en"), attribution=tiny_world.ATTRIBUTION)
    figure = change_map(pairs, boundaries, ViewState(area="46", lang="en"), context=context).figure
    data, _ = export_bytes(figure, fmt)
    assert len(data) > 1000
    if fmt == "html":
        assert "Survey rounds BE 2564 → BE 2566" in data.decode("utf-8")
    elif fmt == "pdf":
        assert b"Survey rounds BE 2564" in data or "Survey rounds BE 2564".encode("utf-16-be") in data
    assert figure.subtitle.startswith("Survey rounds BE 2564 → BE 2566")


def test_a_rounds_map_says_its_round(households, boundaries):
    index = index_households(households[households["survey_year"] == 2021].reset_index(drop=True))
    figure = metric_map(index, boundaries, ViewState(area="46", lang="en"),
                        context=exact(round_text="Survey round BE 2564")).figure
    data, _ = export_bytes(figure, "html")
    assert figure.subtitle.startswith("Survey round BE 2564") and "Survey round BE 2564" in data.decode("utf-8")


def test_before_and_after_share_one_legend(households, boundaries):
    maps = []
    for year in (2021, 2023):
        index = index_households(households[households["survey_year"] == year].reset_index(drop=True))
        maps.append(metric_map(index, boundaries, ViewState(metric="share_levels_1_2", by="district"),
                               context=exact()))
    before, after = shared_legend(maps)
    assert before.legend == after.legend
    values = np.concatenate([m.figure.areas["value"].to_numpy(float) for m in (before, after)])
    fills = np.concatenate([m.figure.fill for m in (before, after)])
    for value in np.unique(values[np.isfinite(values)]):  # one value, one colour, in either map
        assert len({tuple(f) for f in fills[values == value]}) == 1
    with pytest.raises(ValueError):
        shared_legend([before, replace_metric(after)])


def replace_metric(dashboard_map):
    from dataclasses import replace

    from geo.views.dashboard_maps import DashboardMap

    figure = replace(dashboard_map.figure, view=replace(dashboard_map.figure.view, metric="mpi"))
    return DashboardMap(figure, dashboard_map.size)


# ---------------------------------------------------------------------------------------------
# Transitions and the download
# ---------------------------------------------------------------------------------------------


def test_transitions_sum_to_the_followed(pairs):
    totals = mobility_totals(pairs, exact=True, min_count=1)
    frame = transition_frame(totals, "en")
    assert len(frame) == 16 and frame["households"].sum() == totals["followed"] == 59
    assert frame.set_index(["level_from", "level_to"]).loc[(1, 2), "households"] == 8


def test_the_transition_chart_writes_its_counts(pairs):
    totals = mobility_totals(pairs, exact=True, min_count=1)
    spec = json.loads(transition_chart(totals, year_from=2021, year_to=2023, lang="en").to_json())
    values = spec["datasets"][next(iter(spec["datasets"]))]
    labels = {(v["level_from"], v["level_to"]): v["label"] for v in values}
    assert labels[(2, 2)] == "16" and labels[(1, 2)] == "8"
    marks = json.dumps(spec)
    assert '"text"' in marks and "Level in BE 2564" in marks and "Level in BE 2566" in marks
    public = transition_frame(mobility_totals(pairs, min_count=10), "th")
    assert (public.loc[public["households"].isna(), "label"] == "ปกปิด").all()


def test_the_download_holds_the_contracts_columns(pairs, boundaries):
    figure = change_map(pairs, boundaries, ViewState(by="district"), context=exact())
    table = mobility_download(figure.table, "en")
    assert list(table.columns[:4]) == ["min_count", "release", "code", "name"]
    assert list(table.columns[4:4 + len(MOBILITY_COLUMNS)]) == list(MOBILITY_COLUMNS)
    assert set(table["code"]) == {"4601", "4609", "3401"}
    assert (table["followed"].fillna(0) + table["new"].fillna(0) == table["households_to"]).all()
    assert set(TRANSITION_COLUMNS) <= set(table.columns)


# ---------------------------------------------------------------------------------------------
# Pilot impact
# ---------------------------------------------------------------------------------------------


def test_pilot_impact_as_a_table_and_a_chart(pairs):
    from geo.engine.pilot_impact import pilot_impact
    from geo.views.change import impact_chart, impact_shown, impact_table

    pilots = tiny_world.pilots()
    impact = pilot_impact(pairs, pilots=pilots, min_count=1, exact=True)
    table = impact_table(impact, pilots, "en")
    assert len(table) == len(impact) and "95% interval" in table.columns
    assert set(table["Pilot project"]) <= {"Test mushrooms", "Test weaving"}
    shown = impact_shown(impact)
    assert not shown.empty and shown["difference"].notna().all()
    spec = json.loads(impact_chart(impact, pilots, "en").to_json())
    marks = json.dumps(spec)
    assert "errorbar" in marks and "Difference (participants" in marks
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert len(rows) == len(shown)
    withheld = pilot_impact(pairs, pilots=pilots, min_count=10)  # fewer than 10 participants: withheld
    assert impact_shown(withheld).empty
    assert (impact_table(withheld, pilots, "th")["ผลต่าง (ผู้เข้าร่วม − เปรียบเทียบ)"] == "ปกปิด").all()
