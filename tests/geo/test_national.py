"""National-scale generation (geo.synth.national) and the persisted index (geo.data.store), at 20k households
on square boundaries: every province covered, counts exact, the index read back equal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geo.engine.aggregate import aggregate, index_households
from geo.errors import InputFileError
from geo.synth.national import batches, generate_national, national_counts, national_provinces
from geo.data.store import read_sample_metadata
from geo.engine.persist import index_dir_for, read_index, write_index
from tests.geo.test_sample import grid_boundaries

HOUSEHOLDS = 20_000


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    boundaries = grid_boundaries(national_provinces(), size=0.5)
    manifest = generate_national(out, households=HOUSEHOLDS, batch_households=6_000, boundaries=boundaries)
    return out, manifest


def test_national_provinces_are_all_77():
    codes = national_provinces()
    assert len(codes) == 77 and len(set(codes)) == 77 and codes == tuple(sorted(codes))


def test_counts_are_exact_and_cover_every_province():
    counts = national_counts(13_000_000, {"10": 180, "46": 134, "96": 77, "xx": 0}, seed=1)
    assert sum(counts.values()) == 13_000_000
    assert set(counts) == {"10", "46", "96"} and min(counts.values()) > 0
    assert counts["10"] > counts["46"] > counts["96"]


def test_counts_reject_fewer_households_than_provinces():
    with pytest.raises(ValueError, match="at least 2"):
        national_counts(1, {"10": 1, "11": 1}, seed=1)


@pytest.mark.parametrize("limit, expected", [(10, [{"a": 4, "b": 5}, {"c": 12}, {"d": 3}]),
                                             (100, [{"a": 4, "b": 5, "c": 12, "d": 3}])])
def test_batches_keep_provinces_whole_and_in_order(limit, expected):
    assert batches({"c": 12, "a": 4, "d": 3, "b": 5}, limit) == expected


def test_generated_file_covers_every_province_with_exact_counts(national):
    out, manifest = national
    every = pd.read_parquet(out / "households.parquet")
    assert len(every) == manifest["rows"] and manifest["households"] == HOUSEHOLDS and manifest["rounds"] == 2
    assert every["province_code"].is_monotonic_increasing  # province order: filters skip row groups
    frame = every[every["survey_year"] == 2023]
    assert len(frame) == HOUSEHOLDS
    counts = frame["province_code"].value_counts().to_dict()
    assert set(counts) == set(national_provinces())
    assert counts == manifest["per_province"]
    assert frame["household_id"].is_unique
    earlier = every[every["survey_year"] == 2021]
    # The sample's model: about 0.6 of 2023's households in 2021, most of them followed.
    assert 0.5 * HOUSEHOLDS < len(earlier) < 0.7 * HOUSEHOLDS and earlier["household_id"].is_unique
    assert earlier["household_id"].isin(frame["household_id"]).mean() > 0.8
    meta = read_sample_metadata(out / "households.parquet")
    assert meta["synthetic"] is True and meta["national"] is True
    assert json.loads((out / "national_manifest.json").read_text())["rows"] == len(every)
    pilots = pd.read_csv(out / "pilots.csv", dtype=str)
    assert pilots["pilot_id"].is_unique and len(pilots) == 10


def test_persisted_index_equals_a_fresh_index(national):
    out, _ = national
    path = out / "households.parquet"
    loaded, meta = read_index(path)
    fresh = index_households(pd.read_parquet(path, filters=[("survey_year", "=", 2023)]))
    assert meta["rows"] == loaded.n == HOUSEHOLDS and meta["survey_year"] == 2023
    for name in ("cell", "order", "capitals", "profile", "province_codes", "pilot_ids"):
        assert np.array_equal(getattr(loaded, name), getattr(fresh, name)), name
    pd.testing.assert_frame_equal(aggregate(loaded, by="province"), aggregate(fresh, by="province"))
    with pytest.raises(ValueError):  # memory-mapped read-only: the shared index cannot be changed
        loaded.level[0] = 1
    # The profile cube was saved with the index and comes back with it: the first map pays no build.
    from geo.engine.cube import _CUBES, build_cube, cube_aggregate

    saved = _CUBES.get(loaded)
    assert saved is not None and isinstance(saved.sums, np.memmap)
    assert np.array_equal(saved.households, build_cube(fresh).households)
    pd.testing.assert_frame_equal(cube_aggregate(loaded, "district"), aggregate(fresh, by="district"),
                                  check_exact=False, rtol=1e-9)


def test_the_cube_comes_back_with_the_sums_of_all_its_rows(national):
    """The sums a first filter change would compute (every row per level, per deficit code, per
    profile, the rows summed by group) are saved with the cube and mapped back, and answers from them equal the engine's."""
    from geo.engine.cube import _ALL_ROWS, _CUBES, CUBE_H3_RES, cube_aggregate
    from geo.engine.filters import HouseholdFilter, filter_mask

    out, _ = national
    path = out / "households.parquet"
    loaded, _ = read_index(path)
    kept = _ALL_ROWS.get(_CUBES[loaded])
    assert kept and {"province", "district", "subdistrict", "h3", ("h3", "profile"),
                     *((by, "coarse") for by in ("province", "district", "h3"))} <= set(kept)
    assert all(isinstance(a, np.memmap) for v in kept.values() for a in (v if isinstance(v, tuple) else (v,)))
    fresh = index_households(pd.read_parquet(path, filters=[("survey_year", "=", 2023)]))
    for by in ("province", "district", "subdistrict", "h3"):
        res = CUBE_H3_RES if by == "h3" else None
        for flt in (None, HouseholdFilter(levels=(1, 2)), HouseholdFilter(capitals_in_deficit=("natural",)),
                    HouseholdFilter(pilots=("none",)), HouseholdFilter(in_tpmap=False)):
            pd.testing.assert_frame_equal(cube_aggregate(loaded, by, flt, res=res),
                                          aggregate(fresh, by=by, res=res, mask=filter_mask(fresh, flt)),
                                          check_exact=False, rtol=1e-9)


