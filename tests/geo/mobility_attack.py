"""The differencing attacker of :mod:`tests.geo.disclosure_attack`, across two survey rounds.

The attacker holds every figure of three kinds of tables for one region:

* **each round's maps**: every view :func:`tests.geo.disclosure_attack.collect_figures` builds
  (district, subdistrict, H3 res 5/6/7 rolled up, the headline, under every filter), once for the
  earlier round and once for the later;
* **the change map**: :func:`geo.engine.mobility.mobility_table` by subdistrict and H3 res 6
  and 7, and :func:`geo.engine.mobility.mobility_totals`, under the filters none and started at
  levels 1-2 — every count column (households of each round, followed, new,
  not found, up / same / down, escaped, fell, the 16 transitions, improved / same / worse per capital).

Every figure is a set of households (a household is one unknown whichever round a figure counts
it in) and so a sum over *atoms*: households that lie in exactly the same figures. Then, as in
:func:`tests.geo.disclosure_attack.attack`, two linear programmes (HiGHS) bound each withheld count
of 1 to k-1 households under every published figure (±noise, and >= k) and every withheld one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import highspy
from scipy.sparse import csr_matrix

from geo.data.contract import CAPITALS
from geo.engine.aggregate import index_households
from geo.engine.cellkey import MAX_NOISE
from geo.engine.mobility import (COUNT_COLUMNS, CHANGE_THRESHOLD, mobility_table, mobility_totals, pair_rounds)
from tests.geo.disclosure_attack import AttackResult, Figure, _solver, bound_targets, collect_figures

CHANGE_RESOLUTIONS = (6, 7)
CHANGE_COUNTS = COUNT_COLUMNS + tuple(f"{c}_{w}" for c in CAPITALS for w in ("improved", "same", "worse"))


def _change_indicators(pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per count column of a change table, which pairs it counts."""
    status = pairs["status"].astype(str).to_numpy()
    lf = pairs["level_from"].to_numpy(dtype="float64", na_value=0)
    lt = pairs["level_to"].to_numpy(dtype="float64", na_value=0)
    f = status == "followed"
    out = {
        "households_from": status != "new", "households_to": status != "not_found", "followed": f,
        "new": status == "new", "not_found": status == "not_found", "up": f & (lt > lf), "same": f & (lt == lf),
        "down": f & (lt < lf), "escaped": f & (lf <= 2) & (lt >= 3), "fell": f & (lf >= 3) & (lt <= 2),
        **{f"l{a}_to_l{b}": f & (lf == a) & (lt == b) for a in range(1, 5) for b in range(1, 5)},
    }
    for capital in CAPITALS:
        change = pairs[f"{capital}_change"].to_numpy(dtype="float64")
        out[f"{capital}_improved"] = f & (change >= CHANGE_THRESHOLD - 1e-6)
        out[f"{capital}_worse"] = f & (change <= -CHANGE_THRESHOLD + 1e-6)
        out[f"{capital}_same"] = f & (np.abs(change) < CHANGE_THRESHOLD - 1e-6)
    return out


def _change_figures(pairs: pd.DataFrame, area: str, *, k: int, exact: bool) -> tuple[int, list[Figure]]:
    indicators = _change_indicators(pairs)
    in_area = (pairs["district_code"].astype(str) == area).to_numpy()
    lf = pairs["level_from"].to_numpy(dtype="float64", na_value=0)
    lt = pairs["level_to"].to_numpy(dtype="float64", na_value=0)
    filters = {"all": in_area, "from=1,2": in_area & (lf >= 1) & (lf <= 2)}
    figures: list[Figure] = []
    views = 0
    for name, mask in filters.items():
        members_all = np.flatnonzero(mask)
        totals = mobility_totals(pairs, exact=exact, min_count=k, mask=mask)
        union = members_all.size
        for column in CHANGE_COUNTS:
            value = totals[column]
            figures.append(Figure(f"change {name} headline {column}", members_all[indicators[column][members_all]],
                                  None if pd.isna(value) else int(value), small=not exact or union < k))
        views += 1
        tables = [("subdistrict", None, pairs["subdistrict_code"].astype(str).to_numpy())]
        tables += [("h3", res, pairs[f"cell_{res}"].astype("float64").to_numpy()) for res in CHANGE_RESOLUTIONS]
        for by, res, place in tables:
            released = mobility_table(pairs, by=by, res=res, exact=exact, min_count=k, mask=mask)
            key = "h3_cell" if by == "h3" else "code"
            shown = {str(v) if by != "h3" else float(v): i for i, v in enumerate(released[key])}
            for value_of_place in pd.unique(place[members_all]):
                if isinstance(value_of_place, float) and np.isnan(value_of_place):
                    continue
                members = members_all[place[members_all] == value_of_place]
                at = shown.get(value_of_place)
                for column in CHANGE_COUNTS:
                    households = members[indicators[column][members]]
                    cell = released[column].iloc[at] if at is not None else pd.NA
                    figures.append(Figure(f"change {name} {by}{res or ''} {value_of_place} {column}", households,
                                          None if pd.isna(cell) else int(cell), small=not exact or members.size < k))
            views += 1
    return views, figures


