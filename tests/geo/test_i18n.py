"""Thai-first labels, number and date formats."""

import datetime as dt

import pytest

from geo.views import text as i18n
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS, LEVELS


def test_every_label_exists_in_both_languages():
    for key, labels in i18n.TEXT.items():
        assert set(labels) == set(i18n.LANGUAGES), key
        assert all(labels.values()), key
    for capital in CAPITALS:
        assert i18n.capital_label(capital, "th") != i18n.capital_label(capital, "en")
    for level in LEVELS:
        assert i18n.level_label(level, "th") and i18n.level_label(level, "en")
    for dim in DEPRIVATIONS:
        assert i18n.deprivation_label(dim, "en")
    for status in ASSISTANCE_STATUSES:
        assert i18n.assistance_label(status, "th")


def test_text_fills_placeholders_and_refuses_unknown_language():
    assert i18n.text("suppressed", "th", k=10) == "น้อยกว่า 10 ครัวเรือน (ปกปิด)"
    with pytest.raises(ValueError, match="lang must be one of"):
        i18n.text("households", "fr")
    with pytest.raises(KeyError):
        i18n.text("no-such-label")


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (1039584, {}, "1,039,584"),
        (231021, {"thai_digits": True}, "๒๓๑,๐๒๑"),
        (3043.456, {"decimals": 2}, "3,043.46"),
        (None, {}, "–"),
        (float("nan"), {}, "–"),
    ],
)
def test_format_number(value, kwargs, expected):
    assert i18n.format_number(value, **kwargs) == expected


def test_format_percent():
    assert i18n.format_percent(0.4235) == "42.4%"
    assert i18n.format_percent(None) == "–"


def test_dates_in_buddhist_era_with_common_era_available():
    day = dt.date(2024, 6, 13)
    assert i18n.to_be(2024) == 2567
    assert i18n.format_date(day) == "13 มิ.ย. 2567"
    assert i18n.format_date(day, "en") == "13 Jun 2567 BE"
    assert i18n.format_date(day, "en", era="CE") == "13 Jun 2024"
    assert i18n.format_date_both(day) == "13 มิ.ย. 2567 (2024)"
    assert i18n.format_date_both(day, "en") == "13 Jun 2024 (BE 2567)"
    with pytest.raises(ValueError, match="era"):
        i18n.format_date(day, era="AD")


def test_every_label_the_dashboard_asks_for_exists():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("pages/*.py"), root / "geo" / "views" / "dashboard.py",
               root / "geo" / "views" / "dashboard_maps.py", root / "geo" / "views" / "viewstate.py"]
    literal = re.compile(r"""text\(\s*["']([a-z0-9_]+)["']""")
    asked = {key for path in sources for key in literal.findall(path.read_text(encoding="utf-8"))}
    assert len(asked) > 60
    assert sorted(asked - set(i18n.TEXT)) == []
    # Keys the pages build from a value.
    from geo.views.viewstate import MAP_BY, TPMAP_CHOICES, VERIFIED_CHOICES

    built = [f"by_{by}" for by in ("province", "district", "subdistrict", "h3")]
    built += [f"map_{by}" for by in MAP_BY if by != "subdistrict"]
    built += [f"tpmap_{v}" for v in TPMAP_CHOICES] + [f"verified_{v}" for v in VERIFIED_CHOICES]
    built += [f"mode_{m}" for m in ("upsert", "replace_all", "append", "replace")] + ["url_bad_code", "url_bad_choice",
                                                               "url_district_outside", "url_not_in_data"]
    built += [f"kind_{k}" for k in ("mushroom", "vegetables", "rice", "livestock", "fishery", "crafts")]
    built += [f"page_{p}" for p in ("overview", "capitals", "pilots", "households", "data")]
    assert [key for key in built if key not in i18n.TEXT] == []


def test_dashboard_labels_switch_language():
    for key in ("page_overview", "filters", "metric_mpi", "top10", "back", "download_csv", "gaps_title"):
        assert i18n.text(key, "th", km=5) != i18n.text(key, "en", km=5), key
    assert i18n.text("synthetic_badge", "en") == "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample"
    assert i18n.text("url_ignored", "en", param="by", value="x", why="no") == "Ignored by=x from the link: no"
