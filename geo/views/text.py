"""Thai-first labels and number and date formats, with English beside them.

Every user-facing word of the app, its legends, tooltips and exports comes from :data:`TEXT`
through :func:`text`, so the Thai/English switch changes all of them at once.

Numbers use the comma thousands separator that Thai official documents use, in Arabic digits by
default (``thai_digits=True`` gives ๐-๙). Dates are shown in the Buddhist Era (BE = CE + 543)
with the Common Era available.
"""

from __future__ import annotations

from functools import lru_cache

import datetime as dt
import math

from geo.data.areas import dopa_name
from geo.data.contract import ASSISTANCE_LABELS, CAPITAL_LABELS, DEPRIVATION_LABELS, LEVELS
from geo.errors import EngineInputError

LANGUAGES: tuple[str, ...] = ("th", "en")
BE_OFFSET = 543
_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
_EN_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Labels by key, each in Thai and English.
TEXT: dict[str, dict[str, str]] = {
    "app_title": {"th": "แผนที่ความยากจน PPAP", "en": "PPAP Atlas"},
    "synthetic_sample": {"th": "ข้อมูลตัวอย่างสังเคราะห์ ไม่ใช่ข้อมูลจริง", "en": "Synthetic sample, not real data"},
    "households": {"th": "ครัวเรือน", "en": "Households"},
    "people": {"th": "คน", "en": "People"},
    "levels_1_2": {"th": "ครัวเรือนอยู่ลำบาก/อยู่ยาก", "en": "Households at levels 1-2"},
    "not_in_tpmap": {"th": "ไม่อยู่ใน TPMAP", "en": "Not in TPMAP"},
    "verified": {"th": "ตรวจสอบแล้ว", "en": "Verified"},
    "helped": {"th": "ได้รับความช่วยเหลือแล้ว", "en": "Helped"},
    "province": {"th": "จังหวัด", "en": "Province"},
    "district": {"th": "อำเภอ", "en": "District"},
    "subdistrict": {"th": "ตำบล", "en": "Subdistrict"},
    "h3": {"th": "หกเหลี่ยม H3", "en": "H3 hexagons"},
    "all_pilot_provinces": {"th": "20 จังหวัดนำร่อง", "en": "20 pilot provinces"},
    "suppressed": {"th": "น้อยกว่า {k} ครัวเรือน (ปกปิด)", "en": "Fewer than {k} households (withheld)"},
    "withheld_or_none": {"th": "ไม่มี หรือน้อยกว่า {k} ครัวเรือน (ปกปิด)",
                         "en": "None or fewer than {k} households (withheld)"},
    "perturbed_note": {"th": "ตัวเลขปรับด้วยสัญญาณรบกวนเล็กน้อย (ไม่เกิน ±{noise} ครัวเรือน) เพื่อปกป้องครัวเรือน",
                       "en": "Figures carry a small fixed noise (at most ±{noise} households) to protect households"},
    "no_data": {"th": "ไม่มีข้อมูล", "en": "No data"},
    "source": {"th": "ที่มา", "en": "Source"},
    "date": {"th": "วันที่", "en": "Date"},
    "metric_poor_households": {"th": "ครัวเรือนยากจน (ระดับ 1-2)", "en": "Poor households (levels 1-2)"},
    "metric_share_levels_1_2": {"th": "สัดส่วนครัวเรือนระดับ 1-2", "en": "Share at levels 1-2"},
    "metric_not_in_tpmap": {"th": "ครัวเรือนตกหล่นจาก TPMAP", "en": "Households not in TPMAP"},
    "metric_mpi": {"th": "ดัชนีความยากจนหลายมิติ (MPI)", "en": "Multidimensional poverty index (MPI)"},
    "metric_assistance_coverage": {"th": "สัดส่วนที่ได้รับความช่วยเหลือ", "en": "Assistance coverage"},
    "metric_households": {"th": "จำนวนครัวเรือน", "en": "Households"},
    "metric_density": {"th": "ความหนาแน่นครัวเรือน (ต่อ ตร.กม.)", "en": "Households per km²"},
    "deprived_in": {"th": "ขาดด้าน{dimensions} (TPMAP)", "en": "Deprived in {dimensions} (TPMAP)"},
    "deprivation_filter": {"th": "ขาดด้านตาม TPMAP", "en": "TPMAP deprivation"},
    "metric_off_district": {"th": "สัดส่วนครัวเรือนที่อยู่นอกอำเภอที่แจ้ง (ตรวจสอบพิกัด)",
                            "en": "Share outside their declared district (verification)"},
    "metric_not_allowed": {"th": "เฉพาะเจ้าหน้าที่และผู้ดูแลระบบ", "en": "for officers and administrators only"},
    "metric_dep": {"th": "สัดส่วนที่ขาดด้าน{dimension} (TPMAP)", "en": "Share deprived in {dimension} (TPMAP)"},
    "metric_mpi_h": {"th": "สัดส่วนคนจนหลายมิติ (H)", "en": "MPI headcount ratio (H)"},
    "metric_mpi_a": {"th": "ความรุนแรงของความยากจน (A)", "en": "MPI intensity (A)"},
    "metric_mpi_contribution": {"th": "สัดส่วนของ MPI จาก{capital}", "en": "Share of the MPI from {capital}"},
    "metric_assistance": {"th": "สัดส่วนสถานะ: {status}", "en": "Share with status: {status}"},
    "dominant_deficit": {"th": "ทุนที่ขาดมากที่สุด", "en": "Dominant deficit"},
    "share_in_deficit": {"th": "สัดส่วนที่ขาด{capital}", "en": "Share in deficit: {capital}"},
}

