"""Static exports: Thai text (no missing glyphs, PDF text extracts back), PNG sizes and regions,
the PDF brief's words, withheld areas, a golden image of one reference export, and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geo.views import style as mapstyle
from geo.errors import ExportError
from geo.export import export_bytes, export_pdf, export_png, file_name, write_exports
from geo.export import static
from geo.export.common import SIZES
from geo.export.fonts import THAI_FONT_FAMILY, pdf_text_fix, register_thai_font
from geo.views.mapview import MapView, build_map
from tests.geo import export_world as world
from tests.geo.export_world import boundaries_fixture, index  # noqa: F401 (fixtures "boundaries", "index")

DAY = dt.date(2026, 11, 21)
GOLDEN = Path(__file__).parent / "golden" / "export_reference.png"
GOLDEN_SIZE = (240, 135)
GOLDEN_TOLERANCE = 4.0  # mean absolute difference, 0-255, after downscaling
THAI_SAMPLE = "ที่ ผู้ ลำบาก น้ำ อยู่ยาก กาฬสินธุ์ ปัตตานี ญี่ปุ่น ฐูป ปั้น"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def figure(index, boundaries):
    return build_map(index, boundaries, MapView(province_code="46", metric="share_levels_1_2", exact=True), now=DAY,
                     synthetic=True, attribution=world.ATTRIBUTION)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(np.int16)


def _differs_from_background(region: np.ndarray, share: float = 0.01) -> bool:
    return bool((np.abs(region - 255).max(axis=2) > 40).mean() > share)


# --- Thai text --------------------------------------------------------------------------------


def test_thai_renders_without_missing_glyphs():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = register_thai_font()
    assert family == THAI_FONT_FAMILY
    fig = Figure(figsize=(6, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.01, 0.5, THAI_SAMPLE, family=family, fontsize=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    assert not [w for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]


def test_pdf_text_extracts_back_to_the_thai_string():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    register_thai_font()

    def pdf(fixed: bool) -> str:
        fig = Figure(figsize=(8, 1))
        FigureCanvasAgg(fig)
        fig.text(0.01, 0.5, THAI_SAMPLE, family=THAI_FONT_FAMILY, fontsize=12)
        buffer = io.BytesIO()
        if fixed:
            with pdf_text_fix():
                fig.savefig(buffer, format="pdf")
        else:
            fig.savefig(buffer, format="pdf")
        return _pdf_text(buffer.getvalue())

    assert THAI_SAMPLE in pdf(fixed=True)
    assert "ที่ที่" in pdf(fixed=False)  # why the fix exists: each glyph carries its whole cluster


# --- PNG ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_png_sizes_are_exact_with_title_legend_and_map(figure, size):
    pixels = _decode(export_png(figure, size=size))
    page = SIZES[size]
    assert pixels.shape[:2] == (page.height_px, page.width_px)
    h, w = pixels.shape[:2]
    assert pixels.std() > 20  # not blank
    assert _differs_from_background(pixels[int(0.03 * h):int(0.1 * h), int(0.02 * w):int(0.4 * w)])  # title
    assert _differs_from_background(pixels[int(0.15 * h):int(0.4 * h), int(0.71 * w):int(0.97 * w)])  # legend
    assert _differs_from_background(pixels[int(0.2 * h):int(0.8 * h), int(0.05 * w):int(0.65 * w)], 0.2)  # map
    badge = pixels[int(0.02 * h):int(0.09 * h), int(0.8 * w):int(0.98 * w)]
    assert (np.abs(badge - (255, 241, 204)).max(axis=2) < 8).mean() > 0.05  # synthetic label's fill


def test_png_paints_the_small_area_grey_and_labels_no_value(figure):
    page = SIZES["1920x1080"]
    fig = static.render(figure, page)
    ax = fig.axes[0]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=page.dpi)
    pixels = _decode(buffer.getvalue())
    areas = figure.areas.set_index("key")
    for key in ("4602", "4609", "4601"):
        point = areas.loc[key, "geometry"].representative_point()
        x, y = ax.transData.transform((point.x, point.y + 0.3))  # above the label
        r, g, b = pixels[int(round(pixels.shape[0] - y)), int(round(x))]
        if areas.loc[key, "status"] == "withheld":
            assert abs(r - g) < 4 and abs(g - b) < 4 and 140 <= r <= 180, (key, r, g, b)
        else:
            assert max(r, g, b) - min(r, g, b) > 40, (key, r, g, b)
    labels = [t.get_text() for t in ax.texts]
    assert world.SMALL_NAME_TH in labels  # the name alone, no value under it
    legend = [item.label for item in figure.legend.notes]
    assert any("10" in label for label in legend)


def test_png_golden_image(figure):
    """The look of one reference export, downscaled, within a tolerance (PPAP_UPDATE_GOLDEN=1 rewrites)."""
    image = Image.open(io.BytesIO(export_png(figure, size="1920x1080"))).convert("RGB")
    small = image.resize(GOLDEN_SIZE, Image.Resampling.LANCZOS)
    if os.environ.get("PPAP_UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.parent.mkdir(exist_ok=True)
        small.save(GOLDEN, optimize=True)
        if os.environ.get("PPAP_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden image was missing and has been written to {GOLDEN}; check it and commit it")
    golden = np.asarray(Image.open(GOLDEN).convert("RGB"), dtype=np.float64)
    difference = np.abs(np.asarray(small, dtype=np.float64) - golden).mean()
    assert difference < GOLDEN_TOLERANCE, f"export looks different from {GOLDEN.name}: mean |diff| {difference:.2f}"


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_brief_words(figure):
    text = _pdf_text(export_pdf(figure))
    flat = _flat(text)
    assert figure.title in flat
    assert "กาฬสินธุ์" in text
    assert figure.credit in flat and world.ATTRIBUTION in flat
    assert "2569" in text and "21 พ.ย. 2569 (2026)" in flat
    assert figure.synthetic_text in flat
    for headline in figure.headline:
        assert headline.label in flat and headline.text in flat
    assert "ตัวกรองที่ใช้" in text


def test_pdf_never_shows_the_small_area_s_values(index, boundaries):
    for metric, secret in (("share_levels_1_2", "100.0%"), ("mpi", "1.000")):
        figure = build_map(index, boundaries, MapView(province_code="46", metric=metric, exact=True), now=DAY, synthetic=True)
        text = _pdf_text(export_pdf(figure))
        assert world.SMALL_NAME_TH in text  # its label: the name only
        assert secret not in text
        assert not re.search(world.SMALL_NAME_TH + r"\s*\d", text)  # no value under its name


# --- API and files ----------------------------------------------------------------------------


def test_export_api_checks_its_arguments(figure, tmp_path):
    with pytest.raises(ExportError, match="size"):
        export_png(figure, size="800x600")
    with pytest.raises(ExportError, match="format"):
        export_bytes(figure, "gif")
    with pytest.raises(ExportError, match="MapFigure"):
        export_pdf("not a figure")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="out_dir"):
        write_exports(figure, tmp_path / "file", formats=("png",))
    from geo.export import SIZES

    assert tuple(SIZES) == ("1920x1080", "3840x2160", "a4", "a3")  # one list (geo.export.common.SIZES)


def test_file_names_and_written_files(figure, tmp_path):
    assert file_name(figure, "png") == "46_kalasin_share_levels_1_2_2026-11-21.png"
    assert file_name(figure, "png", size="a3") == "46_kalasin_share_levels_1_2_a3_2026-11-21.png"
    assert file_name(figure, "pdf", size="a3") == "46_kalasin_share_levels_1_2_2026-11-21.pdf"
    paths = write_exports(figure, tmp_path / "out", formats=("png", "pdf"))
    assert [p.name for p in paths] == ["46_kalasin_share_levels_1_2_2026-11-21.png",
                                       "46_kalasin_share_levels_1_2_2026-11-21.legend.json",
                                       "46_kalasin_share_levels_1_2_2026-11-21.pdf"]
    assert all(p.stat().st_size > 10_000 for p in paths if p.suffix != ".json")
    assert not list((tmp_path / "out").glob(".*"))
    legend = json.loads(paths[1].read_text(encoding="utf-8"))
    assert legend == figure.legend_set() and legend["metric"] == "share_levels_1_2"
    assert legend["colours"] == [mapstyle.hex_colour(i.colour) for i in figure.legend.items]
    assert json.loads(Image.open(paths[0]).text["Legend"]) == legend  # in the PNG too
    data, mime = export_bytes(figure, "png")
    assert mime == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"


# --- command line ---------------------------------------------------------------------------


def test_cli_exports_named_files(tmp_path, capsys):
    from geo.cli import main

    households, boundaries_dir = world.write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["export", "--province", "46", "--metric", "mpi", "--format", "png,pdf", "--date", "2026-11-21",
                 "--input", str(households), "--boundaries", str(boundaries_dir), "--out", str(out)])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["46_kalasin_mpi_2026-11-21.legend.json", "46_kalasin_mpi_2026-11-21.pdf",
                     "46_kalasin_mpi_2026-11-21.png"]
    captured = capsys.readouterr()
    assert "1/1" in captured.err and all(str(out / name) in captured.out for name in names)
    code = main(["export", "--district", "4609", "--metric", "households", "--level", "h3:8", "--format", "png",
                 "--size", "a4", "--lang", "en", "--date", "2026-11-21",
                 "--input", str(households), "--boundaries", str(boundaries_dir), "--out", str(out)])
    assert code == 0 and (out / "46_kalasin_4609_sahatsakhan_households_h3r8_en_a4_2026-11-21.png").is_file()


def test_cli_batch_with_national_classes_writes_one_legend(tmp_path):
    from geo.cli import main

    households, boundaries_dir = world.write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    args = ["export", "--all-pilot-provinces", "--metric", "share_levels_1_2", "--format", "png", "--date",
            "2026-11-21", "--input", str(households), "--boundaries", str(boundaries_dir)]
    assert main([*args, "--classes", "national", "--out", str(out)]) == 0
    legends = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.legend.json")}
    assert sorted(legends) == ["34_ubon_ratchathani_share_levels_1_2_2026-11-21.legend.json",
                               "46_kalasin_share_levels_1_2_2026-11-21.legend.json"]
    assert len(set(legends.values())) == 1 and json.loads(next(iter(legends.values())))["method"] == "national"
    assert main([*args, "--classes", "quantile", "--out", str(tmp_path / "q")]) == 0
    assert len({p.read_text(encoding="utf-8") for p in (tmp_path / "q").glob("*.legend.json")}) == 2
    assert main([*args, "--breaks", "60,70", "--out", str(tmp_path / "c")]) == 0
    typed = {json.loads(p.read_text(encoding="utf-8"))["breaks"][1] for p in (tmp_path / "c").glob("*.legend.json")}
    assert typed == {0.6}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--province", "46", "--metric", "mpi", "--classes", "jenks"], "--classes must be one of"),
        (["--province", "46", "--metric", "mpi", "--classes", "custom"], "--breaks must be"),
        (["--province", "46", "--metric", "mpi", "--classes", "equal", "--breaks", "1"], "--classes custom only"),
        (["--province", "46", "--metric", "wealth"], "--metric must be one of"),
        (["--province", "4x", "--metric", "mpi"], "--province must be a 2-digit"),
        (["--province", "46", "--district", "3401", "--metric", "mpi"], "not in --province"),
        (["--province", "46", "--metric", "mpi", "--level", "h3:11"], "--level must be one of"),
        (["--province", "46", "--metric", "mpi", "--format", "png,gif"], "--format must be"),
        (["--province", "46", "--metric", "mpi", "--size", "a5"], "--size must be one of"),
        (["--metric", "mpi"], "say which area"),
        (["--all-pilot-provinces", "--province", "46", "--metric", "mpi"], "leave out --province"),
        (["--province", "46", "--metric", "mpi", "--date", "21/11/2569"], "--date must be"),
    ],
)
def test_cli_bad_arguments_are_one_line(tmp_path, capsys, args, says):
    from geo.cli import main

    code = main(["export", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_missing_argument_is_one_line_in_a_real_process(tmp_path):
    result = subprocess.run([sys.executable, "-m", "geo", "export", "--province", "46"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--metric" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_all_pilot_provinces_on_the_sample(sample_households_path, tmp_path):
    from geo.views.mapview import PILOT_PROVINCES

    result = subprocess.run([sys.executable, "-m", "geo", "export", "--all-pilot-provinces", "--metric",
                             "poor_households", "--format", "png", "--date", "2026-11-21", "--classes", "national",
                             "--out", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(names) == len(PILOT_PROVINCES) and "46_kalasin_poor_households_2026-11-21.png" in names
    assert "20/20" in result.stderr
    legends = [p.read_text(encoding="utf-8") for p in tmp_path.glob("*.legend.json")]
    assert len(legends) == len(PILOT_PROVINCES) and len(set(legends)) == 1  # one legend for the 20 slides


def test_withheld_grey_is_not_on_the_scale():
    assert mapstyle.WITHHELD_COLOUR not in mapstyle.SEQUENTIAL_YLORRD


# --- Pilot sites drawn over a map --------------------------------------------------------------


def _pilot_figure(index, boundaries):
    import pandas as pd

    from geo.engine.aggregate import pilot_reach
    from geo.data.contract import conform_pilots
    from geo.engine.gaps import pilot_gaps
    from geo.views.pilot_overlay import with_pilots
    from geo.engine.protect import protect

    pilots = conform_pilots(pd.DataFrame([{
        "pilot_id": "KSN-01", "name_th": "เห็ดฟาง", "name_en": "Straw mushrooms", "kind": "mushroom",
        "province_code": "46", "district_code": "4609", "lat": 16.5, "lon": 104.0,
        "university": "มหาวิทยาลัยกาฬสินธุ์", "start_year": 2023, "households_target": 20,
    }]))
    base = build_map(index, boundaries, MapView(province_code="46", exact=True), now=DAY, synthetic=True,
                     attribution=world.ATTRIBUTION)
    reach = protect(pilot_reach(index, pilots, radius_km=5))
    gaps = pilot_gaps(index, pilots, radius_km=5)
    return with_pilots(base, pilots, reach, gaps, km=5)


def test_pilot_sites_reach_every_export(index, boundaries):
    from geo.export import export_html
    from geo.views.pilot_overlay import pilot_kind_colour

    figure = _pilot_figure(index, boundaries)
    assert figure.title.startswith("ที่ตั้งโครงการนำร่อง · วงระยะ 5 กม.") and len(figure.legends) == 2
    pixels = _decode(export_png(figure))
    colour = np.array(pilot_kind_colour("mushroom"), dtype=np.int16)
    site = (np.abs(pixels - colour).max(axis=2) <= 12).sum()
    plain = _decode(export_png(build_map(index, boundaries, MapView(province_code="46", exact=True), now=DAY, synthetic=True,
                                         attribution=world.ATTRIBUTION)))
    assert site > 200 and site > 5 * (np.abs(plain - colour).max(axis=2) <= 12).sum()  # the site's circle
    text = _flat(_pdf_text(export_pdf(figure)))
    assert "โครงการนำร่อง" in text and "M เห็ด" in text  # the pilot legend, in the brief too
    page = export_html(figure)
    assert '"id":"pilots"' in page.replace(" ", "") and "เห็ดฟาง" in page
