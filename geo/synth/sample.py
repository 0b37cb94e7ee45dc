"""The synthetic sample: ``python -m geo sample`` and the model behind it.

The sample is **synthetic**: no row describes a real household. It exists so the app, its tests
and its demos have realistic data to show without holding anyone's personal data. Its files carry
that label (``"synthetic": true`` in the parquet key-value metadata and in
``sample_manifest.json``) so every page and export can say so.

Published figures reproduced exactly (docs/DOMAIN.md; at the default size)
----------------------------------------------------------------------
- 231,021 households and 1,039,584 people across the 20 pilot provinces (PPPConnext, 13 June 2023);
- in Kalasin (46), 11,875 households with 51,034 people *not* in TPMAP (``in_tpmap`` False);
- in Sahatsakhan (4609) and Na Mon (4602) together, 958 households, all ``verified``;
- in the 2021 round, 140,045 households and 637,599 people.

Model, in the order it runs (every step is whole-array numpy, seeded; see :func:`generate_sample`)
------------------------------------------------------------------------------------------------
1. **Areas.** The subdistricts of the 20 pilot provinces come from ``geothai``; households go only
   where the installed boundaries have a polygon (a district with no subdistrict polygon at all
   falls back to its district polygon). Households keep to the part of their subdistrict that is
   also inside the district polygon (levels simplified one by one do not nest exactly), so a
   point agrees with both its declared subdistrict and district. See
   :func:`geo.synth.places.build_areas`.
2. **Counts.** Kalasin is given 18,000 households (not a published figure: chosen so the 11,875
   missed by TPMAP are about two thirds of it), of which 958 in the two pilot districts. The other
   households are split over the other 19 provinces by number of subdistricts times a regional
   factor (north-east 1.0, deep south 1.15, Phatthalung 0.9, north 0.85, Chai Nat 0.7), then over
   districts and subdistricts by random log-normal weights. All splits use largest-remainder
   rounding, so totals are exact.
3. **Villages.** Each subdistrict has 4-20 villages (หมู่, Poisson around 10) with log-normal
   sizes; a village centre is a uniform random point inside the polygon, and its households are
   scattered around it (Gaussian, ~330 m) without leaving the polygon.
4. **Planted errors.** 0.5% of households (:data:`PLANTED_SHARE`, exact count, never in the two
   pilot districts) are placed just outside their declared subdistrict, within ~1 km, inside a
   touching subdistrict of another district and outside the declared district's polygon too.
   They are ``verified`` False. Verification should flag exactly these. Every other household
   lies inside its declared subdistrict polygon (coordinates are rounded to 6 decimals *before*
   that is checked, so rounding never moves a point across a border).
5. **Capitals.** Five scores per household, ``mean + why-poor tilt + shared standing + own
   noise``, clipped to 1.0-4.0 and rounded to 2 decimals. Means follow the field pattern: physical
   2.50 highest, social 2.30, human 2.20, natural 1.95 and financial 1.85 lowest. The *why-poor
   tilt* (:func:`_capital_tilts`, its own random stream) moves which capital a place lacks: a
   smooth random field per capital over village centres (s.d. 0.35, correlated over ~60 km),
   regional tilts (north-east uplands natural, northern hills physical, deep south human, central
   plains and Phatthalung financial) and remoteness (physical falls with distance from the
   province's Mueang district), centred over the five capitals so a household's mean score, and
   so its level, is not moved. Neighbouring districts therefore tend to lack the same capital,
   and every capital is the dominant deficit somewhere (:mod:`geo.synth.pattern` measures it). The
   shared standing adds province, district and village effects. Levels come from
   :func:`geo.data.contract.poverty_level_from_scores`: about 68% level 2, 12% level 1, 19% level
   3, well under 1% level 4.
6. **Income.** Log-normal around the 2023 poverty line (3,043 baht/person/month = 36,516 a year),
   rising with standing and financial capital; about half the households fall below it.
7. **Deprivations.** TPMAP's five dimensions: income is the Basic Minimum Needs criterion
   (under 38,000 baht/person/year); health and education follow human capital, living
   conditions physical capital, access to public services social and natural capital
   (logistic). A household in TPMAP is deprived in at least one dimension; one not in TPMAP has
   its five ``dep_*`` unknown (NA): TPMAP never assessed it.
8. **TPMAP.** In Kalasin exactly 11,875 households are not in TPMAP, drawn with weights favouring
   households with fewer recorded deprivations (the ones state data tends to miss); elsewhere a
   household is in TPMAP with probability 0.45 + 0.1 per deprivation.
9. **Members.** ``1 + Poisson(3.5)``, at most 12, then nudged one at a time (at random) until the
   people totals are exact: 51,034 in Kalasin's not-in-TPMAP group, the rest elsewhere.
10. **Verification and assistance.** All 958 households of the pilot districts are verified;
    elsewhere about 62% (75% in Kalasin). Statuses mix none / referred / in progress / helped /
    resolved by the household, with unverified households mostly not yet helped.
11. **Pilots.** The two real pilots, straw mushrooms in Sahatsakhan and shared vegetable plots in
    Na Mon (Kalasin University), plus eight illustrative ones (``illustrative`` True) in other
    pilot provinces. Each sits at a village centre of its district and enrols the households
    nearest to it (``pilot_id``). Targets and start years of all pilots are illustrative.
12. **Identity.** ``household_id`` is ``<province>-<7 digits>`` in geographic order;
    ``survey_year`` 2023; ``national_id_hash`` empty: a sample holds no IDs.
13. **The 2021 round** (:func:`_earlier_round`; ``earlier_round=False`` leaves it out, as the
    national data set does): 140,045 households / 637,599 people (scaled with ``households``).
    91% of them (:data:`FOLLOWED_SHARE`) are 2023 households surveyed again with the same
    ``household_id``, drawn with a propensity varying by district (every pilot participant is
    followed); their 2021 capital scores are the 2023 ones minus a change made of the district's
    pace, the household's fortune and noise per capital, plus :data:`PILOT_GAIN` on the capitals
    of a participant's project (:data:`PILOT_KIND_CAPITALS`). The rest were not found again
    (``<province>-9xxxxxx``), placed in the village of a 2023 household like them. Its rows come
    first in the frame; the 2023 rows are the same with or without it (the random streams are
    seeded by :data:`STREAM_VERSION`, not by :data:`GENERATOR_VERSION`).

Smaller samples (``households=N``) scale every published figure by ``N / 231,021`` (rounded) and
keep the same model; they exist for fast tests.

Other provinces (``per_province={code: households}``) run the same model over any of the 77
provinces with the given counts instead of step 2's province split (regional factor 1.0 outside
the pilot provinces); Kalasin's figures then scale with the households given to Kalasin, and only
the pilots of the provinces present are placed. :mod:`geo.synth.national` builds the 13-million-household
national data set this way, a batch of provinces at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo.data import paths
from geo.data.contract import (
    ASSISTANCE_STATUSES,
    CAPITAL_COLUMNS,
    CAPITALS,
    DEPRIVATION_COLUMNS,
    PILOT_PROVINCES,
    check_households,
    conform_households,
    conform_pilots,
    poverty_level_from_scores,
)
from geo.errors import ArgumentError, BoundaryError, PPAPError
from geo.synth.places import (
    adjust_to_total,
    allocate_exact,
    allocate_exact_grouped,
    build_areas,
    choose_exact,
    plant_outside,
    plant_regions,
    sample_points_in,
    scatter_around,
)
from geo.data.store import METADATA_KEY, SYNTHETIC_KEY

#: Bump whenever the output for a given seed and boundaries changes.
GENERATOR_VERSION = "3"
#: Part of every random stream's seed; kept at 1 when version 2 added the 2021 round (so its 2023 round
#: was version 1's) and when version 3 added the why-poor pattern from a 17th stream (so places, ids,
#: pilots and every other draw are as before; only what follows from the capitals changed). Bump it
#: only to change every draw on purpose.
STREAM_VERSION = 1
#: The default seed: the date of the PPPConnext count the sample reproduces.
DEFAULT_SEED = 20230613
SURVEY_YEAR = 2023
#: The earlier round of the sample (พ.ศ. 2564): 140,045 households / 637,599 people (PPPConnext).
EARLIER_YEAR = 2021
EARLIER_HOUSEHOLDS = 140_045
EARLIER_PEOPLE = 637_599
#: Share of the earlier round's households surveyed again in the later round (same household_id).
FOLLOWED_SHARE = 0.91
#: Capitals each pilot kind works on: its participants gain more on these between the rounds.
PILOT_KIND_CAPITALS: dict[str, tuple[str, ...]] = {
    "mushroom": ("financial", "human"),
    "vegetables": ("natural", "financial"),
    "rice": ("natural", "financial"),
    "livestock": ("financial", "physical"),
    "fishery": ("natural", "financial"),
    "crafts": ("human", "social"),
    "insects": ("financial",),
}
#: Extra gain, in score points, on the capitals of a participant's project (a project started in the
#: later round's year gains half; one started after it, nothing).
PILOT_GAIN = 0.40

HOUSEHOLDS_FILE = "households.parquet"
PILOTS_FILE = "pilots.csv"
MANIFEST_FILE = "sample_manifest.json"

KALASIN = "46"
#: Sahatsakhan and Na Mon, Kalasin's two pilot districts.
PILOT_DISTRICTS: tuple[str, ...] = ("4609", "4602")

POVERTY_LINE_MONTH = 3_043  # baht/person/month, 2023
POVERTY_LINE_YEAR = POVERTY_LINE_MONTH * 12  # 36,516
BMN_INCOME_YEAR = 38_000  # Basic Minimum Needs income criterion, baht/person/year

#: Share of households planted just outside their declared subdistrict.
PLANTED_SHARE = 0.005
MEMBERS_MIN, MEMBERS_MAX = 1, 12

#: Capital score means, in contract order (human, physical, natural, financial, social).
CAPITAL_MEANS = np.array([2.20, 2.50, 1.95, 1.85, 2.30])
#: The "why poor" pattern (:func:`_capital_tilts`): the smooth random field's s.d. per capital (score
#: points), its correlation length (km) and number of random Fourier features.
PATTERN_FIELD_SD = 0.35
PATTERN_LENGTH_KM = 60.0
PATTERN_FEATURES = 64
#: Regional tilts of the capitals, in score points (before centring over the five): dry north-east
#: uplands lack natural capital (soil, water), the northern hills physical (roads, housing), the deep
#: south human capital (schooling, health), the central plains and Phatthalung financial (farm debt).
REGION_DEFICIT: dict[str, dict[str, float]] = {
    **{p: {"natural": -0.15} for p in ("46", "49", "35", "33", "47", "32", "37", "31", "30", "42", "45", "34")},
    **{p: {"physical": -0.40} for p in ("52", "65")},
    "58": {"physical": -0.70},
    **{p: {"human": -0.35} for p in ("94", "95", "96")},
    **{p: {"financial": -0.15} for p in ("93", "18")},
}
#: Physical capital lost per 100 km from the province's Mueang district (up to 150 km).
REMOTE_PHYSICAL_PER_100KM = 0.35
#: Regional factors for splitting households across provinces (per subdistrict).
REGION_FACTOR: dict[str, float] = {
    **{p: 1.0 for p in ("46", "49", "35", "33", "47", "32", "37", "31", "30", "42", "45", "34")},
    **{p: 1.15 for p in ("94", "95", "96")},
    "93": 0.9,
    **{p: 0.85 for p in ("52", "58", "65")},
    "18": 0.7,
}


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleTargets:
    """The figures a sample must hit exactly.

    The defaults are the published figures (docs/DOMAIN.md), except ``kalasin_households``, which is
    the generator's own choice (no total for Kalasin is published).
    """

    households: int = 231_021
    people: int = 1_039_584
    kalasin_households: int = 18_000
    kalasin_not_in_tpmap_households: int = 11_875
    kalasin_not_in_tpmap_people: int = 51_034
    pilot_district_households: int = 958

    @classmethod
    def for_provinces(cls, per_province: Mapping[str, int]) -> SampleTargets:
        """Targets for households split over provinces as given: people at the sample's 4.5 per
        household, Kalasin's figures scaled with Kalasin's households (all 0 without Kalasin).

        Example
        -------
        >>> SampleTargets.for_provinces({"46": 36_000, "10": 64_000}).kalasin_not_in_tpmap_households
        23750
        """
        full = cls()
        households = int(sum(per_province.values()))
        kalasin = int(per_province.get(KALASIN, 0))
        scale = kalasin / full.kalasin_households
        missed = round(full.kalasin_not_in_tpmap_households * scale)
        return cls(
            households=households,
            people=round(full.people * households / full.households),
            kalasin_households=kalasin,
            kalasin_not_in_tpmap_households=missed,
            kalasin_not_in_tpmap_people=min(max(round(full.kalasin_not_in_tpmap_people * scale), missed),
                                            MEMBERS_MAX * missed),
            pilot_district_households=round(full.pilot_district_households * scale),
        )

    @classmethod
    def for_households(cls, households: int | None = None) -> SampleTargets:
        """Targets for a sample of ``households`` rows: the published figures scaled to it.

        Parameters
        ----------
        households : int, optional
            Sample size; ``None`` gives the published figures unchanged.

        Raises
        ------
        ValueError
            When ``households`` is below 100 (too small to keep the figures consistent).

        Example
        -------
        >>> SampleTargets.for_households(2_310).kalasin_not_in_tpmap_households
        119
        """
        full = cls()
        if households is None or households == full.households:
            return full
        if households < 100:
            raise ArgumentError(f"households must be at least 100 (or None for the full sample), got {households}")
        scale = households / full.households
        missed = round(full.kalasin_not_in_tpmap_households * scale)
        missed_people = min(max(round(full.kalasin_not_in_tpmap_people * scale), missed), MEMBERS_MAX * missed)
        return cls(
            households=households,
            people=round(full.people * scale),
            kalasin_households=round(full.kalasin_households * scale),
            kalasin_not_in_tpmap_households=missed,
            kalasin_not_in_tpmap_people=missed_people,
            pilot_district_households=round(full.pilot_district_households * scale),
        )


@dataclass
class Sample:
    """A generated sample: households, pilots and the metadata stored with them."""

    households: pd.DataFrame
    pilots: pd.DataFrame
    metadata: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Pilots
# ---------------------------------------------------------------------------------------------

#: The two real pilots (docs/DOMAIN.md) and eight illustrative ones. ``district_code`` None means the
#: generator picks a district of that province.
PILOT_SPECS: tuple[dict, ...] = (
    dict(province_code="46", district_code="4609", kind="mushroom",
         name_th="เห็ดฟางเงินล้านแก้จน", name_en="Million-baht straw mushrooms against poverty",
         university="Kalasin University / มหาวิทยาลัยกาฬสินธุ์", start_year=2022, households_target=120,
         illustrative=False),
    dict(province_code="46", district_code="4602", kind="vegetables",
         name_th="ปลูกผักแก้จน", name_en="Shared-plot vegetables against poverty",
         university="Kalasin University / มหาวิทยาลัยกาฬสินธุ์", start_year=2022, households_target=100,
         illustrative=False),
    dict(province_code="52", district_code=None, kind="rice",
         name_th="ข้าวอินทรีย์แก้จน", name_en="Organic rice against poverty",
         university="Lampang Rajabhat University / มหาวิทยาลัยราชภัฏลำปาง", start_year=2022,
         households_target=80, illustrative=True),
    dict(province_code="49", district_code=None, kind="livestock",
         name_th="โคขุนแก้จน", name_en="Fattened cattle against poverty",
         university="Ubon Ratchathani University / มหาวิทยาลัยอุบลราชธานี", start_year=2023,
         households_target=60, illustrative=True),
    dict(province_code="45", district_code=None, kind="livestock",
         name_th="ไก่พื้นเมืองแก้จน", name_en="Native chickens against poverty",
         university="Roi Et Rajabhat University / มหาวิทยาลัยราชภัฏร้อยเอ็ด", start_year=2022,
         households_target=90, illustrative=True),
    dict(province_code="93", district_code=None, kind="fishery",
         name_th="ปลาน้ำจืดแก้จน", name_en="Freshwater fish farming against poverty",
         university="Thaksin University / มหาวิทยาลัยทักษิณ", start_year=2023,
         households_target=70, illustrative=True),
    dict(province_code="94", district_code=None, kind="fishery",
         name_th="ประมงพื้นบ้านแก้จน", name_en="Small-scale coastal fishing against poverty",
         university="Prince of Songkla University, Pattani Campus / มหาวิทยาลัยสงขลานครินทร์ วิทยาเขตปัตตานี",
         start_year=2022, households_target=100, illustrative=True),
    dict(province_code="32", district_code=None, kind="crafts",
         name_th="ผ้าไหมแก้จน", name_en="Silk weaving against poverty",
         university="Surindra Rajabhat University / มหาวิทยาลัยราชภัฏสุรินทร์", start_year=2023,
         households_target=75, illustrative=True),
    dict(province_code="95", district_code=None, kind="crafts",
         name_th="ผ้าบาติกแก้จน", name_en="Batik cloth against poverty",
         university="Yala Rajabhat University / มหาวิทยาลัยราชภัฏยะลา", start_year=2023,
         households_target=50, illustrative=True),
    dict(province_code="34", district_code=None, kind="insects",
         name_th="เลี้ยงจิ้งหรีดแก้จน", name_en="Cricket farming against poverty",
         university="Ubon Ratchathani University / มหาวิทยาลัยอุบลราชธานี", start_year=2024,
         households_target=60, illustrative=True),
)
#: Share of a pilot's target that is enrolled in the sample.
ENROLMENT_RATE = 0.85


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def generate_sample(
    *,
    seed: int = DEFAULT_SEED,
    households: int | None = None,
    boundaries_dir: Path | None = None,
    boundaries: Mapping[str, pd.DataFrame] | None = None,
    per_province: Mapping[str, int] | None = None,
    earlier_round: bool = True,
) -> Sample:
    """Generate the synthetic sample in memory.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed and boundaries give identical frames.
    households : int, optional
        Number of households; ``None`` (default) gives the full published 231,021. Smaller
        values scale every figure (see :meth:`SampleTargets.for_households`).
    boundaries_dir : pathlib.Path, optional
        Installed boundaries to read with ``geo.data.boundaries.load_boundaries``; default
        :func:`geo.data.paths.boundaries_dir`.
    boundaries : mapping, optional
        ``{"district": frame, "subdistrict": frame}`` with columns ``code`` and ``geometry``
        (EPSG:4326), used instead of reading files (tests pass tiny squares here).
    per_province : mapping, optional
        ``{province_code: households}`` over any provinces, instead of the 20 pilot provinces and
        step 2's split (``households`` must then be None); see :meth:`SampleTargets.for_provinces`.
    earlier_round : bool, default True
        Also generate the 2021 round (step 13) before the 2023 rows; the 2023 rows are the same
        either way.

    Returns
    -------
    Sample
        Households (contract columns, checked), pilots (contract columns) and metadata.

    Raises
    ------
    BoundaryError
        When the boundaries are missing or lack the pilot districts.
    ValueError
        When ``seed`` is negative or ``households`` is too small.

    Example
    -------
    >>> sample = generate_sample(households=2_000, boundaries=tiny)  # doctest: +SKIP
    >>> len(sample.households)  # doctest: +SKIP
    2000
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"seed must be a non-negative integer, got {seed!r}")
    if per_province is not None:
        if households is not None:
            raise ArgumentError(f"give households or per_province, not both (households={households!r})")
        bad = {p: n for p, n in per_province.items() if not isinstance(n, (int, np.integer)) or n < 1}
        if not per_province or bad:
            raise ArgumentError(f"per_province must map province codes to positive counts, got {bad or per_province!r}")
        targets = SampleTargets.for_provinces(per_province)
    else:
        targets = SampleTargets.for_households(households)
    provinces = tuple(sorted(per_province)) if per_province is not None else PILOT_PROVINCES
    started = time.perf_counter()
    if boundaries is None:
        boundaries = _load_boundaries(boundaries_dir)
    areas = build_areas(provinces, boundaries["district"], boundaries["subdistrict"])
    pilot_districts = PILOT_DISTRICTS if KALASIN in provinces else ()
    missing = [d for d in pilot_districts if d not in set(areas["district_code"])]
    if missing:
        raise BoundaryError(f"boundaries have no polygon for the pilot districts {missing}")
    children = np.random.default_rng(np.random.SeedSequence([seed, STREAM_VERSION])).spawn(17)
    streams = iter(children[:16])  # the 17th (version 3) draws the "why poor" pattern: the others are as before

    hh = _place_households(areas, targets, per_province, next(streams), next(streams), next(streams))
    planted = _plant(hh, areas, targets, next(streams))
    tilt = _capital_tilts(hh, areas, children[16])
    caps, standing = _capitals(hh, tilt, next(streams))
    income = _income(standing, caps, next(streams))
    deps, dep_prob = _deprivations(caps, income, next(streams))
    in_tpmap = _tpmap(hh, deps, targets, next(streams))
    deps = _at_least_one_deprivation(deps, dep_prob, in_tpmap)
    members = _members(hh, in_tpmap, targets, next(streams))
    verified = _verified(hh, planted, next(streams))
    level = poverty_level_from_scores(caps.mean(axis=1))
    status = _assistance(verified, level, next(streams))
    pilots, pilot_id = _pilots(hh, areas, planted, next(streams))
    extra_streams = [next(streams) for _ in range(4)]

    frame = pd.DataFrame(
        {
            "household_id": hh["household_id"],
            "survey_year": SURVEY_YEAR,
            "province_code": hh["province_code"],
            "district_code": hh["district_code"],
            "subdistrict_code": hh["subdistrict_code"],
            "village_no": hh["village_no"],
            "lat": hh["lat"],  # already rounded to 6 decimals, before any inside test
            "lon": hh["lon"],
            "members": members,
            "income_per_capita_year": income,
            **{col: caps[:, k] for k, col in enumerate(CAPITAL_COLUMNS)},
            "poverty_level": level,
            "in_tpmap": in_tpmap,
            "verified": verified,
            **_tpmap_deprivations(deps, in_tpmap),
            "assistance_status": np.asarray(ASSISTANCE_STATUSES, dtype=object)[status],
            "pilot_id": pilot_id,
        }
    )
    frame = conform_households(frame)
    rounds_meta = {}
    if earlier_round:
        earlier, rounds_meta = _earlier_round(frame, hh, areas, caps, planted, pilots, targets, extra_streams)
        frame = pd.concat([earlier, frame], ignore_index=True)  # rounds in order: pushdown skips row groups
    check_households(frame)
    metadata = {
        "synthetic": True,
        "generator": "geo.synth.sample",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "households_requested": households,
        "survey_year": SURVEY_YEAR,
        "survey_years": [EARLIER_YEAR, SURVEY_YEAR] if earlier_round else [SURVEY_YEAR],
        "rounds": rounds_meta,
        "targets": asdict(targets),
        "planted_outside": int(planted.sum()),
        "planted_share": PLANTED_SHARE,
        "fallback_district_polygon_subdistricts": int((~areas["own_polygon"]).sum()),
        "generation_seconds": round(time.perf_counter() - started, 2),
    }
    return Sample(households=frame, pilots=pilots, metadata=metadata)


