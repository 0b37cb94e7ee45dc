"""Label text of access control: refusals and the audit log's own words, in Thai and English.

The registry (:func:`geo.text.label`) reaches them as ``access.<key>``.
"""

from __future__ import annotations

#: Access refusals and notices, by key.
ACCESS_TEXT: dict[str, dict[str, str]] = {
    "audit_admin_only": {"th": "เฉพาะผู้ดูแลระบบเท่านั้นที่อ่านบันทึกการใช้งานได้",
                         "en": "Only administrators may read the audit log"},
}
