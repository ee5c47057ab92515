"""One patient's week with the program to themselves: the rules of a placement and nothing else.

The rules here are those `constraints.patient_week` and `constraints.topics` put on every
placed patient (weekly hours, at least one group, hours per day, days per week, no two
overlapping groups, required topics), over the groups the patient can reach. Nobody
else's place, no group size, no staffing, no room: so whatever holds for this model holds
for the patient in every schedule, which is what `reasons.placeable_alone` (could they be
placed at all?) and `floors` (what does their week cost at least?) rely on.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from .schema import Patient, Problem
from .weektime import MINUTES_PER_DAY, overlap_cliques


def week_alone_model(problem: Problem, patient: Patient, blocks: list[int]) -> tuple[cp_model.CpModel, dict[int, cp_model.IntVar]]:
    """A model of `patient` placed with `blocks` (indexes into problem.blocks) to choose from; attend per block."""
    rules = problem.program.rules
    model = cp_model.CpModel()
    attend = {b: model.new_bool_var(problem.blocks[b].id) for b in blocks}
    minutes = {b: problem.blocks[b].minutes for b in blocks}
    total = cp_model.LinearExpr.weighted_sum(list(attend.values()), list(minutes.values()))
    model.add(total >= problem.min_minutes_for(patient))
    model.add(total <= problem.max_minutes_for(patient))
    model.add(cp_model.LinearExpr.sum(list(attend.values())) >= 1)
    by_day: dict[int, list[int]] = defaultdict(list)
    for b in blocks:
        by_day[problem.blocks[b].interval[0] // MINUTES_PER_DAY].append(b)
    day_used = []
    for day_blocks in by_day.values():
        used = model.new_bool_var("")
        model.add(cp_model.LinearExpr.sum([attend[b] for b in day_blocks]) >= used)
        day_used.append(used)
        if problem.max_minutes_per_day() is not None:
            model.add(cp_model.LinearExpr.weighted_sum([attend[b] for b in day_blocks],
                                                       [minutes[b] for b in day_blocks]) <= problem.max_minutes_per_day())
    model.add(cp_model.LinearExpr.sum(day_used) >= rules.min_days_per_week)
    for clique in overlap_cliques({b: problem.blocks[b].interval for b in blocks}):
        model.add_at_most_one([attend[b] for b in clique])
    for topic, count in problem.required_topics_for(patient).items():
        model.add(cp_model.LinearExpr.sum([attend[b] for b in blocks if problem.blocks[b].topic == topic]) >= count)
    return model, attend