def test_earlier_round_and_pairs_are_persisted_too(national):
    """A round change and a comparison read what was persisted: the 2021 index equals a fresh one,
    the persisted pairs equal pair_rounds of the file, and their cube comes back with them."""
    from geo.engine.mobility import pair_rounds
    from geo.engine.mobility_cube import _CUBES, build_pairs_cube, cube_mobility_table
    from geo.engine.persist import read_pairs

    out, _ = national
    path = out / "households.parquet"
    loaded, meta = read_index(path, survey_year=2021)
    fresh = index_households(pd.read_parquet(path, filters=[("survey_year", "=", 2021)]))
    assert meta["survey_year"] == 2021 and loaded.n == fresh.n
    pd.testing.assert_frame_equal(aggregate(loaded, by="district"), aggregate(fresh, by="district"))
    assert read_index(path, survey_year=2019) is None
    pairs = read_pairs(path, 2021, 2023)
    paired = pair_rounds(pd.read_parquet(path), 2021, 2023)
    pd.testing.assert_frame_equal(pairs, paired)
    assert pairs.attrs == paired.attrs
    with pytest.raises(ValueError):  # memory-mapped read-only
        pairs["cell"].to_numpy()[0] = 1
    cube = _CUBES[id(pairs)][1]
    assert isinstance(cube.measures.base, np.memmap) or isinstance(cube.measures, np.memmap)
    pd.testing.assert_frame_equal(cube_mobility_table(cube, by="district"),
                                  cube_mobility_table(build_pairs_cube(paired), by="district"))
    # ... with its sums by district x deficit code (a filter on capitals in deficit)
    deficit = cube.by_deficit.rows["financial_from"].notna().to_numpy()
    pd.testing.assert_frame_equal(cube_mobility_table(cube.by_deficit, by="province", mask=deficit),
                                  cube_mobility_table(build_pairs_cube(paired).by_deficit, by="province", mask=deficit))
    assert read_pairs(path, 2019, 2023) is None


