"""A tiny world for the map-view and export tests: one province of three box districts, one of
which holds only 3 households (so it must be withheld everywhere), and a second province.

Layout (lon, lat; every area a box; real DOPA codes so names come from the DOPA list)::

    province 46 (Kalasin)  103.0-104.2 x 16.0-17.0
        4601 Mueang Kalasin  103.0-103.4   -> 460101: 40 households, levels mixed
        4602 Na Mon          103.4-103.8   -> 460201:  3 households, all level 1 (withheld: "small")
        4609 Sahatsakhan     103.8-104.2   -> 460901: 25 households (withheld: "complementary")
    province 34 (Ubon)     104.5-105.5 x 15.0-16.0
        3401                               -> 340101: 30 households

The 3 households of Na Mon are all at level 1 and deprived in every capital, so their unprotected
figures (100% at levels 1-2, MPI 1.000) are values no other area has: the tests look for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.data.contract import conform_households

ATTRIBUTION = "Boundaries: RTSD / OCHA (CC BY-IGO) — export test world"
SMALL_DISTRICT = "4602"
SMALL_NAME_TH = "นามน"

AREAS = {
    "province": [("46", "", box(103.0, 16.0, 104.2, 17.0)), ("34", "", box(104.5, 15.0, 105.5, 16.0))],
    "district": [("4601", "46", box(103.0, 16.0, 103.4, 17.0)), ("4602", "46", box(103.4, 16.0, 103.8, 17.0)),
                 ("4609", "46", box(103.8, 16.0, 104.2, 17.0)), ("3401", "34", box(104.5, 15.0, 105.5, 16.0))],
    "subdistrict": [("460101", "4601", box(103.0, 16.0, 103.4, 17.0)),
                    ("460201", "4602", box(103.4, 16.0, 103.8, 17.0)),
                    ("460901", "4609", box(103.8, 16.0, 104.2, 17.0)),
                    ("340101", "3401", box(104.5, 15.0, 105.5, 16.0))],
}
#: (subdistrict, households, centre lon, centre lat)
GROUPS = [("460101", 40, 103.2, 16.5), ("460201", 3, 103.6, 16.5), ("460901", 25, 104.0, 16.5),
          ("340101", 30, 105.0, 15.5)]


def households() -> pd.DataFrame:
    """The 98 households in the contract's columns (deterministic)."""
    rng = np.random.default_rng(11)
    rows = []
    n = 0
    for sub, count, lon, lat in GROUPS:
        small = sub[:4] == SMALL_DISTRICT
        for i in range(count):
            n += 1
            level = 1 if small else (1, 2, 2, 3, 4)[i % 5]
            base = {1: 1.3, 2: 2.0, 3: 2.8, 4: 3.5}[level]
            scores = np.clip(base + rng.normal(0, 0.1, 5), 1.0, 4.0).round(2)
            if small:
                scores[:] = 1.2
            rows.append({
                "household_id": f"H{n:03d}", "survey_year": 2023,
                "province_code": sub[:2], "district_code": sub[:4], "subdistrict_code": sub,
                "village_no": 1, "lat": lat + 0.02 * ((i % 7) - 3), "lon": lon + 0.02 * ((i % 5) - 2),
                "members": 1 + i % 6, "income_per_capita_year": 20000.0 + 100 * i,
                "capital_human": scores[0], "capital_physical": scores[1], "capital_natural": scores[2],
                "capital_financial": scores[3], "capital_social": scores[4],
                "poverty_level": level, "in_tpmap": i % 4 != 0, "verified": i % 2 == 0,
                "dep_health": i % 3 == 0, "dep_living": i % 5 == 0, "dep_education": False,
                "dep_income": i % 2 == 1, "dep_access": i % 7 == 0,
                "assistance_status": ("none", "referred", "in_progress", "helped", "self_resolved")[i % 5],
                "pilot_id": None, "national_id_hash": None,
            })
    return conform_households(pd.DataFrame(rows))


def boundaries() -> dict:
    """The boxes as display boundaries by level, plus ``context`` (every province)."""
    import geopandas as gpd
    import geothai

    lookup = {"province": geothai.province, "district": geothai.district, "subdistrict": geothai.subdistrict}
    out = {}
    for level, rows in AREAS.items():
        names = [lookup[level](code) for code, _, _ in rows]
        out[level] = gpd.GeoDataFrame({
            "code": [c for c, _, _ in rows], "parent_code": [p for _, p, _ in rows],
            "name_th": [a.name_th for a in names], "name_en": [a.name_en for a in names],
        }, geometry=[g for _, _, g in rows], crs="EPSG:4326")
    out["context"] = out["province"][["code", "geometry"]].copy()
    return out


def write_inputs(root) -> tuple:
    """Write the world as files the command line reads: (households parquet, boundaries folder)."""
    import json
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    (root / "boundaries").mkdir(parents=True, exist_ok=True)
    for level, frame in boundaries().items():
        if level != "context":
            frame.to_parquet(root / "boundaries" / f"{level}.parquet")
    (root / "boundaries" / "manifest.json").write_text(json.dumps({"attribution": ATTRIBUTION}), encoding="utf-8")
    table = pa.Table.from_pandas(households(), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"synthetic": b"true"})
    path = root / "households.parquet"
    pq.write_table(table, path)
    return path, root / "boundaries"


@pytest.fixture(scope="module")
def index():
    """The households indexed (a fixture: import it into a test module to use it)."""
    from geo.engine.aggregate import index_households

    return index_households(households())


@pytest.fixture(scope="module", name="boundaries")
def boundaries_fixture():
    """:func:`boundaries` as a fixture."""
    return boundaries()
