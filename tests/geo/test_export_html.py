"""The offline HTML export: nothing fetched from the network, escaped words, protected JSON, and a
real (Debian) Chromium with every non-file request blocked that draws the map."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
import re

import numpy as np
import pytest

from geo.engine.aggregate import index_households
from geo.export import export_html, write_exports
from geo.views.mapview import MapView, build_map
from tests.geo import export_world as world

DAY = dt.date(2026, 11, 21)
_EXTERNAL = [
    re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?(?:https?:)?//",
               re.I),
    re.compile(r"url\(\s*[\"']?(?:https?:)?//", re.I),
    re.compile(r"@import", re.I),
]


@pytest.fixture(scope="module")
def figure():
    return build_map(index_households(world.households()), world.boundaries(),
                     MapView(province_code="46", metric="mpi", exact=True), now=DAY, synthetic=True, attribution=world.ATTRIBUTION)


@pytest.fixture(scope="module")
def page_html(figure) -> str:
    return export_html(figure)


def _deck_json(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="deck-json">(.*?)</script>', page, re.S)
    assert match, "no deck JSON element"
    return json.loads(match.group(1))


def test_html_loads_nothing_from_the_network(page_html):
    for pattern in _EXTERNAL:
        assert not pattern.search(page_html), pattern.pattern
    assert "cdn.jsdelivr" not in page_html.split("<script>")[0]  # nothing before the inlined bundle
    assert "createDeck" in page_html and "@font-face" in page_html and "data:font/ttf;base64," in page_html


def test_html_carries_title_legend_credit_date_and_synthetic_label(figure, page_html):
    for words in (figure.title, figure.legend.title, figure.credit, figure.date_text, figure.synthetic_text,
                  *(item.label for item in figure.legend.items)):
        assert html.escape(words) in page_html, words
    assert f"<title>{html.escape(figure.title)}</title>" in page_html


def test_html_escapes_every_word(figure):
    nasty = "<script>alert(1)</script>"
    page = export_html(dataclasses.replace(figure, title=nasty, credit=nasty + " & co"))
    assert nasty not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    deck_part = page.split('id="deck-json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in deck_part  # JSON can never close its element


def test_html_json_never_shows_the_small_area(page_html):
    from geo.access.audit import scan_output

    deck = _deck_json(page_html)
    areas = next(layer for layer in deck["layers"] if layer["id"] == "areas")
    features = {f["properties"]["code"]: f["properties"] for f in areas["data"]["features"]}
    small = features[world.SMALL_DISTRICT]
    assert small["tt_title"] == world.SMALL_NAME_TH
    assert small["tt_1"].endswith("<10") and small["tt_2"] == small["tt_3"] == ""
    assert "1.000" not in json.dumps(deck)  # the 3 households' MPI
    # No national ID and no precise position in what the page says (the inlined deck.gl bundle and
    # font are library code and data, not ours).
    ours = re.sub(r"<script>.*?</script>|@font-face\{.*?\}", "", page_html, flags=re.S)
    assert "deck-json" in ours and "deckgl" not in ours.lower()
    assert scan_output(ours, max_decimals=4) == []


def test_write_exports_html_file(figure, tmp_path):
    (path,) = write_exports(figure, tmp_path, formats=("html",))
    assert path.name == "46_kalasin_mpi_2026-11-21.html" and path.read_text(encoding="utf-8").startswith("<!DOCTYPE")


@pytest.mark.e2e
def test_chromium_draws_the_map_offline(figure, page_html, tmp_path, browser):
    from PIL import Image

    path = tmp_path / "map.html"
    path.write_text(page_html, encoding="utf-8")
    attempted: list[str] = []
    errors: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            attempted.append(url)
            request_route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.route("**/*", route)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_selector("#deck-container canvas", timeout=30_000)
        page.wait_for_function("() => window.ppapDeck && window.ppapDeck.isInitialized", timeout=30_000)
        page.wait_for_timeout(800)
        box = page.locator("#deck-container").bounding_box()
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
        x0, y0 = int(box["x"]), int(box["y"])
        region = shot[y0:y0 + int(box["height"]), x0:x0 + int(box["width"])]
        # The map's centre is the small district: hover it and read the tooltip.
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(400)
        tooltip = page.evaluate(
            "() => Array.from(document.querySelectorAll('.deck-tooltip')).map(e => e.innerText).join('|')")
        font_ok = page.evaluate(
            "() => [...document.fonts].some(f => f.family.includes('Sarabun') && f.status === 'loaded')")
    finally:
        context.close()
    assert attempted == [], f"the page tried the network: {attempted[:5]}"
    assert errors == []
    coloured = (region.max(axis=2) - region.min(axis=2)) > 40
    grey = (np.abs(region - 166).max(axis=2) < 20) & ((region.max(axis=2) - region.min(axis=2)) < 6)
    assert coloured.mean() > 0.02, "no coloured area drawn"
    assert grey.mean() > 0.05, "withheld areas not drawn grey"
    assert world.SMALL_NAME_TH in tooltip and "<10" in tooltip and "MPI" not in tooltip
    assert font_ok
