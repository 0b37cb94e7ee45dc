"""A self-contained interactive map in one HTML file that works offline.

The page holds everything it needs: deck.gl (the bundle pydeck ships, inlined), the map's deck
JSON (protected aggregates and display geometry from a :class:`geo.views.mapview.MapFigure`), the Sarabun
font (inlined as a data URL, so Thai renders on machines without a Thai font), and the title,
legend, headline figures, credit, date and synthetic label as escaped HTML. Area names are drawn
as on screen (one small PNG atlas shaped by Pillow, :mod:`geo.views.labels`), but pydeck's bundle
has no deck.gl extensions, so the names that would overlap at the fitted zoom are left out of the
page rather than hidden by the collision filter. It loads nothing from
the network: no CDN script, stylesheet or font link, no basemap tiles (the deck has no map
provider; the boundaries are the base map). ``tests/geo/test_export_html.py`` opens it in
Chromium with every non-``file:``/``data:`` request blocked and checks the map draws.

Tooltips are built in the page from each feature's plain-text fields and shown as text (deck.gl's
``{text: ...}`` tooltips set ``innerText``), so no value can become markup. The deck JSON sits in a
``<script type="application/json">`` element with ``<``, ``>`` and ``&`` written as ``\\u003c``
etc., so no string in it can close the element.
"""

from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from pathlib import Path

from geo.export.fonts import THAI_FONT_FAMILY, thai_font_path
from geo.views.style import hex_colour
from geo.views.text import text
from geo.views.mapview import MapFigure

#: Size the map's initial view is fitted to (CSS pixels of a typical laptop window's map area).
HTML_MAP_SIZE = (1100, 700)


@lru_cache(maxsize=1)
def _deckgl_bundle() -> str:
    """pydeck's standalone deck.gl bundle (the one ``to_html(offline=True)`` inlines)."""
    import pydeck

    path = Path(pydeck.__file__).resolve().parent / "nbextension" / "static" / "index.js"
    script = path.read_text(encoding="utf-8")
    # A literal "</script" inside the bundle would end the inline element early.
    return script.replace("</script", "<\\/script")


@lru_cache(maxsize=2)
def _font_face(weight: str) -> str:
    data = base64.b64encode(thai_font_path(weight).read_bytes()).decode("ascii")
    css_weight = 700 if weight == "bold" else 400
    return (f"@font-face{{font-family:'{THAI_FONT_FAMILY}';font-weight:{css_weight};font-style:normal;"
            f"src:url(data:font/ttf;base64,{data}) format('truetype');}}")


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _legend_html(figure: MapFigure) -> str:
    def swatch(colour, label: str) -> str:
        return (f'<li><span class="sw" style="background:{hex_colour(colour)}"></span>'
                f"{html.escape(label)}</li>")

    sections = []
    for legend in figure.legends:
        items = "".join(swatch(i.colour, i.label) for i in legend.items)
        notes = "".join(swatch(i.colour, i.label) for i in legend.notes)
        sections.append(f'<section class="legend"><h2>{html.escape(legend.title)}</h2>'
                        f"<ul>{items}</ul><ul class=\"notes\">{notes}</ul></section>")
    return "".join(sections)


def _headline_html(figure: MapFigure) -> str:
    rows = "".join(f"<tr><th>{html.escape(h.label)}</th><td>{html.escape(h.text)}</td></tr>" for h in figure.headline)
    return (f'<section class="headline"><h2>{html.escape(text("headline", figure.view.lang))}</h2>'
            f"<table>{rows}</table></section>")


_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#fff;color:#1a1a1a;font-family:'Sarabun',sans-serif}
body{display:grid;grid-template-rows:auto 1fr auto;grid-template-columns:1fr 22rem;height:100vh}
header{grid-column:1/3;padding:.6rem 1rem .4rem;border-bottom:1px solid #ddd;display:flex;gap:1rem;
  align-items:flex-start}
