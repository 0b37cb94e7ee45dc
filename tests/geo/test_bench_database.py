"""Smoke test for ``bench.database`` (python -m bench database): it runs end to end on a small file
against the session's real PostgreSQL and reports every figure."""

from __future__ import annotations

from bench.database import format_figures, run_bench
from geo.synth.households import random_households


def test_bench_database_reports_every_figure(postgres_cluster, tmp_path):
    frame = random_households(2000, seed=3, cluster_km=2.0)
    frame["household_id"] = [f"B{i:05d}" for i in range(len(frame))]
    path = tmp_path / "households.parquet"
    frame.to_parquet(path, index=False)
    figures = run_bench(path, postgres_cluster.create_database("bench"), lambda _msg: None)
    assert figures["households"] == figures["indexed"] == 2000
    assert figures["app_peak_rss_mb"] > 0
    for name in ("load_s", "read_adbc_s", "read_copy_csv_s", "snapshot_s", "index_from_snapshot_s",
                 "index_from_file_s", "db_to_index_s", "persist_index_from_snapshot_s"):
        assert figures[name] >= 0, name
    text = format_figures(figures)
    assert "ADBC" in text and "2,000" in text