def test_the_app_maps_persisted_pairs_for_a_national_scope_only(national, monkeypatch):
    from geo.engine import persist
    from geo.engine.mobility import pair_rounds
    from pages import _shared

    out, _ = national
    path = str(out / "households.parquet")
    signature = _shared._signature(Path(path))
    read = []
    monkeypatch.setattr(persist, "read_pairs", lambda *a: read.append(a) or None)  # stale: paired from rows
    _shared._load_pairs.clear()
    paired = _shared._load_pairs(path, signature, "administrator|all", 2021, 2023)
    assert read == [(path, 2021, 2023)]
    pd.testing.assert_frame_equal(paired, pair_rounds(pd.read_parquet(path), 2021, 2023))
    monkeypatch.undo()
    _shared._load_pairs.clear()
    original, given = persist.read_pairs, []
    monkeypatch.setattr(persist, "read_pairs", lambda *a: given.append(original(*a)) or given[-1])
    mapped = _shared._load_pairs(path, signature, "viewer|all", 2021, 2023)
    assert mapped is given[0]  # no row read: the persisted pairs
    pd.testing.assert_frame_equal(mapped, paired)
    officer = _shared._load_pairs(path, signature, "provincial_officer|p:46", 2021, 2023)
    assert set(officer["province_code"].dropna().astype(str)) == {"46"}  # an officer's own pairs
    _shared._load_pairs.clear()


def test_index_is_ignored_once_the_file_changes(tmp_path, national):
    out, _ = national
    path = tmp_path / "households.parquet"
    table = pq.read_table(out / "households.parquet", filters=[("survey_year", "=", 2023)]).slice(0, 500)
    pq.write_table(table, path)
    write_index(path)
    assert read_index(path)[0].n == 500
    pq.write_table(table.slice(0, 400), path)
    assert read_index(path) is None
    assert index_dir_for(path).name == "households.index"


