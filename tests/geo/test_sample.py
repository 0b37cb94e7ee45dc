"""Tests for the synthetic sample generator (``geo.synth.sample``, ``geo.synth.places``).

Most tests run the generator on tiny inline squares: every geothai subdistrict of the 20 pilot
provinces becomes a small square inside its district's square inside its province's block, so
the whole model (allocation, villages, planting, pilots) runs in a second or two without the
installed boundaries. The last tests check the installed sample in ``data/samples`` (made by
``make test`` before pytest) against the published figures and the installed boundaries.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import geothai
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import cli
from geo.data.contract import (
    CAPITAL_COLUMNS,
    DEPRIVATION_COLUMNS,
    HOUSEHOLD_COLUMN_NAMES,
    PILOT_COLUMN_NAMES,
    check_households,
    conform_pilots,
)
from geo.errors import BoundaryError
from geo.synth.sample import (
    BMN_INCOME_YEAR,
    DEFAULT_SEED,
    HOUSEHOLDS_FILE,
    KALASIN,
    MANIFEST_FILE,
    PILOT_DISTRICTS,
    PILOT_PROVINCES,
    PILOTS_FILE,
    PLANTED_SHARE,
    POVERTY_LINE_YEAR,
    SampleTargets,
    ensure_sample,
    generate_sample,
)
from geo.data.store import is_synthetic, read_sample_metadata
from geo.synth.pattern import deficit_pattern, district_neighbours
from geo.synth.places import adjust_to_total, allocate_exact, choose_exact

PUBLISHED = SampleTargets()

# ---------------------------------------------------------------------------------------------
# Fixtures: tiny squares
# ---------------------------------------------------------------------------------------------


def grid_boundaries(provinces=PILOT_PROVINCES, *, lat0=14.0, lon0=99.5, size=1.0) -> dict[str, pd.DataFrame]:
    """Square boundaries for every geothai district and subdistrict of ``provinces``.

    Provinces are ``size``-degree blocks, five to a row; districts a grid of squares inside
    their block; subdistricts a grid of squares inside their district. Neighbouring squares
    share edges, like real boundaries.
    """
    district_rows, subdistrict_rows = [], []
    for i, province_code in enumerate(provinces):
        px, py = lon0 + (i % 5) * size, lat0 + (i // 5) * size
        districts = geothai.districts(province_code)
        per_row = math.ceil(math.sqrt(len(districts)))
        d_size = size / per_row
        for j, district in enumerate(districts):
            dx, dy = px + (j % per_row) * d_size, py + (j // per_row) * d_size
            district_rows.append((district.code, province_code, shapely.box(dx, dy, dx + d_size, dy + d_size)))
            subs = geothai.subdistricts(district.code)
            s_row = math.ceil(math.sqrt(len(subs)))
            s_size = d_size / s_row
            for k, sub in enumerate(subs):
                sx, sy = dx + (k % s_row) * s_size, dy + (k // s_row) * s_size
                subdistrict_rows.append((sub.code, district.code, shapely.box(sx, sy, sx + s_size, sy + s_size)))
    columns = ["code", "parent_code", "geometry"]
    return {
        "district": pd.DataFrame(district_rows, columns=columns),
        "subdistrict": pd.DataFrame(subdistrict_rows, columns=columns),
    }


def frame_digest(df: pd.DataFrame) -> str:
    """A hash of every value and column of a frame."""
    digest = hashlib.sha256(",".join(df.columns).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def inside_declared(df: pd.DataFrame, boundaries: pd.DataFrame, column: str) -> np.ndarray:
    """Whether each household's point lies in the polygon of the code in ``column``."""
    geoms = boundaries.set_index("code")["geometry"].reindex(df[column].astype(str))
    return shapely.contains_xy(
        np.asarray(geoms, dtype=object), df["lon"].to_numpy("float64"), df["lat"].to_numpy("float64")
    )


@pytest.fixture(scope="module")
def grid():
    return grid_boundaries()


@pytest.fixture(scope="module")
def full(grid):
    """The full-size sample on the squares."""
    return generate_sample(boundaries=grid)


@pytest.fixture(scope="module")
def small(grid):
    return generate_sample(households=5_000, boundaries=grid, seed=7)


