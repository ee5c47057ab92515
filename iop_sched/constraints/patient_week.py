"""A patient's week: placed-or-nothing, weekly hours, days, hours per day, no overlaps.

A patient is placed only with a whole week of treatment; otherwise they get no
blocks at all (half a week is not an IOP). Tier 1 of the objective, the number of
patients placed, is returned from here.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from ..schema import Problem
from ..weektime import MINUTES_PER_DAY, overlap_cliques
from .availability import Eligibility
from .base import TIER_PLACED, ObjectiveTerm, Variables


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    rules = problem.program.rules
    day_limit = problem.max_minutes_per_day()
    intervals = {b: block.interval for b, block in enumerate(problem.blocks)}
    cliques = overlap_cliques(intervals)
    for p, patient in enumerate(problem.patients):
        placed = variables.placed[p]
        blocks = eligibility.blocks_of_patient[p]
        attend = {b: variables.attend[p, b] for b in blocks}
        if not attend:
            model.add(placed == 0)
            continue
        for var in attend.values():
            model.add_implication(var, placed)
        model.add(cp_model.LinearExpr.sum(list(attend.values())) >= placed)  # a placed patient attends a group
        minutes = cp_model.LinearExpr.weighted_sum(list(attend.values()), [problem.blocks[b].minutes for b in attend])
        model.add(minutes >= problem.min_minutes_for(patient) * placed)
        model.add(minutes <= problem.max_minutes_for(patient) * placed)

        by_day: dict[int, list[int]] = defaultdict(list)
        for b in blocks:
            by_day[problem.blocks[b].interval[0] // MINUTES_PER_DAY].append(b)
        if rules.min_days_per_week > 0:
            day_used = []
            for day, day_blocks in sorted(by_day.items()):
                used = model.new_bool_var(f"day[{patient.id},{day}]")
                variables.day_used[p, day] = used
                model.add(cp_model.LinearExpr.sum([attend[b] for b in day_blocks]) >= used)
                day_used.append(used)
            model.add(cp_model.LinearExpr.sum(day_used) >= rules.min_days_per_week * placed)
        if day_limit is not None:
            for day_blocks in by_day.values():
                if sum(problem.blocks[b].minutes for b in day_blocks) > day_limit:
                    model.add(cp_model.LinearExpr.weighted_sum(
                        [attend[b] for b in day_blocks], [problem.blocks[b].minutes for b in day_blocks]) <= day_limit)

        for clique in cliques:
            mine = [attend[b] for b in clique if b in attend]
            if len(mine) >= 2:
                model.add_at_most_one(mine)
    return [ObjectiveTerm(TIER_PLACED, "patients placed", cp_model.LinearExpr.sum(variables.placed), -1)]