def attack_rounds(households: pd.DataFrame, area: str, *, year_from: int, year_to: int, k: int = 10,
                  exact: bool = False, max_targets: int | None = None) -> AttackResult:
    """Both rounds' maps of district ``area`` and its change tables, attacked at once."""
    pairs = pair_rounds(households, year_from, year_to, h3_resolutions=CHANGE_RESOLUTIONS)
    position_of = pd.Series(np.arange(len(pairs)), index=pairs["household_id"].astype(str).to_numpy())
    views, figures = _change_figures(pairs, area, k=k, exact=exact)
    for year in (year_from, year_to):
        frame = households[households["survey_year"] == year].reset_index(drop=True)
        index = index_households(frame)
        round_views, round_figures = collect_figures(index, [area], k=k, exact=exact)
        # Index positions -> rows of the round -> households (pairs).
        to_pair = position_of.loc[frame["household_id"].astype(str).to_numpy()[index.order]].to_numpy()
        for figure in round_figures:
            figures.append(Figure(f"round {year} {figure.label}", to_pair[figure.households], figure.value,
                                  figure.small))
        views += round_views
    return solve(figures, len(pairs), views=views, k=k, exact=exact, max_targets=max_targets)


def solve(figures: list[Figure], n: int, *, views: int, k: int, exact: bool,
          max_targets: int | None = None) -> AttackResult:
    """Bound every withheld count of 1..k-1 households by linear programming over all ``figures``;
    ``max_targets``: attack at most this many of them, spread evenly."""
    noise = 0 if exact else MAX_NOISE
    rng = np.random.default_rng(0)
    signature = np.zeros(n, dtype=np.uint64)
    for figure in figures:  # households in exactly the same figures share a signature: one atom
        signature[figure.households] += rng.integers(1, 2**63, dtype=np.uint64)
    universe = np.unique(np.concatenate([f.households for f in figures]))
    atom_of = np.full(n, -1, dtype=np.int64)
    atom_of[universe] = pd.factorize(signature[universe])[0]
    n_atoms = int(atom_of.max()) + 1
    rows, values, smalls, truths, labels, seen = [], [], [], [], [], set()
    for figure in figures:
        if figure.households.size == 0:
            continue
        atoms = np.unique(atom_of[figure.households])
        mark = atoms.tobytes() + (str(figure.value).encode() if figure.value is not None else b"w") + bytes(
            [figure.small])
        if mark in seen:
            continue
        seen.add(mark)
        rows.append(atoms)
        values.append(figure.value)
        smalls.append(figure.small)
        truths.append(int(figure.households.size))
        labels.append(figure.label)
    matrix = csr_matrix((np.ones(sum(r.size for r in rows)), np.concatenate(rows),
                         np.cumsum([0] + [r.size for r in rows])), shape=(len(rows), n_atoms))
    published = np.array([v is not None for v in values])
    value = np.array([v if v is not None else 0 for v in values], dtype=np.float64)
    small = np.array(smalls, dtype=bool)
    row_upper = np.where(published, value + noise, np.where(small, k - 1 + noise, highspy.kHighsInf))
    row_lower = np.where(published, value if exact else np.maximum(k, value - noise), 0.0)
    solver = _solver(matrix, row_lower, row_upper)
    targets: dict[bytes, int] = {}
    for i in np.flatnonzero(~published):
        if 1 <= truths[i] <= k - 1:
            targets.setdefault(rows[i].tobytes(), i)
    chosen = list(targets.values())
    if max_targets is not None and len(chosen) > max_targets:
        chosen = [chosen[j] for j in np.linspace(0, len(chosen) - 1, max_targets).astype(int)]
    result = AttackResult(views=views, figures=len(figures), published=int(published.sum()),
                          withheld_small=len(chosen), atoms=n_atoms)
    return bound_targets(solver, rows, labels, truths, chosen, result)