@pytest.fixture
def boundaries_dir(tmp_path: Path, grid) -> Path:
    """The squares installed as GeoParquet files, as ``geo boundaries install`` would."""
    import geopandas as gpd

    directory = tmp_path / "boundaries"
    directory.mkdir()
    for level, frame in grid.items():
        gdf = gpd.GeoDataFrame(frame.assign(name_th="", name_en=""), geometry="geometry", crs="EPSG:4326")
        gdf.to_parquet(directory / f"{level}.parquet")
    (directory / "manifest.json").write_text(json.dumps({"source": "test squares"}), encoding="utf-8")
    return directory


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1, 1, 1], [4, 3, 3]),
        (0, [1, 2], [0, 0]),
        (5, [0, 1, 0], [0, 5, 0]),
        (7, [0.5, 0.5], [4, 3]),
        (0, [], []),
    ],
)
def test_allocate_exact_examples(total, weights, expected):
    assert allocate_exact(total, weights).tolist() == expected


@pytest.mark.parametrize(("total", "weights"), [(-1, [1]), (3, [0, 0]), (3, []), (3, [1, -1]), (3, [np.nan])])
def test_allocate_exact_rejects_bad_input(total, weights):
    with pytest.raises(ValueError):
        allocate_exact(total, weights)


@given(
    total=st.integers(0, 10**6),
    weights=st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=1, max_size=40).filter(lambda w: sum(w) > 0),
)
@settings(max_examples=200, deadline=None)
def test_allocate_exact_conserves_total_and_stays_within_one_of_quota(total, weights):
    shares = allocate_exact(total, weights)
    quota = total * np.asarray(weights) / np.sum(weights)
    assert shares.sum() == total
    assert (shares >= np.floor(quota) - 1e-9).all() and (shares <= np.ceil(quota) + 1e-9).all()


@given(
    values=st.lists(st.integers(1, 12), min_size=1, max_size=200),
    data=st.data(),
)
@settings(max_examples=200, deadline=None)
def test_adjust_to_total_hits_target_within_bounds(values, data):
    target = data.draw(st.integers(len(values), 12 * len(values)))
    out = adjust_to_total(np.array(values), target, np.random.default_rng(0), low=1, high=12)
    assert out.sum() == target
    assert out.min() >= 1 and out.max() <= 12


def test_adjust_to_total_rejects_unreachable_target():
    with pytest.raises(ValueError, match="out of reach"):
        adjust_to_total(np.array([1, 1]), 25, np.random.default_rng(0), low=1, high=12)


@pytest.mark.parametrize("k", [0, 1, 7, 10])
def test_choose_exact_picks_exactly_k(k):
    mask = choose_exact(np.linspace(0.1, 1, 10), k, np.random.default_rng(1))
    assert mask.sum() == k


def test_targets_default_to_published_figures_and_scale_consistently():
    assert SampleTargets.for_households(None) == PUBLISHED
    assert (PUBLISHED.households, PUBLISHED.people) == (231_021, 1_039_584)
    assert (PUBLISHED.kalasin_not_in_tpmap_households, PUBLISHED.kalasin_not_in_tpmap_people) == (11_875, 51_034)
    assert PUBLISHED.pilot_district_households == 958
    small_targets = SampleTargets.for_households(2_310)
    assert small_targets.households == 2_310
    assert small_targets.people == round(1_039_584 * 2_310 / 231_021)
    with pytest.raises(ValueError, match="at least 100"):
        SampleTargets.for_households(50)


# ---------------------------------------------------------------------------------------------
# The generated sample on squares
# ---------------------------------------------------------------------------------------------


def assert_published_figures(df: pd.DataFrame, targets: SampleTargets = PUBLISHED) -> None:
    """The programme's published figures of the 2023 round, as invariants of a sample."""
    df = df[df["survey_year"] == 2023]
    assert len(df) == targets.households
    assert int(df["members"].sum()) == targets.people
    assert set(df["province_code"]) == set(PILOT_PROVINCES)
    missed = df[(df["province_code"] == KALASIN) & ~df["in_tpmap"].astype(bool)]
    assert len(missed) == targets.kalasin_not_in_tpmap_households
    assert int(missed["members"].sum()) == targets.kalasin_not_in_tpmap_people
    pilot_districts = df[df["district_code"].isin(PILOT_DISTRICTS)]
    assert len(pilot_districts) == targets.pilot_district_households
    assert pilot_districts["verified"].all()
    assert set(pilot_districts["district_code"]) == set(PILOT_DISTRICTS)


def test_full_size_reproduces_published_figures(full):
    assert_published_figures(full.households)