def _load_boundaries(directory: Path | None) -> dict[str, pd.DataFrame]:
    """Read district and subdistrict boundaries through ``geo.data.boundaries``."""
    from geo.data.boundaries import load_boundaries  # the installer's module; imported when needed

    return {level: load_boundaries(level, directory) for level in ("district", "subdistrict")}


def _place_households(
    areas: pd.DataFrame,
    targets: SampleTargets,
    per_province: Mapping[str, int] | None,
    rng_counts: np.random.Generator,
    rng_villages: np.random.Generator,
    rng_points: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Counts per area, villages, and a point per household (steps 1-3 of the model)."""
    province = areas["province_code"].to_numpy()
    district = areas["district_code"].to_numpy()
    n_areas = len(areas)

    # Provinces: as given, else Kalasin fixed and the rest by subdistricts x regional factor.
    others = [p for p in PILOT_PROVINCES if p != KALASIN]
    sub_count = pd.Series(province).value_counts()
    weights = np.array([sub_count.get(p, 0) * REGION_FACTOR[p] for p in others])
    weights = weights * rng_counts.lognormal(0.0, 0.1, len(others))
    if per_province is None:
        per_province = dict(zip(others, allocate_exact(targets.households - targets.kalasin_households, weights)))
        per_province[KALASIN] = targets.kalasin_households
    per_province = dict(per_province)

    # Districts: the two pilot districts share the 958; other districts share the rest.
    district_codes, district_of_area = np.unique(district, return_inverse=True)
    district_province = np.array([c[:2] for c in district_codes])
    district_areas = np.bincount(district_of_area, minlength=district_codes.size)
    district_w = district_areas * rng_counts.lognormal(0.0, 0.25, district_codes.size)
    is_pilot = np.isin(district_codes, PILOT_DISTRICTS)
    group = np.where(is_pilot, "pilot", district_province)
    group_totals = dict(per_province)
    if KALASIN in group_totals:
        group_totals[KALASIN] = targets.kalasin_households - targets.pilot_district_households
        group_totals["pilot"] = targets.pilot_district_households
    per_district = allocate_exact_grouped(group_totals, group, district_w)

    # Subdistricts.
    area_w = rng_counts.lognormal(0.0, 0.45, n_areas)
    per_area = allocate_exact_grouped(dict(zip(district_codes, per_district)), district, area_w)

    # Villages: 4-20 per subdistrict, never more than its households (at least one).
    n_villages = np.clip(rng_villages.poisson(10, n_areas), 4, 20)
    n_villages = np.maximum(np.minimum(n_villages, per_area), 1)
    village_area = np.repeat(np.arange(n_areas), n_villages)
    village_start = np.concatenate([[0], np.cumsum(n_villages)[:-1]])
    village_no = np.arange(village_area.size) - village_start[village_area] + 1
    village_w = rng_villages.lognormal(0.0, 0.5, village_area.size)
    area_total = np.bincount(village_area, weights=village_w)
    cum = np.cumsum(village_w) - np.repeat(np.cumsum(area_total) - area_total, n_villages)
    frac = cum / area_total[village_area]
    frac[village_start + n_villages - 1] = 1.0
    key = village_area + frac  # increasing: area a's villages cover (a, a + 1]
    hh_area = np.repeat(np.arange(n_areas), per_area)
    hh_village = np.searchsorted(key, hh_area + rng_villages.random(hh_area.size), side="right")
    order = np.lexsort((hh_village, hh_area))
    hh_area, hh_village = hh_area[order], hh_village[order]

    geoms = np.asarray(areas["geometry"], dtype=object)
    village_lon, village_lat = sample_points_in(geoms[village_area], rng_points)
    lon, lat = scatter_around(village_lon[hh_village], village_lat[hh_village], geoms[hh_area], rng_points)

    hh_province = province[hh_area]
    seq = np.arange(hh_area.size) - np.searchsorted(hh_province, hh_province, side="left") + 1
    # Areas are sorted by subdistrict code, so provinces come in code order and seq restarts at 1.
    household_id = np.char.add(np.char.add(hh_province.astype("U2"), "-"), np.char.zfill(seq.astype("U7"), 7))
    return {
        "area": hh_area,
        "village": hh_village,
        "village_lon": village_lon,
        "village_lat": village_lat,
        "village_area": village_area,
        "household_id": household_id.astype(object),
        "province_code": hh_province,
        "district_code": district[hh_area],
        "subdistrict_code": areas["subdistrict_code"].to_numpy()[hh_area],
        "village_no": village_no[hh_village],
        "lon": lon,
        "lat": lat,
    }


def _plant(
    hh: dict[str, np.ndarray], areas: pd.DataFrame, targets: SampleTargets, rng: np.random.Generator
) -> np.ndarray:
    """Move an exact :data:`PLANTED_SHARE` of households just outside their subdistrict (step 4)."""
    offsets, _neighbours, regions = plant_regions(areas)
    n_choices = np.diff(offsets)
    area = hh["area"]
    eligible = np.flatnonzero((n_choices[area] > 0) & ~np.isin(hh["district_code"], PILOT_DISTRICTS))
    n_planted = min(round(PLANTED_SHARE * targets.households), eligible.size)
    chosen = np.sort(rng.choice(eligible, size=n_planted, replace=False))
    pick = offsets[area[chosen]] + (rng.random(n_planted) * n_choices[area[chosen]]).astype("int64")
    excluded = np.asarray(areas["subdistrict_geometry"], dtype=object)[area[chosen]]
    lon, lat = plant_outside(regions[pick], excluded, rng)
    hh["lon"][chosen], hh["lat"][chosen] = lon, lat
    planted = np.zeros(area.size, dtype=bool)
    planted[chosen] = True
    return planted


def _capital_tilts(hh: dict[str, np.ndarray], areas: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Why each village is poor (step 5): a tilt per village and capital, shape (villages, 5).

    The sum of three parts, then centred over the five capitals (so it moves which capital is
    lacking, not how poor a household is overall): a smooth random field per capital over the
    village centres (:data:`PATTERN_FIELD_SD`, correlated over about :data:`PATTERN_LENGTH_KM`; random
    Fourier features: a function of position, cheap for any number of villages), a regional tilt (:data:`REGION_DEFICIT`), and remoteness: physical capital
    falls with the distance from the province's Mueang district (:data:`REMOTE_PHYSICAL_PER_100KM`).
    """
    lon, lat = hh["village_lon"], hh["village_lat"]
    x = np.column_stack([lon * 111.32 * np.cos(np.radians(15.0)), lat * 110.57])  # km, near Thailand
    n_caps, k = len(CAPITALS), PATTERN_FEATURES
    omega = rng.normal(0.0, 1.0 / PATTERN_LENGTH_KM, (n_caps, k, 2))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n_caps, k))
    field = np.stack([np.cos(x @ omega[c].T + phase[c]).sum(axis=1) for c in range(n_caps)], axis=1)
    tilt = PATTERN_FIELD_SD * np.sqrt(2.0 / k) * field

    village_province = areas["province_code"].to_numpy()[hh["village_area"]]
    for province, shifts in REGION_DEFICIT.items():
        here = village_province == province
        for capital, shift in shifts.items():
            tilt[here, CAPITALS.index(capital)] += shift

    # Remoteness: distance from the centre of the province's Mueang district (<province>01), or of
    # the province's villages when it has none.
    village_district = areas["district_code"].to_numpy()[hh["village_area"]]
    distance = np.zeros(lon.size)
    for province in np.unique(village_province):
        here = village_province == province
        centre = here & (village_district == f"{province}01")
        centre = centre if centre.any() else here
        distance[here] = np.hypot(*(x[here] - x[centre].mean(axis=0)).T)
    tilt[:, CAPITALS.index("physical")] -= REMOTE_PHYSICAL_PER_100KM * np.minimum(distance, 150.0) / 100.0
    return tilt - tilt.mean(axis=1, keepdims=True)


