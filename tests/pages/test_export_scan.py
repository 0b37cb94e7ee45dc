"""A scan of every map export path (PNG text layer, PDF text, HTML) for every role: no valid
national ID, no name from the input, no coordinate with more than 4 decimals for roles that may
not see positions, and no area under the small-cell threshold. (CSV and XLSX downloads are
scanned in test_access_pages.py.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from PIL import Image

from geo.access.audit import scan_output
from tests.pages.conftest import open_app, rerun
from tests.pages.test_access_pages import NAMES, ROLES, audit_records

#: page -> its export menus' keys; the Overview's is checked in all three formats.
EXPORT_KEYS = {
    "overview": "overview_export",
    "capitals": "capitals_export_dominant",
    "pilots": "pilots_export",
    "meeting": "meeting_export",
}
#: Format choices in the menu (geo.export.EXPORT_CHOICES order): PNG 1920x1080, PDF, HTML.
FORMAT_CHOICE = {"png": 0, "pdf": 4, "html": 5}
_HOUSEHOLDS = re.compile(r"(?:ครัวเรือน|Households): ([0-9,]+)")


def _text_layer(data: bytes, fmt: str) -> str:
    """What a reader of the file can get as text: PNG text chunks, PDF text, the HTML itself."""
    if fmt == "png":
        image = Image.open(io.BytesIO(data))
        return "\n".join(f"{k}: {v}" for k, v in {**image.info, **getattr(image, "text", {})}.items())
    if fmt == "pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        meta = "\n".join(f"{k}: {v}" for k, v in (reader.metadata or {}).items())
        return meta + "\n" + "\n".join(page.extract_text() or "" for page in reader.pages)
    # Plain <script> elements are code shipped with the app (the inlined deck.gl bundle, whose
    # SVG paths look like coordinates, and the page's own script): the data are in the HTML and
    # the <script type="application/json"> element, which stay.
    return _CODE.sub("<script></script>", data.decode("utf-8"))


_CODE = re.compile(r"<script>.*?</script>", re.S)


def _shown_households(page: str) -> list[int]:
    """Every household count an HTML export's map shows in its tooltips."""
    spec = json.loads(page.split('<script type="application/json" id="deck-json">')[1].split("</script>")[0])
    counts = []
    for layer in spec["layers"]:
        data = layer.get("data")
        features = data.get("features", []) if isinstance(data, dict) else data if isinstance(data, list) else []
        for feature in features:
            props = feature.get("properties", feature) if isinstance(feature, dict) else {}
            for key in ("tt_1", "tt_2", "tt_3", "tt_4"):
                match = _HOUSEHOLDS.fullmatch(str(props.get(key, "")))
                if match:
                    counts.append(int(match.group(1).replace(",", "")))
    return counts


@pytest.mark.parametrize("role", list(ROLES))
def test_every_map_export_is_clean_for_every_role(role, tiny_dir, access_users, audit_log, download_bytes):
    username, _, _ = ROLES[role]
    exact = role == "administrator"  # the only role whose positions are not rounded
    made = 0
    for page, key in EXPORT_KEYS.items():
        at = open_app(page, login=username) if username else open_app(page)
        formats = ("png", "pdf", "html") if page == "overview" else (("png", "pdf", "html")[made % 3],)
        for fmt in formats:
            at.selectbox(key=f"{key}_format").select_index(FORMAT_CHOICE[fmt])
            at = rerun(at)
            data = download_bytes(at, f"{key}_download")
            made += 1
            text = _text_layer(data, fmt)
            assert text.strip() or fmt == "png", (role, page, fmt)
            assert scan_output(text, names=NAMES, max_decimals=None if exact else 4) == [], (role, page, fmt)
            if fmt == "html":
                counts = _shown_households(text)
                assert counts, (role, page)
                assert min(counts) >= 10, (role, page, counts)  # smaller areas show "<10", never a count
            if fmt == "pdf":  # the brief's date, in the Buddhist era
                assert str(dt.date.today().year + 543) in text, (role, page)
    exports = [r for r in audit_records(audit_log) if r["event"] == "export"]
    assert len(exports) == made and all(r["what"].startswith("map ") for r in exports)
