"""The Capitals, Pilots, Households and Data pages through AppTest from the entry point, on the
tiny known world (tests/pages/tiny_world.py)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
from streamlit import dataframe_util

from geo.views import dashboard as D
from geo.engine.aggregate import index_households
from geo.views.viewstate import ViewState
from tests.pages.conftest import decks, open_app, page_text, rerun
from tests.pages.tiny_world import ATTRIBUTION, households

# ---------------------------------------------------------------------------------------------
# Capitals
# ---------------------------------------------------------------------------------------------


def test_capitals_maps_profile_and_table(tiny_dir):
    at = open_app("capitals", {"area": "46", "capital": "natural"})

    text = page_text(at)
    assert "สัดส่วนที่ขาดทุนธรรมชาติ · รายอำเภอ · จังหวัดกาฬสินธุ์" in text
    assert "ทุนที่ขาดมากที่สุด · รายอำเภอ · จังหวัดกาฬสินธุ์" in text
    assert text.count(ATTRIBUTION) >= 2  # a credit line under each map
    deficit, dominant = decks(at)
    assert {layer["id"] for layer in deficit["layers"]} >= {"context", "areas", "selected"}
    colours = {tuple(f["properties"]["fill"][:3]) for layer in dominant["layers"] if layer["id"] == "areas"
               for f in layer["data"]["features"]}
    from geo.views.style import CAPITAL_COLOURS
    assert colours <= set(CAPITAL_COLOURS.values()) | {(150, 150, 150), (235, 235, 235)}
    (chart,) = at.get("vega_lite_chart")  # the five-capital profile
    profile = dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert set(profile["group"]) == {"กาฬสินธุ์", "เฉลี่ย 20 จังหวัดนำร่อง"}
    kalasin = frame_mean = households()
    kalasin = frame_mean[frame_mean["province_code"] == "46"]["capital_natural"].mean()
    natural = profile[(profile["group"] == "กาฬสินธุ์") & (profile["capital"] == "ทุนธรรมชาติ")]["mean_score"]
    assert abs(natural.item() - kalasin) <= 3 / 59 + 0.005  # public release: the sum carries at most 3 points
    table = at.dataframe[0].value
    frame = households()
    expected = frame[frame["province_code"] == "46"].groupby("district_code")["capital_natural"].mean().round(2)
    sizes = frame[frame["province_code"] == "46"].groupby("district_code").size()
    assert (abs(pd.Series(table["ทุนธรรมชาติ · คะแนน"].tolist(), index=expected.index) - expected)
            <= 3 / sizes + 0.006).all()  # public release: each sum carries at most 3 points of noise

    at.selectbox(key="capitals_capital").set_value("human")
    rerun(at)
    assert at.query_params == {"area": "46"}  # human is the default capital
    assert "สัดส่วนที่ขาดทุนมนุษย์" in page_text(at)


def test_capitals_in_english(tiny_dir):
    at = open_app("capitals", {"lang": "en", "by": "district"})
    assert at.title[0].value == "Five capitals"
    assert "Dominant deficit · by district · 20 pilot provinces" in page_text(at)
    assert "Financial capital" in page_text(at)  # a legend swatch


# ---------------------------------------------------------------------------------------------
# Pilots
# ---------------------------------------------------------------------------------------------


def test_pilots_sites_reach_and_gaps(tiny_dir):
    at = open_app("pilots", {"km": "5"})

    (spec,) = decks(at)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert {"areas", "rings", "pilots", "pilot_letters"} <= set(layers)
    assert layers["rings"]["getRadius"] == 5000
    assert [d["letter"] for d in layers["pilot_letters"]["data"]] == ["M", "C"]
    assert layers["pilots"]["data"][0]["tt_2"] == "มหาวิทยาลัย: Test University"
    gaps, sites = at.dataframe[0].value, at.dataframe[1].value
    # The public release: 10 enrolled read as 10 plus noise or "<10"; none enrolled reads like a few.
    enrolled = sites["ครัวเรือนที่เข้าร่วม"].tolist()
    assert enrolled[1] == "<10" and (enrolled[0] == "<10" or abs(int(enrolled[0]) - 10) <= 3)
    assert sites["เป้าหมาย"].tolist() == ["20", "15"]
    # The public release shows a gap only with at least 10 households in need (perturbed).
    assert all(v == "<10" or int(v) >= 10 for v in gaps["ครัวเรือนระดับ 1-2"])
    assert "พื้นที่ช่องว่าง: ความต้องการสูง ไม่มีโครงการในระยะ 5 กม." in page_text(at)

    at.radio(key="pilots_km").set_value(30)
    rerun(at)
    assert at.query_params == {"km": "30"}
    (spec,) = decks(at)
    assert next(layer for layer in spec["layers"] if layer["id"] == "rings")["getRadius"] == 30000


# ---------------------------------------------------------------------------------------------
# Households (research)
# ---------------------------------------------------------------------------------------------


def test_households_tables_are_protected_aggregates_with_downloads(tiny_dir, download_bytes):
    at = open_app("households")
    at.radio(key="households_by").set_value("subdistrict")
    rerun(at)

    assert "เฉพาะตารางรวมตามพื้นที่" in page_text(at)  # aggregates only, household rows later
    table = at.dataframe[0].value
    # The public release: perturbed counts, the small subdistrict left out, no complementary suppression.
    shown = dict(zip(table["รหัส"], table["ครัวเรือน"]))
    assert set(shown) == {"340101", "460101", "460901"}
    assert all(abs(int(shown[c]) - n) <= 3 for c, n in {"340101": 12, "460101": 30, "460901": 25}.items())
    assert at.query_params == {"by": "subdistrict"}

    csv = pd.read_csv(io.BytesIO(download_bytes(at, "households_download_csv")), encoding="utf-8-sig",
                      dtype={"code": str})
    index = index_households(households())
    expected = D.area_table(index, "subdistrict", None)
    assert csv["code"].tolist() == expected["code"].tolist()
    assert csv["households_shown"].astype(str).tolist() == expected["households_shown"].tolist()
    assert "460902" not in csv["code"].tolist()  # left out of the public release
    assert (csv["min_count"] == 10).all()

    book = openpyxl.load_workbook(io.BytesIO(download_bytes(at, "households_download_xlsx")), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("min_count", "code", "name_th") and len(rows) == 4  # header and three areas


def test_a_district_s_villages_are_a_protected_table_with_downloads(tiny_dir, download_bytes, access_users):
    """``by=village``: households, people and households per level per หมู่ of the chosen district, through
    the same release as every table (the public one: perturbed, small villages left out)."""
    from geo.views.villages import village_keys, village_table

    at = open_app("households", {"by": "village"})
    assert "เลือกอำเภอเดียว" in page_text(at) and not at.dataframe  # no district chosen: no table
    at = open_app("households", {"by": "village", "area": "4609"})  # 29 households in six villages, each under 10
    assert "ทุกพื้นที่มีน้อยกว่า 10 ครัวเรือน" in page_text(at) and not at.dataframe
    at = open_app("households", {"by": "village", "area": "4601"})  # three villages of ten
    index = index_households(households())
    keys = village_keys(index, households())
    expected = village_table(index, keys, D.view_mask(index, ViewState(area="4601")))
    table = at.dataframe[0].value
    assert table["รหัส"].tolist() == expected["code"].tolist() and len(table) > 0
    assert table["หมู่บ้าน"].tolist() == [f"หมู่ที่ {n}" for n in expected["village_no"]]
    assert all(c.startswith("4601") for c in table["รหัส"])
    csv = pd.read_csv(io.BytesIO(download_bytes(at, "households_download_csv")), encoding="utf-8-sig",
                      dtype={"code": str, "subdistrict_code": str})
    assert csv["code"].tolist() == expected["code"].tolist() and (csv["min_count"] == 10).all()
    assert csv["households_shown"].astype(str).tolist() == expected["households_shown"].tolist()
    # The administrator at k=1: every village, exact, adding up to the district.
    admin = open_app("households", {"by": "village", "area": "4609", "k": "1"}, login="admin")
    exact = admin.dataframe[0].value
    assert sum(int(v) for v in exact["ครัวเรือน"]) == int((households()["district_code"] == "4609").sum())


def test_households_follow_the_filters(tiny_dir):
    at = open_app("households", {"prov": "46", "level": "2"})
    table = at.dataframe[0].value
    frame = households()
    expected = frame[(frame["province_code"] == "46") & (frame["poverty_level"] == 2)]
    assert table["ครัวเรือน"].tolist() == [str(len(expected))]
    index = index_households(frame)
    totals = D.selection_totals(index, D.view_mask(index, ViewState(provinces=("46",), levels=(2,))))
    assert int(totals["households"].iloc[0]) == len(expected)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def upload_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def test_data_page_imports_a_file_and_shows_the_report(tiny_dir, download_bytes, access_users):
    new = households().head(12).copy()
    new["household_id"] = [f"N{i:03d}" for i in range(12)]
    new.loc[0, "members"] = 99  # rejected: members out of range
    at = open_app("data", login="admin")
    assert "แถวที่มีเลขบัตรประชาชนจะถูกปฏิเสธ" in page_text(at)  # no ID key: the page says why
    boundaries = at.dataframe[0].value
    assert boundaries["จำนวน"].tolist() == [2, 3, 4]

    at.file_uploader(key="data_upload").set_value(("new.csv", upload_csv(new), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)

    assert "นำเข้าแล้ว 11 แถว ปฏิเสธ 1 แถว จาก 12 แถว" in page_text(at)
    stored = pd.read_parquet(tiny_dir / "store" / "households.parquet")
    assert len(stored) == 11 and set(stored["household_id"]) == set(new["household_id"][1:])
    rejects = openpyxl.load_workbook(io.BytesIO(download_bytes(at, "data_rejects")), read_only=True)
    rows = list(rejects.active.iter_rows(values_only=True))
    assert len(rows) == 2 and "members" in " ".join(str(v) for v in rows[1])
    # The app now shows the store, not the sample, and says so.
    assert "ข้อมูลที่นำเข้า (11 ครัวเรือน)" in page_text(at)
    provenance = at.dataframe[-1].value
    assert provenance["ไฟล์"].tolist() == ["new.csv"] and provenance["รับ"].tolist() == [11]


def test_an_administrator_chooses_the_dataset_and_the_sidebar_says_it(tiny_dir, access_users, audit_log):
    """After an import every page shows the imported households (automatic); an administrator
    can pin the sample again, every page's sidebar says which dataset is shown, the change is logged."""
    import json

    store = tiny_dir / "store" / "households.parquet"
    store.parent.mkdir(parents=True, exist_ok=True)
    households().head(30).to_parquet(store)
    at = open_app("data", login="admin")
    assert "ข้อมูลที่นำเข้า (30 ครัวเรือน)" in page_text(at)
    assert at.radio(key="data_dataset").value == "auto"
    at.radio(key="data_dataset").set_value("sample")
    rerun(at)
    text = page_text(at)
    assert "ข้อมูลตัวอย่าง (71 ครัวเรือน)" in text and "ผู้ดูแลระบบเลือกชุดข้อมูลนี้" in text, text
    assert "เปลี่ยนชุดข้อมูลแล้ว" in text
    assert json.loads((tiny_dir / "settings.json").read_text())["dataset"] == "sample"
    records = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [(r["username"], r["what"]) for r in records if r["event"] == "setting"] == [("admin", "dataset auto -> sample")]

    officer = open_app("overview", login="kalasin")  # every user, every page: the sample, said
    assert "ผู้ดูแลระบบเลือกชุดข้อมูลนี้" in page_text(officer)
    officer = open_app("data", login="kalasin")
    assert not officer.get("radio") or "data_dataset" not in [r.key for r in officer.radio]
    assert "เฉพาะผู้ดูแลระบบเท่านั้นที่เปลี่ยนชุดข้อมูลได้" in page_text(officer)