def test_small_sample_reproduces_scaled_figures(small):
    assert_published_figures(small.households, SampleTargets.for_households(5_000))


def test_sample_keeps_the_contract(full):
    df = full.households
    assert list(df.columns) == list(HOUSEHOLD_COLUMN_NAMES)
    check_households(df)
    assert set(df["survey_year"]) == {2021, 2023}
    assert df["national_id_hash"].isna().all()
    assert df["household_id"].str.fullmatch(r"\d{2}-\d{7}").all()
    assert (df["household_id"].str[:2] == df["province_code"]).all()
    assert not df.duplicated(["household_id", "survey_year"]).any()
    assert df["village_no"].between(1, 20).all()


def test_same_seed_gives_identical_frames_and_another_seed_does_not(grid, small):
    again = generate_sample(households=5_000, boundaries=grid, seed=7)
    assert frame_digest(again.households) == frame_digest(small.households)
    assert frame_digest(again.pilots) == frame_digest(small.pilots)
    other = generate_sample(households=5_000, boundaries=grid, seed=8)
    assert frame_digest(other.households) != frame_digest(small.households)


def test_points_are_inside_declared_subdistrict_except_the_planted_share(full, grid):
    df = full.households
    earlier = df[df["survey_year"] == 2021]
    assert inside_declared(earlier[earlier["household_id"].str[3] == "9"], grid["subdistrict"],
                           "subdistrict_code").all()  # households not found again sit in their subdistrict
    df = df[df["survey_year"] == 2023]
    outside = ~inside_declared(df, grid["subdistrict"], "subdistrict_code")
    assert outside.sum() == round(PLANTED_SHARE * len(df)) == full.metadata["planted_outside"]
    planted = df[outside]
    assert not planted["verified"].any()
    assert not planted["district_code"].isin(PILOT_DISTRICTS).any()
    # just outside: in another district, within about a kilometre of the declared subdistrict
    assert not inside_declared(planted, grid["district"], "district_code").any()
    declared = grid["subdistrict"].set_index("code")["geometry"].reindex(planted["subdistrict_code"])
    points = shapely.points(planted["lon"].to_numpy(float), planted["lat"].to_numpy(float))
    assert (shapely.distance(np.asarray(declared, dtype=object), points) <= 0.0101).all()


