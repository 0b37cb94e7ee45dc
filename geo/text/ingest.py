"""Label text of the import reports: the message of every reason code (``geo.ingest.reasons``),
in Thai and English, as ``str.format`` templates; the registry reaches them as ``reason.<code>``
(:func:`geo.text.label`). ``docs/DATA.md`` lists them all.
"""

from __future__ import annotations

#: Reason code -> message template, in the order of ``geo.ingest.reasons``.
REASON_MESSAGES: dict[str, dict[str, str]] = {
    "missing_column": {
        "th": "ไฟล์ไม่มีคอลัมน์ '{column}' ซึ่งจำเป็นต้องมี",
        "en": "the file has no '{column}' column, which is required",
    },
    "missing_value": {
        "th": "ไม่ได้กรอก '{column}' ซึ่งจำเป็นต้องมี",
        "en": "'{column}' is blank but required",
    },
    "row_shape": {
        "th": 'แถวนี้มี {cells} ช่อง แต่หัวตารางมี {headers} ช่อง อาจมีเครื่องหมายจุลภาคอยู่ในค่า',
        "en": 'the row has {cells} cells but the header has {headers}; is there a comma inside a value?',
    },
    "quote_unclosed": {
        "th": 'บรรทัดที่ {line}: มีเครื่องหมายอัญประกาศ (") เปิดค่าแต่ปิดไม่ถูกต้อง จึงแบ่งช่องของบรรทัดนี้ไม่ได้ กรุณาลบ " ที่เกินหรือปิดให้ครบ แล้วส่งแถวนี้ใหม่',
        "en": 'line {line}: a quotation mark (") opens a value that is not closed properly, so this line\'s cells cannot be trusted; remove the stray " or close the value, then send the row again',
    },
    "bad_household_id": {
        "th": 'รหัสครัวเรือน {value} ยาวเกินไปหรือมีอักขระควบคุม (ไม่เกิน 64 ตัวอักษร)',
        "en": 'household_id {value} is too long or holds control characters (at most 64 characters)',
    },
    "household_id_is_national_id": {
        "th": 'รหัสครัวเรือนเป็นเลขประจำตัวประชาชน กรุณาใช้รหัสครัวเรือนแทน (ระบบไม่เก็บเลขนี้)',
        "en": 'household_id is a national ID; use a household code instead (the number is not kept)',
    },
    "not_a_number": {
        "th": "'{column}': {value} ไม่ใช่ตัวเลข",
        "en": "'{column}': {value} is not a number",
    },
    "not_a_whole_number": {
        "th": "'{column}': {value} ไม่ใช่จำนวนเต็ม",
        "en": "'{column}': {value} is not a whole number",
    },
    "bad_year": {
        "th": 'ปีสำรวจ: {value} ไม่ใช่ปี (เช่น 2567 หรือ 2024)',
        "en": 'survey_year: {value} is not a year (write e.g. 2567 or 2024)',
    },
    "year_out_of_range": {
        "th": 'ปีสำรวจ: {value} คือ ค.ศ. {year} อยู่นอกช่วง {low}-{high}',
        "en": 'survey_year: {value} is CE {year}, outside {low}-{high}',
    },
    "bad_code": {
        "th": "'{column}': {value} ไม่ใช่รหัสพื้นที่ของกรมการปกครองหรือชื่อพื้นที่",
        "en": "'{column}': {value} is neither a DOPA code nor a place name",
    },
    "unknown_province": {
        "th": 'ไม่พบจังหวัด {value}',
        "en": 'province {value} does not exist',
    },
    "unknown_district": {
        "th": 'ไม่พบอำเภอ/เขต {value}{where_th}',
        "en": 'district {value} does not exist{where}',
    },
    "unknown_subdistrict": {
        "th": 'ไม่พบตำบล/แขวง {value}{where_th}',
        "en": 'subdistrict {value} does not exist{where}',
    },
    "ambiguous_name": {
        "th": "'{column}': {value} ตรงกับหลายพื้นที่ ({matches}) กรุณาระบุรหัส หรือจังหวัด/อำเภอ",
        "en": "'{column}': {value} matches several places ({matches}); give the code or the province/district",
    },
    "code_mismatch": {
        "th": '{child_th} {child} ไม่ได้อยู่ใน{parent_th} {parent}',
        "en": '{child_column} {child} is not in {parent_column} {parent}',
    },
    "members_out_of_range": {
        "th": 'จำนวนสมาชิก: {value} อยู่นอกช่วง 1-30',
        "en": 'members: {value} is outside 1-30',
    },
    "village_out_of_range": {
        "th": 'หมู่ที่: {value} อยู่นอกช่วง 1-999',
        "en": 'village_no: {value} is outside 1-999',
    },
    "income_negative": {
        "th": 'รายได้ต่อคนต่อปี: {value} ติดลบ',
        "en": 'income_per_capita_year: {value} is below 0',
    },
    "score_out_of_range": {
        "th": "'{column}': {value} อยู่นอกช่วง 1.0-4.0",
        "en": "'{column}': {value} is outside 1.0-4.0",
    },
    "level_out_of_range": {
        "th": 'ระดับครัวเรือน: {value} ไม่ใช่ระดับ 1-4',
        "en": 'poverty_level: {value} is not a level 1-4',
    },
    "bad_status": {
        "th": 'สถานะการช่วยเหลือ: {value} ไม่ใช่ ช่วยเหลือแล้ว, อยู่ระหว่างดำเนินการ, แก้ไขได้ด้วยตนเอง, ส่งต่อ หรือ ไม่มี',
        "en": 'assistance_status: {value} is not one of helped, in_progress, self_resolved, referred, none',
    },
    "bad_boolean": {
        "th": "'{column}': {value} ไม่ใช่คำตอบ ใช่ หรือ ไม่ใช่ (ใช้ ใช่/ไม่ใช่, มี/ไม่มี, 1/0, true/false หรือ ✓)",
        "en": "'{column}': {value} is not yes or no (ใช่/ไม่ใช่, มี/ไม่มี, 1/0, true/false, ✓)",
    },
    "bad_id_hash": {
        "th": 'national_id_hash ไม่ใช่ค่าแฮชเลขฐานสิบหก 64 ตัว',
        "en": 'national_id_hash is not 64 hexadecimal characters',
    },
    "national_id_not_13_digits": {
        "th": 'เลขประจำตัวประชาชนไม่ครบ 13 หลัก',
        "en": 'national_id is not 13 digits',
    },
    "national_id_check_digit": {
        "th": 'เลขประจำตัวประชาชนไม่ผ่านการตรวจเลขหลักสุดท้าย มีตัวเลขพิมพ์ผิด',
        "en": 'national_id fails the check digit: a digit is mistyped',
    },
    "id_key_missing": {
        "th": 'นำเข้าเลขประจำตัวประชาชนไม่ได้ เพราะยังไม่ได้ตั้งค่ากุญแจเข้ารหัส (PPAP_ID_HASH_KEY) กรุณาลบเลขออกหรือติดต่อผู้ดูแลระบบ',
        "en": 'national IDs cannot be imported: no hashing key is set (PPAP_ID_HASH_KEY); remove the ID or ask the administrator',
    },
    "duplicate_household": {
        "th": 'ครัวเรือน {household_id} ปี {year} ซ้ำกับ {first_th} จึงไม่นำเข้าแถวหลังนี้',
        "en": 'household {household_id} in {year} already appears in {first}; this later row is not imported',
    },
    "latlon_swapped": {
        "th": 'ละติจูดและลองจิจูดสลับกัน ระบบแก้ไขให้แล้ว',
        "en": 'latitude and longitude were swapped; fixed',
    },
    "position_missing": {
        "th": 'ไม่มีพิกัด (ว่างหรือมีเพียงค่าเดียว) ระบบเก็บครัวเรือนไว้ตามรหัสพื้นที่',
        "en": 'no position (lat/lon blank or only one given); the household is kept by its codes',
    },
    "position_zero": {
        "th": 'พิกัดเป็น (0, 0) ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่',
        "en": 'position is (0, 0); dropped, the household is kept by its codes',
    },
    "position_not_number": {
        "th": 'พิกัด {value} ไม่ใช่ตัวเลข ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่',
        "en": 'position {value} is not a number; dropped, the household is kept by its codes',
    },
    "position_outside_thailand": {
        "th": 'พิกัด ({lat}, {lon}) อยู่นอกประเทศไทย ระบบตัดพิกัดออกและเก็บครัวเรือนไว้ตามรหัสพื้นที่',
        "en": 'position ({lat}, {lon}) is outside Thailand; dropped, the household is kept by its codes',
    },
    "position_outside_district": {
        "th": 'พิกัด ({lat}, {lon}) อยู่นอกอำเภอ {district} {km} กม. (อยู่ใน {located_th})',
        "en": 'position ({lat}, {lon}) lies {km} km outside district {district} (it is in {located})',
    },
    "level_inconsistent": {
        "th": 'ระดับครัวเรือน {given} ไม่ตรงกับคะแนนทุน (ค่าเฉลี่ย {mean} ได้ระดับ {derived})',
        "en": 'poverty_level {given} does not match the capital scores (mean {mean} gives level {derived})',
    },
    "file_already_imported": {
        "th": 'ไฟล์นี้นำเข้าแล้วเมื่อ {when} (เนื้อหาเดิม) จึงไม่นำเข้าซ้ำ',
        "en": 'this file was already imported on {when} (same content); nothing was read from it',
    },
    "extra_columns": {
        "th": 'คอลัมน์ที่ไม่อยู่ในโครงสร้างข้อมูลถูกข้าม: {columns}',
        "en": 'columns not in the data contract were ignored: {columns}',
    },
    "missing_columns": {
        "th": 'ไม่มีคอลัมน์ที่จำเป็น ทุกแถวจึงไม่ถูกนำเข้า: {columns}',
        "en": 'required columns are missing, so every row is rejected: {columns}',
    },
    "head_name_dropped": {
        "th": 'ชื่อหัวหน้าครัวเรือนถูกตัดออก (ข้อมูลส่วนบุคคล)',
        "en": "the household head's name was dropped (personal data)",
    },
    "head_name_kept": {
        "th": 'เก็บชื่อหัวหน้าครัวเรือนไว้ตามที่ขอ',
        "en": "the household head's name was kept, as asked",
    },
    "national_id_hashed": {
        "th": 'ตรวจเลขประจำตัวประชาชนแล้วและแทนด้วยค่าแฮช ไม่เก็บเลขจริง',
        "en": 'national IDs were checked and replaced by keyed hashes; the numbers are not kept',
    },
    "id_key_missing_file": {
        "th": 'ไฟล์มีเลขประจำตัวประชาชน แต่ยังไม่ได้ตั้งค่ากุญแจเข้ารหัส (PPAP_ID_HASH_KEY) แถวที่มีเลขจึงไม่ถูกนำเข้า',
        "en": 'the file has national IDs but no hashing key is set (PPAP_ID_HASH_KEY): rows with an ID are rejected',
    },
    "district_check_skipped": {
        "th": 'ไม่ได้ตรวจพิกัดกับขอบเขตอำเภอ: {why_th}',
        "en": 'positions were not checked against district boundaries: {why}',
    },
    "no_position_columns": {
        "th": 'ไฟล์ไม่มีคอลัมน์พิกัด ระบบวางครัวเรือนตามรหัสพื้นที่',
        "en": 'the file has no lat/lon columns; households are placed by their codes',
    },
    "blank_rows_skipped": {
        "th": 'ข้ามแถวว่าง {count} แถว',
        "en": '{count} blank rows were skipped',
    },
    "quote_problems": {
        "th": 'มี {count} บรรทัดที่เครื่องหมายอัญประกาศไม่ถูกต้อง (บรรทัดแรกคือบรรทัดที่ {line}) แต่ละบรรทัดไม่ถูกนำเข้า ส่วนบรรทัดถัดไปอ่านตามปกติ',
        "en": '{count} line(s) had a broken quotation mark (the first on line {line}); each was rejected on its own and the lines after it were read as usual',
    },
    "replaces_stored": {
        "th": 'ครัวเรือน {count} ครัวเรือนของรอบ {rounds} มีอยู่ในคลังข้อมูลแล้ว ข้อมูลเดิมจะถูกแทนที่ด้วยข้อมูลในไฟล์นี้',
        "en": "{count} households of round(s) {rounds} are already in the store: their stored rows are replaced by this file's",
    },
    "optional_columns_missing": {
        "th": "ไฟล์ไม่มีคอลัมน์ {columns} ซึ่งไม่บังคับ ระบบบันทึกเป็น 'ไม่ทราบ' สำหรับครัวเรือนในไฟล์นี้",
        "en": 'the file has no {columns}; these are optional and stored as unknown for its households',
    },
    "deprivations_outside_tpmap": {
        "th": "ครัวเรือนที่ไม่อยู่ใน TPMAP {count} ครัวเรือนมีค่าการขาดแคลนของ TPMAP (dep_*) แต่ครัวเรือนนอก TPMAP ไม่มีค่าเหล่านี้ ระบบจึงบันทึกเป็น 'ไม่ทราบ'",
        "en": "{count} households not in TPMAP give TPMAP deprivations (dep_*); a household not in TPMAP has none, so they are stored as unknown",
    },
    "decimal_comma": {
        "th": 'ไฟล์นี้คั่นด้วยอัฒภาค (;) จึงอ่านจุลภาคในตัวเลขเป็นจุดทศนิยม (1,75 = 1.75)',
        "en": 'the file is separated by semicolons, so a comma in a number is its decimal mark (1,75 = 1.75)',
    },
    "header_not_first_row": {
        "th": 'พบหัวตารางที่แถว {row} แถวก่อนหน้าถูกข้าม',
        "en": 'the header was found on row {row}; the rows above it were skipped',
    },
}