#: Labels of the dashboard pages (issue 5): sidebar, pages, tables, notices. Kept in one block.
TEXT.update({
    # pages
    "page_overview": {"th": "ภาพรวม", "en": "Overview"},
    "page_capitals": {"th": "ทุน 5 มิติ", "en": "Five capitals"},
    "page_pilots": {"th": "โครงการนำร่อง", "en": "Pilot projects"},
    "page_households": {"th": "ครัวเรือน (งานวิจัย)", "en": "Households (research)"},
    "page_data": {"th": "ข้อมูล", "en": "Data"},
    "synthetic_badge": {"th": "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample",
                        "en": "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample"},
    "synthetic_note": {"th": "ครัวเรือนสมมุติ ไม่ใช่ข้อมูลจริง", "en": "generated households, not real people"},
    "data_from_store": {"th": "ข้อมูลที่นำเข้า ({rows} ครัวเรือน)", "en": "Imported data ({rows} households)"},
    "data_from_sample": {"th": "ข้อมูลตัวอย่าง ({rows} ครัวเรือน)", "en": "Sample data ({rows} households)"},
    "survey_round": {"th": "รอบสำรวจ {year}", "en": "Survey round {year}"},
    "no_data_yet": {"th": "ยังไม่มีข้อมูลครัวเรือน เรียก `make run` (สร้างข้อมูลตัวอย่างด้วย `python -m geo sample`) "
                          "หรือนำเข้าไฟล์ที่หน้า ข้อมูล",
                    "en": "No household data yet. Run `make run` (it generates the sample with "
                          "`python -m geo sample`) or import a file on the Data page."},
    "no_boundaries": {"th": "ยังไม่ได้ติดตั้งขอบเขตการปกครอง เรียก `make run` (ติดตั้งด้วย "
                            "`python -m geo boundaries install`)",
                      "en": "Boundaries are not installed. Run `make run` (it installs them with "
                            "`python -m geo boundaries install`)."},
    "read_error": {"th": "อ่านข้อมูลไม่ได้: {error}", "en": "The data could not be read: {error}"},
    # sidebar
    "language": {"th": "ภาษา / Language", "en": "ภาษา / Language"},
    "filters": {"th": "ตัวกรอง", "en": "Filters"},
    "more_filters": {"th": "ตัวกรองเพิ่มเติม", "en": "More filters"},
    "level": {"th": "ระดับ", "en": "Level"},
    "household_level": {"th": "ระดับครัวเรือน", "en": "Household level"},
    "capital_in_deficit": {"th": "ขาดทุนด้าน", "en": "Capital in deficit"},
    "deficit_in": {"th": "ขาด{capitals}", "en": "in deficit: {capitals}"},
    "tpmap_status": {"th": "สถานะใน TPMAP", "en": "TPMAP status"},
    "tpmap_any": {"th": "ทั้งหมด", "en": "All"},
    "tpmap_in": {"th": "อยู่ใน TPMAP", "en": "In TPMAP"},
    "tpmap_out": {"th": "ตกหล่นจาก TPMAP", "en": "Not in TPMAP"},
    "verified_status": {"th": "การตรวจสอบภาคสนาม", "en": "Field verification"},
    "verified_any": {"th": "ทั้งหมด", "en": "All"},
    "verified_yes": {"th": "ตรวจสอบแล้ว", "en": "Verified"},
    "verified_no": {"th": "ยังไม่ตรวจสอบ", "en": "Not verified"},
    "assistance": {"th": "สถานะการช่วยเหลือ", "en": "Assistance status"},
    "pilot": {"th": "โครงการนำร่อง", "en": "Pilot project"},
    "no_pilot": {"th": "ไม่อยู่ในโครงการ", "en": "In no pilot"},
    "choose_province_first": {"th": "เลือกจังหวัดก่อน", "en": "Choose a province first"},
    "show_ce": {"th": "แสดงปี ค.ศ.", "en": "Show years in CE"},
    "clear_filters": {"th": "ล้างตัวกรอง", "en": "Clear filters"},
    "share_link": {"th": "ลิงก์ของมุมมองนี้อยู่ในแถบที่อยู่ของเบราว์เซอร์ คัดลอกไปแบ่งปันได้",
                   "en": "This view's link is in the browser's address bar: copy it to share."},
    "url_ignored": {"th": "ไม่ใช้ค่า {param}={value} จากลิงก์: {why}", "en": "Ignored {param}={value} from the link: {why}"},
    "url_bad_code": {"th": "ไม่ใช่รหัสที่ถูกต้อง", "en": "not a valid code"},
    "url_bad_choice": {"th": "ไม่ใช่ตัวเลือกที่มี", "en": "not one of the choices"},
    "url_res_capped": {"th": "ละเอียดเกินสิทธิ์ของผู้ใช้ แสดงที่ระดับสูงสุดที่ใช้ได้แทน",
                       "en": "finer than your role may see: the finest allowed resolution is shown"},
    "url_subdistrict_needs_area": {"th": "เลือกจังหวัดหรืออำเภอก่อนจึงแสดงรายตำบลได้ จึงแสดงรายอำเภอแทน",
                                   "en": "choose a province or district to map subdistricts; districts are shown"},
    "map_shows": {"th": "แผนที่แสดง{level}", "en": "The map shows areas {level}"},
    "url_bad_breaks": {"th": "ช่วงชั้นต้องเป็นตัวเลข 1-4 ค่า เรียงจากน้อยไปมาก",
                       "en": "breaks must be 1 to 4 numbers in increasing order"},
    "url_breaks_not_custom": {"th": "ใช้ได้กับช่วงชั้นที่กำหนดเองเท่านั้น", "en": "breaks apply to classes=custom only"},
    "url_custom_needs_breaks": {"th": "ช่วงชั้นที่กำหนดเองต้องมีค่า breaks", "en": "classes=custom needs breaks"},
    "classes": {"th": "ช่วงชั้นสี", "en": "Colour classes"},
    "classes_national": {"th": "ระดับประเทศ (เหมือนกันทุกจังหวัด)", "en": "National (the same for every province)"},
    "classes_quantile": {"th": "ควอนไทล์ของแผนที่นี้", "en": "Quantiles of this map"},
    "classes_equal": {"th": "ช่วงเท่ากัน", "en": "Equal intervals"},
    "classes_custom": {"th": "กำหนดเอง", "en": "Typed breaks"},
    "classes_default": {"th": "ค่าเริ่มต้น: {method}", "en": "Default: {method}"},
    "breaks": {"th": "จุดแบ่งช่วงชั้น (คั่นด้วยจุลภาค)", "en": "Breaks (comma-separated)"},
    "breaks_help": {"th": "1-4 ค่าเรียงจากน้อยไปมาก ในหน่วยที่คำอธิบายสัญลักษณ์แสดง (ร้อยละสำหรับสัดส่วน) เช่น 10, 20, 30",
                    "en": "1 to 4 increasing numbers, in the legend's units (percent for a share), e.g. 10, 20, 30"},
    "breaks_bad": {"th": "จุดแบ่งไม่ถูกต้อง: ใช้ช่วงชั้นเริ่มต้นแทน",
                   "en": "These breaks cannot be used: the default classes are shown"},
    "url_district_outside": {"th": "อำเภอไม่อยู่ในจังหวัดที่เลือก", "en": "the district is not in a chosen province"},
    "url_not_in_data": {"th": "ไม่มีในข้อมูลที่แสดง", "en": "not in the data shown"},
    "url_not_in_boundaries": {"th": "ไม่มีพื้นที่นี้ในขอบเขตการปกครองที่ติดตั้ง", "en": "no such area in the installed boundaries"},
    "download_rows_note": {"th": "ไฟล์ดาวน์โหลดของแถวครัวเรือนถูกบันทึกในบันทึกการตรวจสอบ",
                           "en": "Downloads of household rows are recorded in the audit log"},
    # overview
    "metric": {"th": "ตัวชี้วัด", "en": "Metric"},
    "map_by": {"th": "แผนที่แบบ", "en": "Map by"},
    "by_province": {"th": "รายจังหวัด", "en": "by province"},
    "by_district": {"th": "รายอำเภอ", "en": "by district"},
    "by_subdistrict": {"th": "รายตำบล", "en": "by subdistrict"},
    "by_h3": {"th": "หกเหลี่ยม H3", "en": "H3 hexagons"},
    "map_province": {"th": "จังหวัด", "en": "Provinces"},
    "map_district": {"th": "อำเภอ", "en": "Districts"},
    "pilot_layers": {"th": "แสดงโครงการนำร่อง วงระยะ และพื้นที่เสนอ", "en": "Show pilots, reach rings and candidate sites"},
    "map_subdistrict": {"th": "ตำบล", "en": "Subdistricts"},
    "map_h3": {"th": "หกเหลี่ยม H3", "en": "H3 hexagons"},
    "resolution": {"th": "ความละเอียด H3", "en": "H3 resolution"},
    "res_auto": {"th": "อัตโนมัติ (ระดับ {res})", "en": "Automatic (res {res})"},
    "res_n": {"th": "ระดับ {res} (~{km2} ตร.กม.)", "en": "res {res} (~{km2} km²)"},
    "res_capped": {"th": "หกเหลี่ยมละเอียดเกินไปสำหรับพื้นที่นี้ ใช้ระดับ {res} แทน",
                   "en": "Hexagons that fine would be too many for this area; showing res {res}."},
    "back": {"th": "ย้อนกลับ", "en": "Back"},
    "all_areas": {"th": "ทุกพื้นที่", "en": "All areas"},
    "click_to_drill": {"th": "คลิกพื้นที่บนแผนที่หรือในตารางเพื่อดูระดับถัดไป",
                       "en": "Click an area on the map or in the table to go one level down."},
    "top10": {"th": "10 อันดับแรก", "en": "Top 10"},
    "rank": {"th": "อันดับ", "en": "Rank"},
    "area": {"th": "พื้นที่", "en": "Area"},
    "code": {"th": "รหัส", "en": "Code"},
    "value": {"th": "ค่า", "en": "Value"},
    "selected_area": {"th": "พื้นที่ที่เลือก: {name}", "en": "Selected area: {name}"},
    "no_households": {"th": "ไม่มีครัวเรือนตามตัวกรองนี้", "en": "No households match these filters."},
    "withheld": {"th": "ปกปิด", "en": "withheld"},
    "headline_levels_1_2": {"th": "อยู่ลำบาก/อยู่ยาก", "en": "Levels 1–2"},
    "headline_helped": {"th": "ช่วยเหลือแล้ว", "en": "Helped"},
    "headline_withheld": {"th": "น้อยกว่า {k} ครัวเรือน ตัวเลขถูกปกปิดเพื่อคุ้มครองข้อมูล",
                          "en": "Fewer than {k} households: figures withheld to protect them."},
    "protection_note": {"th": "พื้นที่ที่มีน้อยกว่า {k} ครัวเรือนจะถูกปกปิด (สีเทา)",
                        "en": "Areas with fewer than {k} households are withheld (grey)."},
    "map_loading_note": {"th": "แผนที่ไม่ใช้แผนที่ฐานจากอินเทอร์เน็ต: ขอบเขตการปกครองคือแผนที่ฐาน",
                         "en": "No online basemap: the boundaries are the base map."},
    "map_pending": {"th": "แผนที่กำลังพัฒนา (issue 6: geo.views.mapview)", "en": "Map pending (issue 6: geo.views.mapview)"},
    # capitals
    "capital": {"th": "ทุน", "en": "Capital"},
    "capital_profile": {"th": "โปรไฟล์ทุน 5 มิติ", "en": "Five-capital profile"},
    "mean_score": {"th": "คะแนนเฉลี่ย (1–4)", "en": "Mean score (1–4)"},
    "mean_score_short": {"th": "คะแนน", "en": "score"},
    "deficit_short": {"th": "ขาด", "en": "deficit"},
    "group_area": {"th": "พื้นที่ที่เลือก", "en": "Selected area"},
    "group_selection": {"th": "ที่เลือกทั้งหมด", "en": "Whole selection"},
    "group_province": {"th": "จังหวัด", "en": "Province"},
    "group_pilot_provinces": {"th": "เฉลี่ย 20 จังหวัดนำร่อง", "en": "20-province average"},
    "group": {"th": "กลุ่ม", "en": "Group"},
    "area_table": {"th": "ตารางรายพื้นที่ (คลิกหัวคอลัมน์เพื่อเรียง)", "en": "Areas (click a column header to sort)"},
    # pilots
    "reach_km": {"th": "ระยะเข้าถึง (กม.)", "en": "Reach (km)"},
    "reach_rings": {"th": "วงระยะ {km} กม. รอบโครงการ", "en": "{km} km reach around each pilot"},
    "pilot_sites": {"th": "ที่ตั้งโครงการนำร่อง", "en": "Pilot sites"},
    "pilot_kind": {"th": "ประเภทโครงการ", "en": "Kind of project"},
    "university": {"th": "มหาวิทยาลัย", "en": "University"},
    "enrolled": {"th": "ครัวเรือนที่เข้าร่วม", "en": "Households enrolled"},
    "target": {"th": "เป้าหมาย", "en": "Target"},
    "enrolled_of_target": {"th": "เข้าร่วม/เป้าหมาย", "en": "Enrolled / target"},
    "in_need_within": {"th": "ครัวเรือนระดับ 1-2 ในระยะ {km} กม.", "en": "Level 1-2 households within {km} km"},
    "in_need": {"th": "ครัวเรือนระดับ 1-2", "en": "Households at levels 1-2"},
    "nearest_pilot_km": {"th": "ระยะถึงโครงการที่ใกล้ที่สุด (กม.)", "en": "Nearest pilot (km)"},
    "gaps_title": {"th": "พื้นที่ช่องว่าง: ความต้องการสูง ไม่มีโครงการในระยะ {km} กม.",
                   "en": "Gaps: high need, no pilot within {km} km"},
    "gaps_note": {"th": "ตำบลที่มีครัวเรือนระดับ 1-2 และไม่มีครัวเรือนใดอยู่ในระยะ {km} กม. จากโครงการ "
                        "เรียงตามจำนวนครัวเรือน ({gaps} จาก {areas} ตำบล) ตำแหน่งคือจุดศูนย์กลางของครัวเรือนเหล่านั้น",
                  "en": "Subdistricts with level 1-2 households none of which is within {km} km of a pilot, "
                        "most households first ({gaps} of {areas} subdistricts). The position is their mean "
                        "position: a candidate site."},
    "candidate_site": {"th": "พื้นที่เสนอเป็นที่ตั้งโครงการ", "en": "Candidate site"},
    "poverty_concentration": {"th": "ความหนาแน่นของครัวเรือนยากจน", "en": "Poverty concentration"},
    "kind_mushroom": {"th": "เห็ด", "en": "Mushrooms"},
    "kind_vegetables": {"th": "ผัก", "en": "Vegetables"},
    "kind_rice": {"th": "ข้าว", "en": "Rice"},
    "kind_livestock": {"th": "ปศุสัตว์", "en": "Livestock"},
    "kind_fishery": {"th": "ประมง", "en": "Fishery"},
    "kind_crafts": {"th": "หัตถกรรม", "en": "Crafts"},
    "kind_insects": {"th": "แมลง", "en": "Insects"},
    "kind_other": {"th": "อื่น ๆ", "en": "Other"},
    "rollup_note": {"th": "หกเหลี่ยมที่มีน้อยกว่า {k} ครัวเรือนรวมเข้ากับหกเหลี่ยมใหญ่ที่ครอบอยู่",
                    "en": "Hexagons with fewer than {k} households merge into the larger hexagon around them."},
    "illustrative": {"th": "สมมุติ", "en": "illustrative"},
    "no_pilots": {"th": "ยังไม่มีข้อมูลโครงการนำร่อง", "en": "No pilot projects yet."},
    # households
    "table_by": {"th": "ตารางราย", "en": "Table by"},
    "aggregates_only": {"th": "หน้านี้แสดงเฉพาะตารางรวมตามพื้นที่ ข้อมูลรายครัวเรือนแสดงเฉพาะบทบาทที่มีสิทธิ์ "
                              "(เจ้าหน้าที่ในพื้นที่ของตน และผู้ดูแลระบบ)",
                        "en": "This page shows aggregated tables by area only. Household rows are shown only "
                              "to roles allowed to see them (officers in their own areas, administrators)."},
    "household_rows_title": {"th": "ข้อมูลรายครัวเรือน", "en": "Household rows"},
    "household_rows_note": {"th": "ไม่มีเลขประจำตัวประชาชนและชื่อ ตำแหน่งปัดเศษตามบทบาท "
                                  "การเปิดดูนี้ถูกบันทึกในบันทึกการตรวจสอบ",
                            "en": "No national IDs or names; positions rounded for your role. "
                                  "This view is recorded in the audit log."},
    "import_not_allowed": {"th": "บทบาทของคุณนำเข้าข้อมูลไม่ได้ (เฉพาะเจ้าหน้าที่และผู้ดูแลระบบ)",
                           "en": "Your role cannot import data (officers and administrators only)."},
    "audit_title": {"th": "บันทึกการตรวจสอบ", "en": "Audit log"},
    "audit_admin_only": {"th": "เฉพาะผู้ดูแลระบบเท่านั้นที่อ่านบันทึกการตรวจสอบได้",
                         "en": "Only administrators can read the audit log."},
    "audit_intact": {"th": "บันทึกครบถ้วน ไม่ถูกแก้ไข ({lines} รายการ)",
                     "en": "The log's chain is intact ({lines} records)."},
    "audit_broken": {"th": "บันทึกถูกแก้ไขหรือเสียหาย ตั้งแต่บรรทัดที่ {line}",
                     "en": "The log has been altered or damaged, from line {line}."},
    "audit_download": {"th": "ดาวน์โหลดบันทึก (CSV)", "en": "Download the log (CSV)"},
    "download_csv": {"th": "ดาวน์โหลด CSV", "en": "Download CSV"},
    "download_xlsx": {"th": "ดาวน์โหลด Excel (XLSX)", "en": "Download Excel (XLSX)"},
    "rows_shown": {"th": "{rows} พื้นที่", "en": "{rows} areas"},
    # data page
    "import_title": {"th": "นำเข้าไฟล์ครัวเรือน", "en": "Import a household file"},
    "import_file": {"th": "ไฟล์ CSV, XLSX หรือ Parquet", "en": "CSV, XLSX or Parquet file"},
    "import_mode": {"th": "วิธีนำเข้า", "en": "Import mode"},
    "mode_upsert": {"th": "เพิ่มหรือแทนที่ครัวเรือนในรอบสำรวจของไฟล์ (ข้อมูลอื่นคงเดิม)",
                    "en": "Add or update the file's households in its rounds (nothing else changes)"},
    "mode_replace_all": {"th": "แทนที่ข้อมูลเดิมทั้งหมดทุกรอบ", "en": "Replace all stored data, every round"},
    "mode_append": {"th": "เพิ่มต่อจากข้อมูลเดิม", "en": "Add to the stored data"},
    "mode_replace": {"th": "แทนที่ข้อมูลเดิมทั้งหมด", "en": "Replace all stored data"},
    "import_button": {"th": "ตรวจและนำเข้า", "en": "Check and import"},
    "import_done": {"th": "นำเข้าแล้ว {accepted} แถว ปฏิเสธ {rejected} แถว จาก {rows} แถว",
                    "en": "Imported {accepted} rows, rejected {rejected} of {rows}."},
    "import_nothing": {"th": "ไม่ได้นำเข้าแถวใด", "en": "No row was imported."},
    "import_report": {"th": "รายงานการนำเข้า", "en": "Import report"},
    "download_rejects": {"th": "ดาวน์โหลดแถวที่ถูกปฏิเสธพร้อมเหตุผล (XLSX)",
                         "en": "Download the rejected rows with reasons (XLSX)"},
    "id_key_missing": {"th": "ยังไม่ได้ตั้งกุญแจสำหรับเข้ารหัสเลขบัตรประชาชน (st.secrets ppap_id_hash_key หรือ "
                             "ตัวแปร PPAP_ID_HASH_KEY) แถวที่มีเลขบัตรประชาชนจะถูกปฏิเสธ",
                       "en": "No key for hashing national IDs is set (st.secrets ppap_id_hash_key or "
                             "PPAP_ID_HASH_KEY): rows that carry a national ID will be rejected."},
    "id_key_present": {"th": "ตั้งกุญแจเข้ารหัสเลขบัตรประชาชนแล้ว: เก็บเฉพาะค่าแฮช ไม่เก็บเลขจริง",
                       "en": "A national-ID hash key is set: only keyed hashes are stored, never the numbers."},
    "boundaries_title": {"th": "ขอบเขตการปกครองที่ติดตั้ง", "en": "Installed boundaries"},
    "boundaries_source": {"th": "แหล่งไฟล์", "en": "Source files"},
    "credit": {"th": "เครดิต", "en": "Credit"},
    "licence": {"th": "สัญญาอนุญาต", "en": "Licence"},
    "boundaries_count": {"th": "จำนวน", "en": "Count"},
    "boundaries_unmatched": {"th": "จับคู่ไม่ได้", "en": "Unmatched"},
    "installed_at": {"th": "ติดตั้งเมื่อ", "en": "Installed"},
    "provenance_title": {"th": "ที่มาของข้อมูล", "en": "Data provenance"},
    "provenance_none": {"th": "ยังไม่มีการนำเข้า แอปแสดงข้อมูลตัวอย่าง", "en": "Nothing imported yet: the app shows the sample."},
    "file": {"th": "ไฟล์", "en": "File"},
    "imported_at": {"th": "นำเข้าเมื่อ", "en": "Imported"},
    "mode": {"th": "วิธี", "en": "Mode"},
    "rows_in": {"th": "แถวในไฟล์", "en": "Rows in file"},
    "accepted": {"th": "รับ", "en": "Accepted"},
    "warnings": {"th": "มีคำเตือน", "en": "Warnings"},
    "rejected": {"th": "ปฏิเสธ", "en": "Rejected"},
    "sample_source": {"th": "ข้อมูลตัวอย่างสร้างด้วย `python -m geo sample` (seed {seed}) เมื่อ {created}",
                      "en": "The sample was generated by `python -m geo sample` (seed {seed}) on {created}."},
})


