"""Fixtures shared by every test: project paths, CI strictness, and a tiny data folder.

Under ``CI=true`` a test that lacks what it needs (the generated sample, Chromium) fails;
on a developer's machine it is skipped with the reason and the command that fixes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# Property tests check answers, not speed (speed lives in the benchmarks): no per-example deadline,
# which a loaded 2-core machine misses now and then (hypothesis's default is 200 ms).
settings.register_profile("ppap", deadline=None)
settings.load_profile("ppap")

# A fixed record-key secret (geo.engine.cellkey): the public release's noise is the same on every run and
# machine, so golden files and figures are reproducible. Deployments set their own secret.
os.environ.setdefault("PPAP_CELL_KEY", "ppap-atlas-test-suite")

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_PATH = REPO_ROOT / "app.py"


def in_ci() -> bool:
    """True when running under CI (``CI`` set to a true value, as CI services and .ci/run do)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip locally; fail under CI, where every prerequisite must be present."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: missing prerequisites fail the run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(name="skip_or_fail", scope="session")
def skip_or_fail_fixture():
    """:func:`skip_or_fail` for test modules (which do not import conftest directly)."""
    return skip_or_fail


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def app_path() -> Path:
    return APP_PATH


@pytest.fixture(scope="session")
def sample_households_path() -> Path:
    """The generated sample's households file; skipped locally (failed under CI) if missing.
    Session-wide: module fixtures that read the sample use it too."""
    from geo.data.paths import samples_dir

    path = samples_dir() / "households.parquet"
    if not path.is_file():
        skip_or_fail(f"no sample at {path}; run `make test` or `python -m geo sample`")
    return path


#: Three households over two survey rounds; the latest round (2024) has 2 households, 7 people.
TINY_HOUSEHOLDS = pd.DataFrame(
    {
        "household_id": ["H1", "H1", "H2"],
        "survey_year": pd.array([2023, 2024, 2024], dtype="Int16"),
        "province_code": ["46", "46", "46"],
        "district_code": ["4609", "4609", "4602"],
        "members": pd.array([4, 4, 3], dtype="Int16"),
    }
)
TINY_ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO) — test manifest"


@pytest.fixture
def tiny_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway ``PPAP_DATA_DIR`` holding a three-row sample and a boundary manifest."""
    (tmp_path / "samples").mkdir()
    (tmp_path / "boundaries").mkdir()
    TINY_HOUSEHOLDS.to_parquet(tmp_path / "samples" / "households.parquet", index=False)
    (tmp_path / "boundaries" / "manifest.json").write_text(
        json.dumps({"attribution": TINY_ATTRIBUTION}), encoding="utf-8"
    )
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``PPAP_DATA_DIR`` with neither sample nor boundaries."""
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    return tmp_path


from tests.support.server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - one home for the browser settings


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium under Playwright, one for the whole run; skipped locally (failed
    under CI) if missing. One Playwright session serves every browser test: its sync API refuses
    to start a second one while the first is open."""
    import shutil

    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        skip_or_fail(f"no Chromium at {CHROMIUM}; run `make test` (scripts/install_system_deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed; run `make test` (requirements-dev.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Figures a test measures (the disclosure attack, the public release's accuracy) are printed at the
# end of the run, so CI's log carries them.
_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def print_figure():
    """Record a line for the run's "figures" summary (``pytest_terminal_summary``)."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL 15 + PostGIS 3 cluster for the session (tests/support/postgres.py),
    stopped and deleted afterwards; skipped locally (failed under CI) when the server is not installed."""
    from tests.support.postgres import missing_prerequisites, start_cluster

    why = missing_prerequisites()
    if why:
        skip_or_fail(why)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database_url(postgres_cluster, monkeypatch, tmp_path) -> str:
    """A new migrated database on the session's cluster, set as ``$PPAP_DATABASE_URL`` (snapshots
    in ``tmp_path``); its URL."""
    from geo.data import database

    url = postgres_cluster.create_database()
    database.migrate(url)
    monkeypatch.setenv(database.DATABASE_URL_ENV, url)
    monkeypatch.setenv(database.SNAPSHOT_DIR_ENV, str(tmp_path / "db-snapshot"))
    return url
