"""Boundary installer: three schemas x three formats, the manifest, downloads, the real fixture."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from geo.data import boundaries
from geo.data.boundaries import install, load_boundaries, match_names, Candidate
from geo.errors import BoundaryError
from geo.cli import main as cli_main

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared" / "boundaries"

# Three provinces, five districts (two of them "Chom Thong", in different provinces), two
# subdistricts. Squares in (lon, lat).
PROVINCES = [
    ("10", "Bangkok", "กรุงเทพมหานคร", box(100.4, 13.6, 100.8, 14.0)),
    ("50", "Chiang Mai", "เชียงใหม่", box(98.0, 18.0, 99.0, 19.0)),
    ("46", "Kalasin", "กาฬสินธุ์", box(103.0, 16.0, 104.0, 17.0)),
]
DISTRICTS = [
    ("1035", "Chom Thong", "เขตจอมทอง", box(100.4, 13.6, 100.6, 13.8)),
    ("1001", "Phra Nakhon", "เขตพระนคร", box(100.6, 13.8, 100.8, 14.0)),
    ("5002", "Chom Thong", "จอมทอง", box(98.0, 18.0, 98.5, 18.5)),
    ("4609", "Sahatsakhan", "สหัสขันธ์", box(103.0, 16.0, 103.5, 16.5)),
    ("4601", "Mueang Kalasin", "เมืองกาฬสินธุ์", box(103.5, 16.5, 104.0, 17.0)),
]
SUBDISTRICTS = [
    ("460901", "Phu Sing", "ภูสิงห์", box(103.0, 16.0, 103.2, 16.2)),
    ("460902", "Sahatsakhan", "สหัสขันธ์", box(103.2, 16.2, 103.5, 16.5)),
]
# A bow-tie: an invalid polygon, as about 1% of real features are.
BOW_TIE = Polygon([(103.0, 16.0), (103.5, 16.5), (103.5, 16.0), (103.0, 16.5), (103.0, 16.0)])


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    geoms = [r.pop("geometry") for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def codab_layers() -> dict[str, gpd.GeoDataFrame]:
    adm0 = _frame([{"ADM0_PCODE": "TH", "ADM0_EN": "Thailand", "geometry": box(97, 5, 106, 21)}])
    adm1 = _frame([{"ADM1_PCODE": f"TH{c}", "ADM1_EN": en, "ADM1_TH": th, "geometry": g} for c, en, th, g in PROVINCES])
    adm2 = _frame([
        {"ADM2_PCODE": f"TH{c}", "ADM2_EN": en, "ADM2_TH": th, "ADM1_PCODE": f"TH{c[:2]}", "geometry": g}
        for c, en, th, g in DISTRICTS
    ])
    adm2.loc[adm2["ADM2_PCODE"] == "TH4609", "geometry"] = BOW_TIE
    adm3 = _frame([
        {"ADM3_PCODE": f"TH{c}", "ADM3_EN": en, "ADM3_TH": th, "ADM2_PCODE": f"TH{c[:4]}", "geometry": g}
        for c, en, th, g in SUBDISTRICTS
    ] + [{"ADM3_PCODE": "TH469999", "ADM3_EN": "Nowhere", "ADM3_TH": "ไม่มี", "ADM2_PCODE": "TH4609",
          "geometry": box(103.4, 16.4, 103.5, 16.5)}])
    return {"tha_admbnda_adm0": adm0, "tha_admbnda_adm1": adm1, "tha_admbnda_adm2": adm2, "tha_admbnda_adm3": adm3}


def geoboundaries_layers() -> dict[str, gpd.GeoDataFrame]:
    names1 = {"10": "Bangkok", "50": "Chiang Mai Province", "46": "Kalasin"}
    adm1 = _frame([{"shapeName": names1[c], "shapeISO": f"TH-{c}", "shapeType": "ADM1", "geometry": g} for c, _, _, g in PROVINCES])
    # Spellings that differ from DOPA's, and a name that repeats across provinces.
    names2 = {"1035": "Chom Thong", "1001": "Khet Phra Nakhon", "5002": "Chom Thong", "4609": "Sahatsakan", "4601": "Muang Kalasin"}
    adm2 = _frame(
        [{"shapeName": names2[c], "shapeType": "ADM2", "geometry": g} for c, _, _, g in DISTRICTS]
        + [{"shapeName": "Atlantis", "shapeType": "ADM2", "geometry": box(103.1, 16.6, 103.2, 16.7)}]
    )
    return {"geoBoundaries-THA-ADM1": adm1, "geoBoundaries-THA-ADM2": adm2}


def name_only_layers() -> dict[str, gpd.GeoDataFrame]:
    adm1 = _frame([{"ADM1_EN": en, "ADM1_TH": th, "geometry": g} for _, en, th, g in PROVINCES])
    rows = []
    for code, en, th, g in DISTRICTS:
        p = next(p for p in PROVINCES if p[0] == code[:2])
        th = th.removeprefix("เขต")  # Bangkok districts without เขต
        if code == "4601":
            th = "เมืองกาฬสิน"  # cut short by the shapefile field limit
        rows.append({"ADM1_EN": p[1], "ADM1_TH": p[2], "ADM2_EN": en, "ADM2_TH": th, "geometry": g})
    rows.append({"ADM1_EN": "Kalasin", "ADM1_TH": "กาฬสินธุ์", "ADM2_EN": "Atlantis", "ADM2_TH": "แอตแลนติส",
                 "geometry": box(103.1, 16.6, 103.2, 16.7)})
    adm2 = _frame(rows)
    adm3 = _frame([
        {"ADM1_EN": "Kalasin", "ADM1_TH": "กาฬสินธุ์", "ADM2_EN": "Sahatsakhan", "ADM2_TH": "สหัสขันธ์",
         "ADM3_EN": en, "ADM3_TH": th, "geometry": g}
        for _, en, th, g in SUBDISTRICTS
    ])
    return {"thailand_province": adm1, "thailand_district": adm2, "thailand_sub_district": adm3}


def write_layers(layers: dict[str, gpd.GeoDataFrame], folder: Path, fmt: str) -> Path:
    """Write layers as a folder of GeoJSON, one GeoPackage, or one zip of Shapefiles; return the source."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        for name, frame in layers.items():
            frame.to_file(folder / f"{name}.geojson", driver="GeoJSON")
        return folder
    if fmt == "gpkg":
        path = folder / "tha_adm.gpkg"
        for name, frame in layers.items():
            frame.to_file(path, layer=name, driver="GPKG")
        return path
    if fmt == "shpzip":
        shp_dir = folder / "shp"
        shp_dir.mkdir()
        for name, frame in layers.items():
            frame.to_file(shp_dir / f"{name}.shp", driver="ESRI Shapefile", encoding="utf-8")
        path = folder / "tha_adm_shp.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for item in sorted(shp_dir.iterdir()):
                archive.write(item, item.name)
        return path
    raise ValueError(fmt)


