"""Where tier 1's bound is lost: the model's relaxations, one tighter than the next, against CP-SAT.

    python benchmarks/relaxations.py --size medium --seed 1 --time-limit 60

Every row is a valid upper bound on the patients placed (a relaxation of iop_sched's model,
`baselines.MipModel`, solved with HiGHS), so the distance from a row to the optimum is what
that relaxation cannot see:

- ``lp``: the linear relaxation of the model as built;
- ``lp_placeable_alone``: the same, with every patient who cannot be placed even with the
  program to themselves (`reasons.placeable_alone`) fixed unplaced;
- ``lp_week_patterns``: the same, plus each patient's weeks as columns (every inclusion-minimal
  week that meets their weekly rules; a placed patient attends at least one of them, so
  `sum of patterns holding b <= attend[p, b]`, `placed = sum of patterns`). This is the
  per-patient convex hull the plain LP lacks; patients with more than `--pattern-cap` weeks
  keep only the plain rows;
- ``integer_attend`` and ``integer_open_staff``: MIPs with only those variables integer and
  the rest continuous (within `--time-limit`; their proven dual bound is the row's bound):
  which integrality closes the gap;
- ``cp_sat``: iop_sched's tier 1 (default parameters, same time limit), value and bound.

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

from benchmarks.baselines import MipModel  # noqa: E402
from benchmarks.generate import SIZES, generate  # noqa: E402
from benchmarks.tables import show  # noqa: E402
from iop_sched.constraints.availability import compute_eligibility  # noqa: E402
from iop_sched.constraints.base import TIER_PLACED  # noqa: E402
from iop_sched.reasons import placeable_alone  # noqa: E402
from iop_sched.schema import Patient, Problem  # noqa: E402
from iop_sched.weektime import MINUTES_PER_DAY  # noqa: E402

RELAXATIONS = ("lp", "lp_placeable_alone", "lp_week_patterns", "integer_attend", "integer_open_staff")
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
    """Fix unplaced every patient who cannot be placed even alone; how many."""
    problem, eligibility = model.problem, model.eligibility
    fixed = 0
    for p, patient in enumerate(problem.patients):
        blocks = eligibility.blocks_of_patient[p]
        if not blocks or not placeable_alone(problem, patient, blocks):
            model.fix_zero(model.placed + p)
            fixed += 1
    return fixed


def tier_one_bound(model: MipModel, integer: Sequence[int] = (), time_limit: float = 60.0) -> tuple[float, str]:
    """HiGHS on tier 1 with the `integer` columns integer: the proven bound on patients placed and the status."""
    import highspy

    rows, n = model.rows, len(model.columns)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("threads", 1)
    highs.addVars(n, np.zeros(n), np.asarray(model.columns.upper, dtype=np.float64))
    highs.addRows(len(rows), np.asarray(rows.lower, dtype=np.float64), np.asarray(rows.upper, dtype=np.float64),
                  len(rows.index), np.asarray(rows.starts, dtype=np.int32), np.asarray(rows.index, dtype=np.int32),
                  np.asarray(rows.value, dtype=np.float64))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), model.cost_vector(TIER_PLACED))
    if integer:
        highs.changeColsIntegrality(len(integer), np.asarray(integer, dtype=np.int32),
                                    np.full(len(integer), int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    highs.run()
    info = highs.getInfo()
    status = highs.modelStatusToString(highs.getModelStatus())
    # Tier 1 minimises minus the number placed: the bound on placed is minus the dual bound.
    bound = -float(info.mip_dual_bound) if integer else -float(info.objective_function_value)
    return bound, status


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
        model = MipModel(problem, eligibility)
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
    parser.add_argument("--csv", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.relaxations.split(",") if name.strip()]
    rows = measure(generate(args.size, args.seed), args.time_limit, args.seed, chosen, args.pattern_cap)
    print(f"{args.size} seed {args.seed}, bounds on tier 1 (patients placed), {args.time_limit:g} s per MIP")
    show(rows, COLUMNS, args.csv, width=18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