def test_the_app_starts_from_the_persisted_index_and_reads_rows_on_demand(national, monkeypatch):
    from geo.access.roles import ROW_COLUMNS
    from pages import _shared

    out, _ = national
    monkeypatch.setenv(_shared.HOUSEHOLDS_ENV, str(out / "households.parquet"))
    source = _shared.data_source()
    assert source.path == (out / "households.parquet").resolve() and source.kind == "sample" and source.synthetic
    data = _shared._national_data(str(source.path), source.kind, source.synthetic, source.signature, 2023, (2023,))
    assert data.frame is None and data.rows == data.index.n == HOUSEHOLDS
    assert isinstance(data.index.cell, np.ndarray) and not data.index.cell.flags.writeable  # mapped, read-only
    # Rows are read from the row groups that hold them, and equal the file's rows at those positions.
    from geo.engine.filters import area_mask
    from geo.engine.filters import select_rows

    whole = pd.read_parquet(out / "households.parquet", columns=list(ROW_COLUMNS), filters=[("survey_year", "=", 2023)])
    district = str(data.index.district_codes[len(data.index.district_codes) // 2])
    mask = area_mask(data.index, district)
    rows = data.household_rows(mask)
    assert 0 < len(rows) < HOUSEHOLDS and (rows["district_code"] == district).all()
    pd.testing.assert_frame_equal(rows, select_rows(whole, data.index, mask), check_like=False)
    assert len(data.household_rows(None)) == HOUSEHOLDS
    # An earlier round's index reads that round's rows.
    earlier = _shared._national_data(str(source.path), source.kind, source.synthetic, source.signature, 2021,
                                     (2021, 2023))
    assert earlier.frame is None and earlier.survey_year == 2021
    then = pd.read_parquet(out / "households.parquet", columns=list(ROW_COLUMNS), filters=[("survey_year", "=", 2021)])
    mask = area_mask(earlier.index, district)
    pd.testing.assert_frame_equal(earlier.household_rows(mask), select_rows(then, earlier.index, mask))
    monkeypatch.setenv(_shared.HOUSEHOLDS_ENV, str(out / "missing.parquet"))
    with pytest.raises(InputFileError, match="no such file"):
        _shared.data_source()


def test_read_rows_reads_the_row_groups_that_hold_the_rows(tmp_path):
    from geo.data.store import read_rows
    from geo.errors import StoreError

    frame = pd.DataFrame({"survey_year": 2023, "household_id": [f"H{i:03d}" for i in range(50)],
                          "members": np.arange(50)})
    path = tmp_path / "h.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=7)
    positions = np.array([48, 3, 3, 21, 0, 49])
    got = read_rows(path, positions, columns=["household_id", "members"])
    assert got.index.tolist() == [0, 3, 21, 48, 49]
    assert got["household_id"].tolist() == ["H000", "H003", "H021", "H048", "H049"]
    assert read_rows(path, [], columns=["members"]).empty
    with pytest.raises(StoreError, match="beyond"):
        read_rows(path, [50])
    # Two survey rounds: positions count rows of the latest round only.
    rounds = pd.concat([frame.assign(survey_year=2022), frame.assign(members=frame["members"] + 100)])
    pq.write_table(pa.Table.from_pandas(rounds, preserve_index=False), path, row_group_size=7)
    assert read_rows(path, [1, 49], columns=["members"])["members"].tolist() == [101, 149]


def test_pairs_come_back_with_their_h3_cubes(national, tmp_path, monkeypatch):
    """The H3 cubes kept at import come back memory-mapped with the pairs and answer as a fresh
    build does; a resolution not kept is registered as the plain path (not built again)."""
    import shutil

    import geo.engine.mobility_cube as mobility_cube
    from geo.checks import H3_RESOLUTIONS
    from geo.engine.mobility import mobility_table
    from geo.engine.mobility_cube import _H3_CUBES, _build_h3_cube, cube_mobility_table
    from geo.engine.persist import read_pairs

    out, _ = national
    pairs = read_pairs(out / "households.parquet", 2021, 2023)  # 20k spread households: no cube worth keeping
    assert _H3_CUBES[id(pairs)][1] == {res: None for res in H3_RESOLUTIONS}
    monkeypatch.setattr(mobility_cube, "H3_CUBE_MAX_SHARE", 0.9)
    path = tmp_path / "households.parquet"
    shutil.copy(out / "households.parquet", path)
    write_index(path)
    meta = json.loads((index_dir_for(path) / "pairs" / "2021-2023" / "pairs.json").read_text(encoding="utf-8"))
    kept = [int(r) for r, name in meta["h3_cubes"].items() if name is not None]
    assert set(meta["h3_cubes"]) == {str(r) for r in H3_RESOLUTIONS} and 5 in kept
    pairs = read_pairs(path, 2021, 2023)
    registered = _H3_CUBES[id(pairs)][1]
    assert set(registered) == set(H3_RESOLUTIONS)
    for res in H3_RESOLUTIONS:
        cube = registered[res]
        assert (cube is None) == (res not in kept)
        if cube is None:
            continue
        assert isinstance(cube.sums.base, np.memmap) or isinstance(cube.sums, np.memmap)
        fresh = _build_h3_cube(pairs, res, max_rows=None)
        for exact in (True, False):
            table = cube_mobility_table(cube, by="h3", res=res, exact=exact)
            pd.testing.assert_frame_equal(table, cube_mobility_table(fresh, by="h3", res=res, exact=exact))
            plain = mobility_table(pairs, by="h3", res=res, exact=exact)
            pd.testing.assert_frame_equal(table, plain, check_exact=False, rtol=1e-9)
