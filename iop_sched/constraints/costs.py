"""Tier 3, what the week costs the clinic: open groups, clinician hours, fairness.

Weights inside the tier (stated so they can be argued with): an open group costs
180, each staffed clinician-minute 1 (a 3-hour group with one clinician costs
180 + 180), and each percentage point of the busiest clinician's load (staffed
minutes over their weekly cap, or over their available minutes when uncapped)
costs 5, so load is spread once groups and hours are as few as they can be.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from ..schema import Problem
from ..weektime import MINUTES_PER_WEEK
from .availability import Eligibility
from .base import TIER_COSTS, ObjectiveTerm, Variables

OPEN_BLOCK_WEIGHT = 180
STAFF_MINUTE_WEIGHT = 1
BUSIEST_LOAD_PERCENT_WEIGHT = 5


def _weekly_capacity_minutes(problem: Problem, clinician_index: int, eligibility: Eligibility) -> int:
    clinician = problem.clinicians[clinician_index]
    if clinician.max_weekly_hours is not None:
        return max(1, int(round(clinician.max_weekly_hours * 60, 6) // 1))
    intervals = sorted(interval for window in clinician.available for interval in window.intervals())
    available, reached = 0, None
    for start, end in intervals:  # length of the union: overlapping windows count once
        if reached is not None and start < reached:
            start = reached
        if end > start:
            available += end - start
            reached = end if reached is None else max(reached, end)
    return max(1, min(available, MINUTES_PER_WEEK))


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    staff_keys = sorted(variables.staff)
    staffed_minutes = cp_model.LinearExpr.weighted_sum(
        [variables.staff[key] for key in staff_keys], [problem.blocks[key[1]].minutes for key in staff_keys])
    busiest = model.new_int_var(0, 100, "busiest_load_percent")
    for c in range(len(problem.clinicians)):
        blocks = eligibility.blocks_of_clinician[c]
        if not blocks:
            continue
        capacity = _weekly_capacity_minutes(problem, c, eligibility)
        load = cp_model.LinearExpr.weighted_sum(
            [variables.staff[c, b] for b in blocks], [problem.blocks[b].minutes for b in blocks])
        model.add(capacity * busiest >= 100 * load)
    return [
        ObjectiveTerm(TIER_COSTS, "open groups", cp_model.LinearExpr.sum(variables.open), OPEN_BLOCK_WEIGHT),
        ObjectiveTerm(TIER_COSTS, "clinician minutes", staffed_minutes, STAFF_MINUTE_WEIGHT),
        ObjectiveTerm(TIER_COSTS, "busiest clinician's load (%)", busiest, BUSIEST_LOAD_PERCENT_WEIGHT),
    ]
