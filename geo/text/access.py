"""Label text of access control: the roles, refusals, scopes in words, the public viewer's notice,
the login box and the audit log's own words, in Thai and English.

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

#: Access refusals (``denied_*``), scopes in words (``scope_*``), the public viewer's notice, the
#: login box and its notices, by key. A Thai template may take the Thai twin of a field
#: (``role_th`` for ``role``): :func:`geo.text.th_en` fills both from one call.
ACCESS_TEXT: dict[str, dict[str, str]] = {
    "audit_admin_only": {"th": "เฉพาะผู้ดูแลระบบเท่านั้นที่อ่านบันทึกการใช้งานได้",
                         "en": "Only administrators may read the audit log"},
    # a user's scope (geo.access.roles.Scope.describe) and the areas a refusal names
    "scope_all": {"th": "ทุกพื้นที่", "en": "all areas"},
    "scope_provinces": {"th": "จังหวัด {names}", "en": "provinces {names}"},
    "scope_districts": {"th": "อำเภอ {names}", "en": "districts {names}"},
    "scope_province": {"th": "จังหวัด {name}", "en": "province {name}"},
    "scope_district": {"th": "อำเภอ {name}", "en": "district {name}"},
    # refusals (geo.errors.AccessDenied)
    "denied_scope": {"th": "ไม่มีสิทธิ์เข้าถึง {areas}: อยู่นอกพื้นที่ที่ได้รับอนุญาต ({scope})",
                     "en": "Access denied: {areas} is outside your area ({scope})"},
    "denied_min_count": {"th": "ไม่สามารถแสดงพื้นที่ที่มีน้อยกว่า {floor} ครัวเรือนได้ (ขอ k={k})",
                         "en": "Areas with fewer than {floor} households cannot be shown to your role (asked k={k})"},
    "denied_rows": {"th": "บทบาท {role_th} ดูได้เฉพาะข้อมูลสรุป ไม่สามารถดูข้อมูลรายครัวเรือนได้",
                    "en": "The {role} role sees protected aggregates only, not household rows"},
    "denied_import": {"th": "บทบาทนี้ไม่มีสิทธิ์นำเข้าข้อมูล", "en": "Your role may not import data"},
    "denied_replace_all": {
        "th": "การนำเข้าแบบแทนที่ทั้งหมดทำได้เฉพาะผู้ดูแลระบบ (แทนที่ข้อมูลทุกจังหวัด)",
        "en": "Only administrators may replace the whole store (it holds every province and round); use upsert",
    },
    "denied_names": {"th": "เฉพาะผู้ดูแลระบบเท่านั้นที่เก็บชื่อหัวหน้าครัวเรือนได้",
                     "en": "Only administrators may keep household heads' names"},
    "denied_rows_outside": {
        "th": "มี {count} แถวอยู่นอกพื้นที่ของคุณ (อำเภอ {districts}); ไม่ได้นำเข้า",
        "en": "{count} rows lie outside your area (districts {districts}); nothing was imported",
    },
    "denied_locked": {"th": "ลงชื่อเข้าใช้ผิดหลายครั้งเกินไป โปรดรอ {wait} วินาทีแล้วลองใหม่",
                      "en": "Too many failed logins; try again in {wait} s"},
    "denied_login": {"th": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "en": "Wrong username or password"},
    "denied_unknown_identity": {
        "th": "บัญชีนี้ยังไม่ได้รับสิทธิ์ใช้งาน โปรดติดต่อผู้ดูแลระบบ",
        "en": "This account has no access to PPAP Atlas; ask the administrator to add your email",
    },
    # the public viewer (geo.access.roles.public_viewer, PUBLIC_NOTICE)
    "public_viewer": {"th": "ผู้ชมทั่วไป", "en": "Public viewer"},
    "public_notice": {
        "th": "โหมดผู้ชมทั่วไป: แสดงเฉพาะข้อมูลสรุปที่ปกปิดพื้นที่ที่มีน้อยกว่า {k} ครัวเรือน "
              "ไม่แสดงข้อมูลรายครัวเรือน และไม่สามารถนำเข้าข้อมูลได้",
        "en": "Public viewer: protected aggregates only (areas with fewer than {k} households are "
              "withheld); no household rows and no imports.",
    },
    # the login box (pages/_auth.py)
    "log_in": {"th": "เข้าสู่ระบบ", "en": "Log in"},
    "log_out": {"th": "ออกจากระบบ", "en": "Log out"},
    "username": {"th": "ชื่อผู้ใช้", "en": "Username"},
    "password": {"th": "รหัสผ่าน", "en": "Password"},
    "please_log_in": {"th": "กรุณาเข้าสู่ระบบ", "en": "Please log in."},
    "session_expired": {"th": "หมดเวลาใช้งานเพราะไม่มีการใช้งานเกิน {minutes} นาที โปรดเข้าสู่ระบบอีกครั้ง",
                        "en": "Your session ended after {minutes} min without use; please log in again."},
    "oidc_not_set_up": {"th": "ยังตั้งค่าการเข้าสู่ระบบผ่านผู้ให้บริการยืนยันตัวตนไม่ครบ: {problem}",
                        "en": "Single sign-on is not set up: {problem}"},
}
