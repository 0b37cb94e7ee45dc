"""The registry of label text (``geo.text``): every key in Thai and English, one lookup, and no Thai
label left in code outside the registry beyond the files still counted in :data:`NOT_YET_MOVED`."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from geo.errors import ArgumentError
from geo.text import CATALOGUE, LANGUAGES, access, contract, en_th, ingest, label, th_en, views

ROOT = Path(__file__).resolve().parents[2]
THAI = re.compile("[\u0e00-\u0e7f]")

#: Thai string literals (docstrings excepted) still in code outside ``geo/text/``, per file. They are
#: data, not labels (header aliases of imported files, Thai digits and month abbreviations, words
#: matched in uploaded cells, place names), the language's own name, and app.py's menu titles
#: (app.py imports no geo). A file's count may only go down: a new Thai literal belongs in ``geo/text/``.
NOT_YET_MOVED: dict[str, int] = {
    "app.py": 8,  # the menu titles: app.py is a pure router that imports no geo (test_architecture)
    "pages/_sidebar.py": 1,  # the language's own name, ไทย, beside English
    "geo/access/audit.py": 2,  # data: digits and Thai name titles the redaction matches
    "geo/data/contract.py": 66,  # data: header aliases and yes/no words of imported files
    "geo/data/national_id.py": 1,  # data: the Thai and full-width digits an ID may be typed in
    "geo/ingest/areas.py": 9,  # data: area-name prefixes, abbreviations and spellings matched in files
    "geo/ingest/read.py": 2,  # data: Thai letter classes of a regular expression
    "geo/ingest/values.py": 40,  # data: words matched in uploaded cells (yes/no, statuses, units)
    "geo/synth/sample.py": 20,  # data: synthetic place and household words
    "geo/views/text.py": 13,  # data: Thai digits and month abbreviations of the formatters
}


def test_every_key_has_thai_and_english() -> None:
    assert CATALOGUE
    for key, words in CATALOGUE.items():
        assert set(words) == set(LANGUAGES), key
        assert all(isinstance(w, str) and w.strip() for w in words.values()), key
        assert THAI.search(words["th"]), f"{key}: the Thai label has no Thai letter"


def test_placeholders_are_the_same_in_both_languages() -> None:
    # a Thai template may take the Thai twin of a field (``where_th`` for ``where``; the area word
    # ``child_th`` for ``child_column``: geo.ingest.reasons fills them)
    twins = {"child_th": "child_column", "parent_th": "parent_column"}
    for key, words in CATALOGUE.items():
        fields = [{twins.get(f, f.removesuffix("_th")) for _, f, _, _ in string.Formatter().parse(words[lang]) if f}
                  for lang in LANGUAGES]
        assert fields[0] == fields[1], key


def test_label_reads_every_catalogue_and_no_key_hides_another() -> None:
    assert label("capital.human", "th") == contract.CAPITAL_LABELS["human"]["th"] == "ทุนมนุษย์"
    assert label("level.1", "en") == "Destitute"
    assert label("suppressed", "en", k=10) == "Fewer than 10 households (withheld)"
    assert len(CATALOGUE) == len(views.TEXT) + sum(len(t) for t in (contract.CAPITAL_LABELS, contract.LEVELS,
                                                                      contract.DEPRIVATION_LABELS,
                                                                      contract.ASSISTANCE_LABELS, contract.ROUND_MESSAGES,
                                                                      ingest.REASON_MESSAGES, ingest.LIMIT_MESSAGES,
                                                                      ingest.WHERE_WORDS, access.ACCESS_TEXT,
                                                                      access.ROLE_WORDS))


def test_en_th_and_th_en_give_both_languages() -> None:
    assert th_en("access.denied_import") == ("บทบาทนี้ไม่มีสิทธิ์นำเข้าข้อมูล", "Your role may not import data")
    assert th_en("access.denied_locked", wait=30) == en_th("access.denied_locked", wait=30)[::-1]
    # a Thai twin field fills the Thai template only
    assert th_en("access.denied_rows", role="viewer", role_th="ผู้ชม") == (
        "บทบาท ผู้ชม ดูได้เฉพาะข้อมูลสรุป ไม่สามารถดูข้อมูลรายครัวเรือนได้",
        "The viewer role sees protected aggregates only, not household rows")


def test_moved_labels_read_as_before() -> None:
    """The access refusals, the public viewer, survey years and import fragments moved into the
    registry (issue 14) with their wording unchanged: the old literals, as users saw them."""
    import pandas as pd

    from geo.access import roles
    from geo.errors import AccessDenied
    from geo.ingest import pipeline
    from geo.views.dashboard import year_label

    districts = roles.User("d", "district_officer", districts=("4601", "4602"))
    assert roles.User("a", "administrator").scope.describe("th") == "ทุกพื้นที่"
    assert districts.scope.describe("th") == "อำเภอ 4601 เมืองกาฬสินธุ์, 4602 นามน"
    assert roles.User("p", "provincial_officer", provinces=("46",)).scope.describe("en") == "provinces 46 Kalasin"
    assert str(roles._deny_scope(districts, ["46"], ["4609"])) == (
        "ไม่มีสิทธิ์เข้าถึง จังหวัด 46 กาฬสินธุ์, อำเภอ 4609 สหัสขันธ์: อยู่นอกพื้นที่ที่ได้รับอนุญาต "
        "(อำเภอ 4601 เมืองกาฬสินธุ์, 4602 นามน) · Access denied: province 46 Kalasin, district 4609 Sahatsakhan "
        "is outside your area (districts 4601 Mueang Kalasin, 4602 Na Mon)")
    with pytest.raises(AccessDenied) as refused:
        roles.check_min_count(3, roles.public_viewer())
    assert (refused.value.message_th, refused.value.message_en) == (
        "ไม่สามารถแสดงพื้นที่ที่มีน้อยกว่า 10 ครัวเรือนได้ (ขอ k=3)",
        "Areas with fewer than 10 households cannot be shown to your role (asked k=3)")
    rows = pd.DataFrame({"province_code": ["46"], "district_code": ["4609"], "household_id": ["a"]})
    with pytest.raises(AccessDenied) as refused:
        roles.household_rows(rows, roles.User("v", "viewer"))
    assert str(refused.value) == ("บทบาท ผู้ชม / ผู้นำเสนอ ดูได้เฉพาะข้อมูลสรุป ไม่สามารถดูข้อมูลรายครัวเรือนได้ · "
                                  "The viewer / presenter role sees protected aggregates only, not household rows")
    with pytest.raises(AccessDenied) as refused:
        roles.check_import(districts, rows)
    assert str(refused.value) == ("มี 1 แถวอยู่นอกพื้นที่ของคุณ (อำเภอ 4609); ไม่ได้นำเข้า · "
                                  "1 rows lie outside your area (districts 4609); nothing was imported")
    assert str(roles._login_failed()) == "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง · Wrong username or password"
    assert roles.public_viewer().display_name == "ผู้ชมทั่วไป · Public viewer"
    assert roles.PUBLIC_NOTICE["th"] == ("โหมดผู้ชมทั่วไป: แสดงเฉพาะข้อมูลสรุปที่ปกปิดพื้นที่ที่มีน้อยกว่า 10 ครัวเรือน "
                                         "ไม่แสดงข้อมูลรายครัวเรือน และไม่สามารถนำเข้าข้อมูลได้")
    assert [year_label(2023, lang, era) for era in ("BE", "CE") for lang in LANGUAGES] == [
        "พ.ศ. 2566", "BE 2566", "ค.ศ. 2023", "2023 CE"]
    assert pipeline._where("province_code", "46") == (" in province 46 กาฬสินธุ์", " ในจังหวัด 46 กาฬสินธุ์")
    assert pipeline._where("district_code", "4601") == (" in district 4601 เมืองกาฬสินธุ์",
                                                        " ในอำเภอ 4601 เมืองกาฬสินธุ์")
    corpus = ROOT / "tests" / "fixtures" / "import_corpus"
    result = pipeline.import_households([("a.csv", (corpus / "good_en.csv").read_bytes()),
                                         ("c.csv", (corpus / "updates_stored_household.csv").read_bytes())])
    duplicate = next(r for rs in result.rows["reasons"] for r in rs)
    assert duplicate.message_th == "ครัวเรือน KS-0001 ปี 2024 ซ้ำกับ แถวที่ 1 ของ a.csv จึงไม่นำเข้าแถวหลังนี้"
    skipped = [n for n in result.files[0].notes if n.code == "district_check_skipped"]
    assert [(n.message_en, n.message_th) for n in skipped] == [(
        "positions were not checked against district boundaries: no district boundaries were given",
        "ไม่ได้ตรวจพิกัดกับขอบเขตอำเภอ: ไม่มีข้อมูลขอบเขตอำเภอ")]
    assert " · ".join(th_en("access.log_in")) == "เข้าสู่ระบบ · Log in"
    assert label("access.session_expired", "th", minutes="30") == (
        "หมดเวลาใช้งานเพราะไม่มีการใช้งานเกิน 30 นาที โปรดเข้าสู่ระบบอีกครั้ง")


def test_label_refuses_unknown_keys_and_languages() -> None:
    with pytest.raises(KeyError):
        label("no_such_label")
    with pytest.raises(ArgumentError):
        label("app_title", "fr")


def test_the_views_and_the_contract_read_the_registry() -> None:
    from geo.data import contract as data_contract
    from geo.views import text as views_text

    assert views_text.TEXT is views.TEXT
    assert data_contract.CAPITAL_LABELS is contract.CAPITAL_LABELS and data_contract.LEVELS is contract.LEVELS


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def thai_literals(path: Path) -> list[str]:
    """Thai string literals of a module (f-string parts included), its docstrings excepted
    (comments are not in the syntax tree)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and THAI.search(node.value)]