def rounds_of(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (df[df["survey_year"] == 2021].set_index("household_id"),
            df[df["survey_year"] == 2023].set_index("household_id"))


def test_two_rounds_reproduce_the_published_figures_of_each(full, small):
    earlier, later = rounds_of(full.households)
    assert (len(earlier), int(earlier["members"].sum())) == (140_045, 637_599)
    assert (len(later), int(later["members"].sum())) == (231_021, 1_039_584)
    followed = earlier.index.intersection(later.index)
    assert len(followed) == full.metadata["rounds"]["2021"]["followed"]
    assert 0.85 < len(followed) / len(earlier) < 0.95  # most are surveyed again; some are not found
    assert len(later) - len(followed) > 0.3 * len(later)  # many are new in 2023
    # a followed household stays where it was
    assert (earlier.loc[followed, "district_code"] == later.loc[followed, "district_code"]).all()
    assert earlier["pilot_id"].isna().all() and later["pilot_id"].notna().any()  # projects start between rounds
    small_earlier, _ = rounds_of(small.households)
    assert len(small_earlier) == round(140_045 * 5_000 / 231_021)


def test_mobility_is_realistic_and_varies_by_place(full):
    earlier, later = rounds_of(full.households)
    followed = earlier.index.intersection(later.index)
    before = earlier.loc[followed, "poverty_level"].astype(int)
    after = later.loc[followed, "poverty_level"].astype(int)
    up, same, down = (after > before).mean(), (after == before).mean(), (after < before).mean()
    assert same > 0.6 and 0.1 < up < 0.3 and 0.02 < down < up
    by_district = (after > before).groupby(later.loc[followed, "district_code"]).mean()
    assert by_district.quantile(0.9) - by_district.quantile(0.1) > 0.1


def test_pilot_participants_gain_more_on_their_projects_capitals(full):
    from geo.synth.sample import PILOT_KIND_CAPITALS

    earlier, later = rounds_of(full.households)
    followed = earlier.index.intersection(later.index)
    change = (later.loc[followed, list(CAPITAL_COLUMNS)].astype(float)
              - earlier.loc[followed, list(CAPITAL_COLUMNS)].astype(float))
    pilot = later.loc[followed, "pilot_id"]
    district = later.loc[followed, "district_code"]
    pilots = full.pilots.set_index("pilot_id")
    for pilot_id in ("P01-4609", "P02-4602"):  # the two real ones: mushrooms, vegetables
        members = pilot == pilot_id
        neighbours = pilot.isna() & (district == pilots.loc[pilot_id, "district_code"])
        assert members.sum() > 50 and neighbours.sum() > 50
        for capital in PILOT_KIND_CAPITALS[pilots.loc[pilot_id, "kind"]]:
            column = f"capital_{capital}"
            assert change.loc[members, column].mean() > change.loc[neighbours, column].mean() + 0.2


def test_villages_cluster_households(full):
    df = full.households
    villages = df.groupby(["subdistrict_code", "village_no"])
    spread = villages["lat"].std().dropna()
    sub_spread = df.groupby("subdistrict_code")["lat"].std().dropna()
    assert spread.median() < sub_spread.median()


def test_levels_and_capitals_follow_the_field_pattern(full):
    df = full.households
    levels = df["poverty_level"].value_counts(normalize=True)
    assert levels.idxmax() == 2 and levels[2] > 0.5
    assert set(levels.index) <= {1, 2, 3, 4}
    means = df[list(CAPITAL_COLUMNS)].mean()
    assert means.idxmax() == "capital_physical"
    assert set(means.nsmallest(2).index) == {"capital_natural", "capital_financial"}
    assert df[list(CAPITAL_COLUMNS)].stack().between(1.0, 4.0).all()


def assert_why_poor_pattern(pattern: dict) -> None:
    """Different places lack different capitals, and neighbours tend to lack the same one."""
    dominant = pattern["dominant"]
    assert sum(n >= 3 for n in dominant.values()) >= 3, dominant  # at least 3 capitals dominate somewhere
    assert max(dominant.values()) < 0.6 * pattern["districts"], dominant  # no flat one-colour map
    assert pattern["neighbour_pairs"] > pattern["districts"]
    assert pattern["agreement"] > pattern["shuffled_agreement"] + 0.15, pattern


def test_dominant_deficit_varies_by_place_and_neighbours_agree(full, grid):
    assert_why_poor_pattern(deficit_pattern(full.households, grid["district"], shuffles=100))


def test_district_neighbours_are_the_squares_sharing_a_border(grid):
    districts = grid["district"]
    pairs = district_neighbours(districts)
    assert len(pairs) and (pairs[:, 0] < pairs[:, 1]).all()
    found = set(map(tuple, pairs.tolist()))
    geoms = np.asarray(districts["geometry"], dtype=object)
    for i in (0, 100, 250):
        touching = districts["code"][shapely.touches(geoms, geoms[i])]
        code = districts["code"].iloc[i]
        assert touching.size and {tuple(sorted((code, c))) for c in touching} <= found


def test_members_and_incomes_are_realistic(full):
    df = full.households
    assert df["members"].between(1, 12).all()
    assert 4.3 < df["members"].mean() < 4.7
    median = df["income_per_capita_year"].median()
    assert 0.8 * POVERTY_LINE_YEAR < median < 1.25 * POVERTY_LINE_YEAR
    assert 0.3 < (df["income_per_capita_year"] < POVERTY_LINE_YEAR).mean() < 0.7


def test_deprivations_tpmap_and_statuses(full):
    df = full.households
    in_tpmap = df["in_tpmap"].astype(bool)
    # not in TPMAP: TPMAP never assessed the household, its deprivations are unknown
    assert df.loc[~in_tpmap, list(DEPRIVATION_COLUMNS)].isna().all().all()
    assert df.loc[in_tpmap, list(DEPRIVATION_COLUMNS)].notna().all().all()
    df = df[in_tpmap]
    deps = df[list(DEPRIVATION_COLUMNS)].astype(bool)
    assert deps.any(axis=1).all()  # targeted poor: deprived in at least one dimension
    assert (df["dep_income"] == (df["income_per_capita_year"] < BMN_INCOME_YEAR)).all()
    # deprivations follow the capitals: health-deprived households have lower human capital
    assert df.loc[df["dep_health"], "capital_human"].mean() < df.loc[~df["dep_health"], "capital_human"].mean()
    statuses = df["assistance_status"].value_counts(normalize=True)
    assert set(statuses.index) == {"none", "referred", "in_progress", "helped", "self_resolved"}
    assert statuses.max() < 0.6


def test_pilots_real_and_illustrative(full):
    pilots = full.pilots
    assert list(pilots.columns) == list(PILOT_COLUMN_NAMES)
    real = pilots[~pilots["illustrative"]]
    assert sorted(real["district_code"]) == sorted(PILOT_DISTRICTS)
    assert set(real["name_th"]) == {"เห็ดฟางเงินล้านแก้จน", "ปลูกผักแก้จน"}
    assert real.set_index("district_code").loc["4609", "kind"] == "mushroom"
    assert real.set_index("district_code").loc["4602", "kind"] == "vegetables"
    assert real["university"].str.contains("มหาวิทยาลัยกาฬสินธุ์").all()
    illustrative = pilots[pilots["illustrative"]]
    assert len(illustrative) >= 5
    assert set(illustrative["province_code"]) <= set(PILOT_PROVINCES) - {KALASIN}
    assert illustrative["kind"].nunique() >= 4
    assert pilots["pilot_id"].is_unique
    assert (pilots["district_code"].str[:2] == pilots["province_code"]).all()


def test_enrolled_households_are_near_their_pilot(full):
    df, pilots = full.households, full.pilots.set_index("pilot_id")
    enrolled = df[df["pilot_id"].notna()]
    assert set(enrolled["pilot_id"]) == set(pilots.index)
    for pilot_id, group in enrolled.groupby("pilot_id"):
        site = pilots.loc[pilot_id]
        assert (group["district_code"] == site["district_code"]).all()
        assert len(group) <= site["households_target"]
        others = df[(df["district_code"] == site["district_code"]) & df["pilot_id"].isna()]
        far = np.hypot(group["lat"] - site["lat"], group["lon"] - site["lon"]).max()
        typical = np.hypot(others["lat"] - site["lat"], others["lon"] - site["lon"]).median()
        assert far <= typical


def test_subdistricts_without_polygons(grid):
    """No polygon for one subdistrict: no households there. None for a whole district: its
    households keep geothai subdistrict codes and sit in the district polygon."""
    subs = grid["subdistrict"]
    dropped_one = "460101"
    dropped_district = "4603"
    keep = (subs["code"] != dropped_one) & (subs["parent_code"] != dropped_district)
    sample = generate_sample(households=20_000, boundaries={**grid, "subdistrict": subs[keep]})
    df = sample.households
    assert dropped_one not in set(df["subdistrict_code"])
    fallback = df[df["district_code"] == dropped_district]
    assert len(fallback) > 0
    assert set(fallback["subdistrict_code"]) <= {s.code for s in geothai.subdistricts(dropped_district)}
    assert inside_declared(fallback, grid["district"], "district_code").all()
    assert sample.metadata["fallback_district_polygon_subdistricts"] == len(geothai.subdistricts(dropped_district))
    assert_published_figures(df, SampleTargets.for_households(20_000))


def test_missing_pilot_district_is_a_boundary_error(grid):
    subs, districts = grid["subdistrict"], grid["district"]
    boundaries = {
        "district": districts[districts["code"] != "4609"],
        "subdistrict": subs[subs["parent_code"] != "4609"],
    }
    with pytest.raises(BoundaryError, match="4609"):
        generate_sample(households=1_000, boundaries=boundaries)


@pytest.mark.parametrize("seed", [-1, 1.5, "7"])
def test_bad_seed_is_rejected(grid, seed):
    with pytest.raises(ValueError, match="seed"):
        generate_sample(households=1_000, boundaries=grid, seed=seed)


# ---------------------------------------------------------------------------------------------
# Files, the skip logic and the command line
# ---------------------------------------------------------------------------------------------


def test_ensure_sample_writes_labelled_files_and_skips_when_up_to_date(tmp_path, boundaries_dir):
    out = tmp_path / "samples"
    first = ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir)
    assert first.regenerated and first.reason == "no sample yet"
    households = pd.read_parquet(out / HOUSEHOLDS_FILE)
    assert (households["survey_year"] == 2023).sum() == 1_000
    assert (households["survey_year"] == 2021).sum() == round(140_045 * 1_000 / 231_021)
    check_households(households)
    pilots = conform_pilots(pd.read_csv(out / PILOTS_FILE, dtype={"province_code": str, "district_code": str}))
    assert "เห็ดฟางเงินล้านแก้จน" in set(pilots["name_th"])
    meta = read_sample_metadata(out / HOUSEHOLDS_FILE)
    assert meta["synthetic"] is True and meta["seed"] == DEFAULT_SEED
    assert is_synthetic(out / HOUSEHOLDS_FILE)
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["files"][HOUSEHOLDS_FILE]["rows"] == len(households)

    again = ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir)
    assert not again.regenerated and again.reason == "up to date"

    assert ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir, seed=1).reason == "seed changed"
    (out / PILOTS_FILE).write_text("tampered", encoding="utf-8")
    assert ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir, seed=1).reason.startswith(PILOTS_FILE)
    assert ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir, seed=1, force=True).reason == "forced"


