"""Label text of access control: refusals and the audit log's own words, in Thai and English.

The registry (:func:`geo.text.label`) reaches them as ``access.<key>``.
"""

from __future__ import annotations

#: The roles' names (``geo.access.roles.ROLES``): ``role.<role>``.
ROLE_WORDS: dict[str, dict[str, str]] = {
    "administrator": {"th": "ผู้ดูแลระบบ", "en": "Administrator"},
    "provincial_officer": {"th": "เจ้าหน้าที่ระดับจังหวัด", "en": "Provincial officer"},
    "district_officer": {"th": "เจ้าหน้าที่ระดับอำเภอ", "en": "District officer"},
    "researcher": {"th": "นักวิจัย", "en": "Researcher"},
    "viewer": {"th": "ผู้ชม / ผู้นำเสนอ", "en": "Viewer / presenter"},
}

#: Access refusals and notices, by key.
ACCESS_TEXT: dict[str, dict[str, str]] = {
    "audit_admin_only": {"th": "เฉพาะผู้ดูแลระบบเท่านั้นที่อ่านบันทึกการใช้งานได้",
                         "en": "Only administrators may read the audit log"},
}
