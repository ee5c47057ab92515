"""Where tier 1's bound is lost: the model's relaxations, one tighter than the next, against CP-SAT.

    python benchmarks/relaxations.py --size medium --seed 1 --time-limit 60

Every row is a valid upper bound on the patients placed (a relaxation of iop_sched's model,
`baselines.MipModel`, solved with HiGHS), so the distance from a row to the optimum is what
that relaxation cannot see:

- ``lp``: the linear relaxation of the model as built;
- ``lp_placeable_alone``: the same, with every patient who cannot be placed even with the
  program to themselves (the one-patient model of `week_alone`, proven infeasible) fixed unplaced;
- ``lp_week_patterns``: the same, plus each patient's weeks as columns (every inclusion-minimal
  week that meets their weekly rules; a placed patient attends at least one of them, so
  `sum of patterns holding b <= attend[p, b]`, `placed = sum of patterns`). This is the
  per-patient convex hull the plain LP lacks; patients with more than `--pattern-cap` weeks
  keep only the plain rows;
- ``lp_week_cuts``: the same bound as ``lp_week_patterns`` (when it converges) without a column
  per week: cutting planes ``sum_b w_b attend[p, b] >= placed[p]``, one per patient and round,
  each `w` the duals of the patient's hull LP (max weight of their minimal weeks under the LP's
  attendance), checked against every minimal week; the bound is computed from the last LP's
  duals so that it holds whatever the LP's tolerances (a safe bound, not the LP's value);
- ``integer_attend`` and ``integer_open_staff``: MIPs with only those variables integer and
  the rest continuous (within `--time-limit`; their proven dual bound is the row's bound):
  which integrality closes the gap;
- ``cp_sat``: iop_sched's tier 1 (default parameters, same time limit), value and bound
  (``--no-cp-sat`` leaves it out).

Printed as a table and written as CSV (``--csv``).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

from benchmarks.baselines import MipModel, SparseRows  # noqa: E402
from benchmarks.generate import SIZES, generate  # noqa: E402
from benchmarks.tables import show  # noqa: E402
from iop_sched.constraints.availability import compute_eligibility  # noqa: E402
from iop_sched.constraints.base import TIER_PLACED  # noqa: E402
from iop_sched.lp_relaxation import LinearRelaxation  # noqa: E402
from iop_sched.lp_relaxation import safe_lower_bound as lp_relaxation_bound  # noqa: E402
from iop_sched.schema import Patient, Problem  # noqa: E402
from iop_sched.week_alone import week_alone_model  # noqa: E402
from iop_sched.weektime import MINUTES_PER_DAY  # noqa: E402

RELAXATIONS = ("lp", "lp_placeable_alone", "lp_week_patterns", "lp_week_cuts", "integer_attend",
               "integer_open_staff")
COLUMNS = ("relaxation", "bound", "status", "seconds", "note")
PATTERN_CAP = 20_000


def minimal_weeks(problem: Problem, patient: Patient, blocks: Sequence[int],
                  cap: int = PATTERN_CAP) -> Optional[list[tuple[int, ...]]]:
    """Every inclusion-minimal valid week of `patient` over `blocks` (None when more than `cap`).

    Valid as in `week_alone`: weekly minutes within the patient's range, days, minutes per day,
    no two overlapping blocks, required topics. Removing a block never breaks the upper limits,
    so every valid week holds a minimal one.
    """
    rules = problem.program.rules
    low, high = problem.min_minutes_for(patient), problem.max_minutes_for(patient)
    day_limit = problem.max_minutes_per_day()
    topics = problem.required_topics_for(patient)
    ordered = sorted(blocks, key=lambda b: problem.blocks[b].interval)
    interval = {b: problem.blocks[b].interval for b in ordered}
    minutes = {b: problem.blocks[b].minutes for b in ordered}
    day = {b: interval[b][0] // MINUTES_PER_DAY for b in ordered}

    def valid(week: Sequence[int]) -> bool:
        total = sum(minutes[b] for b in week)
        if not week or total < low or total > high or len({day[b] for b in week}) < rules.min_days_per_week:
            return False
        return all(sum(1 for b in week if problem.blocks[b].topic == topic) >= count for topic, count in topics.items())

    found: list[tuple[int, ...]] = []

    def extend(start: int, week: list[int], total: int, per_day: dict[int, int]) -> bool:
        """Depth first by start time; False once over the cap."""
        if valid(week):
            # a valid week's supersets are never minimal; it is minimal if no block can go
            if all(not valid([x for x in week if x != b]) for b in week):
                found.append(tuple(week))
            return len(found) <= cap
        for j in range(start, len(ordered)):
            b = ordered[j]
            if total + minutes[b] > high or any(interval[x][1] > interval[b][0] for x in week):
                continue
            if day_limit is not None and per_day.get(day[b], 0) + minutes[b] > day_limit:
                continue
            week.append(b)
            per_day[day[b]] = per_day.get(day[b], 0) + minutes[b]
            going = extend(j + 1, week, total + minutes[b], per_day)
            week.pop()
            per_day[day[b]] -= minutes[b]
            if not going:
                return False
        return True

    return found if extend(0, [], 0, {}) else None


def add_week_patterns(model: MipModel, cap: int = PATTERN_CAP) -> dict[str, int]:
    """Each patient's minimal weeks as columns (see the module docstring); counts for the note."""
    problem, eligibility = model.problem, model.eligibility
    counts = {"patients": 0, "patterns": 0, "over_cap": 0}
    for p, patient in enumerate(problem.patients):
        if model.columns.upper[model.placed + p] == 0.0 or not eligibility.blocks_of_patient[p]:
            continue
        weeks = minimal_weeks(problem, patient, eligibility.blocks_of_patient[p], cap)
        if weeks is None:
            counts["over_cap"] += 1
            continue
        counts["patients"] += 1
        counts["patterns"] += len(weeks)
        first = model.columns.new(len(weeks))
        columns = list(range(first, first + len(weeks)))
        model.rows.add(columns + [model.placed + p], [1.0] * len(weeks) + [-1.0], 0.0, 0.0)
        holding: dict[int, list[int]] = defaultdict(list)
        for k, week in enumerate(weeks):
            for b in week:
                holding[b].append(first + k)
        for b, cols in holding.items():
            model.rows.add(cols + [model.attend[p, b]], [1.0] * len(cols) + [-1.0], -math.inf, 0.0)
    return counts


