"""A tiny, fully known world for the dashboard tests: two provinces of boxes, 71 households, two
pilots. Real DOPA codes (so names come from the DOPA list), invented squares and people.

Layout (lon, lat; every area a box)::

    province 46 (Kalasin)   103.0-104.0 x 16.0-17.0
        district 4601       west half   -> subdistrict 460101 (whole district): 30 households
        district 4609       east half   -> subdistrict 460901 (south half): 25 households
                                           subdistrict 460902 (north half):  4 households (withheld)
    province 34 (Ubon)      104.5-105.5 x 15.0-16.0
        district 3401       whole       -> subdistrict 340101: 12 households

Pilots: ``P1`` (mushroom) in 4601 with 10 of its households enrolled, ``P2`` (crafts) in 3401.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from shapely.geometry import box

from geo.data.contract import conform_households, conform_pilots

ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO) — tiny test world"

AREAS = {
    "province": [("46", "", box(103.0, 16.0, 104.0, 17.0)), ("34", "", box(104.5, 15.0, 105.5, 16.0))],
    "district": [("4601", "46", box(103.0, 16.0, 103.5, 17.0)), ("4609", "46", box(103.5, 16.0, 104.0, 17.0)),
                 ("3401", "34", box(104.5, 15.0, 105.5, 16.0))],
    "subdistrict": [("460101", "4601", box(103.0, 16.0, 103.5, 17.0)),
                    ("460901", "4609", box(103.5, 16.0, 104.0, 16.5)),
                    ("460902", "4609", box(103.5, 16.5, 104.0, 17.0)),
                    ("340101", "3401", box(104.5, 15.0, 105.5, 16.0))],
}
#: (subdistrict, households, centre lon, centre lat)
GROUPS = [("460101", 30, 103.25, 16.5), ("460901", 25, 103.75, 16.25), ("460902", 4, 103.75, 16.75),
          ("340101", 12, 105.0, 15.5)]
PILOTS = pd.DataFrame({
    "pilot_id": ["P1", "P2"],
    "name_th": ["เห็ดทดสอบ", "ทอผ้าทดสอบ"],
    "name_en": ["Test mushrooms", "Test weaving"],
    "kind": ["mushroom", "crafts"],
    "university": ["Test University", "Other University"],
    "province_code": ["46", "34"],
    "district_code": ["4601", "3401"],
    "lat": [16.5, 15.5],
    "lon": [103.25, 105.0],
    "start_year": [2022, 2023],
    "households_target": [20, 15],
    "illustrative": [True, True],
})


def households() -> pd.DataFrame:
    """The 71 households in the contract's columns (deterministic)."""
    rng = np.random.default_rng(7)
    rows = []
    n = 0
    for sub, count, lon, lat in GROUPS:
        for i in range(count):
            n += 1
            level = (1, 2, 2, 3, 4)[i % 5]
            base = {1: 1.4, 2: 2.0, 3: 2.8, 4: 3.5}[level]
            scores = np.clip(base + rng.normal(0, 0.15, 5), 1.0, 4.0).round(2)
            scores[2] = min(scores[2], 1.6) if i % 3 == 0 else scores[2]  # natural in deficit for a third
            rows.append({
                "household_id": f"H{n:03d}",
                "survey_year": 2023,
                "province_code": sub[:2],
                "district_code": sub[:4],
                "subdistrict_code": sub,
                "village_no": 1 + i % 3,
                "lat": lat + 0.01 * ((i % 7) - 3) / 3,
                "lon": lon + 0.01 * ((i % 5) - 2) / 2,
                "members": 1 + i % 6,
                "income_per_capita_year": 20000.0 + 1000 * i,
                "capital_human": scores[0],
                "capital_physical": scores[1],
                "capital_natural": scores[2],
                "capital_financial": scores[3],
                "capital_social": scores[4],
                "poverty_level": level,
                "in_tpmap": i % 4 != 0,
                "verified": i % 2 == 0,
                "dep_health": i % 3 == 0,
                "dep_living": i % 5 == 0,
                "dep_education": False,
                "dep_income": i % 2 == 1,
                "dep_access": i % 7 == 0,
                "assistance_status": ("none", "referred", "in_progress", "helped", "self_resolved")[i % 5],
                "pilot_id": "P1" if sub == "460101" and i < 10 else None,
                "national_id_hash": None,
            })
    return conform_households(pd.DataFrame(rows))


def boundaries() -> dict[str, gpd.GeoDataFrame]:
    """The boxes as installed boundaries (``code``, ``parent_code``, names, geometry)."""
    import geothai

    lookup = {"province": geothai.province, "district": geothai.district, "subdistrict": geothai.subdistrict}
    out = {}
    for level, rows in AREAS.items():
        names = [lookup[level](code) for code, _, _ in rows]
        out[level] = gpd.GeoDataFrame({
            "code": [c for c, _, _ in rows],
            "parent_code": [p for _, p, _ in rows],
            "name_th": [a.name_th for a in names],
            "name_en": [a.name_en for a in names],
        }, geometry=[g for _, _, g in rows], crs="EPSG:4326")
    return out


def pilots() -> pd.DataFrame:
    """The two pilots in the contract's pilot columns."""
    return conform_pilots(PILOTS)


def two_rounds() -> pd.DataFrame:
    """The 71 households as round 2023 and a made-up earlier round 2021 (``geo.synth.rounds``,
    seeded): most followed with lower scores before, some new in 2023, some not found again."""
    from geo.synth.rounds import with_earlier_round

    return with_earlier_round(households(), year_from=2021, year_to=2023, seed=3, new_share=0.2,
                              not_found_share=0.15, moved_share=0.0)


def write_data_dir(root: Path, *, rounds: int = 1) -> Path:
    """Write the tiny world as a ``PPAP_DATA_DIR``: boundaries, manifest, synthetic sample
    (one round, 2023, or with ``rounds=2`` also 2021: :func:`two_rounds`), pilots."""
    (root / "boundaries").mkdir(parents=True, exist_ok=True)
    (root / "samples").mkdir(parents=True, exist_ok=True)
    levels = {}
    for level, frame in boundaries().items():
        frame.to_parquet(root / "boundaries" / f"{level}.parquet")
        levels[level] = {"count": len(frame), "unmatched": []}
    (root / "boundaries" / "manifest.json").write_text(json.dumps(
        {"source": "tiny test world", "attribution": ATTRIBUTION, "licence": "CC BY-IGO 3.0",
         "installed_at": "2026-11-21T00:00:00+00:00", "levels": levels}), encoding="utf-8")
    table = pa.Table.from_pandas(households() if rounds == 1 else two_rounds(), preserve_index=False)
    metadata = {"synthetic": True, "seed": 7, "created": "2026-11-21T00:00:00+00:00"}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"synthetic": b"true",
                                           b"ppap_sample": json.dumps(metadata).encode()})
    pq.write_table(table, root / "samples" / "households.parquet")
    pilots().to_csv(root / "samples" / "pilots.csv", index=False)
    return root
