"""Two-round households for the mobility tests: random households plus an earlier round
(:func:`geo.synth.rounds.with_earlier_round`), and hand-made frames one row per household and round."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.contract import CAPITAL_COLUMNS, DEPRIVATION_COLUMNS, conform_households
from geo.synth.households import random_households
from geo.synth.rounds import with_earlier_round


def two_rounds(n: int = 3000, *, seed: int = 1, moved_share: float = 0.01, **options) -> pd.DataFrame:
    """``n`` random households in 2023 (CE) and an earlier 2021 round; clustered so H3 cells fill."""
    later = random_households(n, seed=seed, cluster_km=1.0)
    return with_earlier_round(later, seed=seed + 1, moved_share=moved_share, **options)


def rows(records: list[dict]) -> pd.DataFrame:
    """Contract households from short records: ``id``, ``year``, ``sub`` (6 digits), ``level``,
    ``score`` (all five capitals; a dict for some), optional ``pilot``, ``lat``, ``lon``, ``members``."""
    out = []
    for r in records:
        scores = r.get("score", 2.0)
        scores = scores if isinstance(scores, dict) else {c: scores for c in CAPITAL_COLUMNS}
        out.append({
            "household_id": r["id"], "survey_year": r["year"], "province_code": r["sub"][:2],
            "district_code": r["sub"][:4], "subdistrict_code": r["sub"],
            "lat": r.get("lat", 16.43), "lon": r.get("lon", 103.5), "members": r.get("members", 4),
            **{c: scores.get(c, 2.0) for c in CAPITAL_COLUMNS}, "poverty_level": r["level"],
            "in_tpmap": True, "verified": True, **{c: False for c in DEPRIVATION_COLUMNS},
            "assistance_status": "none", "pilot_id": r.get("pilot"),
        })
    return conform_households(pd.DataFrame(out))


def naive_counts(pairs: pd.DataFrame, key: np.ndarray, threshold: float) -> pd.DataFrame:
    """The exact mobility counts by ``key`` (one value per pair), computed the slow, obvious way."""
    frame = pd.DataFrame({
        "key": key, "status": pairs["status"].astype(str).to_numpy(),
        "lf": pairs["level_from"].to_numpy(dtype="float64", na_value=np.nan),
        "lt": pairs["level_to"].to_numpy(dtype="float64", na_value=np.nan),
    })
    f = frame["status"] == "followed"
    frame["households_from"] = frame["status"] != "new"
    frame["households_to"] = frame["status"] != "not_found"
    frame["followed"] = f
    frame["new"] = frame["status"] == "new"
    frame["not_found"] = frame["status"] == "not_found"
    frame["up"] = f & (frame["lt"] > frame["lf"])
    frame["same"] = f & (frame["lt"] == frame["lf"])
    frame["down"] = f & (frame["lt"] < frame["lf"])
    frame["escaped"] = f & (frame["lf"] <= 2) & (frame["lt"] >= 3)
    frame["fell"] = f & (frame["lf"] >= 3) & (frame["lt"] <= 2)
    for a in range(1, 5):
        for b in range(1, 5):
            frame[f"l{a}_to_l{b}"] = f & (frame["lf"] == a) & (frame["lt"] == b)
    for capital in ("human", "physical", "natural", "financial", "social"):
        change = pairs[f"{capital}_change"].to_numpy(dtype="float64")
        frame[f"{capital}_improved"] = f & (change >= threshold - 1e-6)
        frame[f"{capital}_worse"] = f & (change <= -threshold + 1e-6)
        frame[f"{capital}_same"] = f & (np.abs(change) < threshold - 1e-6)
        frame[f"{capital}_change"] = np.where(f, change, np.nan)
    counts = frame.drop(columns=["status", "lf", "lt"]).groupby("key").agg(
        {c: ("mean" if c.endswith("_change") else "sum") for c in frame.columns if c not in ("key", "status", "lf", "lt")})
    return counts.rename(columns={f"{c}_change": f"{c}_mean_change"
                                  for c in ("human", "physical", "natural", "financial", "social")})