def code_files() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "serve.py", *sorted((ROOT / "pages").rglob("*.py")),
             *sorted((ROOT / "geo").rglob("*.py"))]
    return [f for f in files if (ROOT / "geo" / "text") not in f.parents]


def test_thai_literals_finds_labels_not_docstrings(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""ภาพรวม"""\n# ภาพรวม\ndef f(x):\n    """ทุน"""\n    return f"ทุน {x}" + "x"\n', encoding="utf-8")
    assert thai_literals(module) == ["ทุน "]


def test_no_thai_label_outside_the_registry() -> None:
    found = {str(f.relative_to(ROOT)): len(thai_literals(f)) for f in code_files()}
    found = {name: count for name, count in found.items() if count}
    grown = {name: (count, NOT_YET_MOVED.get(name, 0)) for name, count in found.items()
             if count > NOT_YET_MOVED.get(name, 0)}
    assert not grown, f"Thai literals outside geo/text (found, allowed): {grown}; put labels in geo/text/"
    stale = {name: (found.get(name, 0), allowed) for name, allowed in NOT_YET_MOVED.items()
             if found.get(name, 0) < allowed}
    assert not stale, f"fewer Thai literals than NOT_YET_MOVED allows (found, allowed): lower it: {stale}"


def test_every_reason_code_has_its_message_and_no_message_is_orphaned() -> None:
    from geo.ingest.reasons import REASONS, make_reason

    assert list(REASONS) == list(ingest.REASON_MESSAGES)
    reason = make_reason("members_out_of_range", "members", value=45)
    assert reason.message_en == "members: '45' is outside 1-30"
    assert reason.message_th == "จำนวนสมาชิก: '45' อยู่นอกช่วง 1-30"
