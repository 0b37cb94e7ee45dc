"""One headline: the figures the Overview shows for a view are the figures its PNG and PDF
exports print, and meeting mode shows the same (first four) for the same province
(:func:`geo.views.headline.headline`, the one home)."""

from __future__ import annotations

import pytest

from geo.export import static
from tests.geo.test_export import _flat, _pdf_text
from tests.pages.conftest import metrics, open_app, rerun


@pytest.mark.parametrize("query", [{"area": "46", "metric": "mpi"}, {"metric": "share_level_1_2"}])
def test_overview_headline_is_the_png_and_pdf_headline(tiny_dir, download_bytes, monkeypatch, query):
    printed: list[dict[str, str]] = []
    render = static.render

    def recording(figure, size, **options):
        printed.append({h.label: h.text for h in figure.headline})  # what the PNG / PDF print
        return render(figure, size, **options)

    monkeypatch.setattr(static, "render", recording)
    at = open_app("overview", query)
    shown = metrics(at)
    assert len(shown) == 6 and shown["ครัวเรือน"] not in ("", "–")

    png = download_bytes(at, "overview_export_download")  # the default: PNG 1920x1080
    assert png.startswith(b"\x89PNG")
    at.selectbox(key="overview_export_format").select(at.selectbox(key="overview_export_format").options[4])
    at = rerun(at)
    pdf = download_bytes(at, "overview_export_download")
    assert pdf.startswith(b"%PDF")

    assert printed == [shown, shown]  # the PNG's headline, then the PDF's: the Overview's figures
    flat = _flat(_pdf_text(pdf))
    for label, value in shown.items():
        assert label in flat and value in flat, (label, value)


def test_meeting_mode_shows_the_overview_headline(tiny_dir):
    overview = metrics(open_app("overview", {"area": "46", "metric": "mpi"}))
    meeting = metrics(open_app("meeting", {"area": "46", "metric": "mpi"}))
    assert meeting == dict(list(overview.items())[:4])
