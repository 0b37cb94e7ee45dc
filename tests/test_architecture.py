"""The shape of the house (STYLE.md): ``geo`` never imports Streamlit, ``app.py`` only routes,
and ``pages/_shared.py`` is the only place that caches."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Imports every module of the package `geo` (except `geo.__main__`, which runs the CLI), then
# reports what it imported and whether Streamlit came along.
IMPORT_ALL_GEO = """
import importlib, json, pkgutil, sys
import geo
names = sorted(
    m.name for m in pkgutil.walk_packages(geo.__path__, prefix="geo.")
    if not m.name.endswith("__main__")
)
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "modules": names,
    "streamlit": sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit.")),
}))
"""


def test_geo_imports_without_streamlit():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_GEO],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"importing geo failed:\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "geo.data.contract" in report["modules"], report["modules"]
    assert report["streamlit"] == [], f"geo pulled in Streamlit: {report['streamlit'][:5]}"


def test_no_geo_source_mentions_streamlit_import():
    offenders = []
    for path in sorted((REPO_ROOT / "geo").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert offenders == [], f"geo must stay pure Python: {offenders}"


def _imported_top_level(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_app_is_a_pure_router():
    source = (REPO_ROOT / "app.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert _imported_top_level(tree) <= {"streamlit", "pathlib", "__future__"}, (
        "app.py routes only; data work belongs in geo/ and pages/_shared.py"
    )
    for word in ("import geo", "pandas", "geopandas", "read_parquet", "open(", "cache_data"):
        assert word not in source, f"app.py must not contain {word!r}"
    for call in ("st.set_page_config", "st.navigation", "st.Page", ".run()"):
        assert call in source, f"app.py should call {call}"


def test_only_shared_module_caches():
    offenders = []
    for path in [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]:
        if path.name == "_shared.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "cache_data" in text or "cache_resource" in text:
            offenders.append(path.name)
    assert offenders == [], f"only pages/_shared.py may use st.cache_data/st.cache_resource: {offenders}"


# ---------------------------------------------------------------------------------------------
# The layers (docs/ARCHITECTURE.md): .importlinter holds the contract, import-linter checks it
# ---------------------------------------------------------------------------------------------


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the tree at ``root`` (its ``.importlinter`` and its ``geo``)."""
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_layer_contract_holds():
    run = lint_imports(REPO_ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 kept, 0 broken" in run.stdout


def test_the_layer_contract_fails_on_an_upward_import(tmp_path):
    """The contract is real: a data module importing the CLI inside a function breaks it."""
    import shutil

    shutil.copytree(REPO_ROOT / "geo", tmp_path / "geo", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / ".importlinter", tmp_path / ".importlinter")
    contract = tmp_path / "geo" / "data" / "contract.py"
    contract.write_text(contract.read_text(encoding="utf-8")
                        + "\n\ndef _upward():\n    from geo.cli import main\n\n    return main\n", encoding="utf-8")
    run = lint_imports(tmp_path)
    assert run.returncode != 0 and "geo.data.contract -> geo.cli" in run.stdout, run.stdout[-3000:]


def test_no_import_cycle_in_geo():
    """No module of ``geo`` reaches itself through imports, function-level ones included."""
    import grimp

    graph = grimp.build_graph("geo", cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: [d for d in graph.find_modules_directly_imported_by(m) if d.startswith("geo")] for m in modules}
    cycles = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in edges[module]:
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module, [module])
    assert cycles == [], cycles[:5]


def test_benchmarks_and_cli_parsers_live_outside_the_library():
    """Benchmarks are the ``bench`` package; argparse is used only under ``geo/cli/``."""
    assert not list((REPO_ROOT / "geo").glob("bench*.py")) and (REPO_ROOT / "bench" / "__main__.py").is_file()
    parsers = [str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "geo").rglob("*.py")
               if "import argparse" in p.read_text(encoding="utf-8") and "cli" not in p.parts]
    assert parsers == []