# Access control: the minimum count, household rows and the import history in scope.
TEXT.update({
    "min_count_label": {"th": "จำนวนครัวเรือนขั้นต่ำต่อพื้นที่ (k)", "en": "Minimum households per area (k)"},
    "min_count_help": {"th": "พื้นที่ที่มีครัวเรือนน้อยกว่านี้จะถูกปกปิด ผู้ดูแลระบบเท่านั้นที่ตั้งต่ำกว่า 10 ได้",
                       "en": "Areas with fewer households are withheld; only administrators may go below 10"},
    "household_rows_shown": {"th": "{rows} ครัวเรือน", "en": "{rows} households"},
    "household_rows_too_many": {
        "th": "ตัวกรองนี้มี {rows} ครัวเรือน: เลือกจังหวัด อำเภอ หรือพื้นที่ให้แคบลงเพื่อดูรายครัวเรือน (ไม่เกิน {max} ครัวเรือน)",
        "en": "These filters select {rows} households: choose a province, district or smaller area to see "
              "household rows (at most {max})."},
    "provenance_scope_note": {"th": "แสดงเฉพาะการนำเข้าที่มีครัวเรือนในพื้นที่ของคุณ ({areas}); ไม่แสดง {hidden} รายการ",
                              "en": "Only imports with households in your areas ({areas}) are shown; {hidden} not shown"},
})