def test_national_ids_without_a_key_are_rejected_and_with_one_hashed(tiny_dir, access_users):
    new = households().head(2).copy()
    new["household_id"] = ["K1", "K2"]
    new["national_id"] = ["1101700207030", "1101700207030"]
    new = new.drop(columns=["national_id_hash"])
    at = open_app("data", login="admin")
    at.file_uploader(key="data_upload").set_value(("ids.csv", upload_csv(new), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    assert "ปฏิเสธ 2 แถว" in page_text(at)

    from streamlit.testing.v1 import AppTest

    from tests.pages.conftest import APP_PATH, PASSWORDS, TIMEOUT_S, log_in

    keyed = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    keyed.secrets["ppap_id_hash_key"] = "a-test-key-of-enough-length"  # from st.secrets
    rerun(keyed)
    log_in(keyed, "admin", PASSWORDS["admin"])
    keyed.switch_page("pages/data.py")
    rerun(keyed)
    assert "เก็บเฉพาะค่าแฮช" in page_text(keyed)
    new["household_id"] = ["K3", "K4"]
    keyed.file_uploader(key="data_upload").set_value(("ids2.csv", upload_csv(new), "text/csv"))
    rerun(keyed)
    keyed.button(key="data_import").click()
    rerun(keyed)
    stored = pd.read_parquet(tiny_dir / "store" / "households.parquet")
    assert stored["national_id_hash"].notna().all()
    assert "1101700207030" not in stored.to_csv()


def test_dates_show_in_the_buddhist_era_with_common_era_on_request(tiny_dir):
    at = open_app("data")
    assert "21 พ.ย. 2569 00:00" in page_text(at)  # boundaries installed (manifest time)
    assert "พ.ศ. 2566" in page_text(at)  # the survey round, in the sidebar
    at.toggle(key="sidebar_era").set_value(True)
    rerun(at)
    assert "21 พ.ย. 2026 00:00" in page_text(at) and "ค.ศ. 2023" in page_text(at)
    assert at.query_params == {"era": "CE"}


def test_household_rows_are_counted_as_households_and_follow_the_filters(tiny_dir, access_users):
    at = open_app("households", {"level": "1", "tpmap": "out"}, login="admin")
    frame = households()
    expected = frame[(frame["poverty_level"] == 1) & ~frame["in_tpmap"]]
    rows = [d.value for d in at.dataframe if "household_id" in d.value.columns][0]
    assert sorted(rows["household_id"]) == sorted(expected["household_id"])
    assert f"{len(expected)} ครัวเรือน" in [c.value for c in at.caption]
