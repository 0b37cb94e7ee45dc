"""Label text of the data contract: the five capitals, the household levels 1-4, the five TPMAP
deprivations and the assistance statuses, each in Thai and English (the words of docs/DOMAIN.md).

Keyed by the contract's own values (``geo.data.contract.CAPITALS``, level 1..4, ...); the registry
(:func:`geo.text.label`) reaches them as ``capital.human``, ``level.1``, ``deprivation.health``,
``assistance.helped``.
"""

from __future__ import annotations

#: The five livelihood capitals.
CAPITAL_LABELS: dict[str, dict[str, str]] = {
    "human": {"th": "ทุนมนุษย์", "en": "Human capital"},
    "physical": {"th": "ทุนกายภาพ", "en": "Physical capital"},
    "natural": {"th": "ทุนธรรมชาติ", "en": "Natural capital"},
    "financial": {"th": "ทุนเศรษฐกิจ", "en": "Financial capital"},
    "social": {"th": "ทุนสังคม", "en": "Social capital"},
}

#: Household levels 1..4 with their Thai and English names.
LEVELS: dict[int, dict[str, str]] = {
    1: {"th": "อยู่ลำบาก", "en": "Destitute"},
    2: {"th": "อยู่ยาก", "en": "Hard"},
    3: {"th": "อยู่พอได้", "en": "Getting by"},
    4: {"th": "อยู่ดี", "en": "Well"},
}

#: TPMAP's five deprivation dimensions.
DEPRIVATION_LABELS: dict[str, dict[str, str]] = {
    "health": {"th": "สุขภาพ", "en": "Health"},
    "living": {"th": "ความเป็นอยู่", "en": "Living conditions"},
    "education": {"th": "การศึกษา", "en": "Education"},
    "income": {"th": "รายได้", "en": "Income"},
    "access": {"th": "การเข้าถึงบริการรัฐ", "en": "Access to public services"},
}

#: Assistance status values, with the words the Thai referral centres use.
ASSISTANCE_LABELS: dict[str, dict[str, str]] = {
    "none": {"th": "ยังไม่ได้รับความช่วยเหลือ", "en": "Not yet helped"},
    "referred": {"th": "ส่งต่อแล้ว", "en": "Referred"},
    "in_progress": {"th": "อยู่ระหว่างดำเนินการ", "en": "In progress"},
    "helped": {"th": "ช่วยเหลือแล้ว", "en": "Helped"},
    "self_resolved": {"th": "แก้ไขได้ด้วยตนเอง", "en": "Resolved by the household"},
}

#: Refusals about survey rounds (``geo.engine.mobility``): ``round.<key>``.
ROUND_MESSAGES: dict[str, dict[str, str]] = {
    "not_held": {"th": "ไม่มีข้อมูลรอบสำรวจ {given} (ค.ศ. {year}); รอบที่มี: {shown}",
                 "en": "survey round {given} ({year} CE) is not in the data; rounds held: {shown}"},
    "order": {"th": "รอบแรกต้องมาก่อนรอบหลัง ได้ พ.ศ. {be_from} -> {be_to} (ค.ศ. {y_from} -> {y_to})",
              "en": "the earlier round must come before the later one, got {y_from} -> {y_to} (CE; BE {be_from} -> {be_to})"},
}