def fix_unplaceable(model: MipModel) -> int:
    """Fix unplaced every patient proven unplaceable even alone (no time limit: a guess would void the bound)."""
    from ortools.sat.python import cp_model

    problem, eligibility = model.problem, model.eligibility
    fixed = 0
    for p, patient in enumerate(problem.patients):
        blocks = eligibility.blocks_of_patient[p]
        if blocks:
            week, _ = week_alone_model(problem, patient, blocks)
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            if solver.solve(week) != cp_model.INFEASIBLE:
                continue
        model.fix_zero(model.placed + p)
        fixed += 1
    return fixed


def _run(highs) -> None:
    """Run HiGHS; a failed run (not one cut short by its time limit) is an error, never a bound."""
    import highspy

    if highs.run() == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS failed: {highs.modelStatusToString(highs.getModelStatus())}")


def tier_one_bound(model: MipModel, integer: Sequence[int] = (), time_limit: float = 60.0) -> tuple[float, str]:
    """HiGHS on tier 1 with the `integer` columns integer: the proven bound on patients placed and the status.

    An LP's bound is computed from its duals (`safe_lower_bound`), a MIP's is HiGHS's dual bound.
    """
    highs = highs_of(model, integer, time_limit)
    _run(highs)
    status = highs.modelStatusToString(highs.getModelStatus())
    if not integer:
        return _lp_bound(highs, model), status
    # Tier 1 minimises minus the number placed: the bound on placed is minus the dual bound.
    return -float(highs.getInfo().mip_dual_bound), status


def _lp_bound(highs, model: MipModel) -> float:
    """The bound on patients placed from the LP just solved in `highs` (holding `model.rows`, in order)."""
    import highspy

    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return float(len(model.problem.patients))  # an LP cut short proves nothing beyond everyone
    duals = np.asarray(highs.getSolution().row_dual, dtype=np.float64)
    upper = np.asarray(model.columns.upper, dtype=np.float64)
    return -safe_lower_bound(model.rows, duals, model.cost_vector(TIER_PLACED), upper)