# The maps' and exports' words (geo.views.mapview, geo.export) and meeting mode's.
TEXT.update({
    "where_province": {"th": "จังหวัด{name}", "en": "{name} province"},
    "where_district": {"th": "อำเภอ{name} จังหวัด{province}", "en": "{name} district, {province}"},
    "all_households": {"th": "ทุกครัวเรือน", "en": "All households"},
    "withheld_note": {"th": "ปกปิดพื้นที่ที่มีน้อยกว่า {k} ครัวเรือน",
                      "en": "Areas with fewer than {k} households are withheld"},
    "data_source": {"th": "ข้อมูลครัวเรือน PPAP", "en": "PPAP household data"},
    "headline_poor": {"th": "ครัวเรือนยากจน (ระดับ 1-2)", "en": "Poor households (levels 1-2)"},
    "headline_share_poor": {"th": "สัดส่วนระดับ 1-2", "en": "Share at levels 1-2"},
    "headline_mpi": {"th": "ดัชนี MPI", "en": "MPI"},
    "headline_coverage": {"th": "ได้รับความช่วยเหลือแล้ว", "en": "Assistance coverage"},
    "made_on": {"th": "จัดทำเมื่อ", "en": "Made on"},
    "headline": {"th": "ตัวเลขสำคัญ", "en": "Headline figures"},
    "filters_used": {"th": "ตัวกรองที่ใช้", "en": "Filters used"},
    "top_areas": {"th": "พื้นที่ที่มีค่าสูงสุด", "en": "Highest areas"},
    "km": {"th": "กม.", "en": "km"},
    "deficit_cutoff": {"th": "ขาด = คะแนนต่ำกว่า {cutoff}", "en": "deficit = score below {cutoff}"},
    "export_map": {"th": "ส่งออกแผนที่", "en": "Export map"},
    "export_format": {"th": "รูปแบบไฟล์", "en": "File format"},
    "export_png_1920x1080": {"th": "PNG นำเสนอ 1920×1080", "en": "PNG for slides, 1920×1080"},
    "export_png_3840x2160": {"th": "PNG จอใหญ่ 4K 3840×2160", "en": "PNG for large screens, 4K 3840×2160"},
    "export_png_a4": {"th": "PNG พิมพ์ A4 แนวนอน (300 dpi)", "en": "PNG to print, A4 landscape (300 dpi)"},
    "export_png_a3": {"th": "PNG พิมพ์ A3 แนวนอน (300 dpi)", "en": "PNG to print, A3 landscape (300 dpi)"},
    "export_pdf": {"th": "PDF สรุปหนึ่งหน้า (A4)", "en": "PDF one-page brief (A4)"},
    "export_html": {"th": "HTML แผนที่โต้ตอบได้ ใช้งานออฟไลน์", "en": "HTML interactive map, works offline"},
    "download_file": {"th": "ดาวน์โหลด {name}", "en": "Download {name}"},
    "previous_province": {"th": "ก่อนหน้า", "en": "Previous"},
    "next_province": {"th": "ถัดไป", "en": "Next"},
    "leave_meeting": {"th": "ออกจากโหมดประชุม", "en": "Leave meeting mode"},
    "meeting_slide": {"th": "แผนที่พร้อมชื่อพื้นที่", "en": "Labelled map"},
    "meeting_slide_help": {"th": "แสดงแผนที่เป็นภาพนิ่งที่มีชื่อและค่าของแต่ละอำเภอ (เหมือนไฟล์ PNG ที่ส่งออก)",
                           "en": "Show the map as a still image with each district's name and value "
                                 "(as the exported PNG)."},
    "meeting_keys": {"th": "ปุ่ม ← → บนแป้นพิมพ์เปลี่ยนจังหวัด; ลิงก์ของหน้านี้เปิดจังหวัดเดิม",
                     "en": "The ← → keys change province; this page's link opens the same province."},
    "export_note": {"th": "ไฟล์มีเฉพาะตัวเลขรวมที่ปกปิดพื้นที่น้อยกว่า {k} ครัวเรือนแล้ว ไม่มีข้อมูลรายครัวเรือน",
                    "en": "The file holds protected totals only (areas under {k} households withheld), "
                          "no household rows."},
})