def test_changed_boundaries_regenerate(tmp_path, boundaries_dir, grid):
    import geopandas as gpd

    out = tmp_path / "samples"
    ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir)
    subs = grid["subdistrict"]
    smaller = gpd.GeoDataFrame(subs[subs["code"] != "460101"], geometry="geometry", crs="EPSG:4326")
    smaller.to_parquet(boundaries_dir / "subdistrict.parquet")
    assert ensure_sample(out, households=1_000, boundaries_dir=boundaries_dir).reason == "boundaries changed"


def test_is_synthetic_is_false_for_plain_or_missing_files(tmp_path):
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    assert not is_synthetic(plain)
    assert not is_synthetic(tmp_path / "missing.parquet")


def test_cli_generates_then_skips(tmp_path, boundaries_dir, capsys):
    argv = ["sample", "--households", "1000", "--out-dir", str(tmp_path / "s"), "--boundaries", str(boundaries_dir)]
    assert cli.main(argv) == 0
    assert "2023: 1,000" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_without_boundaries_says_how_to_install(tmp_path, capsys):
    argv = ["sample", "--out-dir", str(tmp_path / "s"), "--boundaries", str(tmp_path / "none")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "python -m geo boundaries install" in err and "Traceback" not in err


def test_cli_rejects_a_tiny_sample(tmp_path, boundaries_dir, capsys):
    argv = ["sample", "--households", "5", "--out-dir", str(tmp_path / "s"), "--boundaries", str(boundaries_dir)]
    assert cli.main(argv) == 2
    assert "at least 100" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The installed sample (made by `make test` / `python -m geo sample` before pytest)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def installed(sample_households_path):
    """The installed households and their metadata; skipped locally (failed under CI) if missing."""
    return pd.read_parquet(sample_households_path), read_sample_metadata(sample_households_path)


def test_installed_sample_reproduces_published_figures(installed):
    df, meta = installed
    assert meta["synthetic"] is True
    assert meta["survey_years"] == [2021, 2023]
    earlier = df[df["survey_year"] == 2021]
    assert (len(earlier), int(earlier["members"].sum())) == (140_045, 637_599)
    assert meta["households_requested"] is None, "the installed sample must be the full-size one"
    check_households(df)
    assert_published_figures(df)


def test_installed_sample_lacks_different_capitals_in_different_places(installed, skip_or_fail):
    from geo.data.boundaries import load_boundaries
    from geo.data.paths import boundaries_dir

    if not (boundaries_dir() / "district.parquet").is_file():
        skip_or_fail("no installed boundaries; run `python -m geo boundaries install`")
    df, _ = installed
    pattern = deficit_pattern(df, load_boundaries("district"), shuffles=100)
    assert pattern["districts"] == 293
    assert_why_poor_pattern(pattern)


def test_installed_sample_points_match_installed_boundaries(installed, skip_or_fail):
    from geo.data.boundaries import load_boundaries
    from geo.data.paths import boundaries_dir

    if not (boundaries_dir() / "subdistrict.parquet").is_file():
        skip_or_fail("no installed boundaries; run `python -m geo boundaries install`")
    df, meta = installed
    df = df[df["survey_year"] == 2023]
    subdistricts = load_boundaries("subdistrict")
    districts = load_boundaries("district")
    has_polygon = df["subdistrict_code"].isin(set(subdistricts["code"]))
    outside_sub = has_polygon.to_numpy() & ~inside_declared(df, subdistricts, "subdistrict_code")
    assert outside_sub.sum() == meta["planted_outside"] == round(PLANTED_SHARE * len(df))
    assert not df.loc[outside_sub, "verified"].any()
    # households without a subdistrict polygon sit in their district polygon
    in_district = inside_declared(df, districts, "district_code")
    assert in_district[~has_polygon.to_numpy()].all()
