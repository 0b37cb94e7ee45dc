"""Reason codes: why a row was rejected or flagged, in Thai and English.

Every code has a severity: ``reject`` keeps the row out of the store, ``warning`` keeps it in and
tells the sender something was fixed or is doubtful. File-level notes (``extra_columns``,
``head_name_dropped`` ...) say something about a whole file. ``docs/DATA.md`` lists them all; a
test keeps the two in step.

Messages are templates filled by :func:`make_reason`; a value from the file is shown shortened
and never for the national ID.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

Severity = Literal["reject", "warning", "note"]


@dataclass(frozen=True)
class ReasonSpec:
    """One reason code: severity and message templates (``str.format`` fields)."""

    code: str
    severity: Severity
    message_en: str
    message_th: str


_SPECS: tuple[ReasonSpec, ...] = (
    # --- rejections -------------------------------------------------------------------------
    ReasonSpec("missing_column", "reject",
               "the file has no '{column}' column, which is required",
               "ไฟล์ไม่มีคอลัมน์ '{column}' ซึ่งจำเป็นต้องมี"),
    ReasonSpec("missing_value", "reject",
               "'{column}' is blank but required",
               "ไม่ได้กรอก '{column}' ซึ่งจำเป็นต้องมี"),
    ReasonSpec("row_shape", "reject",
               "the row has {cells} cells but the header has {headers}; is there a comma inside a value?",
               "แถวนี้มี {cells} ช่อง แต่หัวตารางมี {headers} ช่อง อาจมีเครื่องหมายจุลภาคอยู่ในค่า"),
    ReasonSpec("quote_unclosed", "reject",
               "line {line}: a quotation mark (\") opens a value that is not closed properly, so this "
               "line's cells cannot be trusted; remove the stray \" or close the value, then send the row again",
               "บรรทัดที่ {line}: มีเครื่องหมายอัญประกาศ (\") เปิดค่าแต่ปิดไม่ถูกต้อง จึงแบ่งช่องของบรรทัดนี้ไม่ได้ "
               "กรุณาลบ \" ที่เกินหรือปิดให้ครบ แล้วส่งแถวนี้ใหม่"),
    ReasonSpec("bad_household_id", "reject",
               "household_id {value} is too long or holds control characters (at most 64 characters)",
               "รหัสครัวเรือน {value} ยาวเกินไปหรือมีอักขระควบคุม (ไม่เกิน 64 ตัวอักษร)"),
    ReasonSpec("household_id_is_national_id", "reject",
               "household_id is a national ID; use a household code instead (the number is not kept)",
               "รหัสครัวเรือนเป็นเลขประจำตัวประชาชน กรุณาใช้รหัสครัวเรือนแทน (ระบบไม่เก็บเลขนี้)"),
    ReasonSpec("not_a_number", "reject",
               "'{column}': {value} is not a number",
               "'{column}': {value} ไม่ใช่ตัวเลข"),
    ReasonSpec("not_a_whole_number", "reject",
               "'{column}': {value} is not a whole number",
               "'{column}': {value} ไม่ใช่จำนวนเต็ม"),
    ReasonSpec("bad_year", "reject",
               "survey_year: {value} is not a year (write e.g. 2567 or 2024)",
               "ปีสำรวจ: {value} ไม่ใช่ปี (เช่น 2567 หรือ 2024)"),
    ReasonSpec("year_out_of_range", "reject",
               "survey_year: {value} is CE {year}, outside {low}-{high}",
               "ปีสำรวจ: {value} คือ ค.ศ. {year} อยู่นอกช่วง {low}-{high}"),
    ReasonSpec("bad_code", "reject",
               "'{column}': {value} is neither a DOPA code nor a place name",
               "'{column}': {value} ไม่ใช่รหัสพื้นที่ของกรมการปกครองหรือชื่อพื้นที่"),
    ReasonSpec("unknown_province", "reject",
               "province {value} does not exist",
               "ไม่พบจังหวัด {value}"),
    ReasonSpec("unknown_district", "reject",
               "district {value} does not exist{where}",
               "ไม่พบอำเภอ/เขต {value}{where_th}"),
    ReasonSpec("unknown_subdistrict", "reject",
               "subdistrict {value} does not exist{where}",
               "ไม่พบตำบล/แขวง {value}{where_th}"),
    ReasonSpec("ambiguous_name", "reject",
               "'{column}': {value} matches several places ({matches}); give the code or the province/district",
               "'{column}': {value} ตรงกับหลายพื้นที่ ({matches}) กรุณาระบุรหัส หรือจังหวัด/อำเภอ"),
    ReasonSpec("code_mismatch", "reject",
               "{child_column} {child} is not in {parent_column} {parent}",
               "{child_th} {child} ไม่ได้อยู่ใน{parent_th} {parent}"),
    ReasonSpec("members_out_of_range", "reject",
               "members: {value} is outside 1-30",
               "จำนวนสมาชิก: {value} อยู่นอกช่วง 1-30"),
    ReasonSpec("village_out_of_range", "reject",
               "village_no: {value} is outside 1-999",
               "หมู่ที่: {value} อยู่นอกช่วง 1-999"),
    ReasonSpec("income_negative", "reject",
               "income_per_capita_year: {value} is below 0",
               "รายได้ต่อคนต่อปี: {value} ติดลบ"),
    ReasonSpec("score_out_of_range", "reject",
               "'{column}': {value} is outside 1.0-4.0",
               "'{column}': {value} อยู่นอกช่วง 1.0-4.0"),
    ReasonSpec("level_out_of_range", "reject",
               "poverty_level: {value} is not a level 1-4",
               "ระดับครัวเรือน: {value} ไม่ใช่ระดับ 1-4"),
    ReasonSpec("bad_status", "reject",
               "assistance_status: {value} is not one of helped, in_progress, self_resolved, referred, none",
               "สถานะการช่วยเหลือ: {value} ไม่ใช่ ช่วยเหลือแล้ว, อยู่ระหว่างดำเนินการ, แก้ไขได้ด้วยตนเอง, "
               "ส่งต่อ หรือ ไม่มี"),
    ReasonSpec("bad_boolean", "reject",
               "'{column}': {value} is not yes or no (ใช่/ไม่ใช่, มี/ไม่มี, 1/0, true/false, ✓)",
               "'{column}': {value} ไม่ใช่คำตอบ ใช่ หรือ ไม่ใช่ (ใช้ ใช่/ไม่ใช่, มี/ไม่มี, 1/0, true/false หรือ ✓)"),
    ReasonSpec("bad_id_hash", "reject",
               "national_id_hash is not 64 hexadecimal characters",
               "national_id_hash ไม่ใช่ค่าแฮชเลขฐานสิบหก 64 ตัว"),
    ReasonSpec("national_id_not_13_digits", "reject",
               "national_id is not 13 digits",
               "เลขประจำตัวประชาชนไม่ครบ 13 หลัก"),
    ReasonSpec("national_id_check_digit", "reject",
               "national_id fails the check digit: a digit is mistyped",
               "เลขประจำตัวประชาชนไม่ผ่านการตรวจเลขหลักสุดท้าย มีตัวเลขพิมพ์ผิด"),
    ReasonSpec("id_key_missing", "reject",
               "national IDs cannot be imported: no hashing key is set (PPAP_ID_HASH_KEY); "
               "remove the ID or ask the administrator",
               "นำเข้าเลขประจำตัวประชาชนไม่ได้ เพราะยังไม่ได้ตั้งค่ากุญแจเข้ารหัส (PPAP_ID_HASH_KEY) "
               "กรุณาลบเลขออกหรือติดต่อผู้ดูแลระบบ"),
    ReasonSpec("duplicate_household", "reject",
               "household {household_id} in {year} already appears in {first}; this later row is not imported",
               "ครัวเรือน {household_id} ปี {year} ซ้ำกับ {first_th} จึงไม่นำเข้าแถวหลังนี้"),
    # --- warnings: the row is kept ----------------------------------------------------------
    ReasonSpec("latlon_swapped", "warning",
               "latitude and longitude were swapped; fixed",
               "ละติจูดและลองจิจูดสลับกัน ระบบแก้ไขให้แล้ว"),
    ReasonSpec("position_missing", "warning",
               "no position (lat/lon blank or only one given); the household is kept by its codes",
               "ไม่มีพิกัด (ว่างหรือมีเพียงค่าเดียว) ระบบเก็บครัวเรือนไว้ตามรหัสพื้นที่"),
    ReasonSpec("position_zero", "warning",
               "position is (0, 0); dropped, the household is kept by its codes",
               "พิกัดเป็น (0, 0) ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่"),
    ReasonSpec("position_not_number", "warning",
               "position {value} is not a number; dropped, the household is kept by its codes",
               "พิกัด {value} ไม่ใช่ตัวเลข ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่"),
    ReasonSpec("position_outside_thailand", "warning",
               "position ({lat}, {lon}) is outside Thailand; dropped, the household is kept by its codes",
               "พิกัด ({lat}, {lon}) อยู่นอกประเทศไทย ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่"),
    ReasonSpec("position_outside_district", "warning",
               "position ({lat}, {lon}) lies {km} km outside district {district} (it is in {located})",
               "พิกัด ({lat}, {lon}) อยู่นอกอำเภอ {district} {km} กม. (อยู่ใน {located_th})"),
    ReasonSpec("level_inconsistent", "warning",
               "poverty_level {given} does not match the capital scores (mean {mean} gives level {derived})",
               "ระดับครัวเรือน {given} ไม่ตรงกับคะแนนทุน (ค่าเฉลี่ย {mean} ได้ระดับ {derived})"),
    # --- notes about a whole file -----------------------------------------------------------
    ReasonSpec("file_already_imported", "note",
               "this file was already imported on {when} (same content); nothing was read from it",
               "ไฟล์นี้นำเข้าแล้วเมื่อ {when} (เนื้อหาเดิม) จึงไม่นำเข้าซ้ำ"),
    ReasonSpec("extra_columns", "note",
               "columns not in the data contract were ignored: {columns}",
               "คอลัมน์ที่ไม่อยู่ในโครงสร้างข้อมูลถูกข้าม: {columns}"),
    ReasonSpec("missing_columns", "note",
               "required columns are missing, so every row is rejected: {columns}",
               "ไม่มีคอลัมน์ที่จำเป็น ทุกแถวจึงไม่ถูกนำเข้า: {columns}"),
    ReasonSpec("head_name_dropped", "note",
               "the household head's name was dropped (personal data)",
               "ชื่อหัวหน้าครัวเรือนถูกตัดออก (ข้อมูลส่วนบุคคล)"),
    ReasonSpec("head_name_kept", "note",
               "the household head's name was kept, as asked",
               "เก็บชื่อหัวหน้าครัวเรือนไว้ตามที่ขอ"),
    ReasonSpec("national_id_hashed", "note",
               "national IDs were checked and replaced by keyed hashes; the numbers are not kept",
               "ตรวจเลขประจำตัวประชาชนแล้วและแทนด้วยค่าแฮช ไม่เก็บเลขจริง"),
    ReasonSpec("id_key_missing_file", "note",
               "the file has national IDs but no hashing key is set (PPAP_ID_HASH_KEY): rows with an ID are rejected",
               "ไฟล์มีเลขประจำตัวประชาชน แต่ยังไม่ได้ตั้งค่ากุญแจเข้ารหัส (PPAP_ID_HASH_KEY) แถวที่มีเลขจึงไม่ถูกนำเข้า"),
    ReasonSpec("district_check_skipped", "note",
               "positions were not checked against district boundaries: {why}",
               "ไม่ได้ตรวจพิกัดกับขอบเขตอำเภอ: {why_th}"),
    ReasonSpec("no_position_columns", "note",
               "the file has no lat/lon columns; households are placed by their codes",
               "ไฟล์ไม่มีคอลัมน์พิกัด ระบบวางครัวเรือนตามรหัสพื้นที่"),
    ReasonSpec("blank_rows_skipped", "note",
               "{count} blank rows were skipped",
               "ข้ามแถวว่าง {count} แถว"),
    ReasonSpec("quote_problems", "note",
               "{count} line(s) had a broken quotation mark (the first on line {line}); each was rejected "
               "on its own and the lines after it were read as usual",
               "มี {count} บรรทัดที่เครื่องหมายอัญประกาศไม่ถูกต้อง (บรรทัดแรกคือบรรทัดที่ {line}) "
               "แต่ละบรรทัดไม่ถูกนำเข้า ส่วนบรรทัดถัดไปอ่านตามปกติ"),
    ReasonSpec("replaces_stored", "note",
               "{count} households of round(s) {rounds} are already in the store: their stored rows are replaced by this file's",
               "ครัวเรือน {count} ครัวเรือนของรอบ {rounds} มีอยู่ในคลังข้อมูลแล้ว ข้อมูลเดิมจะถูกแทนที่ด้วยข้อมูลในไฟล์นี้"),
    ReasonSpec("optional_columns_missing", "note",
               "the file has no {columns}; these are optional and stored as unknown for its households",
               "ไฟล์ไม่มีคอลัมน์ {columns} ซึ่งไม่บังคับ ระบบบันทึกเป็น 'ไม่ทราบ' สำหรับครัวเรือนในไฟล์นี้"),
    ReasonSpec("decimal_comma", "note",
               "the file is separated by semicolons, so a comma in a number is its decimal mark (1,75 = 1.75)",
               "ไฟล์นี้คั่นด้วยอัฒภาค (;) จึงอ่านจุลภาคในตัวเลขเป็นจุดทศนิยม (1,75 = 1.75)"),
    ReasonSpec("header_not_first_row", "note",
               "the header was found on row {row}; the rows above it were skipped",
               "พบหัวตารางที่แถว {row} แถวก่อนหน้าถูกข้าม"),
)

REASONS: dict[str, ReasonSpec] = {spec.code: spec for spec in _SPECS}
REJECT_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "reject")
WARNING_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "warning")
NOTE_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "note")

_SHOWN_LIMIT = 60
_AREA_TH = {"province_code": "จังหวัด", "district_code": "อำเภอ", "subdistrict_code": "ตำบล"}


def shown(value: object) -> str:
    """A value from a file as it appears in a message: quoted, shortened, one line.

    Example
    -------
    >>> shown("abc"), shown("")
    ("'abc'", '(blank)')
    """
    text = str(value).replace("\n", " ").replace("\r", " ")
    if not text.strip():
        return "(blank)"
    if len(text) > _SHOWN_LIMIT:
        text = text[: _SHOWN_LIMIT - 1] + "…"
    return repr(text)


@dataclass(frozen=True)
class Reason:
    """Why one row (or one file) was rejected or flagged."""

    code: str
    severity: Severity
    message_en: str
    message_th: str
    column: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The report form: ``{"code", "message_th", "message_en", "column"?}``."""
        out = {"code": self.code, "message_th": self.message_th, "message_en": self.message_en}
        if self.column:
            out["column"] = self.column
        return out