# Survey rounds (the picker on every page) and the Change page (issue 15).
TEXT.update({
    "round_picker": {"th": "รอบสำรวจ", "en": "Survey round"},
    "round_latest": {"th": "ล่าสุด ({year})", "en": "Latest ({year})"},
    "round_picker_help": {"th": "ทุกหน้าแสดงรอบล่าสุด เว้นแต่เลือกรอบอื่น; รอบที่เลือกอยู่ในลิงก์ของหน้า",
                          "en": "Every page shows the latest round unless you pick another; the round is in the link."},
    "url_bad_round": {"th": "ไม่ใช่ปีรอบสำรวจ (เช่น 2566 หรือ 2023)", "en": "not a survey year (e.g. 2566 or 2023)"},
    "round_pair": {"th": "รอบสำรวจ {year_from} → {year_to}", "en": "Survey rounds {year_from} → {year_to}"},
    "page_change": {"th": "การเปลี่ยนแปลง", "en": "Change"},
    "change_from": {"th": "เทียบกับรอบ", "en": "Compared with round"},
    "change_from_default": {"th": "รอบก่อนหน้า ({year})", "en": "The round before ({year})"},
    "change_one_round": {"th": "ข้อมูลมีรอบสำรวจเดียว ({year}): ต้องมีอย่างน้อยสองรอบจึงเทียบการเปลี่ยนแปลงได้",
                         "en": "The data hold one survey round ({year}): comparing needs at least two."},
    "change_measure": {"th": "ตัวชี้วัดการเปลี่ยนแปลง", "en": "Measure of change"},
    "metric_share_up": {"th": "สัดส่วนที่ระดับดีขึ้น", "en": "Share moved up a level"},
    "metric_share_escaped": {"th": "สัดส่วนที่พ้นความยากจน (ระดับ 1-2 → 3-4)",
                             "en": "Share escaped poverty (levels 1-2 → 3-4)"},
    "metric_share_fell": {"th": "สัดส่วนที่กลับสู่ความยากจน (ระดับ 3-4 → 1-2)",
                          "en": "Share fell into poverty (levels 3-4 → 1-2)"},
    "metric_capital_change": {"th": "คะแนน{capital}เปลี่ยนไปโดยเฉลี่ย", "en": "Mean change in {capital}"},
    "change_followed": {"th": "ติดตามได้ทั้งสองรอบ", "en": "Followed (both rounds)"},
    "change_new": {"th": "ครัวเรือนใหม่", "en": "New"},
    "change_not_found": {"th": "ไม่พบในรอบหลัง", "en": "Not found again"},
    "change_up": {"th": "ระดับดีขึ้น", "en": "Moved up"},
    "change_same": {"th": "ระดับเท่าเดิม", "en": "Same level"},
    "change_down": {"th": "ระดับลดลง", "en": "Moved down"},
    "change_escaped": {"th": "พ้นความยากจน", "en": "Escaped poverty"},
    "change_fell": {"th": "กลับสู่ความยากจน", "en": "Fell into poverty"},
    "change_headline_note": {"th": "นับครัวเรือนที่ติดตามได้ ณ พื้นที่ที่อยู่ในรอบหลัง; ตัวเลขที่น้อยกว่า {k} ครัวเรือนถูกปกปิด",
                             "en": "Followed households are counted where they live in the later round; "
                                   "figures under {k} households are withheld."},
    "transition_title": {"th": "การเปลี่ยนระดับครัวเรือน (จำนวนครัวเรือน)", "en": "Level transitions (households)"},
    "transition_from": {"th": "ระดับในรอบ {year}", "en": "Level in {year}"},
    "transition_to": {"th": "ระดับในรอบ {year}", "en": "Level in {year}"},
    "transition_withheld": {"th": "ช่องที่มีน้อยกว่า {k} ครัวเรือนถูกปกปิด (สีเทา)",
                            "en": "Cells under {k} households are withheld (grey)"},
    "before_after": {"th": "ก่อนและหลัง", "en": "Before and after"},
    "before_after_metric": {"th": "ตัวชี้วัดก่อน–หลัง", "en": "Before-and-after measure"},
    "shared_legend": {"th": "ทั้งสองแผนที่ใช้ช่วงสีเดียวกัน", "en": "Both maps use the same classes"},
    "mobility_table": {"th": "ตารางการเปลี่ยนแปลงรายพื้นที่", "en": "Mobility by area"},
    "mobility_download_note": {"th": "ตารางรวมที่ปกปิดแล้ว ไม่มีข้อมูลรายครัวเรือน",
                               "en": "Protected totals only, no household rows."},
    "change_filters_unapplied": {"th": "ไม่ใช้กับหน้านี้: {filters} (เป็นข้อมูลของรอบเดียว)",
                                 "en": "Not applied on this page: {filters} (a single round's data)"},
    "change_filters_note": {"th": "ตัวกรองระดับครัวเรือนใช้ระดับในรอบ {year}; ตัวกรองอื่นใช้ข้อมูลรอบหลัง",
                            "en": "The level filter applies to the level in {year}; the other filters to the later round."},
    "pilot_impact": {"th": "ผลของโครงการนำร่อง: ผู้เข้าร่วมเทียบกับครัวเรือนใกล้เคียง",
                     "en": "Pilot impact: participants against comparable neighbours"},
    "pilot_impact_note": {
        "th": "เปรียบเทียบการเปลี่ยนแปลงของคะแนนทุนระหว่างรอบ {year_from} → {year_to} ของผู้เข้าร่วมโครงการ กับครัวเรือนที่ไม่ได้เข้าร่วมในอำเภอเดียวกัน "
              "(ถ่วงน้ำหนักตามระดับเริ่มต้น) พร้อมช่วงความเชื่อมั่น 95% เป็นการเปรียบเทียบ ไม่ใช่การพิสูจน์ว่าโครงการเป็นสาเหตุ; "
              "แสดงเฉพาะเมื่อทั้งสองกลุ่มมีอย่างน้อย {k} ครัวเรือน",
        "en": "The change in capital scores, {year_from} → {year_to}, of project participants against non-participants "
              "in the same district (reweighted to the participants' starting levels), with a 95% interval. A "
              "comparison, not proof that the project caused it; shown only where both groups have at least {k} "
              "households."},
    "pilot_impact_none": {"th": "ยังไม่มีโครงการที่มีผู้เข้าร่วมและกลุ่มเปรียบเทียบอย่างน้อย {k} ครัวเรือน",
                          "en": "No pilot yet has at least {k} participants and {k} comparison households."},
    "impact_difference": {"th": "ผลต่าง (ผู้เข้าร่วม − เปรียบเทียบ)", "en": "Difference (participants − comparison)"},
    "impact_participants": {"th": "ผู้เข้าร่วม", "en": "Participants"},
    "impact_comparison": {"th": "กลุ่มเปรียบเทียบ", "en": "Comparison"},
    "impact_change_participants": {"th": "เปลี่ยนไป (ผู้เข้าร่วม)", "en": "Change (participants)"},
    "impact_change_comparison": {"th": "เปลี่ยนไป (เปรียบเทียบ)", "en": "Change (comparison)"},
    "impact_interval": {"th": "ช่วงความเชื่อมั่น 95%", "en": "95% interval"},
    "impact_share_up": {"th": "ระดับดีขึ้น ผู้เข้าร่วม / เปรียบเทียบ", "en": "Moved up, participants / comparison"},
    "meeting_change": {"th": "อะไรเปลี่ยนไปในจังหวัดนี้", "en": "What changed in this province"},
    "meeting_change_help": {"th": "ครัวเรือนที่ติดตามได้ ระดับดีขึ้น พ้นความยากจน กลับสู่ความยากจน และแผนที่สัดส่วนที่ระดับดีขึ้น",
                            "en": "Followed households, moved up, escaped and fell, and the map of the share that moved up."},
})