header .titles{flex:1}
h1{font-size:1.5rem;margin:0;line-height:1.3}
.subtitle{margin:.2rem 0 0;color:#555}
.synthetic{background:#fff1cc;border:2px solid #b35900;color:#b35900;font-weight:700;padding:.3rem .7rem;
  border-radius:.4rem}
#map{position:relative;min-height:20rem}
#deck-container{position:absolute;inset:0}
aside{padding:.8rem 1rem;overflow:auto;border-left:1px solid #ddd;font-size:1.05rem}
aside h2{font-size:1.1rem;margin:.2rem 0 .5rem}
aside ul{list-style:none;margin:0 0 .6rem;padding:0}
aside li{display:flex;align-items:center;margin:.25rem 0}
.sw{display:inline-block;width:1.6rem;height:1.1rem;border:1px solid #555;margin-right:.5rem;flex:none}
.headline table{border-collapse:collapse;width:100%}
.headline th{text-align:left;font-weight:400;color:#555;padding:.15rem .4rem .15rem 0}
.headline td{text-align:right;font-weight:700}
footer{grid-column:1/3;display:flex;justify-content:space-between;gap:1rem;padding:.4rem 1rem;
  border-top:1px solid #ddd;color:#555;font-size:.9rem}
"""

# Tooltips from each picked object's plain-text fields (GeoJSON features keep them in properties).
_SCRIPT = """
(function(){
  var jsonInput = JSON.parse(document.getElementById('deck-json').textContent);
  var fields = ['tt_title','tt_1','tt_2','tt_3','tt_4'];
  function tooltip(info){
    var o = info && info.object; if (!o) return null;
    var p = o.properties || o; var lines = [];
    fields.forEach(function(f){ if (p[f]) lines.push(String(p[f])); });
    return lines.length ? {text: lines.join('\\n'), style: TOOLTIP_STYLE} : null;
  }
  var deck = createDeck({container: document.getElementById('deck-container'), jsonInput: jsonInput,
                         tooltip: false, customLibraries: null, configuration: null});
  if (deck && deck.setProps) { deck.setProps({getTooltip: tooltip}); }
  window.ppapDeck = deck;
})();
"""


def export_html(figure: MapFigure) -> str:
    """The map as one self-contained, offline HTML page (see the module docstring).

    Parameters
    ----------
    figure : MapFigure
        From :func:`geo.views.mapview.build_map`.

    Returns
    -------
    str
        The page (about 4.5 MB: deck.gl and the font are inlined).

    Raises
    ------
    ExportError
        When ``figure`` is not a MapFigure.

    Example
    -------
    >>> Path("map.html").write_text(export_html(figure), encoding="utf-8")  # doctest: +SKIP
    """
    from geo.export.common import check_figure as _check_figure

    _check_figure(figure)
    lang = figure.view.lang
    deck_json = json.loads(figure.deck(width_px=HTML_MAP_SIZE[0], height_px=HTML_MAP_SIZE[1],
                                       labels="static").to_json())
    tooltip_style = {"backgroundColor": "#222", "color": "#fff", "fontSize": "16px", "padding": "8px 10px",
                     "fontFamily": f"'{THAI_FONT_FAMILY}',sans-serif", "whiteSpace": "pre-line"}
    synthetic = (f'<div class="synthetic" role="note">{html.escape(figure.synthetic_text)}</div>'
                 if figure.synthetic else "")
    date_line = f"{text('made_on', lang)} {figure.date_text}"
    return "".join([
        "<!DOCTYPE html>\n",
        f'<html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{html.escape(figure.title)}</title>",
        "<style>", _font_face("regular"), _font_face("bold"), _CSS, "</style>",
        "</head><body>",
        f'<header><div class="titles"><h1>{html.escape(figure.title)}</h1>'
        f'<p class="subtitle">{html.escape(figure.subtitle)}</p></div>{synthetic}</header>',
        '<main id="map"><div id="deck-container"></div></main>',
        f"<aside>{_legend_html(figure)}{_headline_html(figure)}</aside>",
        f'<footer><span class="credit">{html.escape(figure.credit)}</span>'
        f'<span class="date">{html.escape(date_line)}</span></footer>',
        f'<script type="application/json" id="deck-json">{_script_json(deck_json)}</script>',
        f"<script>{_deckgl_bundle()}</script>",
        "<script>", _SCRIPT.replace("TOOLTIP_STYLE", _script_json(tooltip_style)), "</script>",
        "</body></html>\n",
    ])
