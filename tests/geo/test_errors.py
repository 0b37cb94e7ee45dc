"""Every error ``geo`` raises on purpose is a :class:`geo.errors.PPAPError`, defined in ``geo/errors.py``.

Pages and the command line catch ``PPAPError`` only; anything else reaches a user as a traceback.
The scans read the source (``ast``) and import every module, so a new ``raise ValueError(...)`` or
an exception class defined elsewhere fails here, naming the file and line.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pickle
import pkgutil
from pathlib import Path

import pytest

import geo
from geo import errors
from geo.errors import (
    AccessConfigError,
    AccessDenied,
    ArgumentError,
    ArgumentTypeError,
    EngineInputError,
    ExportError,
    ImportLimitError,
    PPAPError,
)

GEO = Path(geo.__file__).resolve().parent
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)

#: Built-in exceptions ``geo`` keeps raising on purpose: (file, function, exception) -> why.
ALLOWED_BUILTIN_RAISES: dict[tuple[str, str, str], str] = {
    ("access/audit.py", "_read_checkpoint", "ValueError"):
        "internal signal: a damaged checkpoint; every caller catches ValueError and reports the log as broken",
    ("engine/aggregate.py", "__getitem__", "KeyError"):
        "the Mapping protocol: a column the lazy household mapping does not have",
    ("access/roles.py", "cookie_value", "KeyError"):
        "a dict-like lookup of a session id the server itself issued; never user input",
    ("ingest/read.py", "__next__", "StopIteration"):
        "the iterator protocol of the CSV line reader",
    ("ingest/read.py", "_decoded_chunks", "UnicodeDecodeError"):
        "the codec's own error re-raised with whole-file offsets; the reader turns it into an InputFileError",
}


def _sources() -> list[Path]:
    return sorted(GEO.rglob("*.py"))


def _builtin_raises() -> list[tuple[str, str, str, int]]:
    """(file, enclosing function, exception name, line) of every ``raise <BuiltinException>``."""
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(GEO).as_posix()

        def visit(node: ast.AST, function: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(child, child.name)
                    continue
                if isinstance(child, ast.Raise) and child.exc is not None:
                    target = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                    if isinstance(target, ast.Name) and target.id in BUILTIN_EXCEPTIONS:
                        found.append((rel, function, target.id, child.lineno))
                visit(child, function)

        visit(tree, "<module>")
    return found


def test_geo_raises_no_builtin_exception_outside_the_allow_list():
    offenders = [f"geo/{rel}:{line} ({function}) raises {name}"
                 for rel, function, name, line in _builtin_raises()
                 if (rel, function, name) not in ALLOWED_BUILTIN_RAISES]
    assert offenders == [], (
        "raise a geo.errors.PPAPError subclass (e.g. ArgumentError, EngineInputError), "
        f"or allow-list it here with a reason: {offenders}"
    )


def test_the_allow_list_has_no_stale_entry():
    found = {(rel, function, name) for rel, function, name, _ in _builtin_raises()}
    assert set(ALLOWED_BUILTIN_RAISES) <= found, set(ALLOWED_BUILTIN_RAISES) - found


def test_no_exception_class_is_defined_outside_geo_errors():
    bases_in_errors = {name for name, value in vars(errors).items()
                       if isinstance(value, type) and issubclass(value, BaseException)}
    offenders = []
    for path in _sources():
        if path.name == "errors.py" and path.parent == GEO:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if names & (BUILTIN_EXCEPTIONS | bases_in_errors) or node.name.endswith(("Error", "Denied")):
                    offenders.append(f"geo/{path.relative_to(GEO).as_posix()}:{node.lineno} class {node.name}")
    assert offenders == [], f"define exception classes in geo/errors.py: {offenders}"


def test_every_imported_exception_class_of_geo_lives_in_geo_errors():
    names = [m.name for m in pkgutil.walk_packages(geo.__path__, prefix="geo.") if not m.name.endswith("__main__")]
    elsewhere = []
    for name in names:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith("geo"):
                if value.__module__ != "geo.errors":
                    elsewhere.append(f"{value.__module__}.{value.__qualname__}")
    assert elsewhere == []


def test_every_geo_error_is_a_ppap_error_and_geo_errors_imports_no_geo():
    classes = [v for v in vars(errors).values() if inspect.isclass(v) and issubclass(v, BaseException)]
    assert all(issubclass(c, PPAPError) for c in classes), classes
    tree = ast.parse((GEO / "errors.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(not (getattr(n, "module", "") or "").startswith("geo")
               and not any(a.name.startswith("geo") for a in n.names) for n in imports)


@pytest.mark.parametrize("cls, builtin", [(ArgumentError, ValueError), (EngineInputError, ValueError),
                                          (ArgumentTypeError, TypeError), (AccessConfigError, ValueError),
                                          (ExportError, ValueError)])
def test_argument_errors_stay_value_and_type_errors(cls, builtin):
    assert issubclass(cls, PPAPError) and issubclass(cls, builtin)


def test_messages_in_two_languages_and_english_str():
    exc = ArgumentError("fmt must be 'csv'", "รูปแบบไฟล์ต้องเป็น csv")
    assert str(exc) == "fmt must be 'csv'"
    assert exc.message("th") == "รูปแบบไฟล์ต้องเป็น csv" and exc.message("en") == "fmt must be 'csv'"
    assert PPAPError("only English").message("th") == "only English"
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is ArgumentError and again.message("th") == exc.message("th") and str(again) == str(exc)


def test_the_moved_classes_keep_their_behaviour():
    denied = pickle.loads(pickle.dumps(AccessDenied("ไม่อนุญาต", "Not allowed", reason="rows")))
    assert (denied.reason, denied.message("th"), denied.message("en")) == ("rows", "ไม่อนุญาต", "Not allowed")
    assert str(denied) == "ไม่อนุญาต · Not allowed"
    limit = pickle.loads(pickle.dumps(ImportLimitError("too_many_rows", "a.csv: too many rows", "a.csv: แถวมากเกิน")))
    assert (limit.code, str(limit)) == ("too_many_rows", "a.csv: too many rows / a.csv: แถวมากเกิน")
    assert limit.message("th") == "a.csv: แถวมากเกิน"


def test_argument_checks_raise_ppap_errors():
    from geo.data.areas import area_level
    from geo.data.spreadsheet import to_csv_bytes
    from geo.views.style import class_breaks

    with pytest.raises(ArgumentError):
        area_level("123")
    with pytest.raises(ArgumentTypeError):
        to_csv_bytes("not a frame")
    with pytest.raises(EngineInputError):
        class_breaks([1.0, 2.0], n_classes=0)