def text(key: str, lang: str = "th", **values: object) -> str:
    """Return the label ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    Raises
    ------
    KeyError
        When ``key`` is not a known label (a missing translation is a bug, not a fallback).
    ValueError
        When ``lang`` is not ``"th"`` or ``"en"``.

    Example
    -------
    >>> text("suppressed", "en", k=10)
    'Fewer than 10 households (withheld)'
    """
    _check_lang(lang)
    return TEXT[key][lang].format(**values) if values else TEXT[key][lang]


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise EngineInputError(f"lang must be one of {LANGUAGES}, got {lang!r}")


def capital_label(capital: str, lang: str = "th") -> str:
    """Name of a capital (``"human"`` ...) in ``lang``."""
    _check_lang(lang)
    return CAPITAL_LABELS[capital][lang]


def level_label(level: int, lang: str = "th") -> str:
    """Name of a household level (1-4) in ``lang``, e.g. ``"อยู่ยาก"``."""
    _check_lang(lang)
    return LEVELS[int(level)][lang]


def deprivation_label(dimension: str, lang: str = "th") -> str:
    """Name of a TPMAP deprivation dimension in ``lang``."""
    _check_lang(lang)
    return DEPRIVATION_LABELS[dimension][lang]


def assistance_label(status: str, lang: str = "th") -> str:
    """Name of an assistance status in ``lang``."""
    _check_lang(lang)
    return ASSISTANCE_LABELS[status][lang]


