"""The overview page through Streamlit's AppTest, started from the real entry point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

APP_PATH = Path(__file__).resolve().parents[2] / "app.py"
# The first run imports pandas and pyarrow; give slow CI machines room.
TIMEOUT_S = 60


def run_app() -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric_value(at: AppTest, label_start: str) -> int:
    matches = [m for m in at.metric if m.label.startswith(label_start)]
    assert len(matches) == 1, [m.label for m in at.metric]
    return int(matches[0].value.replace(",", ""))


def page_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.caption, *at.info, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def test_overview_shows_the_generated_sample(sample_households_path: Path):
    frame = pd.read_parquet(sample_households_path, columns=["survey_year", "members"])
    latest_round = frame[frame["survey_year"] == frame["survey_year"].max()]

    at = run_app()

    assert at.title[0].value == "ภาพรวม"
    assert metric_value(at, "ครัวเรือน") == len(latest_round)
    if frame["survey_year"].nunique() == 1:
        assert metric_value(at, "ครัวเรือน") == len(frame)
    assert metric_value(at, "คน") == int(latest_round["members"].sum())
    assert "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample" in page_text(at)


def test_overview_counts_latest_round_and_credits_boundaries(tiny_data_dir: Path):
    at = run_app()

    # conftest.TINY_HOUSEHOLDS: the 2024 round has 2 households and 4 + 3 people.
    assert metric_value(at, "ครัวเรือน") == 2
    assert metric_value(at, "คน") == 7
    text = page_text(at)
    assert "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample" in text
    assert "Boundaries: RTSD / OCHA (CC BY-IGO) — test manifest" in text
    assert "2567" in text  # survey round shown in the Buddhist Era too
    assert not at.warning and not at.error


def test_overview_without_data_says_what_to_run(empty_data_dir: Path):
    at = run_app()

    assert not at.metric
    warnings = "\n".join(w.value for w in at.warning)
    assert "python -m geo sample" in warnings
    assert "python -m geo boundaries install" in warnings
    assert warnings.count("`make run`") == 2
    # The credit line stays, from the default when no manifest is installed.
    assert "Boundaries: RTSD / OCHA (CC BY-IGO)" in page_text(at)


def test_overview_with_a_broken_sample_shows_a_message_not_a_traceback(tiny_data_dir: Path):
    (tiny_data_dir / "samples" / "households.parquet").write_bytes(b"not a parquet file")
    (tiny_data_dir / "boundaries" / "manifest.json").write_text("[1, 2", encoding="utf-8")

    at = run_app()

    errors = "\n".join(e.value for e in at.error)
    assert "python -m geo sample" in errors
    assert "python -m geo boundaries install" in errors
    assert not at.metric