FORMATS = ["geojson", "gpkg", "shpzip"]


def _codes(level: str, dest: Path) -> list[str]:
    return load_boundaries(level, dest)["code"].tolist()


@pytest.mark.parametrize("fmt", FORMATS)
def test_codab_is_installed_by_pcode(tmp_path, fmt):
    source = write_layers(codab_layers(), tmp_path / "src", fmt)
    manifest = install(str(source), tmp_path / "out")
    assert _codes("province", tmp_path / "out") == ["10", "46", "50"]
    assert _codes("district", tmp_path / "out") == ["1001", "1035", "4601", "4609", "5002"]
    assert _codes("subdistrict", tmp_path / "out") == ["460901", "460902"]
    unmatched = manifest["levels"]["subdistrict"]["unmatched"]
    assert [u["pcode"] for u in unmatched] == ["TH469999"]
    assert set(manifest["levels"]) == {"province", "district", "subdistrict"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_geoboundaries_districts_resolve_by_geometry_and_tolerant_names(tmp_path, fmt):
    source = write_layers(geoboundaries_layers(), tmp_path / "src", fmt)
    manifest = install(str(source), tmp_path / "out")
    districts = load_boundaries("district", tmp_path / "out")
    assert districts["code"].tolist() == ["1001", "1035", "4601", "4609", "5002"]
    # Both "Chom Thong" features found their own province by position.
    assert districts.set_index("code").loc["5002", "parent_code"] == "50"
    assert districts.set_index("code").loc["1035", "parent_code"] == "10"
    assert [u["name_en"] for u in manifest["levels"]["district"]["unmatched"]] == ["Atlantis"]
    assert manifest["levels"]["province"]["count"] == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_name_only_files_match_cut_thai_names_and_bangkok_without_khet(tmp_path, fmt):
    source = write_layers(name_only_layers(), tmp_path / "src", fmt)
    manifest = install(str(source), tmp_path / "out")
    districts = load_boundaries("district", tmp_path / "out").set_index("code")
    assert sorted(districts.index) == ["1001", "1035", "4601", "4609", "5002"]
    assert districts.loc["4601", "name_th"] == "เมืองกาฬสินธุ์"  # full DOPA name, not the cut one
    assert districts.loc["1035", "name_th"] == "เขตจอมทอง"
    assert [u["name_en"] for u in manifest["levels"]["district"]["unmatched"]] == ["Atlantis"]
    assert _codes("subdistrict", tmp_path / "out") == ["460901", "460902"]


def test_output_schema_and_repaired_geometry(tmp_path):
    install(str(write_layers(codab_layers(), tmp_path / "src", "geojson")), tmp_path / "out")
    for level in boundaries.LEVELS:
        frame = load_boundaries(level, tmp_path / "out")
        assert list(frame.columns) == list(boundaries.OUTPUT_COLUMNS)
        assert frame.crs.to_epsg() == 4326
        assert frame.is_valid.all()
        assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
        assert not frame["code"].duplicated().any()
    districts = load_boundaries("district", tmp_path / "out").set_index("code")
    assert districts.loc["4609", "geometry"].area > 0  # the bow-tie kept its area
    assert (districts["parent_code"] == districts.index.str[:2]).all()


def test_manifest_records_source_attribution_time_and_levels(tmp_path):
    source = write_layers(codab_layers(), tmp_path / "src", "geojson")
    manifest = install(str(source), tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["source"] == str(source.resolve())
    assert manifest["attribution"] == "Boundaries: RTSD / OCHA (CC BY-IGO)"
    assert manifest["installed_at"].startswith("20")
    for level, info in manifest["levels"].items():
        assert info["count"] == len(load_boundaries(level, tmp_path / "out"))
        assert isinstance(info["unmatched"], list)


def test_manifest_records_a_measured_tolerance_and_load_carries_it(tmp_path):
    source = write_layers(codab_layers(), tmp_path / "src", "geojson")
    manifest = install(str(source), tmp_path / "out")
    measured = boundaries.measure_tolerance_m({level: load_boundaries(level, tmp_path / "out")
                                               for level in manifest["levels"]})
    assert manifest["tolerance_m"] == measured["tolerance_m"] and manifest["tolerance"]["pairs"] == measured["pairs"]
    assert load_boundaries("district", tmp_path / "out").attrs["tolerance_m"] == manifest["tolerance_m"]
    # an older manifest without the field: the documented default
    old = {k: v for k, v in manifest.items() if k not in ("tolerance_m", "tolerance")}
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(old), encoding="utf-8")
    assert load_boundaries("district", tmp_path / "out").attrs["tolerance_m"] == boundaries.DEFAULT_TOLERANCE_M


def test_measure_tolerance_is_the_disagreement_between_levels():
    # a province drawn as a square, its two districts drawn 0.01 degrees (about 1.1 km) short on the east
    province = gpd.GeoDataFrame({"code": ["46"], "parent_code": [""]}, geometry=[box(103.0, 16.0, 103.2, 16.2)],
                                crs=4326)
    districts = gpd.GeoDataFrame({"code": ["4601", "4602"], "parent_code": ["46", "46"]},
                                 geometry=[box(103.0, 16.0, 103.1, 16.2), box(103.1, 16.0, 103.19, 16.2)], crs=4326)
    measured = boundaries.measure_tolerance_m({"province": province, "district": districts})
    pair = measured["pairs"]["province/district"]
    assert pair["parents"] == 1 and 1_000 < pair["median_m"] < 1_150
    assert measured["tolerance_m"] == pytest.approx(pair["median_m"], abs=10) and measured["tolerance_m"] % 10 == 0
    exact = boundaries.measure_tolerance_m({"province": province, "district": districts.assign(
        geometry=[box(103.0, 16.0, 103.1, 16.2), box(103.1, 16.0, 103.2, 16.2)])})
    assert exact["tolerance_m"] <= 10  # the same border drawn twice (a parallel is a curve in UTM: a few metres)
    assert boundaries.measure_tolerance_m({"district": districts})["tolerance_m"] is None


def test_match_names_prefers_thai_when_romanisations_collide():
    # Ayutthaya's บางไทร (1404) and บางซ้าย (1413) are both "Bang Sai" in English.
    candidates = [Candidate("1404", "บางไทร", "bangsai"), Candidate("1413", "บางซ้าย", "bangsai")]
    names = [("บางซ้าย", "bangsai"), ("บางไทร", "bangsai")]
    assert match_names(names, candidates) == ["1413", "1404"]


def test_unknown_schema_and_missing_source_are_clear_errors(tmp_path):
    frame = gpd.GeoDataFrame({"foo": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    frame.to_file(tmp_path / "odd.geojson", driver="GeoJSON")
    with pytest.raises(BoundaryError, match="match no known schema"):
        install(str(tmp_path / "odd.geojson"), tmp_path / "out")
    with pytest.raises(BoundaryError, match="does not exist"):
        install(str(tmp_path / "missing"), tmp_path / "out")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(BoundaryError, match="not a readable zip"):
        install(str(tmp_path / "bad.zip"), tmp_path / "out")


# ---------------------------------------------------------------------------------------------
# Source resolution and downloads, against our own server on 127.0.0.1
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.endswith("/truncated.geojson"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"type": "FeatureCollection", ')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        super().do_GET()


@pytest.fixture()
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_installs_from_local_server_with_progress(tmp_path, http_server):
    root, base = http_server
    source = write_layers(codab_layers(), tmp_path / "src", "shpzip")
    (root / source.name).write_bytes(source.read_bytes())
    progress: list[str] = []
    manifest = install(f"{base}/{source.name}", tmp_path / "out", report=progress.append)
    assert manifest["source"] == f"{base}/{source.name}"
    assert _codes("district", tmp_path / "out") == ["1001", "1035", "4601", "4609", "5002"]
    assert any("downloading tha_adm_shp.zip" in p and "100.0%" in p for p in progress)


@pytest.mark.parametrize("path", ["/missing.geojson", "/truncated.geojson", "/page.geojson"])
def test_failed_download_leaves_the_previous_install_in_place(tmp_path, http_server, path):
    root, base = http_server
    (root / "page.geojson").write_text("<html>not boundaries</html>")
    install(str(write_layers(codab_layers(), tmp_path / "src", "geojson")), tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    with pytest.raises(BoundaryError):
        install(f"{base}{path}", tmp_path / "out")
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert after == before


def test_offline_default_download_says_what_to_do(tmp_path, monkeypatch, capsys):
    port = _free_port()  # nothing listens here: as offline as a closed network
    monkeypatch.delenv("PPAP_BOUNDARIES", raising=False)
    monkeypatch.setattr(boundaries, "default_shared_source", lambda: tmp_path / "no-shared")
    monkeypatch.setattr(boundaries, "OFFICIAL_URLS", (f"http://127.0.0.1:{port}/geoBoundaries-THA-ADM1.geojson",))
    code = cli_main(["boundaries", "install", "--dest", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "could not download boundaries" in err
    assert "python -m geo boundaries install --from" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_cli_offline_error_is_one_line_without_traceback(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/tha.zip"
    result = subprocess.run(
        [sys.executable, "-m", "geo", "boundaries", "install", "--from", url, "--dest", str(tmp_path / "out")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "python -m geo boundaries install --from FOLDER" in result.stderr


def test_source_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("PPAP_BOUNDARIES", str(tmp_path / "env"))
    assert boundaries.resolve_source("given") == ["given"]
    assert boundaries.resolve_source(None) == [str(tmp_path / "env")]
    monkeypatch.delenv("PPAP_BOUNDARIES")
    (tmp_path / "shared").mkdir()
    monkeypatch.setattr(boundaries, "default_shared_source", lambda: tmp_path / "shared")
    assert boundaries.resolve_source(None) == [str(tmp_path / "shared")]
    monkeypatch.setattr(boundaries, "default_shared_source", lambda: tmp_path / "none")
    assert boundaries.resolve_source(None) == list(boundaries.OFFICIAL_URLS)


# ---------------------------------------------------------------------------------------------
# The real boundaries in ../shared
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_install(tmp_path_factory):
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must have ../shared beside the repository")
        pytest.skip("../shared/boundaries not present")
    dest = tmp_path_factory.mktemp("shared-install")
    return install(str(SHARED), dest), dest


def test_shared_boundaries_match_every_province_and_district(shared_install):
    manifest, dest = shared_install
    assert manifest["levels"]["province"]["count"] == 77
    assert manifest["levels"]["province"]["unmatched"] == []
    assert manifest["levels"]["district"]["count"] == 928
    assert manifest["levels"]["district"]["unmatched"] == []
    for level in ("province", "district", "subdistrict"):
        frame = load_boundaries(level, dest)
        assert not frame["code"].duplicated().any()
        assert frame.is_valid.all()
    districts = load_boundaries("district", dest).set_index("code")
    assert districts.loc["4609", "name_en"] == "Sahatsakhan"
    assert districts.loc["1404", "name_th"] == "บางไทร" and districts.loc["1413", "name_th"] == "บางซ้าย"


def test_shared_subdistricts_are_matched_or_listed(shared_install):
    manifest, dest = shared_install
    info = manifest["levels"]["subdistrict"]
    assert info["source_features"] == 7419
    assert info["matched_features"] + len(info["unmatched"]) == info["source_features"]
    assert info["count"] == len(load_boundaries("subdistrict", dest)) >= 7400
    for item in info["unmatched"]:
        assert item["name_th"] and item["reason"]
