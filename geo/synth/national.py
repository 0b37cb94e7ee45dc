"""National-scale synthetic data: ``python -m geo national`` writes 13 million households in all
77 provinces, and their persisted index, outside the repository.

TPMAP surveys about 13 million households nationwide; the pilots cover 231,021. This module
makes a data set of the national size with the sample's own model (:func:`geo.synth.sample.generate_sample`
with ``per_province``), so the app and its benchmarks can be run at that scale on one machine.

How it is made
--------------
1. **Provinces.** Every province of ``geothai`` that has a polygon in the installed boundaries
   (77) gets households in proportion to its number of subdistricts times the sample's regional
   factor (1.0 outside the pilot provinces) and a small seeded log-normal jitter, split with
   largest-remainder rounding so the total is exact (:func:`national_counts`).
2. **Batches.** Provinces are taken in code order, in batches of at most ``batch_households``
   (default 1.5 million): each batch is one :func:`geo.synth.sample.generate_sample` call with its own
   seed (``seed + batch number``), so memory stays bounded whatever the total. Kalasin's
   published figures scale with the households Kalasin gets; the ten pilot sites are placed in
   the batch of their province.
3. **Files.** Batches are appended to one ``households.parquet`` (zstd, row groups of
   :data:`ROW_GROUP_ROWS`, in province order, so a province filter reads only its row groups),
   with the sample's metadata (``synthetic: true``, ``"national": true``); the pilots go to
   ``pilots.csv`` and the figures of the run to ``national_manifest.json``.
4. **Index.** :func:`geo.engine.persist.write_index` then persists the engine's
   :class:`~geo.engine.aggregate.HouseholdIndex` beside the file, so the app starts by mapping it from
   disk instead of reading and indexing 13 million rows.

The default folder is ``data/national/`` (:func:`geo.data.paths.national_dir`, ``$PPAP_NATIONAL_DIR``),
which holds a ``.gitignore`` of its own so nothing there is ever committed. Point the app at it
with ``PPAP_HOUSEHOLDS=data/national/households.parquet`` (docs/SCALE.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from geo.data import paths
from geo.errors import ArgumentError, PPAPError

#: TPMAP's national survey size (about 13 million households).
NATIONAL_HOUSEHOLDS = 13_000_000
#: Households generated per batch: bounds the generator's memory (about 3 GB per million).
BATCH_HOUSEHOLDS = 1_500_000
#: Parquet row-group size: small enough that a province filter skips most of the file.
ROW_GROUP_ROWS = 250_000
NATIONAL_MANIFEST = "national_manifest.json"
HOUSEHOLDS_FILE = "households.parquet"
PILOTS_FILE = "pilots.csv"


def national_provinces() -> tuple[str, ...]:
    """Province codes of ``geothai`` (77), in code order.

    Example
    -------
    >>> len(national_provinces())
    77
    """
    import geothai

    return tuple(sorted(str(p.code) for p in geothai.provinces()))


def national_counts(
    households: int, areas_per_province: Mapping[str, int], *, seed: int
) -> dict[str, int]:
    """Households per province: subdistricts x regional factor x a seeded jitter, summing exactly.

    Parameters
    ----------
    households : int
        Total households; at least one per province.
    areas_per_province : mapping
        ``{province_code: number of subdistricts}``; provinces with 0 get no households.
    seed : int
        Seed of the jitter.

    Returns
    -------
    dict
        ``{province_code: households}`` for every province with subdistricts, in code order.

    Raises
    ------
    ValueError
        When ``households`` is smaller than the number of provinces.

    Example
    -------
    >>> national_counts(1_000, {"10": 3, "46": 1}, seed=1)  # doctest: +SKIP
    {'10': 748, '46': 252}
    """
    from geo.synth.sample import REGION_FACTOR
    from geo.synth.places import allocate_exact

    codes = sorted(p for p, n in areas_per_province.items() if n > 0)
    if not isinstance(households, (int, np.integer)) or households < len(codes):
        raise ArgumentError(f"households must be an integer of at least {len(codes)} (one per province), got {households!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    weights = np.array([areas_per_province[p] * REGION_FACTOR.get(p, 1.0) for p in codes], dtype=float)
    weights *= rng.lognormal(0.0, 0.1, len(codes))
    counts = np.asarray(allocate_exact(households - len(codes), weights)) + 1  # nobody left empty
    return {p: int(n) for p, n in zip(codes, counts)}


def batches(counts: Mapping[str, int], batch_households: int) -> list[dict[str, int]]:
    """Provinces in code order, grouped so each group holds at most ``batch_households``
    (a province larger than that is a batch of its own)."""
    if batch_households < 1:
        raise ArgumentError(f"batch_households must be positive, got {batch_households}")
    out: list[dict[str, int]] = [{}]
    for code in sorted(counts):
        if out[-1] and sum(out[-1].values()) + counts[code] > batch_households:
            out.append({})
        out[-1][code] = counts[code]
    return [b for b in out if b]


def generate_national(
    out_dir: Path | None = None,
    *,
    households: int = NATIONAL_HOUSEHOLDS,
    seed: int | None = None,
    batch_households: int = BATCH_HOUSEHOLDS,
    boundaries_dir: Path | None = None,
    boundaries: Mapping[str, pd.DataFrame] | None = None,
    provinces: tuple[str, ...] | None = None,
    index: bool = True,
    rounds: int = 2,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Generate ``households`` synthetic households over every province into ``out_dir``.

    Parameters
    ----------
    out_dir : pathlib.Path, optional
        Destination; default :func:`geo.data.paths.national_dir`. Existing files are replaced.
    households : int
        Total households (default 13,000,000).
    seed : int, optional
        Default :data:`geo.synth.sample.DEFAULT_SEED`.
    batch_households : int
        Households generated at once (bounds memory).
    boundaries_dir, boundaries
        As for :func:`geo.synth.sample.generate_sample` (tests pass tiny squares as ``boundaries``).
    provinces : tuple of str, optional
        Provinces to cover; default :func:`national_provinces` (all 77).
    index : bool
        Also write the persisted index (:func:`geo.engine.persist.write_index`): each round's, and
        the earlier round paired with the later one.
    rounds : {1, 2}, default 2
        Survey rounds: 2 adds the sample's earlier round (2021, about 0.6 of the households of
        2023, most of them followed, :func:`geo.synth.sample.generate_sample`); 1 only 2023.
    progress : callable, optional
        Called with one line per step.

    Returns
    -------
    dict
        The manifest written to ``national_manifest.json``: counts, files, sizes and timings.

    Example
    -------
    >>> generate_national(tmp, households=20_000, boundaries=tiny, provinces=("10", "46"))  # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from geo.synth.sample import DEFAULT_SEED, METADATA_KEY, SYNTHETIC_KEY, _load_boundaries, generate_sample
    from geo.synth.places import build_areas

    if rounds not in (1, 2):
        raise ArgumentError(f"rounds must be 1 or 2, got {rounds!r}")
    say = progress or (lambda line: None)
    seed = DEFAULT_SEED if seed is None else seed
    out_dir = Path(out_dir) if out_dir is not None else paths.national_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    _keep_out_of_git(out_dir)
    started = time.perf_counter()
    if boundaries is None:
        boundaries = _load_boundaries(boundaries_dir)
    provinces = tuple(provinces) if provinces is not None else national_provinces()
    areas = build_areas(provinces, boundaries["district"], boundaries["subdistrict"])
    counts = national_counts(households, areas["province_code"].value_counts().to_dict(), seed=seed)
    groups = batches(counts, batch_households)
    say(f"national: {households:,} households over {len(counts)} provinces, {len(groups)} batches")

    metadata = {
        "synthetic": True, "national": True, "generator": "geo.synth.national", "seed": int(seed),
        "households": int(households), "provinces": len(counts), "rounds": int(rounds),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    households_path = out_dir / HOUSEHOLDS_FILE
    tmp_path = out_dir / f".{HOUSEHOLDS_FILE}.tmp"
    writer = None
    pilots = []
    rows = 0
    try:
        for number, group in enumerate(groups):
            t0 = time.perf_counter()
            sample = generate_sample(seed=seed + number, per_province=group, boundaries=boundaries,
                                     earlier_round=rounds == 2)
            # Province order (then round) across batches: a province filter reads only its row groups.
            rows_of = sample.households.sort_values(["province_code", "survey_year"], kind="stable")
            table = pa.Table.from_pandas(rows_of, preserve_index=False)
            del rows_of
            if writer is None:
                schema = table.schema.with_metadata({
                    **(table.schema.metadata or {}),
                    SYNTHETIC_KEY: b"true",
                    METADATA_KEY: json.dumps(metadata, ensure_ascii=False).encode(),
                })
                writer = pq.ParquetWriter(tmp_path, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema), row_group_size=ROW_GROUP_ROWS)
            pilots.append(sample.pilots)
            rows += len(sample.households)
            say(f"  batch {number + 1}/{len(groups)}: provinces {min(group)}-{max(group)}, "
                f"{len(sample.households):,} households, {time.perf_counter() - t0:.1f} s")
            del sample, table
    finally:
        if writer is not None:
            writer.close()
    tmp_path.replace(households_path)
    pd.concat(pilots, ignore_index=True).to_csv(out_dir / PILOTS_FILE, index=False, encoding="utf-8")
    generate_s = time.perf_counter() - started

    manifest = {
        **metadata,
        "rows": rows,
        "per_province": counts,
        "generate_seconds": round(generate_s, 1),
        "households_bytes": households_path.stat().st_size,
    }
    if index:
        from geo.engine.persist import index_dir_for, write_index

        t0 = time.perf_counter()
        write_index(households_path)
        manifest["index_seconds"] = round(time.perf_counter() - t0, 1)
        manifest["index_bytes"] = sum(f.stat().st_size for f in index_dir_for(households_path).rglob("*")
                                      if f.is_file())
        say(f"  index: {manifest['index_seconds']:.1f} s, {manifest['index_bytes'] / 1e6:,.0f} MB")
    (out_dir / NATIONAL_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _keep_out_of_git(out_dir: Path) -> None:
    """A folder inside the project tree gets a ``.gitignore`` of ``*``: 13M rows are never committed."""
    try:
        out_dir.resolve().relative_to(paths.PROJECT_ROOT)
    except ValueError:
        return
    ignore = out_dir / ".gitignore"
    if not ignore.is_file():
        ignore.write_text("# generated by `python -m geo national`; never committed\n*\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
