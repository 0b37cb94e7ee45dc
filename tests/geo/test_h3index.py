"""Tests for ``geo.engine.h3index``: vectorised indexing equals h3's own functions, cell for cell."""

from __future__ import annotations

import h3.api.basic_int as h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import EngineInputError
from geo.engine.h3index import (
    INDEX_RES,
    cells_at,
    cells_resolution,
    cells_to_parent,
    cells_to_str,
    parent_run_starts,
    points_to_cells,
    str_to_cells,
)

KALASIN = (16.433, 103.507)  # provincial hall, (lat, lon)


def _loop(lat, lon, res):
    return np.array([h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lon)], dtype=np.uint64)


def test_points_to_cells_equals_h3_loop_over_thailand():
    rng = np.random.default_rng(3)
    lat = rng.uniform(5.6, 20.5, 5000)
    lon = rng.uniform(97.3, 105.7, 5000)
    for res in (0, 5, 8, 10, 15):
        assert np.array_equal(points_to_cells(lat, lon, res), _loop(lat, lon, res))


def test_cells_at_is_latlng_to_cell_not_the_parent_of_a_finer_cell():
    rng = np.random.default_rng(5)
    lat = rng.uniform(13.0, 18.5, 4000)
    lon = rng.uniform(99.0, 105.0, 4000)
    fine = points_to_cells(lat, lon, INDEX_RES)
    for res in range(5, 11):
        exact = cells_at(lat, lon, res)
        assert exact.dtype == np.uint64
        assert np.array_equal(exact, _loop(lat, lon, res))
        if res < INDEX_RES:  # the parent of the res-10 cell misses some points: why cells_at exists
            assert (cells_to_parent(fine, res) != exact).any()


def test_points_to_cells_parallel_path_equals_serial():
    rng = np.random.default_rng(4)
    lat = rng.uniform(-89, 89, 250_000)
    lon = rng.uniform(-180, 180, 250_000)
    assert np.array_equal(points_to_cells(lat, lon, workers=2), points_to_cells(lat, lon, workers=1))


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(np.nan, 103.5), (16.4, np.nan), (np.inf, 103.5), (91.0, 103.5), (16.4, 181.0)],
)
def test_invalid_positions_get_cell_zero(lat, lon):
    cells = points_to_cells([lat, KALASIN[0]], [lon, KALASIN[1]])
    assert cells[0] == 0
    assert cells[1] == h3.latlng_to_cell(*KALASIN, INDEX_RES)


def test_empty_input():
    assert points_to_cells([], []).size == 0


def test_points_to_cells_checks_arguments():
    with pytest.raises(EngineInputError, match="res must be between 0 and 15, got 16"):
        points_to_cells([16.0], [103.0], res=16)
    with pytest.raises(EngineInputError, match="lat and lon must have the same length, got 2 and 1"):
        points_to_cells([16.0, 17.0], [103.0])


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-89.9, 89.9, allow_nan=False),
    lon=st.floats(-179.9, 179.9, allow_nan=False),
    child=st.integers(0, 15),
    data=st.data(),
)
def test_cells_to_parent_equals_h3(lat, lon, child, data):
    parent_res = data.draw(st.integers(0, child))
    cell = h3.latlng_to_cell(lat, lon, child)
    got = cells_to_parent(np.array([cell], dtype=np.uint64), parent_res)[0]
    assert int(got) == h3.cell_to_parent(cell, parent_res)


def test_cells_to_parent_on_pentagons_and_every_resolution():
    pentagons = [c for r in range(11) for c in h3.get_pentagons(r)]
    for cell in pentagons[-24:]:
        child = h3.cell_to_center_child(cell, 12)
        for res in range(0, 13):
            assert int(cells_to_parent(np.array([child], dtype=np.uint64), res)[0]) == h3.cell_to_parent(child, res)


@pytest.mark.parametrize("step", [1 << 20, 7, 1])
def test_parent_run_starts_are_where_h3s_parent_changes(monkeypatch, step):
    """Runs of sorted res-10 cells sharing a parent, by bits, equal h3's parents (compared a few
    cells at a time too); unsorted cells give runs of consecutive equal parents."""
    import geo.engine.h3index as h3index

    monkeypatch.setattr(h3index, "_RUN_STEP", step)
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(5.6, 20.5, 3000), rng.uniform(97.3, 105.7, 3000)
    lat[:300], lon[:300] = KALASIN[0] + rng.normal(0, 0.01, 300), KALASIN[1] + rng.normal(0, 0.01, 300)
    cells = points_to_cells(lat, lon, INDEX_RES)
    for ordered in (np.sort(cells), cells):
        for res in range(0, INDEX_RES + 1):
            parents = np.array([h3.cell_to_parent(int(c), res) for c in ordered], dtype=np.uint64)
            expected = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
            np.testing.assert_array_equal(parent_run_starts(ordered, res), expected)
    assert parent_run_starts(np.zeros(0, dtype=np.uint64), 8).size == 0


def test_cells_to_parent_keeps_zero_and_rejects_finer_resolution():
    cells = np.array([0, h3.latlng_to_cell(*KALASIN, 8)], dtype=np.uint64)
    assert cells_to_parent(cells, 5)[0] == 0
    with pytest.raises(EngineInputError, match="res must not be finer than the cells' resolution 8, got 9"):
        cells_to_parent(cells, 9)


def test_resolution_and_string_round_trip():
    cells = np.array([h3.latlng_to_cell(*KALASIN, r) for r in range(16)], dtype=np.uint64)
    assert cells_resolution(cells).tolist() == list(range(16))
    strings = cells_to_str(cells)
    assert strings.tolist() == [h3.int_to_str(int(c)) for c in cells]
    assert np.array_equal(str_to_cells(strings), cells)
    assert cells_to_str(np.array([0], dtype=np.uint64)).tolist() == [""]
    with pytest.raises(EngineInputError, match="strings must be H3 cells in hexadecimal, got 'zz'"):
        str_to_cells(["zz"])


def test_each_point_lands_in_exactly_one_cell_that_contains_it():
    rng = np.random.default_rng(5)
    lat = rng.uniform(16.0, 17.0, 300)
    lon = rng.uniform(103.0, 104.0, 300)
    cells = points_to_cells(lat, lon, 9)
    for a, b, cell in zip(lat, lon, cells):
        assert h3.latlng_to_cell(a, b, 9) == int(cell)
        assert h3.get_resolution(int(cell)) == 9