def highs_of(model: MipModel, integer: Sequence[int] = (), time_limit: float = 60.0):
    """A HiGHS instance holding `model` with tier 1's objective (minus the number placed, minimised)."""
    import highspy

    rows, n = model.rows, len(model.columns)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("mip_rel_gap", 0.0)
    # one thread: HiGHS keeps one thread pool per process, and a pool of another size (left by an earlier
    # solve in the same process) makes every run fail; a fresh pool of the size asked for avoids that
    highspy.Highs.resetGlobalScheduler(True)
    highs.setOptionValue("threads", 1)
    highs.addVars(n, np.zeros(n), np.asarray(model.columns.upper, dtype=np.float64))
    highs.addRows(len(rows), np.asarray(rows.lower, dtype=np.float64), np.asarray(rows.upper, dtype=np.float64),
                  len(rows.index), np.asarray(rows.starts, dtype=np.int32), np.asarray(rows.index, dtype=np.int32),
                  np.asarray(rows.value, dtype=np.float64))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), model.cost_vector(TIER_PLACED))
    if integer:
        highs.changeColsIntegrality(len(integer), np.asarray(integer, dtype=np.int32),
                                    np.full(len(integer), int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    return highs


def safe_lower_bound(rows: SparseRows, duals: np.ndarray, cost: np.ndarray, upper: np.ndarray) -> float:
    """A lower bound on min cost.x over `rows` (0 <= x <= upper) from row duals, valid for any duals:
    the product's own (`iop_sched.lp_relaxation.safe_lower_bound`), on these rows."""
    ends = rows.starts[1:] + [len(rows.index)]
    relaxation = LinearRelaxation(
        [0.0] * len(cost), [float(u) for u in upper],
        {column: float(value) for column, value in enumerate(cost) if value != 0},
        [(rows.index[start:end], rows.value[start:end], low, high)
         for start, end, low, high in zip(rows.starts, ends, rows.lower, rows.upper)])
    return lp_relaxation_bound(relaxation, [float(dual) for dual in duals])


def week_cut(incidence: np.ndarray, attendance: np.ndarray, placed: float) -> Optional[np.ndarray]:
    """Weights w >= 0 with w(W) >= 1 on every minimal week W and w.attendance < placed (None if there are none).

    The duals of the patient's hull LP (max sum of week weights, each block's use within its
    attendance) give the most violated such cut; they are checked and scaled so that every
    week really weighs at least 1.
    """
    import highspy

    blocks, weeks = incidence.shape
    hull = highspy.Highs()
    hull.setOptionValue("output_flag", False)
    hull.addVars(weeks, np.zeros(weeks), np.full(weeks, math.inf))
    hull.changeColsCost(weeks, np.arange(weeks, dtype=np.int32), -np.ones(weeks))
    used = [i for i in range(blocks) if incidence[i].any()]
    for i in used:
        holding = np.flatnonzero(incidence[i]).astype(np.int32)
        hull.addRow(-math.inf, float(attendance[i]), len(holding), holding, np.ones(len(holding)))
    hull.run()
    if -hull.getInfo().objective_function_value >= placed - 1e-6:
        return None
    weights = np.zeros(blocks)
    weights[used] = np.abs(np.asarray(hull.getSolution().row_dual, dtype=np.float64))
    lightest = float((incidence.T @ weights).min())
    if lightest <= 1e-9:
        return None
    weights *= (1.0 + 1e-12) / min(1.0, lightest)  # every week at least 1, rounding included
    return weights if float(weights @ attendance) < placed - 1e-6 else None


def week_cut_bound(model: MipModel, pattern_cap: int = PATTERN_CAP, max_rounds: int = 200,
                   time_limit: float = 600.0) -> dict:
    """Tier 1's bound with each patient's week hull added as cutting planes (see the module docstring).

    `model` should have the patients who cannot be placed alone fixed unplaced. Returns the
    safe bound on patients placed, the last LP's value, rounds, cuts and seconds.
    """
    import highspy

    started = time.monotonic()
    problem, eligibility = model.problem, model.eligibility
    incidences: dict[tuple, Optional[np.ndarray]] = {}
    patients: list[tuple[int, list[int], np.ndarray]] = []
    for p, patient in enumerate(problem.patients):
        blocks = list(eligibility.blocks_of_patient[p])
        if model.columns.upper[model.placed + p] == 0.0 or not blocks:
            continue
        signature = (tuple(blocks), problem.min_minutes_for(patient), problem.max_minutes_for(patient),
                     tuple(sorted(problem.required_topics_for(patient).items())))
        if signature not in incidences:
            weeks = minimal_weeks(problem, patient, blocks, pattern_cap)
            incidence = None
            if weeks:
                position = {b: i for i, b in enumerate(blocks)}
                incidence = np.zeros((len(blocks), len(weeks)), dtype=np.uint8)  # dense, so small entries
                for k, week in enumerate(weeks):
                    incidence[[position[b] for b in week], k] = 1
            incidences[signature] = incidence
        if incidences[signature] is not None:
            patients.append((p, blocks, incidences[signature]))
    enumerated = time.monotonic() - started
    highs = highs_of(model, time_limit=time_limit)
    highs.setOptionValue("solver", "ipm")  # the first LP: interior point, then crossover gives a basis to warm start
    rounds = cuts = 0
    while True:
        _run(highs)
        highs.setOptionValue("solver", "simplex")
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        rounds += 1
        if rounds > max_rounds or time.monotonic() - started > time_limit:
            break
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        added = 0
        for p, blocks, incidence in patients:
            placed = x[model.placed + p]
            if placed < 1e-6:
                continue
            attendance = np.array([x[model.attend[p, b]] for b in blocks])
            weights = week_cut(incidence, attendance, placed)
            if weights is None:
                continue
            chosen = np.flatnonzero(weights > 0)
            columns = [model.attend[p, blocks[i]] for i in chosen] + [model.placed + p]
            values = np.concatenate([weights[chosen], [-1.0]])
            highs.addRow(0.0, math.inf, len(columns), np.asarray(columns, dtype=np.int32), values)
            model.rows.add(columns, list(values), 0.0, math.inf)  # kept beside HiGHS's copy for the safe bound
            added += 1
        cuts += added
        if not added:
            break
    return {"bound": _lp_bound(highs, model), "lp": -float(highs.getInfo().objective_function_value),
            "status": highs.modelStatusToString(highs.getModelStatus()),
            "rounds": rounds, "cuts": cuts, "enumerated_seconds": round(enumerated, 2),
            "patients_with_weeks": len(patients), "seconds": round(time.monotonic() - started, 2)}


def measure(document: dict, time_limit: float, seed: int = 0, relaxations: Sequence[str] = RELAXATIONS,
            pattern_cap: int = PATTERN_CAP, with_cp_sat: bool = True) -> list[dict]:
    """One row per relaxation (and CP-SAT's tier 1 last)."""
    from iop_sched import problem_from_data

    problem = problem_from_data(document)
    eligibility = compute_eligibility(problem)
    rows = []
    for name in relaxations:
        if name not in RELAXATIONS:
            raise ValueError(f"unknown relaxation {name!r}; choose from {', '.join(RELAXATIONS)}")
        started = time.monotonic()
        model = MipModel(problem, eligibility, placed_only=True)
        note = ""
        integer: list[int] = []
        if name != "lp":
            note = f"{fix_unplaceable(model)} not placeable alone"
        if name == "lp_week_patterns":
            counts = add_week_patterns(model, pattern_cap)
            note += (f"; {counts['patterns']} weeks for {counts['patients']} patients"
                     f", {counts['over_cap']} over the cap")
        if name == "integer_attend":
            integer = sorted(model.attend.values())
        if name == "integer_open_staff":
            integer = list(range(model.open, model.open + len(problem.blocks))) + sorted(model.staff.values())
        if name == "lp_week_cuts":
            found = week_cut_bound(model, pattern_cap, time_limit=time_limit)
            note += (f"; LP {found['lp']:.3f} after {found['rounds']} rounds, {found['cuts']} cuts; weeks of "
                     f"{found['patients_with_weeks']} patients in {found['enumerated_seconds']} s")
            bound, status = found["bound"], found["status"]
        else:
            bound, status = tier_one_bound(model, integer, time_limit)
        rows.append({"relaxation": name, "bound": round(bound, 3), "status": status,
                     "seconds": round(time.monotonic() - started, 2), "note": note})
    if with_cp_sat:
        solve = importlib.import_module("iop_sched.solve")  # the package's `solve` attribute is the function
        started = time.monotonic()
        tier = solve.solve_model(problem, time_limit=time_limit, seed=seed, tiers=(1,)).tiers[0]
        rows.append({"relaxation": "cp_sat", "bound": tier.bound, "status": tier.status,
                     "seconds": round(time.monotonic() - started, 2), "note": f"{tier.value} placed"})
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--seed", type=int, default=0, help="generator and solver seed")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds for each MIP and for CP-SAT")
    parser.add_argument("--relaxations", default=",".join(RELAXATIONS), help="comma-separated, in this order")
    parser.add_argument("--pattern-cap", type=int, default=PATTERN_CAP, help="most weeks enumerated per patient")
    parser.add_argument("--no-cp-sat", action="store_true", help="leave out the CP-SAT row")
    parser.add_argument("--csv", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.relaxations.split(",") if name.strip()]
    rows = measure(generate(args.size, args.seed), args.time_limit, args.seed, chosen, args.pattern_cap,
                   with_cp_sat=not args.no_cp_sat)
    print(f"{args.size} seed {args.seed}, bounds on tier 1 (patients placed), {args.time_limit:g} s per MIP")
    show(rows, COLUMNS, args.csv, width=18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
