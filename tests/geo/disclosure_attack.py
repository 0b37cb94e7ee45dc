"""A differencing attacker against the tables a viewer can open, for the attack harness.

The attacker builds the tables a public viewer can build in the app — an area (a province or a
district) × a map level (district, subdistrict, H3 at res 5, 6 and 7, rolled up as the map rolls
them, a district's villages when their keys are given (the Households page's ``by=village``,
:mod:`geo.views.villages`), and the headline of the whole selection) × a filter (none, each level, levels 1-2, not in
TPMAP, verified, in no pilot, in no pilot or one pilot, one pilot) — through the library's own
release functions (:func:`geo.engine.protect.protect`, :func:`geo.views.dashboard.totals_of`), and collects
every count a table shows or withholds: households, households per level and at levels 1-2, not
in TPMAP, verified.

Then it tries to determine each withheld count of 1 to k-1 households:

* every figure is a set of households, and so a sum over *atoms* (households alike in everything
  a view can tell apart: subdistrict, village, hexagon at each drawn resolution, level, TPMAP,
  verified, pilot);
* a published figure ``p`` says ``p - noise <= sum <= p + noise`` (``noise`` 0 for an exact
  release) and, as only counts of at least ``k`` are published, ``sum >= k``; a withheld figure
  says ``sum <= k - 1 + noise`` (``k - 1`` for an exact release, where withheld rows also hold
  at least one household);
* for each withheld count, two linear programmes (HiGHS) find the smallest and largest value it
  can take under all of these at once. When a single whole number is left, the count is
  *determined*: subtraction of any tables, and any linear combination of them, is a special case.

This is a stronger attacker than a real one: it knows which atoms hold households at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import highspy
from scipy.sparse import csr_matrix

from geo.engine.aggregate import HouseholdIndex, aggregate, aggregate_by_key, exact_cells
from geo.engine.cellkey import MAX_NOISE
from geo.engine.filters import area_mask, combine_masks
from geo.views.headline import totals_of
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.engine.protect import protect

#: The household counts the attacker reads, with the households each one counts.
COUNTED = ("households", "households_level_1", "households_level_2", "households_level_3",
           "households_level_4", "households_level_1_2", "not_in_tpmap", "in_tpmap", "verified")
H3_RESOLUTIONS = (5, 6, 7)


@dataclass
class Figure:
    """One count a table shows (``value``) or withholds (``value`` None), and its households."""

    label: str
    households: np.ndarray  # positions in the index
    value: int | None
    small: bool = True  # withheld as "<k" (at most k - 1, plus noise); False: withheld beside one (no bound)


@dataclass
class AttackResult:
    views: int
    figures: int
    published: int
    withheld_small: int  # distinct withheld sets of 1..k-1 households: the targets
    determined: list[tuple[str, int]] = field(default_factory=list)  # (label, true count)
    atoms: int = 0

    def summary(self) -> str:
        return (f"{self.views} views, {self.figures} figures ({self.published} published) over {self.atoms} atoms; "
                f"{self.withheld_small} withheld counts of 1-9 tried, {len(self.determined)} determined exactly")


def filters_for(index: HouseholdIndex, positions: np.ndarray) -> list[tuple[str, HouseholdFilter | None]]:
    """The filters a viewer can combine, with the pilots present among ``positions``."""
    out: list[tuple[str, HouseholdFilter | None]] = [("all", None)]
    out += [(f"level={lv}", HouseholdFilter(levels=[lv])) for lv in (1, 2, 3, 4)]
    out += [("level=1,2", HouseholdFilter(levels=[1, 2])), ("tpmap=out", HouseholdFilter(in_tpmap=False)),
            ("verified", HouseholdFilter(verified=True)), ("pilot=none", HouseholdFilter(pilots=["none"]))]
    pilots = sorted({str(index.pilot_ids[p]) for p in np.unique(index.pilot[positions]) if p >= 0})
    for pid in pilots:
        out += [(f"pilot={pid}", HouseholdFilter(pilots=[pid])),
                (f"pilot=none,{pid}", HouseholdFilter(pilots=["none", pid])),
                (f"level=1&pilot=none,{pid}", HouseholdFilter(levels=[1], pilots=["none", pid]))]
    return out


def _indicators(index: HouseholdIndex) -> dict[str, np.ndarray]:
    level = index.level
    return {
        "households": np.ones(index.n, dtype=bool),
        **{f"households_level_{lv}": level == lv for lv in (1, 2, 3, 4)},
        "households_level_1_2": level <= 2,
        "not_in_tpmap": ~index.in_tpmap,
        "in_tpmap": index.in_tpmap,
        "verified": index.verified,
    }


def _row_groups(index: HouseholdIndex, raw: pd.DataFrame, by: str, mask: np.ndarray,
                villages: np.ndarray | None = None) -> list[np.ndarray]:
    """Per row of an unprotected aggregate, the positions of its households (within ``mask``)."""
    selected = np.flatnonzero(mask)
    if by == "village":
        assert villages is not None
        return [selected[villages[selected] == str(code)] for code in raw["code"]]
    if by == "h3":
        # A household is in the finest row whose cell contains it at that row's resolution (the
        # exact cell, h3.latlng_to_cell): a rolled-up family's households sit in their coarser cells,
        # the rest of that coarser cell's households stay in the finer rows of their own families.
        groups: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(raw)
        unplaced = np.ones(selected.size, dtype=bool)
        for res in sorted(np.unique(raw["res"].to_numpy()), reverse=True):
            rows = np.flatnonzero(raw["res"].to_numpy() == res)
            cells = exact_cells(index, int(res))[selected]
            for row in rows:
                here = unplaced & (cells != 0) & (cells == np.uint64(raw["h3_cell"].iloc[row]))
                groups[row] = selected[here]
                unplaced &= ~here
        return groups
    codes = {"province": index.province_codes, "district": index.district_codes,
             "subdistrict": index.subdistrict_codes}[by]
    of = {"province": index.province, "district": index.district, "subdistrict": index.subdistrict}[by][selected]
    where = {str(c): i for i, c in enumerate(codes)}
    return [selected[of == where[str(code)]] for code in raw["code"]]


def _figures_of(index, raw, released, groups, label, indicators) -> list[Figure]:
    key = "h3_cell" if "h3_cell" in raw.columns else "code"
    shown = {str(v): i for i, v in enumerate(released[key].astype(str))} if len(released) else {}
    out = []
    for row, members in enumerate(groups):
        at = shown.get(str(raw[key].iloc[row]))
        complementary = at is not None and str(released["suppression"].iloc[at]) == "complementary"
        for column in COUNTED:
            households = members[indicators[column][members]]
            value = None
            if at is not None and column in released.columns:
                cell = released[column].iloc[at]
                value = None if pd.isna(cell) else int(cell)
            out.append(Figure(f"{label} {raw[key].iloc[row]} {column}", households, value, not complementary))
    return out


def collect_figures(index: HouseholdIndex, areas: list[str], *, k: int, exact: bool,
                    villages: np.ndarray | None = None) -> tuple[int, list[Figure]]:
    """Every count of every view of ``areas`` (see the module docstring), as released; with
    ``villages`` (each household's village key, :func:`geo.views.villages.village_keys`) a
    district's views include its village table."""
    indicators = _indicators(index)
    scope = combine_masks(*[area_mask(index, a) for a in areas[:1]])
    scope_positions = np.flatnonzero(scope) if scope is not None else np.arange(index.n)
    figures: list[Figure] = []
    views = 0
    for area in areas:
        in_area = area_mask(index, area)
        levels = ["district", "subdistrict"] if len(area) == 2 else ["subdistrict"]
        for name, flt in filters_for(index, scope_positions):
            mask = combine_masks(filter_mask(index, flt) if flt is not None else None, in_area)
            mask = np.ones(index.n, dtype=bool) if mask is None else mask
            where = f"area={area}&{name}"
            # The headline: the whole selection as one row.
            totals = totals_of(aggregate(index, "province", mask=mask), k=k, exact=exact)
            members = np.flatnonzero(mask)
            for column in COUNTED:
                cell = totals[column].iloc[0] if column in totals.columns else pd.NA
                if totals["suppressed"].iloc[0]:
                    cell = pd.NA
                figures.append(Figure(f"{where} headline {column}", members[indicators[column][members]],
                                      None if pd.isna(cell) else int(cell)))
            for by in levels:
                raw = aggregate(index, by, mask=mask)
                released = protect(raw, k=k, exact=exact)
                figures += _figures_of(index, raw, released, _row_groups(index, raw, by, mask), f"{where} by={by}",
                                       indicators)
                views += 1
            if villages is not None and len(area) == 4:  # the Households page's villages of one district
                raw = aggregate_by_key(index, villages, by="village", mask=mask)
                released = protect(raw, k=k, exact=exact)
                figures += _figures_of(index, raw, released, _row_groups(index, raw, "village", mask, villages),
                                       f"{where} by=village", indicators)
                views += 1
            for res in H3_RESOLUTIONS:  # as the map draws them: rolled up to k
                raw = aggregate(index, "h3", res=res, mask=mask, rollup_min_count=k)
                released = protect(raw, k=k, exact=exact)
                figures += _figures_of(index, raw, released, _row_groups(index, raw, "h3", mask),
                                       f"{where} res={res}", indicators)
                views += 1
            views += 1
    return views, figures


def atoms_of(index: HouseholdIndex, positions: np.ndarray, villages: np.ndarray | None = None) -> np.ndarray:
    """Atom id per position: households no view can tell apart share one."""
    # H3 cells do not nest exactly: the cell at each resolution the views draw, not one res-7 cell.
    cells = {f"cell{res}": exact_cells(index, res)[positions] for res in H3_RESOLUTIONS}
    village = villages[positions].astype(str) if villages is not None else np.zeros(positions.size, dtype=np.int8)
    frame = pd.DataFrame({
        "sub": index.subdistrict[positions], "village": village, "district": index.district[positions], **cells,
        "level": index.level[positions], "tpmap": index.in_tpmap[positions],
        "verified": index.verified[positions], "pilot": index.pilot[positions],
    })
    return frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()


def attack(index: HouseholdIndex, areas: list[str], *, k: int = 10, exact: bool = False,
           max_targets: int | None = None, villages: np.ndarray | None = None) -> AttackResult:
    """Collect every figure of the views of ``areas`` (with each district's village table when
    ``villages`` gives the households' village keys) and try to determine each withheld small count."""
    views, figures = collect_figures(index, areas, k=k, exact=exact, villages=villages)
    noise = 0 if exact else MAX_NOISE
    universe = np.unique(np.concatenate([f.households for f in figures])) if figures else np.zeros(0, dtype=np.int64)
    atom_of_position = np.full(index.n, -1, dtype=np.int64)
    atom_of_position[universe] = atoms_of(index, universe, villages)
    n_atoms = int(atom_of_position.max()) + 1 if universe.size else 0
    atom_size = np.bincount(atom_of_position[universe], minlength=n_atoms)

    rows, values, smalls, truths, labels = [], [], [], [], []
    seen: dict[bytes, int] = {}
    for figure in figures:
        if figure.households.size == 0:
            continue  # an empty set: nothing to learn
        atoms, counts = np.unique(atom_of_position[figure.households], return_counts=True)
        assert (counts == atom_size[atoms]).all(), f"{figure.label}: not a union of atoms"
        signature = atoms.tobytes() + (b"p" + str(figure.value).encode() if figure.value is not None else b"w")
        if signature in seen:
            continue
        seen[signature] = len(rows)
        rows.append(atoms)
        values.append(figure.value)
        smalls.append(figure.small)
        truths.append(int(figure.households.size))
        labels.append(figure.label)
    matrix = csr_matrix((np.ones(sum(r.size for r in rows)), np.concatenate(rows) if rows else np.zeros(0, int),
                         np.cumsum([0] + [r.size for r in rows])), shape=(len(rows), n_atoms))
    published = np.array([v is not None for v in values])
    value = np.array([v if v is not None else 0 for v in values], dtype=np.float64)
    # One row per figure, lower <= sum <= upper. Published: lower is p for an exact release and
    # max(k, p - noise) for the public one (it publishes no count under k); upper p + noise.
    # Withheld as small: at most k - 1 + noise; withheld beside a small one (exact release): no bound.
    small = np.array(smalls, dtype=bool)
    row_upper = np.where(published, value + noise, np.where(small, k - 1 + noise, highspy.kHighsInf))
    row_lower = np.where(published, value if exact else np.maximum(k, value - noise), 0.0)
    solver = _solver(matrix, row_lower, row_upper)

    targets = {}
    for i in np.flatnonzero(~published):
        if 1 <= truths[i] <= k - 1:
            key = rows[i].tobytes()
            targets.setdefault(key, i)
    target_rows = list(targets.values())
    if max_targets is not None:
        target_rows = target_rows[:max_targets]
    result = AttackResult(views=views, figures=len(figures), published=int(published.sum()),
                          withheld_small=len(target_rows), atoms=n_atoms)
    return bound_targets(solver, rows, labels, truths, target_rows, result)


def bound_targets(solver: highspy.Highs, rows: list[np.ndarray], labels: list[str], truths, targets: list[int],
                  result: AttackResult) -> AttackResult:
    """Bound each target figure's count from below and above (two linear programmes on ``solver``,
    whose rows are every figure); a target whose bounds meet is determined and added to ``result``."""
    previous = np.zeros(0, dtype=np.int64)
    for i in targets:
        solver.changeColsCost(previous.size, previous.astype(np.int32), np.zeros(previous.size))
        previous = rows[i]
        solver.changeColsCost(previous.size, previous.astype(np.int32), np.ones(previous.size))
        low = _optimum(solver, highspy.ObjSense.kMinimize, labels[i])
        high = _optimum(solver, highspy.ObjSense.kMaximize, labels[i])
        smallest, largest = np.ceil(low - 1e-6), np.floor(high + 1e-6)
        assert smallest <= truths[i] <= largest, f"{labels[i]}: the truth {truths[i]} is outside [{smallest}, {largest}]"
        if smallest == largest:
            result.determined.append((labels[i], truths[i]))
    return result


def _solver(matrix: csr_matrix, row_lower: np.ndarray, row_upper: np.ndarray) -> highspy.Highs:
    """HiGHS holding the attacker's constraints; objectives change per target (warm-started)."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = np.zeros(matrix.shape[1])
    lp.col_lower_ = np.zeros(matrix.shape[1])
    lp.col_upper_ = np.full(matrix.shape[1], highspy.kHighsInf)
    lp.row_lower_, lp.row_upper_ = row_lower.astype(np.float64), row_upper.astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("presolve", "off")  # keep the basis: each target starts from the last optimum
    solver.setOptionValue("simplex_strategy", 4)  # primal: a new objective keeps the basis feasible
    solver.passModel(lp)
    return solver


def _optimum(solver: highspy.Highs, sense, label: str) -> float:
    solver.changeObjectiveSense(sense)
    solver.run()
    status = solver.getModelStatus()
    assert status == highspy.HighsModelStatus.kOptimal, f"{label}: the attacker's programme is {status}"
    return float(solver.getInfo().objective_function_value)