def _capitals(hh: dict[str, np.ndarray], tilt: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Five capital scores and the household's shared standing (step 5); ``tilt`` per village."""
    n = hh["area"].size
    _, province_idx = np.unique(hh["province_code"], return_inverse=True)
    _, district_idx = np.unique(hh["district_code"], return_inverse=True)
    standing = (
        rng.normal(0.0, 0.10, province_idx.max() + 1)[province_idx]
        + rng.normal(0.0, 0.08, district_idx.max() + 1)[district_idx]
        + rng.normal(0.0, 0.12, hh["village_area"].size)[hh["village"]]
        + rng.normal(0.0, 0.30, n)
    )
    raw = CAPITAL_MEANS + tilt[hh["village"]] + standing[:, None] + rng.normal(0.0, 0.30, (n, CAPITAL_MEANS.size))
    return np.round(np.clip(raw, 1.0, 4.0), 2), standing


def _income(standing: np.ndarray, caps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Income per member per year, log-normal around the poverty line (step 6)."""
    financial = caps[:, CAPITAL_COLUMNS.index("capital_financial")]
    log_income = (
        np.log(POVERTY_LINE_YEAR)
        + 0.02
        + 0.7 * standing
        + 0.4 * (financial - CAPITAL_MEANS[3])
        + rng.normal(0.0, 0.35, standing.size)
    )
    return np.round(np.clip(np.exp(log_income), 6_000, 400_000), -1)


def _deprivations(
    caps: np.ndarray, income: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """TPMAP deprivations correlated with the capitals (step 7); returns flags and probabilities."""
    human, physical, natural, _financial, social = caps.T
    prob = np.column_stack(
        [
            _logistic(-0.3 + 2.2 * (2.0 - human)),  # health
            _logistic(-0.3 + 2.2 * (2.3 - physical)),  # living conditions
            _logistic(-0.6 + 2.2 * (1.9 - human)),  # education
            (income < BMN_INCOME_YEAR).astype(float),  # income: the BMN criterion itself
            _logistic(-0.3 + 2.2 * (1.9 - (social + natural) / 2)),  # access to public services
        ]
    )
    return rng.random(prob.shape) < prob, prob


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _tpmap(
    hh: dict[str, np.ndarray], deps: np.ndarray, targets: SampleTargets, rng: np.random.Generator
) -> np.ndarray:
    """Whether each household is in TPMAP (step 8): exact count missed in Kalasin."""
    n_deps = deps.sum(axis=1)
    in_tpmap = rng.random(n_deps.size) < np.minimum(0.45 + 0.1 * n_deps, 0.95)
    kalasin = np.flatnonzero(hh["province_code"] == KALASIN)
    missed = choose_exact(1.0 / (1.0 + n_deps[kalasin]), targets.kalasin_not_in_tpmap_households, rng)
    in_tpmap[kalasin] = ~missed
    return in_tpmap


def _at_least_one_deprivation(deps: np.ndarray, prob: np.ndarray, in_tpmap: np.ndarray) -> np.ndarray:
    """A TPMAP household is deprived in at least one dimension: add its likeliest one."""
    out = deps.copy()
    fix = np.flatnonzero(in_tpmap & ~out.any(axis=1))
    out[fix, np.argmax(prob[fix], axis=1)] = True
    return out


def _tpmap_deprivations(deps: np.ndarray, in_tpmap: np.ndarray) -> dict[str, pd.arrays.BooleanArray]:
    """The ``dep_*`` columns: TPMAP's flags for a household in TPMAP, unknown (NA) for one not in
    it (TPMAP never assessed it)."""
    return {column: pd.arrays.BooleanArray(deps[:, k].copy(), ~in_tpmap) for k, column in enumerate(DEPRIVATION_COLUMNS)}


def _members(
    hh: dict[str, np.ndarray], in_tpmap: np.ndarray, targets: SampleTargets, rng: np.random.Generator
) -> np.ndarray:
    """Members per household with exact people totals (step 9)."""
    members = np.clip(1 + rng.poisson(3.5, in_tpmap.size), MEMBERS_MIN, MEMBERS_MAX)
    missed = (hh["province_code"] == KALASIN) & ~in_tpmap
    for mask, target in (
        (missed, targets.kalasin_not_in_tpmap_people),
        (~missed, targets.people - targets.kalasin_not_in_tpmap_people),
    ):
        members[mask] = adjust_to_total(members[mask], target, rng, low=MEMBERS_MIN, high=MEMBERS_MAX)
    return members


def _verified(hh: dict[str, np.ndarray], planted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Field verification (step 10): all in the pilot districts, none of the planted errors."""
    share = np.where(hh["province_code"] == KALASIN, 0.75, 0.62)
    verified = rng.random(planted.size) < share
    verified[np.isin(hh["district_code"], PILOT_DISTRICTS)] = True
    verified[planted] = False
    return verified


#: Probabilities of each assistance status (order of ASSISTANCE_STATUSES) by situation.
_STATUS_UNVERIFIED = np.array([0.70, 0.20, 0.10, 0.00, 0.00])
_STATUS_VERIFIED = np.array([0.15, 0.15, 0.25, 0.30, 0.15])
_STATUS_VERIFIED_LEVEL1 = np.array([0.10, 0.15, 0.30, 0.40, 0.05])


def _assistance(verified: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Assistance status index per household (step 10)."""
    table = np.where(
        verified[:, None],
        np.where((level == 1)[:, None], _STATUS_VERIFIED_LEVEL1, _STATUS_VERIFIED),
        _STATUS_UNVERIFIED,
    )
    cdf = np.cumsum(table, axis=1)
    u = rng.random(verified.size)[:, None]
    return np.minimum((u >= cdf).sum(axis=1), len(ASSISTANCE_STATUSES) - 1)


def _pilots(
    hh: dict[str, np.ndarray], areas: pd.DataFrame, planted: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Place the pilots and enrol the households nearest each one (step 11)."""
    pilot_id = np.full(planted.size, None, dtype=object)
    enrolled = np.zeros(planted.size, dtype=bool)
    village_households = np.bincount(hh["village"], minlength=hh["village_area"].size)
    village_district = areas["district_code"].to_numpy()[hh["village_area"]]
    used: set[str] = set()
    rows = []
    present = set(hh["province_code"].tolist())
    for number, spec in enumerate(PILOT_SPECS, start=1):
        if spec["province_code"] not in present:
            continue
        district_code = spec["district_code"] or _pick_district(hh, spec["province_code"], used, rng)
        used.add(district_code)
        villages = np.flatnonzero((village_district == district_code) & (village_households > 0))
        if villages.size:
            site = rng.choice(villages, p=village_households[villages] / village_households[villages].sum())
            lon, lat = hh["village_lon"][site], hh["village_lat"][site]
        else:  # a tiny sample may leave a district empty: use a point of the district
            geom = areas.loc[areas["district_code"] == district_code, "geometry"].iloc[0]
            point = shapely.point_on_surface(geom)
            lon, lat = point.x, point.y
        identifier = f"P{number:02d}-{district_code}"
        candidates = np.flatnonzero((hh["district_code"] == district_code) & ~planted & ~enrolled)
        n_enrol = min(round(spec["households_target"] * ENROLMENT_RATE), candidates.size // 2)
        if n_enrol:
            distance = np.hypot(
                (hh["lon"][candidates] - lon) * np.cos(np.radians(lat)), hh["lat"][candidates] - lat
            )
            nearest = candidates[np.argsort(distance, kind="stable")[:n_enrol]]
            pilot_id[nearest] = identifier
            enrolled[nearest] = True
        rows.append(
            {
                "pilot_id": identifier,
                "name_th": spec["name_th"],
                "name_en": spec["name_en"],
                "kind": spec["kind"],
                "university": spec["university"],
                "province_code": spec["province_code"],
                "district_code": district_code,
                "lat": round(float(lat), 6),
                "lon": round(float(lon), 6),
                "start_year": spec["start_year"],
                "households_target": spec["households_target"],
                "illustrative": spec["illustrative"],
            }
        )
    columns = ["pilot_id", "name_th", "name_en", "kind", "university", "province_code", "district_code",
               "lat", "lon", "start_year", "households_target", "illustrative"]
    return conform_pilots(pd.DataFrame(rows, columns=columns)), pilot_id


def _earlier_round(
    frame: pd.DataFrame,
    hh: dict[str, np.ndarray],
    areas: pd.DataFrame,
    caps: np.ndarray,
    planted: np.ndarray,
    pilots: pd.DataFrame,
    targets: SampleTargets,
    streams: list[np.random.Generator],
) -> tuple[pd.DataFrame, dict]:
    """The 2021 round (step 13): followed households as they were, and those not found again.

    ``frame`` is the 2023 round (conformed). Returns the 2021 rows (conformed) and their figures.
    """
    rng_follow, rng_change, rng_lost, rng_rest = streams
    n = len(frame)
    scale = targets.households / SampleTargets().households
    n_earlier = round(EARLIER_HOUSEHOLDS * scale)
    people = round(EARLIER_PEOPLE * scale)
    n_followed = min(round(n_earlier * FOLLOWED_SHARE), n)
    n_lost = n_earlier - n_followed
    district_codes, district_idx = np.unique(hh["district_code"], return_inverse=True)

    # Who was surveyed in 2021 too: a propensity varying by district; every pilot participant was.
    participant = frame["pilot_id"].notna().to_numpy()
    followed = participant.copy()
    rest = np.flatnonzero(~participant)
    propensity = rng_follow.lognormal(0.0, 0.5, district_codes.size)[district_idx]
    followed[rest[choose_exact(propensity[rest], max(n_followed - int(participant.sum()), 0), rng_follow)]] = True

    # Change 2021 -> 2023 per household and capital: a district's pace (most places gain a little,
    # some lose), the household's own fortune, noise per capital; participants gain more on the
    # capitals their project works on.
    pace = rng_change.normal(0.08, 0.10, district_codes.size)[district_idx]
    gain = pace[:, None] + rng_change.normal(0.0, 0.22, n)[:, None] + rng_change.normal(0.0, 0.15, (n, len(CAPITALS)))
    pilot_ids = frame["pilot_id"].fillna("").to_numpy(dtype=object)
    for pilot in pilots.itertuples():
        factor = 1.0 if pilot.start_year < SURVEY_YEAR else 0.5 if pilot.start_year == SURVEY_YEAR else 0.0
        members_of = pilot_ids == pilot.pilot_id
        for capital in PILOT_KIND_CAPITALS.get(pilot.kind, ()):
            gain[members_of, CAPITALS.index(capital)] += PILOT_GAIN * factor
    before = np.round(np.clip(caps - gain, 1.0, 4.0), 2)

    # Not found again: households of 2021 only, placed in the village of a 2023 household like them.
    donors = rng_lost.choice(np.flatnonzero(~planted & ~participant), size=n_lost, replace=True)
    geoms = np.asarray(areas["geometry"], dtype=object)
    village = hh["village"][donors]
    lost_lon, lost_lat = scatter_around(hh["village_lon"][village], hh["village_lat"][village],
                                        geoms[hh["area"][donors]], rng_lost)
    lost_caps = np.round(np.clip(before[donors] + rng_lost.normal(0.0, 0.25, (n_lost, len(CAPITALS))), 1.0, 4.0), 2)
    province = hh["province_code"][donors]
    order = np.argsort(province, kind="stable")
    seq = np.empty(n_lost, dtype=np.int64)
    seq[order] = np.arange(n_lost) - np.searchsorted(province[order], province[order], side="left") + 1
    lost_ids = [f"{p}-9{q:06d}" for p, q in zip(province, seq)]

    rows = np.concatenate([np.flatnonzero(followed), donors])
    earlier = frame.iloc[rows].reset_index(drop=True).copy()
    capitals = np.concatenate([before[followed], lost_caps])
    n_rows = len(rows)
    earlier["survey_year"] = EARLIER_YEAR
    earlier.loc[n_followed:, "household_id"] = lost_ids
    earlier.loc[n_followed:, "lat"] = lost_lat
    earlier.loc[n_followed:, "lon"] = lost_lon
    for k, column in enumerate(CAPITAL_COLUMNS):
        earlier[column] = capitals[:, k]
    level = poverty_level_from_scores(capitals.mean(axis=1))
    earlier["poverty_level"] = level
    change = np.concatenate([gain[followed].mean(axis=1), np.zeros(n_lost)])
    income = earlier["income_per_capita_year"].to_numpy(dtype=float) * np.exp(
        -0.5 * change - 0.04 + rng_rest.normal(0.0, 0.08, n_rows))
    income = np.round(np.clip(income, 6_000, 400_000), -1)
    earlier["income_per_capita_year"] = income
    in_tpmap = earlier["in_tpmap"].to_numpy(dtype=bool)
    deps, dep_prob = _deprivations(capitals, income, rng_rest)
    deps = _at_least_one_deprivation(deps, dep_prob, in_tpmap)
    for column, values in _tpmap_deprivations(deps, in_tpmap).items():
        earlier[column] = values
    members = earlier["members"].to_numpy(dtype=np.int64)
    members = np.clip(members + rng_rest.choice([-1, 0, 1], size=n_rows, p=[0.07, 0.86, 0.07]), MEMBERS_MIN, MEMBERS_MAX)
    earlier["members"] = adjust_to_total(members, people, rng_rest, low=MEMBERS_MIN, high=MEMBERS_MAX)
    was_planted = np.concatenate([planted[followed], np.zeros(n_lost, dtype=bool)])
    verified = (rng_rest.random(n_rows) < 0.45) & ~was_planted
    earlier["verified"] = verified
    status = _assistance(verified, level, rng_rest)
    earlier["assistance_status"] = np.asarray(ASSISTANCE_STATUSES, dtype=object)[status]
    earlier["pilot_id"] = None  # every project started after the 2021 round
    earlier = conform_households(earlier)
    figures = {
        str(EARLIER_YEAR): {"households": int(n_rows), "people": int(earlier["members"].sum()),
                            "followed": int(n_followed), "not_found_again": int(n_lost)},
        str(SURVEY_YEAR): {"households": int(n), "people": int(frame["members"].sum()),
                           "followed": int(n_followed), "new": int(n - n_followed)},
    }
    return earlier, figures


def _pick_district(hh: dict[str, np.ndarray], province_code: str, used: set[str], rng: np.random.Generator) -> str:
    """An unused district of the province, chosen with weight by its households."""
    codes, counts = np.unique(hh["district_code"][hh["province_code"] == province_code], return_counts=True)
    keep = ~np.isin(codes, list(used))
    codes, counts = codes[keep], counts[keep]
    if not codes.size:
        raise BoundaryError(f"no district with households left in province {province_code} for a pilot")
    return str(rng.choice(codes, p=counts / counts.sum()))


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def boundaries_fingerprint(directory: Path | None = None) -> str:
    """Identify the installed boundaries the sample is built on.

    The SHA-256 of the district and subdistrict GeoParquet files (the only levels the generator
    reads), so a reinstall of identical boundaries keeps the sample and any change rebuilds it.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Boundaries folder; default :func:`geo.data.paths.boundaries_dir`.

    Raises
    ------
    BoundaryError
        When a level file is missing.
    """
    directory = Path(directory) if directory is not None else paths.boundaries_dir()
    digest = hashlib.sha256()
    for level in ("district", "subdistrict"):
        path = directory / f"{level}.parquet"
        if not path.is_file():
            raise BoundaryError(
                f"no installed boundaries at {path}; run `python -m geo boundaries install` first"
            )
        digest.update(level.encode())
        digest.update(_file_sha256(path).encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sample(sample: Sample, out_dir: Path, *, boundaries: str) -> dict:
    """Write the sample's two files and its manifest, each replaced atomically.

    Parameters
    ----------
    sample : Sample
        Output of :func:`generate_sample`.
    out_dir : pathlib.Path
        Destination folder (created if needed).
    boundaries : str
        Fingerprint of the boundaries used (:func:`boundaries_fingerprint`).

    Returns
    -------
    dict
        The manifest written to ``sample_manifest.json``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {
        **sample.metadata,
        "boundaries": boundaries,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    table = pa.Table.from_pandas(sample.households, preserve_index=False)
    table = table.replace_schema_metadata(
        {
            **(table.schema.metadata or {}),
            SYNTHETIC_KEY: b"true",
            METADATA_KEY: json.dumps(metadata, ensure_ascii=False).encode(),
        }
    )
    households_path = out_dir / HOUSEHOLDS_FILE
    pilots_path = out_dir / PILOTS_FILE
    _atomic_write(households_path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    _atomic_write(pilots_path, lambda tmp: sample.pilots.to_csv(tmp, index=False, encoding="utf-8"))
    manifest = {
        **metadata,
        "files": {
            HOUSEHOLDS_FILE: {"sha256": _file_sha256(households_path), "rows": len(sample.households)},
            PILOTS_FILE: {"sha256": _file_sha256(pilots_path), "rows": len(sample.pilots)},
        },
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    _atomic_write(out_dir / MANIFEST_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return manifest


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the app may run as another user
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass(frozen=True)
class SampleStatus:
    """What :func:`ensure_sample` did: ``regenerated`` and why, and the manifest in force."""

    out_dir: Path
    regenerated: bool
    reason: str
    manifest: dict


def ensure_sample(
    out_dir: Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    households: int | None = None,
    boundaries_dir: Path | None = None,
    force: bool = False,
) -> SampleStatus:
    """Make sure the sample in ``out_dir`` was made by this generator, seed and boundaries.

    Quick when it was (reads the manifest and hashes the two files); otherwise generates and
    writes a new one.

    Parameters
    ----------
    out_dir : pathlib.Path, optional
        Default :func:`geo.data.paths.samples_dir`.
    seed, households : see :func:`generate_sample`.
    boundaries_dir : pathlib.Path, optional
        Default :func:`geo.data.paths.boundaries_dir`.
    force : bool
        Regenerate even when up to date.

    Returns
    -------
    SampleStatus

    Raises
    ------
    BoundaryError
        When no boundaries are installed.
    """
    out_dir = Path(out_dir) if out_dir is not None else paths.samples_dir()
    fingerprint = boundaries_fingerprint(boundaries_dir)
    wanted = {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "households_requested": households,
        "boundaries": fingerprint,
    }
    reason = "forced" if force else _stale_reason(out_dir, wanted)
    if reason is None:
        manifest = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        return SampleStatus(out_dir, False, "up to date", manifest)
    sample = generate_sample(seed=seed, households=households, boundaries_dir=boundaries_dir)
    manifest = write_sample(sample, out_dir, boundaries=fingerprint)
    return SampleStatus(out_dir, True, reason, manifest)


def _stale_reason(out_dir: Path, wanted: dict) -> str | None:
    """Why the sample in ``out_dir`` must be rebuilt, or ``None`` when it is up to date."""
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return "no sample yet"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable manifest"
    for key, value in wanted.items():
        if manifest.get(key) != value:
            return f"{key} changed"
    for name in (HOUSEHOLDS_FILE, PILOTS_FILE):
        path = out_dir / name
        recorded = manifest.get("files", {}).get(name, {}).get("sha256")
        if not path.is_file() or _file_sha256(path) != recorded:
            return f"{name} missing or changed"
    return None


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