def format_number(value: float | int | None, lang: str = "th", *, decimals: int = 0, thai_digits: bool = False) -> str:
    """Format a number with thousands separators; ``"–"`` for a missing value.

    Example
    -------
    >>> format_number(1039584)
    '1,039,584'
    >>> format_number(231021, thai_digits=True)
    '๒๓๑,๐๒๑'
    """
    _check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    out = f"{value:,.{decimals}f}"
    return out.translate(_THAI_DIGITS) if thai_digits else out


def format_percent(share: float | None, lang: str = "th", *, decimals: int = 1) -> str:
    """Format a share in 0..1 as a percentage, e.g. ``0.4235 -> '42.4%'``; ``"–"`` when missing."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{format_number(100 * share, lang, decimals=decimals)}%"


def to_be(year_ce: int) -> int:
    """Buddhist Era year of a Common Era year (2024 -> 2567)."""
    return int(year_ce) + BE_OFFSET


def format_date(day: dt.date, lang: str = "th", *, era: str = "BE") -> str:
    """Format a date the way Thai documents do (``21 พ.ย. 2569``), or in CE when asked.

    Parameters
    ----------
    day : datetime.date
    lang : {"th", "en"}
    era : {"BE", "CE"}
        Buddhist Era (default) or Common Era year.

    Example
    -------
    >>> format_date(dt.date(2026, 11, 21))
    '21 พ.ย. 2569'
    >>> format_date(dt.date(2026, 11, 21), "en", era="CE")
    '21 Nov 2026'
    """
    _check_lang(lang)
    if era not in ("BE", "CE"):
        raise EngineInputError(f"era must be 'BE' or 'CE', got {era!r}")
    year = to_be(day.year) if era == "BE" else day.year
    months = _THAI_MONTHS_SHORT if lang == "th" else _EN_MONTHS_SHORT
    suffix = "" if lang == "th" or era == "CE" else " BE"
    return f"{day.day} {months[day.month - 1]} {year}{suffix}"


def format_date_both(day: dt.date, lang: str = "th") -> str:
    """A date in BE with CE in brackets, as exports print it: ``21 พ.ย. 2569 (2026)``."""
    return f"{format_date(day, lang)} ({day.year})" if lang == "th" else f"{format_date(day, lang, era='CE')} (BE {to_be(day.year)})"


def shown_count(value: object, lang: str = "th") -> str:
    """A protected ``households_shown`` value for people: numbers with separators, ``<10`` as it
    is, complementary suppression as "withheld" in ``lang``."""
    value = str(value)
    if value == "suppressed":
        return text("withheld", lang)
    return format_number(int(value), lang) if value.isdigit() else value


@lru_cache(maxsize=20_000)
def area_name(code: str, lang: str = "th") -> str:
    """The DOPA name of an area code in ``lang`` (``"4609" -> "สหัสขันธ์"``); the code if unknown.

    ``""`` is every province shown (:data:`PILOT_PROVINCES` or all). The lookup is
    :func:`geo.data.areas.dopa_name`.
    """
    code = str(code)
    if code == "":
        return text("all_pilot_provinces", lang)
    return dopa_name(code, lang) or code