def make_reason(code: str, column: str | None = None, **fields: object) -> Reason:
    """Build a :class:`Reason` from its code and the fields its messages need.

    ``value`` is passed through :func:`shown`; ``column`` fills ``{column}`` too.

    Raises
    ------
    KeyError
        When ``code`` is not a known reason code (a programming error).

    Example
    -------
    >>> make_reason("members_out_of_range", "members", value=45).message_en
    "members: '45' is outside 1-30"
    """
    try:
        key = tuple(sorted((k, type(v).__name__, v) for k, v in fields.items()))  # 1, 1.0, True apart
        return _cached_reason(code, column, key)
    except TypeError:  # a field that cannot be hashed: build it afresh
        return _build_reason(code, column, fields)


@functools.lru_cache(maxsize=8192)
def _cached_reason(code: str, column: str | None, fields: tuple[tuple[str, str, object], ...]) -> Reason:
    # Rows with the same problem share one Reason (and its two messages): 300,000 duplicate rows
    # of one household cost one Reason, not 300,000.
    return _build_reason(code, column, {k: v for k, _, v in fields})


def _build_reason(code: str, column: str | None, fields: dict[str, object]) -> Reason:
    spec = REASONS[code]
    values = {k: v for k, v in fields.items()}
    if "value" in values:
        values["value"] = shown(values["value"])
    values.setdefault("column", column or "")
    values.setdefault("where", "")
    values.setdefault("where_th", "")
    values.setdefault("first_th", values.get("first", ""))
    values.setdefault("why_th", values.get("why", ""))
    values.setdefault("child_th", _AREA_TH.get(str(values.get("child_column", "")), ""))
    values.setdefault("parent_th", _AREA_TH.get(str(values.get("parent_column", "")), ""))
    return Reason(code, spec.severity, spec.message_en.format(**values), spec.message_th.format(**values), column)
