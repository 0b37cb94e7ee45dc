"""How the sample's "why poor" pattern looks on the district map: a check of the generator.

:func:`deficit_pattern` counts the districts by their dominant deficit (the capital most often in
deficit, :func:`geo.engine.aggregate.aggregate`'s ``dominant_deficit``) and measures how often two
districts sharing a border have the same one, against the same with the district labels shuffled
at random. A spatially coherent pattern agrees more between neighbours than shuffled labels do.

Run ``python -m geo.synth.pattern`` to print the figures for the installed sample (its latest round).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.checks import check_columns, check_int
from geo.data.contract import CAPITALS
from geo.engine.aggregate import aggregate, index_households


def district_neighbours(districts: pd.DataFrame, *, tolerance: float = 1e-4) -> np.ndarray:
    """Pairs of district codes whose polygons share a border or a corner (within ``tolerance``
    degrees, as simplified boundaries leave hairline gaps), each pair once, the smaller code first:
    an (m, 2) object array, sorted.

    Parameters
    ----------
    districts : pandas.DataFrame
        ``code`` and ``geometry`` (shapely, EPSG:4326), e.g. ``load_boundaries("district")``.
    tolerance : float, default 1e-4
        Largest gap, in degrees (about 11 m), still counted as a shared border.
    """
    import shapely

    check_columns(districts, "districts", ("code", "geometry"))
    geoms = np.asarray(districts["geometry"], dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms, codes = geoms[keep], districts["code"].astype(str).to_numpy(object)[keep]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    pairs = np.sort(np.column_stack([codes[left[keep]], codes[right[keep]]]), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if len(pairs) else pairs


def deficit_pattern(households: pd.DataFrame, districts: pd.DataFrame, *, survey_year: int | None = None,
                    shuffles: int = 200, seed: int = 0) -> dict:
    """Districts by dominant deficit, and neighbour agreement against shuffled labels.

    Parameters
    ----------
    households : pandas.DataFrame
        Households in the contract's columns.
    districts : geopandas.GeoDataFrame
        District boundaries (``code``, ``geometry``).
    survey_year : int, optional
        The round to measure; default the latest in ``households``.
    shuffles : int, default 200
        Random relabellings the agreement is compared with.
    seed : int, default 0

    Returns
    -------
    dict
        ``survey_year``; ``districts`` (with households); ``dominant``: districts per capital (every
        capital, zeros included); ``neighbour_pairs`` (both districts with households);
        ``agreement``: share of those pairs with the same dominant deficit; ``shuffled_agreement``:
        its mean over ``shuffles`` random permutations of the labels over the districts.

    Example
    -------
    >>> deficit_pattern(households, load_boundaries("district"))["dominant"]  # doctest: +SKIP
    {'human': 41, 'physical': 22, 'natural': 96, 'financial': 118, 'social': 16}
    """
    shuffles = check_int(shuffles, "shuffles", minimum=1)
    years = households["survey_year"].astype("int64")
    year = int(years.max()) if survey_year is None else int(survey_year)
    table = aggregate(index_households(households[years.to_numpy() == year]), by="district", cell_keys=False)
    label = pd.Series(table["dominant_deficit"].astype("string").to_numpy(object), index=table["code"].astype(str))
    label = label.dropna()
    counts = label.value_counts()
    pairs = district_neighbours(districts)
    pairs = pairs[np.isin(pairs[:, 0], label.index) & np.isin(pairs[:, 1], label.index)] if len(pairs) else pairs
    position = pd.Index(label.index)
    left, right = position.get_indexer(pairs[:, 0]), position.get_indexer(pairs[:, 1])
    values = label.to_numpy(object)
    agreement = float(np.mean(values[left] == values[right])) if len(pairs) else float("nan")
    rng = np.random.default_rng(seed)
    shuffled = [np.mean(p[left] == p[right]) for p in (rng.permutation(values) for _ in range(shuffles))]
    return {
        "survey_year": year,
        "districts": int(label.size),
        "dominant": {capital: int(counts.get(capital, 0)) for capital in CAPITALS},
        "neighbour_pairs": int(len(pairs)),
        "agreement": round(agreement, 4),
        "shuffled_agreement": round(float(np.mean(shuffled)), 4) if len(pairs) else float("nan"),
    }


def main() -> None:
    """Print :func:`deficit_pattern` of the installed sample as JSON."""
    import json

    from geo.data import paths
    from geo.data.boundaries import load_boundaries

    households = pd.read_parquet(paths.samples_dir() / "households.parquet")
    print(json.dumps(deficit_pattern(households, load_boundaries("district")), indent=2))


if __name__ == "__main__":
    main()
