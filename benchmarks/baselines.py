"""The two baselines iop_sched is measured against.

1. `first_come_first_served(problem)`: what a coordinator does by hand in an EHR
   today. Patients are taken in admission order and each gets the first week that
   fits into the groups as they stand; groups still below their minimum size at
   the end are cancelled. No optimisation, no proof.
2. `highs_mip(problem, time_limit)`: iop_sched's own CP-SAT model written as a
   MIP and solved with HiGHS, tier by tier in the same time budget, so a
   benchmark compares solvers on the same model rather than models.

Both return a schedule document (iop-sched-schedule/1) as a dict, the same shape
`iop_sched.solve(...).to_dict()` gives, and pass `iop_sched.validate.validate_schedule`.
`solve_seconds` covers building and solving, not writing the plain-language
reasons of unplaced patients (as in `iop_sched.solve`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any, Optional, Sequence

import numpy as np

from iop_sched.constraints.availability import Eligibility, compute_eligibility
from iop_sched.constraints.base import TIER_COSTS, TIER_PLACED, TIER_WISHES, TIERS
from iop_sched.constraints.costs import (
    BUSIEST_LOAD_PERCENT_WEIGHT,
    OPEN_BLOCK_WEIGHT,
    STAFF_MINUTE_WEIGHT,
    _weekly_capacity_minutes,
)
from iop_sched.constraints.wishes import OUTSIDE_PROGRAM_WEIGHT, WISH_WEIGHT, blocks_outside_preference, track_of
from iop_sched.constraints.rooms import double_booking_cliques
from iop_sched.greedy import FCFS_MAX_NODES, clinician_cap_minutes, first_come_first_served, schedule_document
from iop_sched.schema import Problem
from iop_sched.solve import tier_share
from iop_sched.weektime import MINUTES_PER_DAY, overlap_cliques


# --------------------------------------------------------------------------------------
# Baseline 2: the same model as a MIP, solved with HiGHS
# --------------------------------------------------------------------------------------

class SparseRows:
    """Rows collected in compressed sparse row form, for one bulk `addRows`."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.starts: list[int] = []
        self.index: list[int] = []
        self.value: list[float] = []

    def add(self, index: Sequence[int], value: Sequence[float], lower: float, upper: float) -> None:
        self.starts.append(len(self.index))
        self.index.extend(index)
        self.value.extend(value)
        self.lower.append(lower)
        self.upper.append(upper)

    def at_most_one(self, index: Sequence[int]) -> None:
        self.add(index, [1.0] * len(index), -math.inf, 1.0)

    def implies(self, first: int, second: int) -> None:
        """first <= second (both binary)."""
        self.add((first, second), (1.0, -1.0), -math.inf, 0.0)

    def __len__(self) -> int:
        return len(self.lower)


class _Columns:
    """Column bounds, handed out in blocks of consecutive indices."""

    def __init__(self) -> None:
        self.upper: list[float] = []

    def new(self, count: int, upper: float = 1.0) -> int:
        first = len(self.upper)
        self.upper.extend([upper] * count)
        return first

    def __len__(self) -> int:
        return len(self.upper)


