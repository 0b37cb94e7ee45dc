"""A geo error reaches a page as one line of ``st.error``, never a traceback (geo/errors.py).

Each test makes a ``geo`` call the page makes raise a :class:`geo.errors.PPAPError` and runs the
page from the entry point: the page shows the error's message on one line, in the view's
language, and AppTest sees no exception.
"""

from __future__ import annotations

import pytest

from geo.errors import EngineInputError, InputFileError, PPAPError
from tests.pages.conftest import open_app

EN = "the engine refused this view (forced by a test)"
TH = "ระบบไม่สามารถคำนวณมุมมองนี้ (จำลองโดยการทดสอบ)"


def _raiser(exc: PPAPError):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


def _one_error_line(at, message: str) -> str:
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    shown = [e for e in errors if message in e]
    assert len(shown) == 1, errors
    assert "\n" not in shown[0] and "Traceback" not in shown[0], shown[0]
    return shown[0]


def test_an_error_inside_a_shared_map_result_is_one_line(tiny_dir, monkeypatch):
    import geo.views.dashboard_maps as maps

    monkeypatch.setattr(maps, "capital_map", _raiser(EngineInputError(EN, TH)))
    at = open_app("capitals", {"area": "46"})
    _one_error_line(at, TH)  # the page's language is Thai
    assert not at.get("deck_gl_json_chart")  # the page stopped at the error


def test_an_error_of_a_direct_view_call_is_one_line_in_english(tiny_dir, monkeypatch):
    import geo.views.dashboard as dashboard

    monkeypatch.setattr(dashboard, "view_area_table", _raiser(EngineInputError(EN, TH)))
    at = open_app("households", {"lang": "en"})
    _one_error_line(at, EN)


def test_a_data_error_on_loading_is_one_line(tiny_dir, monkeypatch):
    import pages._render as render

    monkeypatch.setattr(render, "load_data", _raiser(InputFileError("households.parquet cannot be read: bad magic")))
    at = open_app("households")
    _one_error_line(at, "bad magic")


@pytest.mark.parametrize("lang, expected", [("th", TH), ("en", EN), (None, f"{TH} · {EN}")])
def test_the_error_text_follows_the_language(lang, expected):
    from pages._errors import error_line, error_text

    exc = EngineInputError(EN, TH)
    assert error_text(exc, lang) == expected
    assert str(exc) == EN and isinstance(exc, ValueError)
    assert "\n" not in error_line(EngineInputError("two\nlines"), "en")
    assert error_text(EngineInputError(EN), "th") == EN  # no Thai given: the English
