"""Staffing: enough credentialed clinicians on every open block, within their weeks.

An open block of n patients needs at least max(clinicians, ceil(n / ratio))
clinicians; ceil(n / r) <= k is the linear n <= r * k. Credentials, availability
and sites were settled by `availability` (no variable, no assignment). Here: a
clinician never staffs two overlapping blocks nor more than their weekly hours.
"""

from __future__ import annotations

from typing import Optional

from ortools.sat.python import cp_model

from ..schema import Problem
from ..weektime import overlap_cliques
from .availability import Eligibility
from .base import ObjectiveTerm, Variables


def too_few_clinicians(problem: Problem, eligibility: Eligibility, b: int) -> Optional[str]:
    """Why block `b` can never be staffed, whatever the schedule (None when it can)."""
    block = problem.blocks[b]
    ratio = problem.program.rules.max_patients_per_clinician
    needed_even_when_small = max(block.clinicians, 1 if ratio is not None else 0)
    can_lead = len(eligibility.clinicians_of_block[b])
    if can_lead < needed_even_when_small:
        return (f"needs {needed_even_when_small} clinician{'s' if needed_even_when_small != 1 else ''}, "
                f"{can_lead or 'none'} can staff it")
    return None


def weekly_minutes_cap(problem: Problem, c: int) -> Optional[int]:
    """Clinician `c`'s weekly minutes as whole minutes (None: no cap); `iop_sched.clinician_hull` counts them the same."""
    hours = problem.clinicians[c].max_weekly_hours
    return None if hours is None else int(round(hours * 60, 6) // 1)


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    ratio = problem.program.rules.max_patients_per_clinician
    for b, block in enumerate(problem.blocks):
        is_open = variables.open[b]
        crew = [variables.staff[c, b] for c in eligibility.clinicians_of_block[b]]
        for var in crew:
            model.add_implication(var, is_open)
        if too_few_clinicians(problem, eligibility, b) is not None:
            model.add(is_open == 0)
            continue
        staffed = cp_model.LinearExpr.sum(crew)
        if block.clinicians > 0:
            model.add(staffed >= block.clinicians * is_open)
        if ratio is not None:
            members = [variables.attend[p, b] for p in eligibility.patients_of_block[b]]
            # a ratio above the number of patients never binds; clamped so any integer given fits CP-SAT's int64
            model.add(cp_model.LinearExpr.sum(members) <= min(ratio, len(members)) * staffed)

    for c in range(len(problem.clinicians)):
        blocks = eligibility.blocks_of_clinician[c]
        if not blocks:
            continue
        for clique in overlap_cliques({b: problem.blocks[b].interval for b in blocks}):
            model.add_at_most_one([variables.staff[c, b] for b in clique])
        cap = weekly_minutes_cap(problem, c)
        if cap is not None:
            model.add(cp_model.LinearExpr.weighted_sum(
                [variables.staff[c, b] for b in blocks], [problem.blocks[b].minutes for b in blocks]) <= cap)
    return []