class MipModel:
    """iop_sched's CP-SAT model (constraint families in iop_sched.constraints) as MIP rows and tier costs."""

    def __init__(self, problem: Problem, eligibility: Eligibility, *, link_rows: bool = True,
                 placed_only: bool = False):
        self.problem = problem
        self.eligibility = eligibility
        self.link_rows = link_rows
        self.columns = _Columns()
        self.rows = SparseRows()
        P, B = len(problem.patients), len(problem.blocks)
        self.placed = self.columns.new(P)
        self.open = self.columns.new(B)
        self.attend: dict[tuple[int, int], int] = {}
        for p in range(P):
            for b in eligibility.blocks_of_patient[p]:
                self.attend[p, b] = self.columns.new(1)
        self.staff: dict[tuple[int, int], int] = {}
        for c in range(len(problem.clinicians)):
            for b in eligibility.blocks_of_clinician[c]:
                self.staff[c, b] = self.columns.new(1)
        self.costs: dict[int, dict[int, float]] = {tier: defaultdict(float) for tier in TIERS}
        self._patient_week()
        self._topics()
        self._group_size()
        self._staffing()
        self._rooms()
        if not placed_only:  # the wishes' and costs' own columns and rows never bind tier 1
            self._wishes()
            self._costs()

    # ---- helpers ----
    def fix_zero(self, column: int) -> None:
        self.columns.upper[column] = 0.0

    def cost_vector(self, tier: int) -> np.ndarray:
        vector = np.zeros(len(self.columns))
        for column, weight in self.costs[tier].items():
            vector[column] += weight
        return vector

    # ---- constraint families (same rules, same order as iop_sched.model.FAMILIES) ----
    def _patient_week(self) -> None:
        problem, eligibility, rows = self.problem, self.eligibility, self.rows
        rules = problem.program.rules
        day_limit = problem.max_minutes_per_day()
        minutes = [block.minutes for block in problem.blocks]
        for p, patient in enumerate(problem.patients):
            placed = self.placed + p
            blocks = eligibility.blocks_of_patient[p]
            if not blocks:
                self.fix_zero(placed)
                continue
            attend = [self.attend[p, b] for b in blocks]
            for column in attend:
                rows.implies(column, placed)
            rows.add(attend + [placed], [1.0] * len(attend) + [-1.0], 0.0, math.inf)
            weights = [float(minutes[b]) for b in blocks]
            rows.add(attend + [placed], weights + [-float(problem.min_minutes_for(patient))], 0.0, math.inf)
            rows.add(attend + [placed], weights + [-float(problem.max_minutes_for(patient))], -math.inf, 0.0)
            by_day: dict[int, list[int]] = defaultdict(list)
            for b in blocks:
                by_day[problem.blocks[b].interval[0] // MINUTES_PER_DAY].append(b)
            if rules.min_days_per_week > 0:
                days = sorted(by_day)
                first = self.columns.new(len(days))
                for k, day in enumerate(days):
                    day_attend = [self.attend[p, b] for b in by_day[day]]
                    rows.add(day_attend + [first + k], [1.0] * len(day_attend) + [-1.0], 0.0, math.inf)
                rows.add(list(range(first, first + len(days))) + [placed],
                         [1.0] * len(days) + [-float(rules.min_days_per_week)], 0.0, math.inf)
            if day_limit is not None:
                for day_blocks in by_day.values():
                    if sum(minutes[b] for b in day_blocks) > day_limit:
                        rows.add([self.attend[p, b] for b in day_blocks], [float(minutes[b]) for b in day_blocks],
                                 -math.inf, float(day_limit))
        # No two overlapping blocks: one row per (overlap clique, patient) with two or more of its blocks.
        cliques = overlap_cliques({b: block.interval for b, block in enumerate(problem.blocks)})
        seen: set[tuple[int, tuple[int, ...]]] = set()
        for clique in cliques:
            mine: dict[int, list[int]] = defaultdict(list)
            for b in clique:
                for p in eligibility.patients_of_block[b]:
                    mine[p].append(b)
            for p in sorted(mine):
                chosen = tuple(mine[p])
                if len(chosen) >= 2 and (p, chosen) not in seen:
                    seen.add((p, chosen))
                    rows.at_most_one([self.attend[p, b] for b in chosen])
        for p in range(len(problem.patients)):
            self.costs[TIER_PLACED][self.placed + p] -= 1.0

    def _topics(self) -> None:
        problem = self.problem
        for p, patient in enumerate(problem.patients):
            for topic, count in problem.required_topics_for(patient).items():
                on_topic = [self.attend[p, b] for b in self.eligibility.blocks_of_patient[p]
                            if problem.blocks[b].topic == topic]
                if len(on_topic) < count:
                    self.fix_zero(self.placed + p)
                else:
                    self.rows.add(on_topic + [self.placed + p], [1.0] * len(on_topic) + [-float(count)],
                                  0.0, math.inf)

    def _group_size(self) -> None:
        problem = self.problem
        for b, block in enumerate(problem.blocks):
            is_open = self.open + b
            members = [self.attend[p, b] for p in self.eligibility.patients_of_block[b]]
            capacity = problem.capacity_of(block)
            if len(members) < block.min_size or capacity < block.min_size:
                self.fix_zero(is_open)
                for column in members:
                    self.fix_zero(column)
                continue
            ones = [1.0] * len(members)
            self.rows.add(members + [is_open], ones + [-float(block.min_size)], 0.0, math.inf)
            self.rows.add(members + [is_open], ones + [-float(capacity)], -math.inf, 0.0)
            if self.link_rows:
                for column in members:
                    self.rows.implies(column, is_open)

    def _staffing(self) -> None:
        problem, eligibility, rows = self.problem, self.eligibility, self.rows
        ratio = problem.program.rules.max_patients_per_clinician
        for b, block in enumerate(problem.blocks):
            is_open = self.open + b
            crew = [self.staff[c, b] for c in eligibility.clinicians_of_block[b]]
            for column in crew:
                rows.implies(column, is_open)
            needed_even_when_small = max(block.clinicians, 1 if ratio is not None else 0)
            if len(crew) < needed_even_when_small:
                self.fix_zero(is_open)
                continue
            if block.clinicians > 0:
                rows.add(crew + [is_open], [1.0] * len(crew) + [-float(block.clinicians)], 0.0, math.inf)
            if ratio is not None:
                members = [self.attend[p, b] for p in eligibility.patients_of_block[b]]
                if members:
                    rows.add(members + crew, [1.0] * len(members) + [-float(ratio)] * len(crew), -math.inf, 0.0)
        caps = clinician_cap_minutes(problem)
        for c in range(len(problem.clinicians)):
            blocks = eligibility.blocks_of_clinician[c]
            if not blocks:
                continue
            for clique in overlap_cliques({b: problem.blocks[b].interval for b in blocks}):
                rows.at_most_one([self.staff[c, b] for b in clique])
            if caps[c] != math.inf:
                rows.add([self.staff[c, b] for b in blocks], [float(problem.blocks[b].minutes) for b in blocks],
                         -math.inf, float(caps[c]))

    def _rooms(self) -> None:
        for clique in double_booking_cliques(self.problem):
            self.rows.at_most_one([self.open + b for b in clique])

    def _wishes(self) -> None:
        problem, eligibility, rows = self.problem, self.eligibility, self.rows
        cost = self.costs[TIER_WISHES]
        clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
        for p, patient in enumerate(problem.patients):
            blocks = eligibility.blocks_of_patient[p]
            if not blocks:
                continue
            for b in blocks_outside_preference(problem, patient, blocks):
                cost[self.attend[p, b]] += WISH_WEIGHT
            if problem.has_no_date_in_program(patient):
                cost[self.placed + p] += OUTSIDE_PROGRAM_WEIGHT
            if patient.primary_clinician is not None:
                c = clinician_index[patient.primary_clinician]
                for b in blocks:
                    attend = self.attend[p, b]
                    cost[attend] += WISH_WEIGHT
                    staff = self.staff.get((c, b))
                    if staff is None:
                        continue
                    with_primary = self.columns.new(1)
                    rows.implies(with_primary, attend)
                    rows.implies(with_primary, staff)
                    cost[with_primary] -= WISH_WEIGHT
            by_track: dict[tuple, list[int]] = defaultdict(list)
            for b in blocks:
                by_track[track_of(problem, problem.blocks[b])].append(b)
            for track in sorted(by_track):
                track_blocks = by_track[track]
                if len(track_blocks) == 1:
                    cost[self.attend[p, track_blocks[0]]] += WISH_WEIGHT
                    continue
                used = self.columns.new(1)
                attends = [self.attend[p, b] for b in track_blocks]
                for column in attends:
                    rows.implies(column, used)
                rows.add(attends + [used], [1.0] * len(attends) + [-1.0], 0.0, math.inf)
                cost[used] += WISH_WEIGHT
        for (p, b), column in self.attend.items():
            cost[column] += problem.blocks[b].minutes

    def _costs(self) -> None:
        problem, eligibility = self.problem, self.eligibility
        cost = self.costs[TIER_COSTS]
        for b in range(len(problem.blocks)):
            cost[self.open + b] += OPEN_BLOCK_WEIGHT
        for (c, b), column in self.staff.items():
            cost[column] += STAFF_MINUTE_WEIGHT * problem.blocks[b].minutes
        self.busiest = self.columns.new(1, upper=100.0)
        cost[self.busiest] += BUSIEST_LOAD_PERCENT_WEIGHT
        for c in range(len(problem.clinicians)):
            blocks = eligibility.blocks_of_clinician[c]
            if not blocks:
                continue
            capacity = _weekly_capacity_minutes(problem, c, eligibility)
            # capacity * busiest >= 100 * load
            self.rows.add([self.staff[c, b] for b in blocks] + [self.busiest],
                          [100.0 * problem.blocks[b].minutes for b in blocks] + [-float(capacity)],
                          -math.inf, 0.0)


_HIGHS_STATUS_OPTIMAL = "optimal"


def highs_mip(
    problem: Problem,
    time_limit: float,
    tiers: int = 3,
    *,
    link_rows: bool = True,
    threads: Optional[int] = None,
    seed: int = 0,
    explain: bool = True,
) -> dict[str, Any]:
    """iop_sched's model as a MIP, solved with HiGHS tier by tier within `time_limit` seconds in all.

    Tier 1 maximises the patients placed; its value is then fixed (placed >= value found)
    and tier 2 (wishes) is minimised, then fixed, then tier 3 (costs); each later tier
    starts from the previous tier's schedule. The budget is shared as in iop_sched.solve
    (`tier_share`) and counts building the model. `tiers` < 3 stops early; the
    status is "optimal" only when all three tiers were solved and proven, "feasible"
    with any schedule, "unknown" when HiGHS returned none (the empty schedule is given).
    `link_rows` adds attend <= open for every eligible pair (tighter LP), as the CP-SAT
    model does (`constraints.group_size`); without them size <= capacity * open implies
    them for schedules but not for the LP.
    """
    import highspy

    if time_limit <= 0:
        raise ValueError("time_limit must be positive (seconds)")
    if tiers not in (1, 2, 3):
        raise ValueError("tiers must be 1, 2 or 3")
    started = time.monotonic()
    deadline = started + time_limit
    eligibility = compute_eligibility(problem)
    eligible_pairs = sum(len(blocks) for blocks in eligibility.blocks_of_patient)
    model = MipModel(problem, eligibility, link_rows=link_rows)
    n_cols = len(model.columns)
    rows = model.rows

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", int(seed))
    if threads is not None:
        # HiGHS keeps one thread pool per process; a different size needs a fresh pool.
        highspy.Highs.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(threads))
    h.addVars(n_cols, np.zeros(n_cols), np.asarray(model.columns.upper, dtype=np.float64))
    all_cols = np.arange(n_cols, dtype=np.int32)
    h.changeColsIntegrality(n_cols, all_cols, np.full(n_cols, int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    if len(rows):
        h.addRows(len(rows), np.asarray(rows.lower, dtype=np.float64), np.asarray(rows.upper, dtype=np.float64),
                  len(rows.index), np.asarray(rows.starts, dtype=np.int32), np.asarray(rows.index, dtype=np.int32),
                  np.asarray(rows.value, dtype=np.float64))
    build_seconds = time.monotonic() - started
    model_size = {"columns": n_cols, "rows": len(rows), "nonzeros": len(rows.index)}

    solution = np.zeros(n_cols)  # the empty schedule is always feasible
    found = False
    outcomes: list[dict[str, Any]] = []
    for tier in TIERS[:tiers]:
        cost = model.cost_vector(tier)
        h.changeColsCost(n_cols, all_cols, cost)
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        remaining = max(0.05, deadline - time.monotonic())
        last = tier == TIERS[tiers - 1]
        budget = remaining if last else max(0.05, remaining * tier_share(tier, eligible_pairs))
        # time_limit applies to each run() (checked on highspy 1.16: getRunTime() accumulates over runs,
        # the limit does not), so each tier gets its own share of what is left.
        h.setOptionValue("time_limit", float(budget))
        h.setSolution(n_cols, all_cols, solution)
        tier_started = time.monotonic()
        run_status = h.run()
        seconds = time.monotonic() - tier_started
        if run_status == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS failed on tier {tier}: {h.modelStatusToString(h.getModelStatus())}")
        status_code = h.getModelStatus()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if status_code == highspy.HighsModelStatus.kOptimal and has_solution:
            status = _HIGHS_STATUS_OPTIMAL
        elif has_solution:
            status = "feasible"
        elif status_code == highspy.HighsModelStatus.kInfeasible:
            status = "infeasible"
        else:
            status = "unknown"
        if not has_solution:
            outcomes.append({"tier": tier, "status": status, "value": None, "bound": None,
                             "seconds": round(seconds, 3), "highs_status": h.modelStatusToString(status_code)})
            break
        values = np.round(np.asarray(h.getSolution().col_value, dtype=np.float64))
        solution = values
        found = True
        value = int(round(float(cost @ values)))
        dual = float(info.mip_dual_bound)
        if status == _HIGHS_STATUS_OPTIMAL:
            bound = value
        elif math.isfinite(dual):
            bound = math.ceil(dual - 1e-6)
        else:
            bound = None
        if tier == TIER_PLACED:
            shown_value = -value
            shown_bound = len(problem.patients) if bound is None else min(len(problem.patients), -bound)
            shown_bound = max(shown_bound, shown_value)
        else:
            shown_value, shown_bound = value, bound
        outcomes.append({"tier": tier, "status": status, "value": shown_value, "bound": shown_bound,
                         "seconds": round(seconds, 3), "highs_status": h.modelStatusToString(status_code)})
        # Fix this tier at the value reached (integral costs: the rounded schedule's value exactly).
        nonzero = np.flatnonzero(cost)
        h.addRow(-math.inf, float(value), len(nonzero), nonzero.astype(np.int32), cost[nonzero])
    seconds = time.monotonic() - started

    rosters: list[list[int]] = [[] for _ in problem.blocks]
    crews: list[list[int]] = [[] for _ in problem.blocks]
    if found:
        for (p, b), column in model.attend.items():
            if solution[column] > 0.5:
                rosters[b].append(p)
        for (c, b), column in model.staff.items():
            if solution[column] > 0.5:
                crews[b].append(c)
    if not found:
        status = "unknown"
    elif tiers == len(TIERS) and len(outcomes) == len(TIERS) and all(o["status"] == "optimal" for o in outcomes):
        status = "optimal"
    else:
        status = "feasible"
    tier_one = outcomes[0] if outcomes else None
    stats = {
        "placed_bound": tier_one["bound"] if tier_one and tier_one["bound"] is not None else len(problem.patients),
        "solve_seconds": seconds,
        "method": "highs_mip",
        "build_seconds": round(build_seconds, 3),
        "tiers": outcomes,
        "model": model_size,
        "parameters": {"time_limit": float(time_limit), "tiers": int(tiers), "link_rows": bool(link_rows),
                       "threads": threads, "random_seed": int(seed), "mip_rel_gap": 0.0,
                       "highs_version": h.version()},
    }
    return schedule_document(problem, eligibility, rosters, crews, status, stats, explain=explain, label="HiGHS MIP")


__all__ = ["first_come_first_served", "highs_mip", "MipModel", "FCFS_MAX_NODES"]