#: The import limits' refusals (``geo.ingest.limits``), as ``str.format`` templates: ``limit.<key>``.
LIMIT_MESSAGES: dict[str, dict[str, str]] = {
    "not_positive": {
        "th": "ค่า {variable} ต้องเป็นจำนวนบวก แต่ได้ {text!r}",
        "en": "{variable} must be a positive number, got {text!r}",
    },
    "memory": {
        "th": "{name}: การนำเข้าไฟล์นี้ต้องใช้หน่วยความจำเกิน {limit} (ประมาณ {estimate}) "
              "กรุณาแบ่งเป็นไฟล์ย่อยหรือลบคอลัมน์ที่ไม่ใช้",
        "en": "{name}: importing it would need more than {limit} of memory "
              "(estimated {estimate}); split it into smaller files or remove unused columns",
    },
    "too_many_rows_while_reading": {
        "th": "{name}: มีแถวเกินกว่าที่รับได้ {limit:,} แถวต่อไฟล์ กรุณาแบ่งเป็นไฟล์ย่อย",
        "en": "{name}: has more than the {limit:,} rows allowed in one file; split it into smaller files",
    },
    "too_many_rows": {
        "th": "{name}: มี {count:,} แถว เกินกว่าที่รับได้ {limit:,} แถวต่อไฟล์ กรุณาแบ่งเป็นไฟล์ย่อย",
        "en": "{name}: has {count:,} rows, more than the {limit:,} allowed in one file; split it into smaller files",
    },
    "too_many_columns": {
        "th": "{name}: มีแถวที่มี {width:,} ช่อง{at_th} เกินกว่าที่รับได้ {limit:,} คอลัมน์ "
              "กรุณาตรวจตัวคั่นหรือลบคอลัมน์ที่ไม่ใช้",
        "en": "{name}: a row has {width:,} cells{at}, more than the {limit:,} columns allowed; "
              "check the delimiter or remove unused columns",
    },
    "cell_too_long": {
        "th": "{name}: มีช่องที่ยาว {size:,} ตัวอักษร{at_th} เกินกว่าที่รับได้ {limit:,} ตัวอักษร",
        "en": "{name}: a cell holds {size:,} characters{at}, more than the {limit:,} allowed",
    },
    "more_than": {"th": "มากกว่า {limit}", "en": "more than {limit}"},
    "memory_while_reading": {
        "th": "{name}: หน่วยความจำไม่พอขณะอ่านไฟล์ กรุณาแบ่งเป็นไฟล์ย่อยหรือลบคอลัมน์ที่ไม่ใช้",
        "en": "{name}: the import ran out of memory while reading it; split it into smaller files or "
              "remove unused columns",
    },
    "child_out_of_memory": {
        "th": "การนำเข้าใช้หน่วยความจำเกินกำหนดจึงถูกหยุด (จำกัดหน่วยความจำ {limit} "
              "นอกเหนือจากที่กระบวนการนำเข้าต้องใช้เมื่อเริ่ม) กรุณาแบ่งเป็นไฟล์ย่อยหรือลบคอลัมน์ที่ไม่ใช้",
        "en": "the import ran out of memory and was stopped (memory limit {limit} beyond what the import "
              "process needs to start); split the file into smaller files or remove unused columns",
    },
    "child_too_slow": {
        "th": "การนำเข้าใช้เวลาเกิน {timeout:,.0f} วินาทีจึงถูกหยุด กรุณาแบ่งเป็นไฟล์ย่อย",
        "en": "the import took longer than {timeout:,.0f} s and was stopped; split the file into smaller files",
    },
    "child_failed": {
        "th": "กระบวนการนำเข้าข้อมูลล้มเหลว: {last}",
        "en": "the import process failed: {last}",
    },
    "unpacked_too_large": {
        "th": "{name}: เมื่อแตกไฟล์แล้วมีขนาด {shown_th} เกินกว่าที่รับได้ {limit} กรุณาแบ่งเป็นไฟล์ย่อย",
        "en": "{name}: unpacks to {shown}, more than the {limit} allowed; split it into smaller files",
    },
    "file_too_large": {
        "th": "{name}: มีขนาด {size} ใหญ่เกินกว่าที่รับได้ {limit} กรุณาแบ่งเป็นไฟล์ย่อย",
        "en": "{name}: is {size}, larger than the {limit} allowed; split it into smaller files",
    },
    "compression_ratio": {
        "th": "{name}: ส่วน {member} ขยายได้ {ratio:,.0f} เท่าของขนาดที่บีบอัด (รับได้ไม่เกิน "
              "{max_ratio:,.0f} เท่า) ลักษณะเหมือน zip bomb กรุณาบันทึกไฟล์ใหม่จาก Excel",
        "en": "{name}: part {member} unpacks to {ratio:,.0f} times its packed size (at most "
              "{max_ratio:,.0f} allowed), like a zip bomb; save the workbook again from Excel",
    },
}

#: Where in a file (``"line 12"``, ``"rows 1-8"``): the first word in Thai: ``where.<word>``; and
#: the import reports' other fragments of place (``geo.ingest.pipeline`` fills them into the
#: ``reason.*`` templates): which area a name was looked up in, which file a row came from, what a
#: position lies in, why positions were not checked.
WHERE_WORDS: dict[str, dict[str, str]] = {
    "line": {"th": "บรรทัดที่", "en": "line"},
    "rows": {"th": "แถวที่", "en": "rows"},
    "row": {"th": "แถวที่", "en": "row"},
    "header": {"th": "หัวตาราง", "en": "header"},
    "in_province": {"th": "ในจังหวัด {area}", "en": "in province {area}"},
    "in_district": {"th": "ในอำเภอ {area}", "en": "in district {area}"},
    "of_file": {"th": "ของ {file}", "en": "of {file}"},
    "no_district": {"th": "ไม่อยู่ในอำเภอใด", "en": "no district"},
    "no_boundaries": {"th": "ไม่มีข้อมูลขอบเขตอำเภอ", "en": "no district boundaries were given"},
}
